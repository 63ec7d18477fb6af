// The end-to-end baseline, run as a child process by e2e.ts: the fauxqs emulator embedded in
// one Node process, exactly as the app embeds it (same options, the same queue attributes),
// drained by sqs-consumer (the version the app uses, through @ssut/nestjs-sqs) with the app's
// client settings, whose batch handler acknowledges every message at once. What this
// process reaches is the emulator's own receive-and-delete rate: the ceiling of the app.
// Prints "ready <queue url>" on stdout once it consumes; stops on SIGTERM.

import { createRequire } from 'node:module';
import { startFauxqs } from 'fauxqs';

const require = createRequire(import.meta.url);
const sqsLib = require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');
// sqs-consumer is not a direct dependency: take the copy @ssut/nestjs-sqs uses.
const { Consumer } = createRequire(require.resolve('@ssut/nestjs-sqs'))('sqs-consumer') as {
  Consumer: {
    create(options: Record<string, unknown>): { start(): void; stop(o?: { abort?: boolean }): void };
  };
};

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set (drain-baseline.ts is started by e2e.ts)`);
  return value;
};

const port = Number(env('DRAIN_PORT'));
const consumers = Number(env('DRAIN_CONSUMERS'));
const visibility = env('DRAIN_VISIBILITY_TIMEOUT');
const server = await startFauxqs({ port, host: '127.0.0.1', logger: false, dataDir: env('DRAIN_DATA_DIR') });
const dlq = server.createQueue('orders-dlq');
const queue = server.createQueue('orders', {
  attributes: {
    VisibilityTimeout: visibility,
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 5 }),
  },
});
const client = new sqsLib.SQSClient({
  region: 'us-east-1',
  endpoint: `http://127.0.0.1:${server.port}`,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const running = Array.from({ length: consumers }, () =>
  Consumer.create({
    queueUrl: queue.queueUrl,
    sqs: client,
    batchSize: Number(env('DRAIN_BATCH_SIZE')),
    waitTimeSeconds: Number(env('DRAIN_WAIT_TIME_SECONDS')),
    visibilityTimeout: Number(visibility),
    messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    pollingWaitTimeMs: 0,
    handleMessageBatch: (messages: unknown[]) => Promise.resolve(messages),
  }),
);
for (const c of running) c.start();
process.stdout.write(`ready ${queue.queueUrl}\n`);
process.on('SIGTERM', () => {
  for (const c of running) c.stop({ abort: true });
  client.destroy();
  void server.stop().finally(() => process.exit(0));
});
