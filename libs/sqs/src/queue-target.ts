import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AppConfig } from '@order-pipeline/config';
import { startEmbeddedEmulator } from './embedded-emulator';

export const QUEUE_TARGET = Symbol('QUEUE_TARGET');

/** The queue the app consumes, the client to reach it, and the embedded emulator if any. */
export interface QueueTarget {
  readonly queueUrl: string;
  readonly client: SQSClient;
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * With SQS_QUEUE_URL: that queue, through SQS_ENDPOINT when set, with the standard AWS
 * credential chain. Without it: the fauxqs emulator in process, on a thread of its own,
 * its messages kept on disk (SQS_DATA_DIR), with the queue and its dead-letter queue created.
 */
export async function openQueueTarget(config: AppConfig): Promise<QueueTarget> {
  const logger = new Logger('QueueTarget');
  const sqs = config.sqs;
  if (sqs.queueUrl !== undefined) {
    const client = new SQSClient({
      region: sqs.region,
      ...(sqs.endpoint ? { endpoint: sqs.endpoint } : {}),
      requestHandler: boundedRequests(sqs.waitTimeSeconds),
    });
    logger.log(`consuming ${sqs.queueUrl}${sqs.endpoint ? ` via ${sqs.endpoint}` : ''}`);
    return { queueUrl: sqs.queueUrl, client, embedded: false, close: () => Promise.resolve(client.destroy()) };
  }

  const dataDir = resolve(sqs.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const emulator = await startEmbeddedEmulator({
    port: sqs.emulatorPort,
    host: sqs.emulatorHost,
    dataDir,
    dlq: { name: sqs.dlqName, attributes: {} },
    queue: { name: sqs.queueName, attributes: { VisibilityTimeout: String(sqs.visibilityTimeoutSeconds) } },
    maxReceiveCount: sqs.maxReceiveCount,
  }).catch((error: unknown) => {
    // A listen that failed names the settings, as a taken HTTP port does (main.ts), rather
    // than only the raw error; any other failure keeps its own words.
    const text = error instanceof Error ? error.message : String(error);
    const listen = /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(text)?.[1];
    if (listen === undefined) throw error;
    const why = listen === 'EADDRINUSE' ? 'the port is in use' : (text.split('\n')[0] ?? text);
    throw new Error(
      `cannot start the embedded SQS emulator on ${sqs.emulatorHost}:${sqs.emulatorPort} (SQS_EMULATOR_HOST, SQS_EMULATOR_PORT): ${why}`,
    );
  });
  // fauxqs hands out queue URLs whose host does not resolve: always give the endpoint.
  const endpoint = emulatorEndpoint(sqs.emulatorHost, emulator.port);
  const client = new SQSClient({
    region: sqs.region,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: boundedRequests(sqs.waitTimeSeconds),
  });
  // A queue restored from disk takes the current settings.
  await client.send(new SetQueueAttributesCommand({ QueueUrl: emulator.queueUrl, Attributes: emulator.attributes }));
  logger.log(
    `embedded SQS emulator on ${endpoint}: queue ${emulator.queueUrl} (dead-letter ${sqs.dlqName} after ${sqs.maxReceiveCount} receives), data in ${sqs.dataDir}`,
  );
  return {
    queueUrl: emulator.queueUrl,
    client,
    embedded: true,
    close: async () => {
      client.destroy();
      await emulator.stop();
    },
  };
}

/**
 * Every SQS call ends. The SDK waits without limit by default, so a queue endpoint that
 * stops answering (a black-holed network, a half-open connection) held a consumer's receive,
 * or a batch's deletes, for as long as the socket stayed open: hours, with nothing logged.
 * Now a connection must open within 10 s and a call may go quiet for at most the long-poll
 * wait plus 10 s; then it fails (the SDK retries it on a new connection, and a failed
 * receive pauses the consumers as for a queue that is away). Two timers, because each
 * covers a part: `requestTimeout` runs until the answer's headers (and without
 * `throwOnRequestTimeout` it only logs a warning), `socketTimeout` is an idle timer that
 * also covers the body, which an answer that stops after its headers never finishes.
 */
function boundedRequests(waitTimeSeconds: number) {
  const quietMs = (waitTimeSeconds + 10) * 1_000;
  return { connectionTimeout: 10_000, requestTimeout: quietMs, socketTimeout: quietMs, throwOnRequestTimeout: true };
}

/**
 * Where the app reaches its own emulator: on loopback when it listens on every interface,
 * else on the address it listens on (an IPv6 literal in brackets).
 */
export function emulatorEndpoint(host: string, port: number): string {
  const to = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${to.includes(':') ? `[${to}]` : to}:${port}`;
}

/** True when the queue answers GetQueueAttributes within the timeout. */
export async function queueAnswers(target: QueueTarget, timeoutMs = 2_000): Promise<boolean> {
  try {
    await target.client.send(
      new GetQueueAttributesCommand({ QueueUrl: target.queueUrl, AttributeNames: ['QueueArn'] }),
      {
        abortSignal: AbortSignal.timeout(timeoutMs),
      },
    );
    return true;
  } catch {
    return false;
  }
}
