import { MAX_MESSAGE_BYTES, planBatches, sendBatches } from '../sqs-send.ts';
import type { BatchEntry, BatchOutcome } from '../sqs-send.ts';
import { resolveTarget } from '../sqs-target.ts';

const noSleep = async () => {};

describe('planBatches', () => {
  it('makes batches of at most 10 entries', () => {
    const { batches, rejected } = planBatches(Array.from({ length: 25 }, (_v, i) => `m${i}`));
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(rejected).toEqual([]);
  });
  it('rejects (does not send) a message over 256 KiB and keeps batches under 256 KiB in total', () => {
    const big = 'x'.repeat(100 * 1024);
    const { batches, rejected } = planBatches([big, big, big, 'y'.repeat(MAX_MESSAGE_BYTES + 1), 'small']);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].index).toBe(3);
    expect(rejected[0].reason).toMatch(/256 KiB/);
    for (const b of batches) expect(b.reduce((s, o) => s + o.bytes, 0)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(batches.flat().map((o) => o.index)).toEqual([0, 1, 2, 4]);
  });
  it('counts bytes, not characters', () => {
    const { rejected } = planBatches(['é'.repeat(MAX_MESSAGE_BYTES / 2 + 1)]);
    expect(rejected).toHaveLength(1);
  });
});

describe('sendBatches', () => {
  it('retries entries reported in Failed[] and thrown errors, then succeeds', async () => {
    const { batches } = planBatches(Array.from({ length: 23 }, (_v, i) => `m${i}`));
    const attempts = new Map<string, number>();
    let calls = 0;
    const send = async (entries: BatchEntry[]): Promise<BatchOutcome> => {
      calls += 1;
      await Promise.resolve();
      if (calls === 2) throw new Error('socket hang up');
      const out: BatchOutcome = { successfulIds: [], failed: [] };
      for (const e of entries) {
        const n = (attempts.get(e.Id) ?? 0) + 1;
        attempts.set(e.Id, n);
        if (e.MessageBody === 'm3' && n < 3) out.failed.push({ id: e.Id, reason: 'ServiceUnavailable' });
        else out.successfulIds.push(e.Id);
      }
      return out;
    };
    const result = await sendBatches(batches, send, { concurrency: 1, sleep: noSleep });
    expect(result).toEqual({ sent: 23, failures: [] });
  });
  it('gives up after 3 retries and reports the reason', async () => {
    const { batches } = planBatches(['a', 'b']);
    let calls = 0;
    const send = async (entries: BatchEntry[]): Promise<BatchOutcome> => {
      calls += 1;
      await Promise.resolve();
      return {
        successfulIds: entries.filter((e) => e.MessageBody === 'a').map((e) => e.Id),
        failed: entries
          .filter((e) => e.MessageBody === 'b')
          .map((e) => ({ id: e.Id, reason: 'InvalidMessageContents' })),
      };
    };
    const result = await sendBatches(batches, send, { concurrency: 4, sleep: noSleep });
    expect(result.sent).toBe(1);
    expect(result.failures).toEqual([{ index: 1, reason: 'InvalidMessageContents' }]);
    expect(calls).toBe(4);
  });
  it('keeps at most `concurrency` requests in flight', async () => {
    const { batches } = planBatches(Array.from({ length: 100 }, (_v, i) => `m${i}`));
    let inFlight = 0;
    let peak = 0;
    const send = async (entries: BatchEntry[]): Promise<BatchOutcome> => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight -= 1;
      return { successfulIds: entries.map((e) => e.Id), failed: [] };
    };
    const result = await sendBatches(batches, send, { concurrency: 3, sleep: noSleep });
    expect(result.sent).toBe(100);
    expect(peak).toBe(3);
  });
});

describe('resolveTarget', () => {
  it('defaults to the emulator on port 4566 and queue "orders"', () => {
    expect(resolveTarget({})).toEqual({
      queueUrl: undefined,
      queueName: 'orders',
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      emulator: true,
    });
    expect(resolveTarget({ SQS_EMULATOR_PORT: '4599', SQS_QUEUE_NAME: 'q2' })).toMatchObject({
      endpoint: 'http://127.0.0.1:4599',
      queueName: 'q2',
      emulator: true,
    });
  });
  it('uses a real queue URL with the default credential chain and its region', () => {
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
    expect(resolveTarget({ SQS_QUEUE_URL: url })).toEqual({
      queueUrl: url,
      queueName: 'orders',
      endpoint: undefined,
      region: 'eu-west-1',
      emulator: false,
    });
    expect(resolveTarget({ AWS_REGION: 'us-west-2' }, url).region).toBe('us-west-2');
  });
  it('treats a non-AWS queue URL or an SQS_ENDPOINT as an emulator', () => {
    expect(resolveTarget({}, 'http://sqs.us-east-1.localhost:4599/000000000000/orders')).toMatchObject({
      endpoint: 'http://127.0.0.1:4599',
      emulator: true,
    });
    expect(resolveTarget({}, 'http://elasticmq:9324/000000000000/orders').endpoint).toBe('http://elasticmq:9324');
    expect(resolveTarget({ SQS_ENDPOINT: 'http://localhost:9324', SQS_QUEUE_URL: 'http://x/q' })).toMatchObject({
      endpoint: 'http://localhost:9324',
      emulator: true,
    });
  });
});

describe('sendBatches when the endpoint is unreachable', () => {
  it('stops starting new batches after one exhausts its retries, and reports every message', async () => {
    const { batches } = planBatches(Array.from({ length: 95 }, (_v, i) => `m${i}`));
    let calls = 0;
    const send = async (): Promise<BatchOutcome> => {
      calls += 1;
      await Promise.resolve();
      throw new Error('getaddrinfo ENOTFOUND sqs.example');
    };
    const result = await sendBatches(batches, send, { concurrency: 1, sleep: noSleep });
    expect(result.sent).toBe(0);
    expect(result.failures).toHaveLength(95);
    expect(calls).toBe(4);
    expect(result.failures[94].reason).toMatch(/not sent: an earlier request kept failing/);
  });
});
