import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpException, type INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request } from 'express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { ROOT_LOGGER, requestContextAfterBody, requestLogger } from '@order-pipeline/observability';
import {
  HttpErrorFilter,
  ParameterException,
  createValidationPipe,
  deferBodyError,
  routeMethodsOf,
  type RouterStack,
} from '@order-pipeline/stats';

/** The request log, global pipe, the one exception filter, Swagger UI at /docs and JSON at /docs-json. */
export function configureApp(app: INestApplication): INestApplication {
  // First, so that every request gets its id and its log line, whatever answers it.
  app.use(requestLogger(app.get<Logger>(ROOT_LOGGER)));
  // Before any route is added: /orders/rejected (the list) and /orders/REJECTED (an order
  // with that id) are different resources. Express reads the setting when it creates its
  // router, which Nest may already have done, so the router is told directly as well.
  const express = app.getHttpAdapter().getInstance() as {
    set(name: string, value: unknown): void;
    router?: { caseSensitive: boolean } & RouterStack;
  };
  express.set('case sensitive routing', true);
  if (express.router) express.router.caseSensitive = true;
  // The read path (docs/PERFORMANCE.md): no ETag, which costs a SHA-1 of every JSON answer
  // for clients that never revalidate live figures, and no X-Powered-By.
  express.set('etag', false);
  express.set('x-powered-by', false);
  protectHttp(app as NestExpressApplication, app.get<AppConfig>(APP_CONFIG));
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
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
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  // Express's router tells the filter which methods a path has: 405 rather than 404.
  app.useGlobalFilters(new HttpErrorFilter(routeMethodsOf(express.router ?? { stack: [] })));
  return app;
}

/** helmet with a same-origin Content-Security-Policy (see protectHttp). */
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

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

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

/**
 * Security headers (helmet) and body size limits. The Content-Security-Policy allows only
 * this origin: scripts from files (Swagger UI and the dashboard load theirs from the app),
 * inline styles and data: images (Swagger UI uses both). No upgrade-insecure-requests: the
 * app is often reached over plain HTTP inside a network. JSON and form bodies over
 * HTTP_BODY_LIMIT_BYTES get a 413.
 */
function protectHttp(app: NestExpressApplication, config: AppConfig): void {
  app.use(staticHeaders(helmet(HELMET_OPTIONS)));
  app.useBodyParser('json', { limit: config.http.bodyLimitBytes });
  app.useBodyParser('urlencoded', { limit: config.http.bodyLimitBytes, extended: false });
  // body-parser reports too large (413), unreadable (400) or unsupported (415) bodies as
  // plain errors; make them HTTP errors, kept with the request until a route has taken it
  // and its access check has passed (ApiKeyGuard): a path no route has still gets its 404,
  // a method the path lacks its 405, a missing key its 401/403, as without a body. A GET or
  // HEAD body means nothing to any route here, so its error is dropped, not deferred.
  app.use((error: unknown, req: Request, _res: unknown, next: (error?: unknown) => void) => {
    const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
    if (typeof status !== 'number' || status < 400 || status > 499) return next(error);
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const message =
      type === 'entity.too.large'
        ? `the request body is larger than ${config.http.bodyLimitBytes} bytes (HTTP_BODY_LIMIT_BYTES)`
        : type === 'entity.parse.failed'
          ? 'the request body is not valid JSON'
          : error instanceof Error
            ? error.message
            : 'the request body cannot be read';
    // A 400 names the request body as its parameter, as every other 400 names one.
    deferBodyError(req, status === 400 ? new ParameterException('body', message) : new HttpException(message, status));
    next();
  });
  // After the error handler, so that a request whose body failed gets its context (the
  // request id in every line logged while it is served) like any other.
  app.use(requestContextAfterBody());
}
