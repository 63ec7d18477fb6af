import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@order-pipeline/config';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  let port: number;
  try {
    port = loadConfig().port; // validate before anything connects
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const app = configureApp(await NestFactory.create(AppModule, { bufferLogs: false }));
  await app.listen(port, '0.0.0.0');
  logger.log(`HTTP API on http://127.0.0.1:${port} (Swagger UI at /docs)`);
}

void bootstrap();
