import { amount, generateOrders, isoDays, sendGenerated, type Expected } from '../support/generated-orders';
import { startTestApp, type TestApp } from '../support/test-app';

/** Messages an instance handled (every outcome), from its own /metrics. */
const handled = async (t: TestApp): Promise<number> => {
  let sum = 0;
  for (const m of (await t.metrics()).matchAll(/order_pipeline_messages_total\{outcome="(\w+)"\} (\d+)/g)) {
    sum += Number(m[2]);
  }
  return sum;
};

interface Snapshot {
  global: unknown;
  users: unknown[];
  range: unknown;
}

/** Everything the API says about the generated data: global figures, every user, every day. */
async function snapshot(t: TestApp, expected: Expected): Promise<Snapshot> {
  const users = await Promise.all(
    Object.keys(expected.users).map(async (u) => (await t.get(`/users/${u}/stats`)).body),
  );
  const range = (await t.get('/stats/range?from=2026-04-01&to=2026-05-31&granularity=day')).body;
  return { global: (await t.get('/stats/global')).body, users, range };
}

/**
 * Two app instances (two Nest apps, each with its own consumers) share one queue and one
 * Redis, as two pods behind one SQS queue would. The same data through one instance alone
 * is the reference: the pair must end with exactly its answers.
 */
describe('two instances on one queue and one Redis', () => {
  const generated = generateOrders([
    ...['--seed', '61', '--count', '2000', '--users', '150', '--from', '2026-04-01', '--to', '2026-05-31'],
    ...['--duplicate-rate', '0.15', '--invalid-rate', '0.03', '--conflict-rate', '0.01', '--order-prefix', 'TWO-'],
  ]);
  const expected = generated.expected;
  const env = { STATS_RETENTION_DAYS: '3650', SQS_CONSUMER_CONCURRENCY: '2' };
  let single: TestApp;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    single = await startTestApp(env);
    first = await startTestApp(env);
    second = await startTestApp({ ...env, SQS_QUEUE_URL: first.queueUrl, REDIS_KEY_PREFIX: first.keyPrefix });
    await Promise.all([
      sendGenerated(single, generated.lines, expected.messages.total),
      sendGenerated(first, generated.lines, expected.messages.total),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([single?.close(), first?.close(), second?.close()]);
  });

  it('shares the work: both instances handled messages', async () => {
    expect([(await handled(first)) > 0, (await handled(second)) > 0]).toEqual([true, true]);
  });

  it('ends with the exact totals of the generator', async () => {
    expect((await second.get('/stats/global')).body).toMatchObject({
      total_orders: expected.global.total_orders,
      total_revenue: amount(expected.global.total_revenue_cents),
      duplicates: expected.messages.duplicates,
      rejected: expected.messages.invalid,
      conflicts: expected.messages.conflicts,
    });
  });

  it('ends with every user’s and every day’s figures of the generator', async () => {
    const users = Object.entries(expected.users);
    expect(users.length).toBeGreaterThan(100);
    const answered = await Promise.all(
      users.map(
        async ([u]) => (await second.get<{ order_count: number; total_spend: number }>(`/users/${u}/stats`)).body,
      ),
    );
    expect(answered.map((b, i) => [users[i]?.[0], b.order_count, b.total_spend])).toEqual(
      users.map(([u, v]) => [u, v.order_count, amount(v.total_spend_cents)]),
    );
    const { body } = await second.get<{ periods: { period: string; orders: number; revenue: number }[] }>(
      '/stats/range?from=2026-04-01&to=2026-05-31&granularity=day',
    );
    expect(body.periods).toEqual(
      isoDays('2026-04-01', '2026-05-31').map((d) => ({
        period: d,
        orders: expected.days[d]?.orders ?? 0,
        revenue: amount(expected.days[d]?.revenue_cents ?? 0),
      })),
    );
  });

  it('answers exactly what one instance alone answers, for every user and every day', async () => {
    expect(await snapshot(second, expected)).toEqual(await snapshot(single, expected));
  });
});
