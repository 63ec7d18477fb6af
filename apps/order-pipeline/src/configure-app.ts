import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { HttpErrorFilter, createValidationPipe } from '@order-pipeline/stats';

/** Global pipe, the one exception filter, Swagger UI at /docs and JSON at /docs-json. */
export function configureApp(app: INestApplication): INestApplication {
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
