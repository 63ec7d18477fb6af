import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { SqsService } from '@ssut/nestjs-sqs';
import { QualityGuard, type Verdict } from '@order-pipeline/quality-guard';
import type { Order } from '@order-pipeline/orders';
import { ConsumptionGate, OrderBatchHandler } from '@order-pipeline/sqs';
import { anOrder } from '../../libs/orders/test/order-builder';
import { startRedisServer, type RedisServer } from '../support/processes';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';
import { depth, eventually, startTestApp, type GlobalStats, type TestApp, e2eSqsPort } from '../support/test-app';

/**
 * Once the gate holds the receives: sends `count` orders and sees three seconds of held
 * receives go by with all of them still waiting on the queue (none was received).
 */
async function sendWhileHeld(t: TestApp, count: number): Promise<void> {
  const gate = t.app.get(ConsumptionGate);
  await eventually(() => gate.isPaused);
  // Held for a second: a receive that was long-polling when Redis went has ended.
  const paused = gate.held;
  await eventually(() => gate.held >= paused + 5);
  await t.send(
    Array.from({ length: count }, (_, i) =>
      anOrder()
        .with({ user_id: `u-${i % 5}` })
        .json(),
    ),
  );
  const sent = gate.held;
  await eventually(() => gate.held >= sent + 12);
  expect(await depth(t)).toEqual({ visible: count, inFlight: 0 });
}

/** Redis answers again: every order is counted, once, and none went to the dead-letter queue. */
async function expectCountedOnce(t: TestApp, count: number): Promise<void> {
  await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.total_orders === count, 30_000, 100);
  expect(await depth(t, t.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
}

describe('while Redis is away', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeEach(async () => {
    redis = await startRedisServer({ dir: mkdtempSync(join(tmpdir(), 'op-aof-')) });
    // One receive per message is all the queue allows: a consumer that received while Redis
    // is away and gave the messages back would send them to the dead-letter queue.
    t = await startTestApp({
      REDIS_URL: redis.url,
      SQS_MAX_RECEIVE_COUNT: '1',
      // Long enough that a late heartbeat on a loaded machine does not redeliver (and so
      // dead-letter) a batch that is being handled normally.
      SQS_VISIBILITY_TIMEOUT: '10',
      SQS_CONSUMER_CONCURRENCY: '1',
    });
  });

  afterEach(async () => {
    await t?.close();
    await redis?.stop();
    if (redis) rmSync(redis.dir, { recursive: true, force: true });
  });

  it('pauses the receives instead of spinning, and resumes by itself when Redis is back', async () => {
    await redis.stop();
    await sendWhileHeld(t, 50);

    redis = await startRedisServer({ port: redis.port, dir: redis.dir });
    await expectCountedOnce(t, 50);
  });
});

describe('while Redis is up but does not answer (stopped with SIGSTOP)', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeEach(async () => {
    redis = await startRedisServer();
    // As above: one receive per message, so a receive during the stall would dead-letter.
    t = await startTestApp({
      REDIS_URL: redis.url,
      // Short enough to find the stall at once; long enough that a busy worker's pause after
      // SIGCONT (timers run before the reply is read) does not fail a command and spend the
      // message's one receive.
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      SQS_MAX_RECEIVE_COUNT: '1',
      SQS_VISIBILITY_TIMEOUT: '10',
      SQS_CONSUMER_CONCURRENCY: '1',
    });
  });

  afterEach(async () => {
    redis?.process.kill('SIGCONT');
    await t?.close();
    await redis?.stop();
  });

  it('holds the receives once a command found it silent, and resumes when it answers again', async () => {
    redis.process.kill('SIGSTOP');
    // A read finds the stall: a 503 after the command timeout, and the connection is re-made.
    expect((await t.get('/stats/global')).status).toBe(503);
    await sendWhileHeld(t, 20);

    redis.process.kill('SIGCONT');
    await expectCountedOnce(t, 20);
  });
});

describe('while the queue stops answering (a black-holed network)', () => {
  let proxy: StallingProxy;
  let t: TestApp;

  beforeEach(async () => {
    proxy = await startStallingProxy(e2eSqsPort());
    // The app reaches the queue through the proxy; the spec sends past it.
    t = await startTestApp({ SQS_ENDPOINT: proxy.endpoint, SQS_CONSUMER_CONCURRENCY: '1' });
  });

  afterEach(async () => {
    await t?.close();
    await proxy?.stop();
  });

  const global = async (): Promise<GlobalStats> => (await t.get<GlobalStats>('/stats/global')).body;
  const sendOrders = (tag: string, count: number): Promise<void> =>
    t.send(
      Array.from({ length: count }, (_, i) =>
        anOrder()
          .with({ user_id: `u-${tag}-${i}` })
          .json(),
      ),
    );

  it('gives up on the silent calls and consumes again once the queue answers', async () => {
    await t.send([anOrder().with({ user_id: 'u-before' }).json()]);
    await eventually(async () => (await global()).total_orders === 1);

    proxy.stall();
    // Readiness sees the silence (its own 2 s limit); by then the consumer's next long poll
    // went out on a connection that will never answer.
    await eventually(async () => (await t.get('/health/ready')).status === 503);
    proxy.resume();
    await sendOrders('after', 5);

    // The receive caught by the stall ends (the long-poll wait + 10 s) and the next goes out
    // on a new connection. Without a bound the consumer waited on it for good.
    await eventually(async () => (await global()).total_orders === 6, 60_000, 200);
    expect((await global()).duplicates).toBe(0);
  }, 120_000);

  it('gives up on a receive whose answer stops after its headers', async () => {
    // The consumer's next receive gets the headers of its answer, then nothing, for good.
    await proxy.cutAfterHeaders('ReceiveMessage');
    await sendOrders('cut', 5);

    // The SDK's request timer ends at the headers; the socket's idle timer ends the read of
    // the body (the long-poll wait + 10 s). Without it the consumer waited on it for good.
    await eventually(async () => (await global()).total_orders === 5, 60_000, 200);
  }, 120_000);
});

describe('a batch received while the app shuts down', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp({ SQS_CONSUMER_CONCURRENCY: '1' });
  });

  afterEach(async () => {
    await t.close();
  });

  it('is released at once (visible again) and nothing of it is acknowledged', async () => {
    const handler = t.app.get(OrderBatchHandler);
    // The shutdown as Nest runs it: the consumers stop (their last receive ends), then the
    // handler closes its gate.
    const consumers = [...t.app.get(SqsService).consumers.values()].map((c) => c.instance);
    for (const consumer of consumers) consumer.stop();
    await eventually(() => consumers.every((c) => !c.status.isPolling));
    await handler.beforeApplicationShutdown();
    await t.send(Array.from({ length: 5 }, () => anOrder().json()));
    // Received with a long visibility timeout, as a long poll in flight at shutdown would be.
    const received = await t.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: t.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
        WaitTimeSeconds: 1,
      }),
    );
    const messages = received.Messages ?? [];
    expect(messages.length).toBeGreaterThan(0);

    expect(await handler.handle(messages)).toEqual([]);
    handler.batchSettled(); // what sqs-consumer's 'response_processed' would report
    await eventually(async () => (await depth(t)).visible === 5);
    expect((await t.get<GlobalStats>('/stats/global')).body.total_orders).toBe(0);
  });
});

/** A guard that takes longer than the visibility timeout, and counts how often it saw each order. */
class SlowGuard extends QualityGuard {
  static reviews = new Map<string, number>();

  override async review(orders: readonly Order[]): Promise<Verdict[]> {
    for (const o of orders) SlowGuard.reviews.set(o.orderId, (SlowGuard.reviews.get(o.orderId) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    return super.review(orders);
  }
}

describe('a batch that takes longer than the visibility timeout', () => {
  let t: TestApp;

  beforeEach(async () => {
    // Visibility 4 s, heartbeat every second (the default, a third rounded down, at least
    // 1 s): a review of 6 s outlives the visibility timeout, and a heartbeat may be late by 3 s.
    t = await startTestApp({ SQS_VISIBILITY_TIMEOUT: '4', SQS_CONSUMER_CONCURRENCY: '2' }, (builder) =>
      builder.overrideProvider(QualityGuard).useClass(SlowGuard),
    );
  });

  afterEach(async () => {
    await t.close();
  });

  it('keeps its messages invisible with a heartbeat: no second delivery while it runs', async () => {
    await t.send([anOrder().with({ order_id: 'ord-slow', user_id: 'u-slow' }).json()]);
    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.total_orders === 1, 30_000, 100);
    await t.drained(20_000);
    expect([SlowGuard.reviews.get('ORD-SLOW'), (await t.get<GlobalStats>('/stats/global')).body.duplicates]).toEqual([
      1, 0,
    ]);
  });
});
