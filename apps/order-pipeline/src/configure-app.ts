import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpException, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { ROOT_LOGGER, requestContextAfterBody, requestLogger } from '@order-pipeline/observability';
import { ConsumptionGate } from '@order-pipeline/sqs';
import {
  HttpErrorFilter,
  ParameterException,
  createValidationPipe,
  decodablePath,
  deferBodyError,
  documentReadAccess,
  routeMethodsOf,
  type RouterStack,
} from '@order-pipeline/stats';
import { JsonReplyExpressAdapter } from './json-reply-adapter';

/**
 * How every instance of the app is created (main.ts, the e2e specs): the JSON reply
 * adapter, and no body parsers of Nest's own (configureApp mounts the app's).
 */
export const APP_OPTIONS = { bodyParser: false } as const satisfies NestApplicationOptions;

export function createHttpAdapter(): JsonReplyExpressAdapter {
  return new JsonReplyExpressAdapter();
}

/**
 * The request log, security headers and body parsers, global pipe, the one exception
 * filter, Swagger UI at /docs and JSON at /docs-json. The app must be created with
 * createHttpAdapter() and APP_OPTIONS.
 */
export function configureApp(app: INestApplication): INestApplication {
  if (!(app.getHttpAdapter() instanceof JsonReplyExpressAdapter)) {
    throw new Error('configureApp: create the app with createHttpAdapter() and APP_OPTIONS');
  }
  // Before any route is added: /orders/rejected (the list) and /orders/REJECTED (an order
  // with that id) are different resources. Express reads the setting when it creates its
  // router, which Nest may already have done, so the router is told directly as well.
  const server = app.getHttpAdapter().getInstance() as {
    set(name: string, value: unknown): void;
    router?: { caseSensitive: boolean } & RouterStack;
  };
  server.set('case sensitive routing', true);
  if (server.router) server.router.caseSensitive = true;
  // The read path (docs/PERFORMANCE.md): no ETag, which costs a SHA-1 of every JSON answer
  // for clients that never revalidate live figures, and no X-Powered-By.
  server.set('etag', false);
  server.set('x-powered-by', false);
  // One Express layer for the app's own middlewares, in this order: Express's router pays
  // for every layer a request passes (a match, a try/catch, a promise check), and a request
  // with no body skips the parsers altogether (docs/PERFORMANCE.md). First, so that every
  // request gets its id and its log line, whatever answers it.
  const config = app.get<AppConfig>(APP_CONFIG);
  // Which proxies' X-Forwarded-For names the client (the admin rate limit counts per client):
  // none by default, or every client behind one proxy would share one budget (TRUST_PROXY).
  server.set('trust proxy', config.http.trustProxy);
  app.use(
    inOrder(
      requestLogger(app.get<Logger>(ROOT_LOGGER)),
      staticHeaders(helmet(HELMET_OPTIONS)),
      hostRequired,
      bodyParsers(config.http.bodyLimitBytes),
      decodablePath,
    ),
  );
  app.useGlobalPipes(createValidationPipe());
  const document = documentReadAccess(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Order Pipeline')
        .setDescription(
          'Exact, exactly-once order statistics from an SQS stream. Money is a JSON number with at most 2 decimals; ' +
            'dates are UTC days (YYYY-MM-DD); a bad parameter gets a 400 whose `parameter` names it.',
        )
        .setVersion('0.1.0')
        .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'api-key')
        .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key' }, 'bearer')
        .build(),
    ),
    config.http.readApiKey !== undefined,
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  // Express's router tells the filter which methods a path has: 405 rather than 404.
  app.useGlobalFilters(new HttpErrorFilter(routeMethodsOf(server.router ?? { stack: [] })));
  const httpServer = app.getHttpServer() as Server & {
    requireHostHeader: boolean;
    connectionsCheckingInterval: number;
  };
  answerClientErrors(httpServer);
  // hostRequired (above) answers a request without the Host header HTTP/1.1 requires, with
  // the API's JSON error, instead of Node's empty 400.
  httpServer.requireHostHeader = false;
  // A request must arrive whole, headers and body, within HTTP_REQUEST_TIMEOUT_SECONDS, or it
  // gets a 408 and its connection is closed: Node's own bound is 300 s, so a client that
  // stops sending its body (or many such clients) held a connection that long. Node looks
  // every connectionsCheckingInterval (30 s by default; read when the server starts to listen).
  httpServer.requestTimeout = config.http.requestTimeoutSeconds * 1000;
  httpServer.headersTimeout = httpServer.requestTimeout;
  httpServer.connectionsCheckingInterval = 1000;
  // The consumers receive only once the API is up: a start that fails to listen (its port
  // taken, say) exits holding no message, instead of leaving a batch in flight to come back
  // after the visibility timeout with one receive spent (a crash loop would dead-letter it).
  const gate = app.get(ConsumptionGate);
  (app.getHttpServer() as Server).once('listening', () => gate.open());
  return app;
}

/** What Node answers to the parser errors it does not call a plain 400 (its `clientError` default). */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'the request headers are larger than this server takes' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: 'the chunk extensions of the request body are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
};

/**
 * A request Node's HTTP parser refuses (headers over its limit, an unknown method, a byte
 * HTTP does not allow) never reaches Express; Node would answer it with a bare status line.
 * It gets the API's JSON error instead, with the status Node gives it (431, 413, 408, else
 * 400), and then, as Node does, the connection is destroyed: not only ended, or a client
 * that keeps its side open would hold it, and the server's close, for good. A socket already
 * answering or no longer writable is only destroyed.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: Error & { code?: string; reason?: unknown }, socket: Duplex) => {
    const answering = (socket as { _httpMessage?: ServerResponse })._httpMessage;
    if (!socket.writable || answering?.headersSent === true) {
      socket.destroy();
      return;
    }
    const known = error.code === undefined ? undefined : CLIENT_ERRORS[error.code];
    const status = known?.status ?? 400;
    const message =
      known?.message ?? `the request is not valid HTTP${typeof error.reason === 'string' ? `: ${error.reason}` : ''}`;
    const body = errorJson(status, message);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
}

/** The API's error body, for answers written before Express or Nest see the request. */
function errorJson(status: number, message: string): string {
  return JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
}

/**
 * An HTTP/1.1 request must carry a Host header (RFC 9112 §3.2). Node's own refusal is a 400
 * with no body, no request id and no log line, so the server lets such a request through
 * (configureApp turns `requireHostHeader` off) and this answers it with the API's JSON
 * error, and closes the connection as Node does. (Node then handles an `Expect` header
 * before this runs: a `100-continue` is granted before the 400.)
 */
function hostRequired(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  if (req.headers.host !== undefined || req.httpVersion !== '1.1') return next();
  const body = errorJson(400, 'the request has no Host header, which HTTP/1.1 requires');
  res.statusCode = 400;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Connection', 'close');
  res.end(body);
}

/**
 * helmet with a same-origin Content-Security-Policy: only this origin, scripts from files
 * (Swagger UI and the dashboard load theirs from the app), inline styles and data: images
 * (Swagger UI uses both). No upgrade-insecure-requests: the app is often reached over plain
 * HTTP inside a network.
 */
export const HELMET_OPTIONS: Parameters<typeof helmet>[0] = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
};

type Next = (error?: unknown) => void;

type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

type HeaderValue = string | number | readonly string[];

/**
 * The headers a middleware sets (and removes), recorded once and then applied to every
 * response by one loop. For helmet with fixed options (no per-request nonce) every response
 * gets the same headers, and one loop is cheaper on the read path than its chain of
 * thirteen small middlewares (docs/PERFORMANCE.md). A middleware that reads the request or
 * does not pass is used as it is.
 */
export function staticHeaders(middleware: Middleware): Middleware {
  const headers: [string, HeaderValue | undefined][] = [];
  let fixed = true;
  let passed = false;
  const request = new Proxy(
    {},
    {
      get: () => {
        fixed = false;
        return undefined;
      },
    },
  );
  const recorder = {
    setHeader: (name: string, value: HeaderValue) => headers.push([name, value]),
    removeHeader: (name: string) => headers.push([name, undefined]),
  };
  middleware(request as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    passed = error === undefined;
  });
  if (!fixed || !passed) return middleware;
  return (_req, res, next) => {
    for (const [name, value] of headers) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

/** Middlewares run one after the other as one: an error from one goes to Express, skipping the rest. */
export function inOrder(...middlewares: readonly Middleware[]): Middleware {
  return middlewares.reduceRight<Middleware>(
    (rest, middleware) => (req, res, next) =>
      middleware(req, res, (error?: unknown) => (error === undefined ? rest(req, res, next) : next(error))),
    (_req, _res, next) => next(),
  );
}

/** Whether body-parser's raw text (`error.body`) is JSON: its strict mode refuses a bare `null`, `1` or `"x"` as unparsable. */
function isJson(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * JSON and form bodies, each at most `limitBytes` (HTTP_BODY_LIMIT_BYTES). A request with no
 * body (type-is' test: neither Transfer-Encoding nor Content-Length) passes straight on.
 *
 * body-parser reports too large (413), unreadable (400) or unsupported (415) bodies as plain
 * errors; they become HTTP errors, kept with the request until a route has taken it and its
 * access check has passed (ApiKeyGuard): a path no route has still gets its 404, a method
 * the path lacks its 405, a missing key its 401/403, as without a body. A GET or HEAD body
 * means nothing to any route here, so its error is dropped, not deferred. The request's
 * context is opened again after the body (requestContextAfterBody), so that lines logged
 * while it is served carry its id: body-parser resumes in it already, a parser that resumes
 * from the stream's events would not.
 */
export function bodyParsers(limitBytes: number): Middleware {
  const json = express.json({ limit: limitBytes }) as Middleware;
  const form = express.urlencoded({ limit: limitBytes, extended: false }) as Middleware;
  const inContext = requestContextAfterBody();
  const failed = (error: unknown, req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
    if (typeof status !== 'number' || status < 400 || status > 499) return next(error);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const message =
        type === 'entity.too.large'
          ? `the request body is larger than ${limitBytes} bytes (HTTP_BODY_LIMIT_BYTES)`
          : type === 'entity.parse.failed'
            ? isJson((error as { body?: unknown }).body)
              ? 'the request body must be a JSON object or array'
              : 'the request body is not valid JSON'
            : type === undefined && req.headers['content-encoding'] !== undefined
              ? // zlib's, brotli's or zstd's own words ("incorrect header check") say little
                `the request body is not valid ${req.headers['content-encoding']} data (Content-Encoding)`
              : error instanceof Error
                ? error.message
                : 'the request body cannot be read';
      // A 400 names the request body as its parameter, as every other 400 names one.
      deferBodyError(
        req,
        status === 400 ? new ParameterException('body', message) : new HttpException(message, status),
      );
    }
    inContext(req, res, next);
  };
  return (req, res, next) => {
    if (req.headers['transfer-encoding'] === undefined && req.headers['content-length'] === undefined) return next();
    json(req, res, (error?: unknown) => {
      if (error !== undefined) return failed(error, req, res, next);
      form(req, res, (error?: unknown) =>
        error !== undefined ? failed(error, req, res, next) : inContext(req, res, next),
      );
    });
  };
}
