import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, type LoggerService } from '@nestjs/common';
import { LoggerModule, type Params } from 'nestjs-pino';
import { pino, type Level, type LevelWithSilent, type Logger, type LoggerOptions } from 'pino';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';

/** An incoming x-request-id is kept only when it is short and plain (it goes into every log line). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** The application's root pino logger (the one nestjs-pino writes Nest's lines through). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** LOG_LEVEL names Nest's levels; pino calls `log` `info`. */
export function pinoLevel(level: AppConfig['logLevel']): LevelWithSilent {
  return level === 'log' ? 'info' : level;
}

/**
 * The request id of a request: the caller's x-request-id when it is plain, else a new UUID;
 * echoed in the response. (pino-http's types still declare `req.log`: nothing sets it here;
 * log through Nest's Logger, whose lines carry the request id.)
 */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The request a line is written in, if any: every line written while it is served carries its id. */
const requestContext = new AsyncLocalStorage<{ readonly id: string }>();

/** pino-pretty is a development dependency: use it only when it is installed. */
function prettyAvailable(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * pino's options: JSON lines (pretty on a terminal when LOG_FORMAT allows) at LOG_LEVEL.
 * A line written while a request is served carries `req.id` (the `mixin`, from the request
 * context the request logger opens). Credential headers are redacted, as defence in depth:
 * nothing here logs headers.
 */
export function loggerOptions(config: AppConfig): LoggerOptions {
  const pretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY && prettyAvailable());
  return {
    level: pinoLevel(config.logLevel),
    mixin: () => {
      const request = requestContext.getStore();
      return request === undefined ? {} : { req: { id: request.id } };
    },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], remove: true },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  };
}

/**
 * Nest's logger while the app is created, before nestjs-pino can take over: Nest's lines,
 * and a failure at start-up (the emulator's port taken, an unreachable queue), are the same
 * JSON lines as every other, with `context`, not Nest's coloured text. Nest passes the
 * context last; an Error is written with its stack.
 */
export function startupLogger(logger: Logger): LoggerService {
  const write =
    (level: Level) =>
    (message: unknown, ...rest: unknown[]): void => {
      const last = rest.at(-1);
      const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
      logger[level](typeof last === 'string' ? { context: last } : {}, text);
    };
  return {
    log: write('info'),
    error: write('error'),
    warn: write('warn'),
    debug: write('debug'),
    verbose: write('trace'),
    fatal: write('fatal'),
  };
}

/** A response's level: 503 (not ready, Redis away) is an expected state, not a fault of the service. */
function levelOf(status: number, url: string | undefined): Level {
  if (status === 503) return 'warn';
  if (status >= 500) return 'error';
  if (status >= 400) return 'warn';
  // Probes and scrapes come every few seconds and say nothing when they pass.
  return url !== undefined && ROUTINE.test(url) ? 'debug' : 'info';
}

/** Health probes and metrics scrapes: logged at debug level when they succeed. */
const ROUTINE = /^\/(?:health\/(?:live|ready)|metrics)(?:[?#]|$)/;

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * One line per HTTP request, when the response is done: request id, method, path, status
 * and duration in ms (`request completed`; `request errored` for a 5xx, as pino-http wrote
 * it; `request aborted` when the connection closed before the response was sent). Never a header or a body. The request id (requestId) is set on the request as
 * `req.id`, echoed in the response, and carried by every line written while the request is
 * served.
 *
 * A plain Express middleware rather than nestjs-pino's two Nest middlewares (pino-http, with
 * a child logger per request, then a context of its own): on the read path those cost about
 * a third of the user endpoint's CPU (docs/PERFORMANCE.md). Here a request costs an id,
 * a listener and a context; the line itself is only built when its level is enabled.
 */
export function requestLogger(logger: Logger): Middleware {
  return (req, res, next) => {
    const id = requestId(req, res);
    (req as IncomingMessage & { id?: string }).id = id;
    const started = performance.now();
    const { method, url } = req;
    res.once('close', () => {
      const level = levelOf(res.statusCode, url);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method, url },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        !res.writableFinished ? 'request aborted' : res.statusCode >= 500 ? 'request errored' : 'request completed',
      );
    });
    requestContext.run({ id }, next);
  };
}

/**
 * Opens the request's context again, after a body has been read: a reader that resumes from
 * the request stream's events runs outside the context a middleware before it opened, so a
 * request whose body arrives after its headers would lose its id in the lines written while
 * it is served. body-parser binds its callback to the caller's context itself; this keeps
 * the id whatever reads the body. Run it after the parsers (configure-app.ts's bodyParsers
 * does); requestLogger must run first.
 */
export function requestContextAfterBody(): Middleware {
  return (req, _res, next) => {
    const id = (req as IncomingMessage & { id?: string }).id;
    // No body (type-is' test), no stream events: the parsers passed on in the context.
    const body = req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
    if (id === undefined || !body) next();
    else requestContext.run({ id }, next);
  };
}

/**
 * nestjs-pino as Nest's logger, over our root logger. Its per-request middlewares are not
 * mounted (`forRoutes: []`): requests are logged by requestLogger, which configure-app.ts
 * mounts first.
 */
export function loggerParams(logger: Logger): Params {
  return { pinoHttp: { logger }, forRoutes: [] };
}

/** The root logger, built from the configuration. */
@Module({
  providers: [{ provide: ROOT_LOGGER, inject: [APP_CONFIG], useFactory: (c: AppConfig) => pino(loggerOptions(c)) }],
  exports: [ROOT_LOGGER],
})
class RootLoggerModule {}

/**
 * Structured logs for the whole app: the root logger (ROOT_LOGGER, which configure-app.ts
 * gives requestLogger) and nestjs-pino over it, which main.ts makes Nest's logger.
 */
@Module({
  imports: [
    RootLoggerModule,
    LoggerModule.forRootAsync({ imports: [RootLoggerModule], inject: [ROOT_LOGGER], useFactory: loggerParams }),
  ],
  exports: [RootLoggerModule],
})
export class LoggingModule {}
