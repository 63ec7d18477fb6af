import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { EmbeddedEmulator, EmulatorRequest } from '../../libs/sqs/src/embedded-emulator';
import { freePort } from '../support/processes';

// From the build, as the app runs it: the emulator's worker thread is compiled JavaScript.
const DIST_EMULATOR = join(__dirname, '..', '..', 'dist', 'libs', 'sqs', 'src', 'embedded-emulator.js');
type Start = (request: EmulatorRequest) => Promise<EmbeddedEmulator>;

/**
 * The embedded emulator (fauxqs, patched: patches/fauxqs@2.4.1.patch) moves a message that
 * has had its receives to the dead-letter queue as one transaction on disk. This shows the
 * move still works with messages kept on disk and survives a restart; that a thread ended
 * between its two statements loses nothing is what the transaction itself guarantees.
 */
describe('the embedded emulator moving a message to its dead-letter queue, messages on disk', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'op-dlq-'));
  let emulator: EmbeddedEmulator | undefined;
  let sqs: SQSClient | undefined;
  let startEmbeddedEmulator: Start;

  beforeAll(async () => {
    ({ startEmbeddedEmulator } = (await import(DIST_EMULATOR)) as { startEmbeddedEmulator: Start });
  });

  const start = async (): Promise<{ emulator: EmbeddedEmulator; sqs: SQSClient }> => {
    emulator = await startEmbeddedEmulator({
      port: await freePort(),
      host: '127.0.0.1',
      dataDir,
      queue: { name: 'orders', attributes: { VisibilityTimeout: '30' } },
      dlq: { name: 'orders-dlq', attributes: {} },
      maxReceiveCount: 1,
    });
    sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${emulator.port}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return { emulator, sqs };
  };
  const stop = async (): Promise<void> => {
    sqs?.destroy();
    await emulator?.stop();
    sqs = undefined;
    emulator = undefined;
  };

  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the message in the dead-letter queue only, across a restart', async () => {
    let { emulator: e, sqs: client } = await start();
    await client.send(new SendMessageCommand({ QueueUrl: e.queueUrl, MessageBody: 'poison' }));
    const first = await client.send(new ReceiveMessageCommand({ QueueUrl: e.queueUrl, WaitTimeSeconds: 1 }));
    const handle = first.Messages?.[0]?.ReceiptHandle ?? '';
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: e.queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    // The second receive exceeds maxReceiveCount 1: the message moves instead of being delivered.
    const second = await client.send(new ReceiveMessageCommand({ QueueUrl: e.queueUrl, WaitTimeSeconds: 1 }));
    expect(second.Messages ?? []).toEqual([]);

    await stop();
    ({ emulator: e, sqs: client } = await start());

    const main = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: e.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect([
      main.Attributes?.ApproximateNumberOfMessages,
      main.Attributes?.ApproximateNumberOfMessagesNotVisible,
    ]).toEqual(['0', '0']);
    const { QueueUrl: dlqUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'orders-dlq' }));
    const dead = await client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
    expect((dead.Messages ?? []).map((m) => m.Body)).toEqual(['poison']);
  });
});
