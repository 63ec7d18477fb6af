import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, type AppConfig } from '@order-pipeline/config';
import { loggerOptions, startupLogger } from '@order-pipeline/observability';
import { Logger as PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { AppModule } from './app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from './configure-app';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  let config: AppConfig;
  try {
    config = loadConfig(); // validate before anything connects
  } catch (error) {
    if (error instanceof ConfigError) {
      // Before the configuration exists: a JSON line like every other (LOG_FORMAT's `auto`),
      // unless a person watches the terminal.
      if (process.stdout.isTTY === true) logger.error(error.message);
      else pino().error({ context: 'Bootstrap' }, error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // Every log line goes through pino (JSON, LOG_LEVEL, request ids); lines written while the
  // app is created wait for it, and a failure while it is created is a JSON line too.
  const nest = await NestFactory.create(AppModule, createHttpAdapter(), {
    ...APP_OPTIONS,
    bufferLogs: true,
    logger: startupLogger(pino(loggerOptions(config))),
  });
  nest.useLogger(nest.get(PinoLogger));
  nest.flushLogs();
  // SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR2: stop receiving, let batches in flight finish
  // (or release them), close Redis last, then exit 0. Not the fault signals that Nest's
  // default list also has (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP): after a real
  // fault, running JavaScript listeners is not safe (Node's docs), so they keep their default.
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const;
  nest.enableShutdownHooks([...signals], { useProcessExit: true });
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return; // Nest ignores a second signal as well: the first shutdown goes on.
    stopping = true;
    logger.log(`${signal}: stopping; batches in flight get up to ${config.shutdownGraceSeconds} s to finish`);
    // Bounded: if the orderly shutdown hangs, leave anyway. Nothing unacknowledged is
    // lost: SQS delivers it again after its visibility timeout.
    setTimeout(
      () => {
        logger.error(`shutdown took longer than ${config.shutdownGraceSeconds + 10} s; exiting`);
        process.exit(1);
      },
      (config.shutdownGraceSeconds + 10) * 1000,
    ).unref();
  };
  for (const signal of signals) process.once(signal, onSignal);
  const app = configureApp(nest);
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    // Nothing was received yet (the consumers wait for the listening server): say what
    // failed, close in order and leave.
    const code = (error as { code?: string }).code;
    logger.error(
      `cannot serve HTTP on ${config.host}:${config.port} (HOST, PORT): ${code === 'EADDRINUSE' ? 'the port is in use' : error instanceof Error ? error.message : String(error)}`,
    );
    await app.close();
    process.exit(1);
  }
  const everywhere = config.host === '0.0.0.0' || config.host === '::';
  const shown = everywhere ? '127.0.0.1' : config.host;
  logger.log(
    `HTTP API on http://${shown.includes(':') ? `[${shown}]` : shown}:${config.port} (Swagger UI at /docs)` +
      (everywhere ? ', on all interfaces' : ''),
  );
  if (everywhere && config.http.readApiKey === undefined) {
    // Secure defaults would hide the sample's figures from the quick start; say what is open.
    logger.warn(
      `the read API (statistics, orders and the raw bodies of rejected messages, metrics) answers anyone who reaches port ${config.port}: ` +
        'set READ_API_KEY, or HOST=127.0.0.1 to keep it to this machine',
    );
  }
}

void bootstrap();
