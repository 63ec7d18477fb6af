import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, type AppConfig } from '@order-pipeline/config';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

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
  const levels = LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.logLevel) + 1);
  const app = configureApp(await NestFactory.create(AppModule, { logger: levels }));
  await app.listen(config.port, '0.0.0.0');
  logger.log(`HTTP API on http://127.0.0.1:${config.port} (Swagger UI at /docs)`);
}

void bootstrap();
