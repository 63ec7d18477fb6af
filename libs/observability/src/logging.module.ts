import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule, type Params } from 'nestjs-pino';
import type { LevelWithSilent } from 'pino';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';

/** An incoming x-request-id is kept only when it is short and plain (it goes into every log line). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** LOG_LEVEL names Nest's levels; pino calls `log` `info`. */
export function pinoLevel(level: AppConfig['logLevel']): LevelWithSilent {
  return level === 'log' ? 'info' : level;
}

/** The request id of a request: the caller's x-request-id when it is plain, else a new UUID; echoed in the response. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

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
 * nestjs-pino options: JSON lines (pretty on a terminal when LOG_FORMAT allows), at
 * LOG_LEVEL, one line per HTTP request with its request id, method, path, status and
 * duration. Headers are not logged except the few listed, and credentials never are.
 */
export function loggerParams(config: AppConfig): Params {
  const pretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY && prettyAvailable());
  return {
    pinoHttp: {
      level: pinoLevel(config.logLevel),
      genReqId: requestId,
      // 503 (not ready, Redis away) is an expected state, not a fault of the service.
      customLogLevel: (_req, res, error) =>
        res.statusCode === 503
          ? 'warn'
          : error !== undefined || res.statusCode >= 500
            ? 'error'
            : res.statusCode >= 400
              ? 'warn'
              : 'info',
      // Only what an operator needs from a request: never its headers (credentials) or body.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        // pino-http makes up an Error for every 5xx; its stack says nothing (the exception
        // filter logs real failures with theirs).
        err: (err: Error) => ({ type: err.name, message: err.message }),
      },
      // Defence in depth, should anyone log the raw headers.
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], remove: true },
      ...(pretty
        ? { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } }
        : {}),
    },
  };
}

/** Structured logs for the whole app (nestjs-pino); main.ts makes it Nest's logger. */
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: loggerParams })],
})
export class LoggingModule {}
