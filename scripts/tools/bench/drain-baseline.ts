// The end-to-end baseline, run as a child process by e2e.ts: the fauxqs emulator hosted
// exactly as the app hosts it (the app's own startEmbeddedEmulator from dist/: a thread of
// its own, the same queues and attributes), drained by sqs-consumer (the version the app
// uses, through @ssut/nestjs-sqs) with the app's consumer settings (batch size, wait time,
// visibility, heartbeat, the attributes it asks for), whose batch handler acknowledges every
// message at once. e2e.ts runs it with the app's heap flags. What this process reaches is
// the emulator's own receive-and-delete rate: the ceiling of the app.
// Prints "ready <queue url>" on stdout once it consumes; stops on SIGTERM.

import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

// Not harness.ts: its exit and signal handlers are the suite's, not this child's.
const ROOT = resolve(import.meta.dirname, '..', '..', '..');

const require = createRequire(import.meta.url);
const sqsLib = require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');
// sqs-consumer is not a direct dependency: take the copy @ssut/nestjs-sqs uses.
const { Consumer } = createRequire(require.resolve('@ssut/nestjs-sqs'))('sqs-consumer') as {
  Consumer: {
    create(options: Record<string, unknown>): {
      start(): void;
      stop(o?: { abort?: boolean }): void;
      on(event: 'error', listener: (error: Error) => void): void;
    };
  };
};

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set (drain-baseline.ts is started by e2e.ts)`);
  return value;
};

// The app's own emulator host (the build; ./scripts/bench builds it first).
const { startEmbeddedEmulator } = require(join(ROOT, 'dist', 'libs', 'sqs', 'src', 'embedded-emulator.js')) as {
  startEmbeddedEmulator: (request: {
    port: number;
    host: string;
    dataDir: string;
    queue: { name: string; attributes: Record<string, string> };
    dlq: { name: string; attributes: Record<string, string> };
    maxReceiveCount: number;
  }) => Promise<{ port: number; queueUrl: string; stop(): Promise<void> }>;
};

const port = Number(env('DRAIN_PORT'));
const consumers = Number(env('DRAIN_CONSUMERS'));
const visibility = env('DRAIN_VISIBILITY_TIMEOUT');
// As libs/sqs/src/queue-target.ts asks for them, with the app's defaults.
const emulator = await startEmbeddedEmulator({
  port,
  host: '127.0.0.1',
  dataDir: env('DRAIN_DATA_DIR'),
  dlq: { name: 'orders-dlq', attributes: {} },
  queue: { name: 'orders', attributes: { VisibilityTimeout: visibility } },
  maxReceiveCount: 5,
});
const client = new sqsLib.SQSClient({
  region: 'us-east-1',
  endpoint: `http://127.0.0.1:${emulator.port}`,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
// The settings of libs/sqs/src/order-queue.module.ts (the heartbeat: SQS_HEARTBEAT_SECONDS'
// default, a third of the visibility timeout; the attribute a redriven message carries).
const running = Array.from({ length: consumers }, () =>
  Consumer.create({
    queueUrl: emulator.queueUrl,
    sqs: client,
    batchSize: Number(env('DRAIN_BATCH_SIZE')),
    waitTimeSeconds: Number(env('DRAIN_WAIT_TIME_SECONDS')),
    visibilityTimeout: Number(visibility),
    heartbeatInterval: Math.max(1, Math.floor(Number(visibility) / 3)),
    messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    messageAttributeNames: ['op-original-message-id'],
    pollingWaitTimeMs: 0,
    handleMessageBatch: (messages: unknown[]) => Promise.resolve(messages),
  }),
);
let stopping = false;
for (const c of running) {
  // Stopping aborts the receives in flight: those errors are the stop, not a failure.
  c.on('error', (error) => {
    if (!stopping) process.stderr.write(`drain baseline: ${error.message}\n`);
  });
  c.start();
}
process.stdout.write(`ready ${emulator.queueUrl}\n`);
process.on('SIGTERM', () => {
  stopping = true;
  for (const c of running) c.stop({ abort: true });
  client.destroy();
  void emulator.stop().finally(() => process.exit(0));
});
