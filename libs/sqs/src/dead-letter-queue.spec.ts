import { Logger } from '@nestjs/common';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { UnavailableError } from '@order-pipeline/aggregation';
import { loadConfig } from '@order-pipeline/config';
import { DeadLetterQueue } from './dead-letter-queue';
import type { QueueTarget } from './queue-target';

/** A queue whose RedrivePolicy names `current.dlq` (none when undefined); GetQueueUrl answers by name. */
function queueTarget(current: { dlq: string | undefined }): QueueTarget & { urlLookups: number } {
  const target = {
    queueUrl: 'http://127.0.0.1:1/000000000000/orders',
    embedded: false,
    urlLookups: 0,
    client: {
      send: (command: object) => {
        if (command instanceof GetQueueUrlCommand) {
          target.urlLookups += 1;
          return Promise.resolve({ QueueUrl: `http://127.0.0.1:1/000000000000/${command.input.QueueName}` });
        }
        const policy =
          current.dlq === undefined
            ? undefined
            : JSON.stringify({
                deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${current.dlq}`,
                maxReceiveCount: 5,
              });
        return Promise.resolve({ Attributes: policy === undefined ? {} : { RedrivePolicy: policy } });
      },
    } as unknown as SQSClient,
    close: () => Promise.resolve(),
  };
  return target;
}

describe('DeadLetterQueue.url (the queue the redrive policy names)', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('follows the policy to another dead-letter queue within a minute', async () => {
    const current = { dlq: 'first-dlq' as string | undefined };
    const dlq = new DeadLetterQueue(queueTarget(current), loadConfig({}));
    expect(await dlq.url()).toMatch(/\/first-dlq$/);

    current.dlq = 'second-dlq';
    jest.advanceTimersByTime(59_000);
    expect(await dlq.url()).toMatch(/\/first-dlq$/);
    jest.advanceTimersByTime(1_000);
    expect(await dlq.url()).toMatch(/\/second-dlq$/);
  });

  it('sees a policy taken away, and one added, within a minute', async () => {
    const current = { dlq: 'first-dlq' as string | undefined };
    const dlq = new DeadLetterQueue(queueTarget(current), loadConfig({}));
    await dlq.url();
    current.dlq = undefined;
    jest.advanceTimersByTime(60_000);
    expect(await dlq.url()).toBeUndefined();
    current.dlq = 'new-dlq';
    jest.advanceTimersByTime(60_000);
    expect(await dlq.url()).toMatch(/\/new-dlq$/);
  });

  it('looks the URL up again only when the policy names another queue', async () => {
    const target = queueTarget({ dlq: 'first-dlq' });
    const dlq = new DeadLetterQueue(target, loadConfig({}));
    for (let i = 0; i < 3; i++) {
      await dlq.url();
      jest.advanceTimersByTime(60_000);
    }
    expect(target.urlLookups).toBe(1);
  });
});

describe('DeadLetterQueue when SQS fails', () => {
  /** A dead-letter queue whose every SQS call fails with `error`. */
  const failingWith = (error: Error): DeadLetterQueue =>
    new DeadLetterQueue(
      {
        queueUrl: 'http://127.0.0.1:1/000000000000/orders',
        embedded: false,
        client: { send: () => Promise.reject(error) } as unknown as SQSClient,
        close: () => Promise.resolve(),
      },
      loadConfig({}),
    );
  /** What the AWS SDK throws when the endpoint refuses the connection. */
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { name: 'Error' });

  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['peek', (q: DeadLetterQueue) => q.peek(1)],
    ['redrive', (q: DeadLetterQueue) => q.redrive(1)],
  ])(
    'answers a %s the queue does not answer with UnavailableError naming the queue, and logs the cause',
    async (_, call) => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const answer = call(failingWith(refused));
      await expect(answer).rejects.toBeInstanceOf(UnavailableError);
      await expect(answer).rejects.toThrow(/^the SQS queue did not answer \(Error\); retry later$/);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('connect ECONNREFUSED 127.0.0.1:4566'));
    },
  );

  it('passes a programming error through, for the filter to log as a 500', async () => {
    const bug = new TypeError('x is not a function');
    await expect(failingWith(bug).redrive(1)).rejects.toBe(bug);
  });
});
