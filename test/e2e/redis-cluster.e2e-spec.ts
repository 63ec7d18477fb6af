import {
  amount,
  expectedTop,
  expectedUsersIn,
  generateOrders,
  sendGenerated,
  type Expected,
} from '../support/generated-orders';
import { startRedisCluster, type RedisCluster } from '../support/processes';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The same scripts on a real three-master Redis Cluster: every script's keys share one
 * hash tag, and reads merge per-bucket partials across the nodes.
 */
describe('on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let t: TestApp;
  let expected: Expected;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const generated = generateOrders([
      ...['--seed', '99', '--count', '1500', '--users', '300', '--from', '2026-06-01', '--to', '2026-08-31'],
      ...['--duplicate-rate', '0.05', '--invalid-rate', '0.03', '--conflict-rate', '0.01'],
    ]);
    expected = generated.expected;
    t = await startTestApp({ REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', STATS_RETENTION_DAYS: '3650' });
    await sendGenerated(t, generated.lines, expected.messages.total);
  }, 120_000);

  afterAll(async () => {
    await t.close();
    await cluster.stop();
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
