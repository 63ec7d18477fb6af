import type { Cluster } from 'ioredis';
import { RedisService } from '@order-pipeline/redis';
import { ConsumptionGate } from '@order-pipeline/sqs';
import {
  amount,
  expectedTop,
  expectedUsersIn,
  generateOrders,
  sendGenerated,
  type Expected,
} from '../support/generated-orders';
import { anOrder } from '../../libs/orders/test/order-builder';
import { startRedisCluster, type RedisCluster } from '../support/processes';
import { depth, eventually, startTestApp, type GlobalStats, type TestApp } from '../support/test-app';

/**
 * The same scripts on a real three-master Redis Cluster: every script's keys share one
 * hash tag, and reads merge per-bucket partials across the nodes. A script that touched
 * two slots would fail with CROSSSLOT; the processing service turns a failed script into
 * a `retry` outcome, so every run here also checks that no message was ever retried.
 */
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster.stop();
});

const retries = async (t: TestApp): Promise<number> =>
  Number(/order_pipeline_messages_total\{outcome="retry"\} (\d+)/.exec(await t.metrics())?.[1] ?? 0);

describe('on a Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  let t: TestApp;
  let expected: Expected;

  beforeAll(async () => {
    const generated = generateOrders([
      ...['--seed', '99', '--count', '1500', '--users', '300', '--from', '2026-06-01', '--to', '2026-08-31'],
      ...['--duplicate-rate', '0.05', '--invalid-rate', '0.03', '--conflict-rate', '0.01'],
    ]);
    expected = generated.expected;
    t = await startTestApp({ REDIS_CLUSTER_NODES: cluster.nodes.join(','), STATS_RETENTION_DAYS: '3650' });
    await sendGenerated(t, generated.lines, expected.messages.total);
  }, 150_000);

  afterAll(async () => {
    await t.close();
  });

  it('keeps exact global totals and outcome counts', async () => {
    expect((await t.get('/stats/global')).body).toMatchObject({
      total_orders: expected.global.total_orders,
      total_revenue: amount(expected.global.total_revenue_cents),
      duplicates: expected.messages.duplicates,
      rejected: expected.messages.invalid,
      conflicts: expected.messages.conflicts,
    });
  });

  it('never fails a script (no CROSSSLOT): no message was left for retry', async () => {
    expect(await retries(t)).toBe(0);
  });

  it('answers a ranged top-N (merged with ZUNIONSTORE inside each slot) exactly', async () => {
    const inRange = expectedUsersIn(expected, '2026-06-10', '2026-08-20');
    const { body } = await t.get<{ users: unknown[] }>(
      '/stats/top-users?by=spend&limit=20&from=2026-06-10&to=2026-08-20',
    );
    expect(body.users).toEqual(expectedTop(inRange, 'spend', 20));
  });

  it('answers users’ range stats exactly', async () => {
    const inRange = expectedUsersIn(expected, '2026-06-10', '2026-08-20');
    for (const user of Object.keys(expected.users).slice(0, 30)) {
      const want = inRange.get(user) ?? { orders: 0, cents: 0 };
      const { body } = await t.get<{ order_count: number; total_spend: number }>(
        `/users/${user}/stats?from=2026-06-10&to=2026-08-20`,
      );
      expect([user, body.order_count, body.total_spend]).toEqual([user, want.orders, amount(want.cents)]);
    }
  });
});

describe('a script whose keys lie in two slots (REDIS_CLUSTER=true)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('is refused with CROSSSLOT, so a cross-slot script in the service could not pass', async () => {
    const redis = t.app.get(RedisService);
    // A Cluster client holds commands until it knows the slots; on a loaded host that can
    // take a few tries.
    await eventually(() => redis.ready, 60_000);
    const keys = [`${redis.keyPrefix}:{a}:x`, `${redis.keyPrefix}:{b}:y`]; // slots 15495 and 3300
    // Through the service's own script runner: ioredis refuses before sending.
    const crossSlot = redis.defineScript<string>("return redis.call('SET', KEYS[1], KEYS[2])", 2);
    await expect(crossSlot(keys, [])).rejects.toThrow(/same slot/);
    // Sent as is to a node, the server answers CROSSSLOT.
    const node = (redis.client as Cluster).nodes('master')[0];
    await expect(node?.eval("return redis.call('SET', KEYS[1], KEYS[2])", 2, ...keys)).rejects.toThrow(/CROSSSLOT/);
  }, 90_000);
});

/**
 * The main pipeline scenarios (test/e2e/pipeline.e2e-spec.ts), unchanged, against the
 * cluster: while they run, the e2e Redis URL names the cluster as redis+cluster://.
 */
describe('the pipeline scenarios on a Redis Cluster (redis+cluster:// URL)', () => {
  let saved: string | undefined;

  beforeAll(() => {
    saved = process.env.E2E_REDIS_URL;
    process.env.E2E_REDIS_URL = `redis+cluster://${cluster.nodes.join(',')}`;
  });

  afterAll(() => {
    process.env.E2E_REDIS_URL = saved;
  });

  // Registers that file's describe/it blocks here, inside this describe.
  jest.requireActual('./pipeline.e2e-spec');
});

describe('after a master of the Redis Cluster restarts', () => {
  let t: TestApp;
  const batch = (tag: string, n: number): string[] =>
    Array.from({ length: n }, (_, i) =>
      anOrder()
        .with({ order_id: `ord-${tag}-${i}`, user_id: `u-${tag}-${i % 40}` })
        .json(),
    );
  const applied = async (): Promise<number> => (await t.get<GlobalStats>('/stats/global')).body.total_orders;

  beforeAll(async () => {
    t = await startTestApp({ REDIS_CLUSTER_NODES: cluster.nodes.join(','), SQS_RETRY_BACKOFF_SECONDS: '1' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('follows the cluster again: orders for every slot are applied, once', async () => {
    await t.send(batch('before', 100));
    await eventually(async () => (await applied()) === 100, 30_000);
    await cluster.restart(1);
    // Users spread over every bucket, so some land in the restarted master's slots.
    await t.send(batch('after', 200));
    await eventually(async () => (await applied()) === 300, 60_000, 200);
    expect((await t.get<GlobalStats>('/stats/global')).body.duplicates).toBe(0);
    // Above the sum of every step's own bound, so a step that fails names itself.
  }, 180_000);
});

describe('while a master of the Redis Cluster is stalled', () => {
  let t: TestApp;
  const users = Array.from({ length: 16 }, (_, i) => `u-stall-${i}`);
  // Every read of the API that sends its own commands (the global figures and the range
  // series have their own test of the same deadline in redis.service's readAll).
  const reads = [
    ...users.map((u) => `/users/${u}/stats`),
    ...users.map((u) => `/users/${u}/stats?from=2026-01-01&to=2026-12-31`),
    ...users.map((_, i) => `/orders/ord-stall-${i}`),
    '/stats/top-users?limit=5',
    '/stats/top-users?limit=5&from=2026-01-01&to=2026-06-30',
    '/orders/rejected?limit=5',
    '/orders/flagged?limit=5',
  ];

  beforeAll(async () => {
    t = await startTestApp({ REDIS_CLUSTER_NODES: cluster.nodes.join(','), REDIS_COMMAND_TIMEOUT_MS: '1000' });
    await t.send(
      users.map((user_id, i) =>
        anOrder()
          .with({ order_id: `ord-stall-${i}`, user_id })
          .json(),
      ),
    );
    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.total_orders === users.length);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers every read within about the command timeout, a 503 for what the stalled master holds', async () => {
    const slowest: Record<string, number> = {};
    const statuses = new Set<number>();
    const resume = cluster.stall(0);
    try {
      // Reads keep coming for 6 s of stall: the first ones find the master silent, the later
      // ones find its connection dropped and being made again. Without one deadline per read,
      // those waited in the client before their commands' own timeouts began (2.5-4.8 s at 1 s).
      const stalledAt = Date.now();
      while (Date.now() - stalledAt < 6_000) {
        await Promise.all(
          reads.map(async (path) => {
            const started = Date.now();
            statuses.add((await t.get(path)).status);
            slowest[path] = Math.max(slowest[path] ?? 0, Date.now() - started);
          }),
        );
      }
    } finally {
      resume();
    }
    const late = Object.entries(slowest).filter(([, ms]) => ms > 1_800);
    expect(late).toEqual([]);
    expect([...statuses].sort()).toEqual([200, 503]);
    // And once it answers again, so does every read.
    await eventually(
      async () => (await Promise.all(reads.map((p) => t.get(p)))).every((r) => r.status === 200),
      60_000,
      500,
    );
  });
});

describe('while one master of the Redis Cluster is stalled and the others answer', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      // Two receives: the batch that meets the stall spends one, so a second receive that
      // failed there too would send its messages to the dead-letter queue.
      SQS_MAX_RECEIVE_COUNT: '2',
      SQS_RETRY_BACKOFF_SECONDS: '1',
      SQS_VISIBILITY_TIMEOUT: '10',
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('holds the receives once a batch failed there, and counts every order once it answers', async () => {
    const gate = t.app.get(ConsumptionGate);
    const resume = cluster.stall(2);
    try {
      // Order ids and users spread over every bucket: some land in the stalled master's slots.
      await t.send(
        Array.from({ length: 40 }, (_, i) =>
          anOrder()
            .with({ order_id: `ord-part-${i}`, user_id: `u-part-${i}` })
            .json(),
        ),
      );
      await eventually(() => gate.isPaused, 30_000);
      // The master stays stalled for 20 s. Without the hold, the receives went on between
      // the growing pauses after failed batches (0.5 s doubling): every batch fails while any
      // master is silent (the guard reads the batch's users' history at once), and by 16 s
      // the first messages were received a third time and dead-lettered. Meanwhile the gate
      // goes on holding, step after step.
      const stalledAt = Date.now();
      while (Date.now() - stalledAt < 20_000) {
        const held = gate.held;
        await eventually(() => gate.held > held);
      }
      expect(gate.isPaused).toBe(true);
    } finally {
      resume();
    }
    // Every order counted, or some of them dead-lettered (then the expectations say so).
    const deadLettered = async (): Promise<number> => {
      const { visible, inFlight } = await depth(t, t.dlqUrl);
      return visible + inFlight;
    };
    await eventually(
      async () => (await t.get<GlobalStats>('/stats/global')).body.total_orders === 40 || (await deadLettered()) > 0,
      60_000,
      200,
    );
    expect(await depth(t, t.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect((await t.get<GlobalStats>('/stats/global')).body).toMatchObject({ total_orders: 40, duplicates: 0 });
  });
});
