import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { HttpErrorFilter, createValidationPipe } from '@order-pipeline/stats';

/** Global pipe, the one exception filter, Swagger UI at /docs and JSON at /docs-json. */
export function configureApp(app: INestApplication): INestApplication {
  // Before any route is added: /orders/rejected (the list) and /orders/REJECTED (an order
  // with that id) are different resources. Express reads the setting when it creates its
  // router, which Nest may already have done, so the router is told directly as well.
  const express = app.getHttpAdapter().getInstance() as {
    set(name: string, value: unknown): void;
    router?: { caseSensitive: boolean };
  };
  express.set('case sensitive routing', true);
  if (express.router) express.router.caseSensitive = true;
  protectHttp(app as NestExpressApplication, app.get<AppConfig>(APP_CONFIG));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Order Pipeline')
      .setDescription(
        'Exact, exactly-once order statistics from an SQS stream. Money is a JSON number with 2 decimals; ' +
          'dates are UTC days (YYYY-MM-DD); a bad parameter gets a 400 whose `parameter` names it.',
      )
      .setVersion('0.1.0')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'api-key')
      .addBearerAuth({ type: 'http', scheme: 'bearer' }, 'bearer')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}

/**
 * Security headers (helmet) and body size limits. The Content-Security-Policy allows only
 * this origin: scripts from files (Swagger UI and the dashboard load theirs from the app),
 * inline styles and data: images (Swagger UI uses both). No upgrade-insecure-requests: the
 * app is often reached over plain HTTP inside a network. JSON and form bodies over
 * HTTP_BODY_LIMIT_BYTES get a 413.
 */
function protectHttp(app: NestExpressApplication, config: AppConfig): void {
  app.use(
    helmet({
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
    }),
  );
  app.useBodyParser('json', { limit: config.http.bodyLimitBytes });
  app.useBodyParser('urlencoded', { limit: config.http.bodyLimitBytes, extended: false });
}
