import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { QualityGuard, type Verdict } from '@order-pipeline/quality-guard';
import { parseOrderMessage, type Order } from '@order-pipeline/orders';
import { OrderAggregator } from '@order-pipeline/aggregation';
import { anOrder } from '../../libs/orders/test/order-builder';
import { startRedisServer, type RedisServer } from '../support/processes';
import { eventually, startTestApp, type GlobalStats, type TestApp } from '../support/test-app';

const retries = (metrics: string): number => Number(/outcome="retry"} (\d+)/.exec(metrics)?.[1] ?? 0);

/**
 * A guard that can be told to hold every batch at its review until released, so a test
 * knows a batch is in flight (received, not yet applied) at a moment of its choosing.
 */
class HoldingGuard extends QualityGuard {
  private hold: Promise<void> | undefined;
  private release = (): void => undefined;
  /** Batches that reached the hold (and waited there). */
  held = 0;

  holdBatches(): void {
    this.hold = new Promise((resolve) => (this.release = resolve));
  }

  releaseBatches(): void {
    this.hold = undefined;
    this.release();
  }

  override async review(orders: readonly Order[], nowMs?: number, mayDefer?: readonly boolean[]): Promise<Verdict[]> {
    if (this.hold) {
      this.held += 1;
      await this.hold;
    }
    return super.review(orders, nowMs, mayDefer);
  }
}

/** A guard that takes its time: batches are still being handled when the app is told to stop. */
class SlowGuard extends HoldingGuard {
  override async review(orders: readonly Order[], nowMs?: number, mayDefer?: readonly boolean[]): Promise<Verdict[]> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return super.review(orders, nowMs, mayDefer);
  }
}

describe('when Redis stops mid-stream and comes back', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeEach(async () => {
    // A private server with an append-only file, so a restart keeps what was written.
    redis = await startRedisServer({ dir: mkdtempSync(join(tmpdir(), 'op-aof-')) });
    t = await startTestApp(
      { REDIS_URL: redis.url, SQS_MAX_RECEIVE_COUNT: '50', SQS_VISIBILITY_TIMEOUT: '2' },
      (builder) => builder.overrideProvider(QualityGuard).useClass(HoldingGuard),
    );
  });

  afterEach(async () => {
    await t?.close();
    await redis?.stop();
    if (redis) rmSync(redis.dir, { recursive: true, force: true });
  });

  it('ends with exact totals and no message lost or dead-lettered', async () => {
    const orders = Array.from({ length: 300 }, (_, i) =>
      anOrder()
        .with({ user_id: `u-${i % 7}` })
        .json(),
    );
    const guard = t.app.get<QualityGuard, HoldingGuard>(QualityGuard);
    await t.send(orders.slice(0, 100));
    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.total_orders > 0, 10_000);

    // Batches received while Redis is up are caught in flight when it stops: their writes
    // fail, and their messages go back to the queue (not acknowledged, not lost) to be
    // retried. The rest wait in the queue: no receive goes out while Redis is away.
    guard.holdBatches();
    await t.send(orders.slice(100));
    await eventually(() => guard.held > 0, 10_000);
    await redis.stop();
    await eventually(async () => (await t.get('/health/ready')).status === 503, 10_000);
    guard.releaseBatches();
    await eventually(async () => retries(await t.metrics()) > 0, 10_000);
    redis = await startRedisServer({ port: redis.port, dir: redis.dir });

    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.total_orders === 300, 30_000, 200);
    await t.drained(15_000);
    expect((await t.get<GlobalStats>('/stats/global')).body).toMatchObject({ total_orders: 300, total_revenue: 29997 });
    const dlq = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.dlqUrl, MaxNumberOfMessages: 10 }));
    expect(dlq.Messages ?? []).toHaveLength(0);
  }, 90_000);
});

/** A guard that cannot reach its backend for one user's orders: a transient failure. */
class FlakyGuard extends QualityGuard {
  override review(orders: readonly Order[]): Promise<Verdict[]> {
    if (orders.some((o) => o.userId === 'U-FLAKY')) return Promise.reject(new Error('guard timeout'));
    return super.review(orders);
  }
}

describe('a shutdown with a batch in flight', () => {
  it('answers not ready while the batch finishes, and still serves the API', async () => {
    const t = await startTestApp({}, (builder) => builder.overrideProvider(QualityGuard).useClass(HoldingGuard));
    const guard = t.app.get<QualityGuard, HoldingGuard>(QualityGuard);
    guard.holdBatches();
    await t.send([anOrder().with({ user_id: 'u-draining' }).json()]);
    await eventually(() => guard.held > 0);
    // Readiness pings Redis with a 1 s limit: on a loaded host one probe may miss it.
    await eventually(async () => (await t.get('/health/ready')).status === 200);
    const closing = t.close();
    try {
      await eventually(async () => (await t.get('/health/ready')).status === 503);
      const ready = await t.get<{ error: Record<string, { message: string }> }>('/health/ready');
      expect(ready.body.error.process?.message).toBe('shutting down: batches in flight are finishing');
      expect((await t.get('/stats/global')).status).toBe(200);
    } finally {
      guard.releaseBatches();
      await closing;
    }
  });

  it('closes each keep-alive connection after its answer once the shutdown has begun', async () => {
    const t = await startTestApp({}, (builder) => builder.overrideProvider(QualityGuard).useClass(HoldingGuard));
    const guard = t.app.get<QualityGuard, HoldingGuard>(QualityGuard);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const getVia = (path: string): Promise<IncomingMessage> =>
      new Promise((resolve, reject) => {
        get(`${t.baseUrl.replace('[::1]', '127.0.0.1')}${path}`, { agent }, (res) => {
          res.resume();
          res.once('end', () => resolve(res));
        }).once('error', reject);
      });
    guard.holdBatches();
    await t.send([anOrder().with({ user_id: 'u-draining' }).json()]);
    await eventually(() => guard.held > 0);
    const before = await getVia('/stats/global');
    expect(before.headers.connection).toBe('keep-alive');
    let closed = false;
    const closing = t.close().then(() => (closed = true));
    try {
      await eventually(async () => (await t.get('/health/ready')).status === 503);
      const during = await getVia('/stats/global');
      expect(during.statusCode).toBe(200);
      expect(during.headers.connection).toBe('close');
      // The server ends the connection itself, while the batch is still held (the app cannot
      // have closed: its shutdown waits for that batch).
      await eventually(() => during.socket.destroyed);
      expect(closed).toBe(false);
    } finally {
      guard.releaseBatches();
      agent.destroy();
      await closing;
    }
  });
});

describe('a shutdown in mid-stream', () => {
  it('finishes and acknowledges the batches in flight: nothing comes back as a duplicate', async () => {
    // A visibility timeout that a late heartbeat on a loaded machine cannot outrun: a
    // redelivery here would be a duplicate that the shutdown did not cause.
    const env = { SQS_VISIBILITY_TIMEOUT: '10', SQS_CONSUMER_CONCURRENCY: '4' };
    const total = 2000;
    // A slow guard keeps batches in flight when the shutdown comes.
    const first = await startTestApp(env, (builder) => builder.overrideProvider(QualityGuard).useClass(SlowGuard));
    // All of them are queued before the first batch goes on: the stream is long when the stop comes.
    const guard = first.app.get<QualityGuard, SlowGuard>(QualityGuard);
    guard.holdBatches();
    await first.send(
      Array.from({ length: total }, (_, i) =>
        anOrder()
          .with({ user_id: `u-${i % 9}` })
          .json(),
      ),
    );
    guard.releaseBatches();
    await eventually(async () => (await first.get<GlobalStats>('/stats/global')).body.total_orders >= 50, 10_000, 5);
    await first.app.close();
    const left = await first.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: first.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Number(left.Attributes?.ApproximateNumberOfMessages)).toBeGreaterThan(0); // it was mid-stream
    // Nothing received is left in flight: a batch dropped at the stop would still be invisible
    // here (for the 10 s visibility timeout), and would come back to the second instance.
    expect(Number(left.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(0);

    const second = await startTestApp({ ...env, SQS_QUEUE_URL: first.queueUrl, REDIS_KEY_PREFIX: first.keyPrefix });
    try {
      await eventually(
        async () => (await second.get<GlobalStats>('/stats/global')).body.total_orders === total,
        45_000,
      );
      await second.drained(20_000);
      expect((await second.get<GlobalStats>('/stats/global')).body).toMatchObject({
        total_orders: total,
        total_revenue: 199980, // 2000 x 99.99
        duplicates: 0,
      });
    } finally {
      await second.close();
      first.sqs.destroy();
    }
  }, 90_000);
});

describe('a crash between the claim and the apply step', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });

  afterEach(async () => {
    await t.close();
  });

  it('is harmless: the redelivery applies the order exactly once', async () => {
    const body = anOrder().with({ order_id: 'ord-crash', user_id: 'u-crash' }).json();
    const parsed = parseOrderMessage(body);
    if (!parsed.ok) throw new Error('test order is invalid');
    // Step 1 committed, then the process died before step 2.
    await t.app.get(OrderAggregator).claim(parsed.order);
    expect((await t.get<{ outcome: string }>('/orders/ord-crash')).body.outcome).toBe('pending');

    await t.send([body, body]);
    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.duplicates === 1);
    expect((await t.get<GlobalStats>('/stats/global')).body).toMatchObject({ total_orders: 1, total_revenue: 99.99 });
    expect((await t.get<{ outcome: string }>('/orders/ord-crash')).body.outcome).toBe('accepted');
  });
});

describe('partial acknowledgement', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp(
      { SQS_MAX_RECEIVE_COUNT: '2', SQS_VISIBILITY_TIMEOUT: '1', SQS_CONSUMER_CONCURRENCY: '1' },
      (builder) => builder.overrideProvider(QualityGuard).useClass(FlakyGuard),
    );
  });

  afterEach(async () => {
    await t.close();
  });

  it('acknowledges the final outcomes of a batch and leaves the transient failure for redelivery, then the DLQ', async () => {
    const flaky = anOrder().with({ order_id: 'ord-flaky', user_id: 'u-flaky' }).json();
    await t.send(['not json', flaky]);

    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.rejected === 1);
    // The flaky order is received again (maxReceiveCount 2), then SQS moves it to the DLQ.
    let deadLettered: string[] = [];
    await eventually(
      async () => {
        const res = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.dlqUrl, MaxNumberOfMessages: 10 }));
        deadLettered = (res.Messages ?? []).map((m) => m.Body ?? '');
        return deadLettered.length > 0;
      },
      60_000,
      200,
    );
    expect(deadLettered).toEqual([flaky]);
    expect((await t.get<GlobalStats>('/stats/global')).body).toMatchObject({ total_orders: 0, rejected: 1 });
    // Claimed beside the review (an offline guard cannot refuse an order), never applied: seen
    // and pending, so a redrive from the DLQ finds its own claim and applies it once.
    expect((await t.get<{ outcome: string }>('/orders/ord-flaky')).body.outcome).toBe('pending');
  }, 90_000);
});
