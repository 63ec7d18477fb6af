import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, type AppConfig } from '@order-pipeline/config';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  let config: AppConfig;
  try {
    config = loadConfig(); // validate before anything connects
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // Every log line goes through pino (JSON, LOG_LEVEL, request ids); lines written while the
  // app is created wait for it.
  const nest = await NestFactory.create(AppModule, { bufferLogs: true });
  nest.useLogger(nest.get(PinoLogger));
  nest.flushLogs();
  const app = configureApp(nest);
  await app.listen(config.port, '0.0.0.0');
  logger.log(`HTTP API on http://127.0.0.1:${config.port} (Swagger UI at /docs)`);
}

void bootstrap();
