import { Logger } from '@nestjs/common';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '@order-pipeline/config';
import type { QueueTarget } from './queue-target';
import { ReceiveLimit, parseRedrivePolicy } from './redrive-policy';

const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:orders-dlq';

/** A queue target whose GetQueueAttributes answers with `policy` (a string, or an Error to throw). */
function queue(
  embedded: boolean,
  answers: (string | undefined | Error)[],
): QueueTarget & { reads: number; requested: unknown[] } {
  const target = {
    queueUrl: 'http://127.0.0.1:1/000000000000/orders',
    embedded,
    reads: 0,
    requested: [] as unknown[],
    client: {
      send: (command: { input: { AttributeNames?: string[] } }) => {
        target.requested.push(command.input.AttributeNames);
        const answer = answers[Math.min(target.reads, answers.length - 1)];
        target.reads += 1;
        if (answer instanceof Error) return Promise.reject(answer);
        return Promise.resolve({ Attributes: answer === undefined ? {} : { RedrivePolicy: answer } });
      },
    } as unknown as SQSClient,
    close: () => Promise.resolve(),
  };
  return target;
}

const policy = (maxReceiveCount: number | string): string =>
  JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount });

/** Every ReceiveLimit a test made, shut down after it (no timer left running). */
const made: ReceiveLimit[] = [];

async function limitFor(target: QueueTarget, env: Record<string, string> = {}): Promise<ReceiveLimit> {
  const limit = new ReceiveLimit(target, loadConfig(env));
  made.push(limit);
  await limit.onApplicationBootstrap();
  return limit;
}

describe('parseRedrivePolicy', () => {
  it.each([
    ['a number', policy(5), 5],
    ['a string of digits', policy('3'), 3],
    ['missing', JSON.stringify({ deadLetterTargetArn: DLQ_ARN }), undefined],
    ['not a count', policy('lots'), undefined],
  ])('reads a maxReceiveCount written as %s', (_, text, count) => {
    expect(parseRedrivePolicy(text)).toEqual({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: count });
  });

  it('says a queue without a policy has none', () => {
    expect(parseRedrivePolicy(undefined)).toBeUndefined();
  });
});

describe('ReceiveLimit (may a message be given back without being dead-lettered)', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    for (const limit of made.splice(0)) limit.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  /** allowsAnotherReceive for messages received once, twice and three times. */
  const answers = (limit: ReceiveLimit): boolean[] => [1, 2, 3].map((n) => limit.allowsAnotherReceive(n));

  it.each([
    ['5', [true, true, true]],
    ['2', [true, false, false]],
    ['1', [false, false, false]],
  ])('takes the embedded queue from SQS_MAX_RECEIVE_COUNT=%s, without asking it', async (count, allowed) => {
    const target = queue(true, [policy(1)]);
    const limit = await limitFor(target, { SQS_MAX_RECEIVE_COUNT: count });
    expect([answers(limit), target.reads]).toEqual([allowed, 0]);
  });

  it("goes by another queue's own maxReceiveCount, not by SQS_MAX_RECEIVE_COUNT", async () => {
    const target = queue(false, [policy('3')]);
    const limit = await limitFor(target, { SQS_MAX_RECEIVE_COUNT: '1' });
    expect(answers(limit)).toEqual([true, true, false]);
    expect(target.requested).toEqual([['RedrivePolicy']]);
  });

  it('allows any redelivery on a queue with no dead-letter queue', async () => {
    expect(answers(await limitFor(queue(false, [undefined])))).toEqual([true, true, true]);
  });

  it.each([
    ['does not state the count', JSON.stringify({ deadLetterTargetArn: DLQ_ARN })],
    ['states a count of 0', policy(0)],
    ['is not JSON', '{"deadLetterTargetArn":'],
  ])('allows none when the policy %s', async (_, text) => {
    expect(answers(await limitFor(queue(false, [text])))).toEqual([false, false, false]);
  });

  it('allows none while the policy cannot be read, and says why', async () => {
    const denied = Object.assign(new Error('Access to the resource is denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const limit = await limitFor(queue(false, [denied]));
    expect(answers(limit)).toEqual([false, false, false]);
    expect(Logger.prototype.warn).toHaveBeenCalledWith(
      expect.stringContaining('(AccessDenied: Access to the resource is denied, HTTP 403)'),
    );
  });

  it('reads the policy again once a minute, busy or idle', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const target = queue(false, [new Error('timeout'), policy(4)]);
      const limit = await limitFor(target);
      expect([limit.allowsAnotherReceive(1), target.reads]).toEqual([false, 1]);

      await jest.advanceTimersByTimeAsync(59_000);
      expect([limit.allowsAnotherReceive(1), target.reads]).toEqual([false, 1]);

      await jest.advanceTimersByTimeAsync(1_000);
      expect([limit.allowsAnotherReceive(1), target.reads]).toEqual([true, 2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps the last policy read when a later read fails', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const target = queue(false, [policy(3), new Error('timeout')]);
      const limit = await limitFor(target);
      await jest.advanceTimersByTimeAsync(60_000);
      expect([limit.allowsAnotherReceive(1), target.reads]).toEqual([true, 2]);
      expect(Logger.prototype.warn).toHaveBeenCalledWith(expect.stringContaining('the last one read still holds'));
    } finally {
      jest.useRealTimers();
    }
  });

  it('logs what it found once, not on every read that finds the same', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const target = queue(false, [policy(5)]);
      await limitFor(target);
      await jest.advanceTimersByTimeAsync(180_000);
      expect([target.reads, (Logger.prototype.log as jest.Mock).mock.calls.length]).toEqual([4, 1]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('reads nothing more once the app shuts down', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const target = queue(false, [policy(5)]);
      const limit = await limitFor(target);
      limit.onApplicationShutdown();
      await jest.advanceTimersByTimeAsync(120_000);
      expect(target.reads).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
