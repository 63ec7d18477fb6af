import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
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
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
