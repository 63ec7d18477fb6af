import {
  amount,
  expectedTop,
  expectedUsersIn,
  generateOrders,
  isoDays,
  sendGenerated,
  type Expected,
  type Row,
} from '../support/generated-orders';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Every analytics endpoint against the exact answers that ./scripts/generate-orders
 * computes on its own (it shares no code with the service), over several months of
 * generated orders with duplicates, invalid messages, conflicts and deliberate ties.
 */
const FROM = '2026-05-01';
const TO = '2026-10-31';

describe('analytics over generated data', () => {
  let t: TestApp;
  let expected: Expected;
  let allTime: Map<string, { orders: number; cents: number }>;

  beforeAll(async () => {
    const generated = generateOrders([
      ...['--seed', '424242', '--count', '6000', '--users', '1500', '--from', FROM, '--to', TO],
      ...['--duplicate-rate', '0.05', '--invalid-rate', '0.03', '--conflict-rate', '0.01'],
    ]);
    expected = generated.expected;
    allTime = new Map(
      Object.entries(expected.users).map(([u, v]) => [u, { orders: v.order_count, cents: v.total_spend_cents }]),
    );
    // Ten years of day-level detail: the fixed 2026 dates stay queryable until 2036.
    t = await startTestApp({ SQS_CONSUMER_CONCURRENCY: '4', STATS_RETENTION_DAYS: '3650' });
    await sendGenerated(t, generated.lines, expected.messages.total);
  }, 180_000);

  afterAll(async () => {
    await t.close();
  });

  it('global totals equal the generator’s, with every duplicate, invalid and conflicting message counted', async () => {
    expect((await t.get('/stats/global')).body).toMatchObject({
      total_orders: expected.global.total_orders,
      total_revenue: amount(expected.global.total_revenue_cents),
      total_users: Object.keys(expected.users).length,
      duplicates: expected.messages.duplicates,
      rejected: expected.messages.invalid,
      conflicts: expected.messages.conflicts,
    });
  });

  it('every user’s all-time stats equal the generator’s', async () => {
    const mismatches: string[] = [];
    for (const [user, v] of Object.entries(expected.users)) {
      const { body } = await t.get<Record<string, unknown>>(`/users/${encodeURIComponent(user)}/stats`);
      const want = {
        user_id: user,
        order_count: v.order_count,
        total_spend: amount(v.total_spend_cents),
        first_order_at: v.first_order_at,
        last_order_at: v.last_order_at,
      };
      if (JSON.stringify(want) !== JSON.stringify({ ...want, ...pick(body, Object.keys(want)) })) {
        mismatches.push(`${user}: ${JSON.stringify(body)} != ${JSON.stringify(want)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it.each(['spend', 'orders'] as const)('all-time top-100 by %s, ties broken by user_id', async (by) => {
    const { body } = await t.get<{ users: Row[] }>(`/stats/top-users?by=${by}&limit=100`);
    expect(body.users).toEqual(expectedTop(allTime, by, 100));
  });

  it('the generated data really contains ties inside the top-100 (so tie-breaking is exercised)', async () => {
    const { body } = await t.get<{ users: Row[] }>('/stats/top-users?by=orders&limit=100');
    const counts = body.users.map((r) => r.order_count);
    expect(new Set(counts).size).toBeLessThan(counts.length);
  });

  it('top-N rows equal those users’ own stats', async () => {
    const { body } = await t.get<{ users: Row[] }>('/stats/top-users?by=spend&limit=20');
    expect(body.users).toHaveLength(20);
    for (const row of body.users) {
      const own = (await t.get<{ order_count: number; total_spend: number }>(`/users/${row.user_id}/stats`)).body;
      expect([own.order_count, own.total_spend]).toEqual([row.order_count, row.total_spend]);
    }
  });

  const ranges: [string, string, string][] = [
    ['whole months', '2026-06-01', '2026-08-31'],
    ['ragged ends across months', '2026-05-17', '2026-09-03'],
    ['a single day', '2026-07-15', '2026-07-15'],
    ['the full span', FROM, TO],
    ['a span wider than the data', '2026-01-01', '2026-11-20'],
  ];

  it.each(ranges)('top-25 over %s (%s..%s) by spend and by orders', async (_name, from, to) => {
    const inRange = expectedUsersIn(expected, from, to);
    for (const by of ['spend', 'orders'] as const) {
      const { body } = await t.get<{ users: Row[] }>(`/stats/top-users?by=${by}&limit=25&from=${from}&to=${to}`);
      expect(body.users).toEqual(expectedTop(inRange, by, 25));
    }
  });

  it.each(ranges)('daily series over %s (%s..%s), zero-filled, with its total', async (_name, from, to) => {
    const { body } = await t.get<{ periods: { period: string; orders: number; revenue: number }[]; total: unknown }>(
      `/stats/range?from=${from}&to=${to}&granularity=day`,
    );
    const want = isoDays(from, to).map((d) => {
      const v = expected.days[d];
      return { period: d, orders: v?.orders ?? 0, revenue: amount(v?.revenue_cents ?? 0) };
    });
    expect(body.periods).toEqual(want);
    const cents = isoDays(from, to).reduce((a, d) => a + (expected.days[d]?.revenue_cents ?? 0), 0);
    expect(body.total).toEqual({ orders: want.reduce((a, r) => a + r.orders, 0), revenue: amount(cents) });
  });

  it('daily series over three years (several HMGETs per hash) equals the generator, day by day', async () => {
    const [from, to] = ['2024-01-01', '2026-12-31']; // 1,096 days: 2,192 fields, three commands per hash
    const { body } = await t.get<{ periods: { period: string; orders: number; revenue: number }[]; total: unknown }>(
      `/stats/range?from=${from}&to=${to}&granularity=day`,
    );
    const want = isoDays(from, to).map((d) => {
      const v = expected.days[d];
      return { period: d, orders: v?.orders ?? 0, revenue: amount(v?.revenue_cents ?? 0) };
    });
    expect(body.periods).toEqual(want);
    const cents = isoDays(from, to).reduce((a, d) => a + (expected.days[d]?.revenue_cents ?? 0), 0);
    expect(body.total).toEqual({ orders: want.reduce((a, r) => a + r.orders, 0), revenue: amount(cents) });
  });

  it.each(ranges)('monthly series over %s (%s..%s) agrees with the daily one', async (_name, from, to) => {
    const monthly = (
      await t.get<{ periods: { period: string; orders: number; revenue: number }[]; total: unknown }>(
        `/stats/range?from=${from}&to=${to}&granularity=month`,
      )
    ).body;
    const daily = (await t.get<{ total: unknown }>(`/stats/range?from=${from}&to=${to}&granularity=day`)).body;
    expect(monthly.total).toEqual(daily.total);
    const months = [...new Set(isoDays(from, to).map((d) => d.slice(0, 7)))];
    expect(monthly.periods.map((p) => p.period)).toEqual(months);
  });

  it('monthly rows of whole months equal the generator’s monthly totals', async () => {
    const { body } = await t.get<{ periods: { period: string; orders: number; revenue: number }[] }>(
      `/stats/range?from=${FROM}&to=${TO}&granularity=month`,
    );
    expect(body.periods).toEqual(
      Object.keys(expected.months)
        .sort()
        .map((m) => ({
          period: `${m.slice(0, 4)}-${m.slice(-2)}`,
          orders: expected.months[m]?.orders ?? 0,
          revenue: amount(expected.months[m]?.revenue_cents ?? 0),
        })),
    );
  });

  it('the full-range series sums to /stats/global', async () => {
    const series = (
      await t.get<{ total: { orders: number; revenue: number } }>(
        `/stats/range?from=${FROM}&to=${TO}&granularity=month`,
      )
    ).body;
    const global = (await t.get<{ total_orders: number; total_revenue: number }>('/stats/global')).body;
    expect(series.total).toEqual({ orders: global.total_orders, revenue: global.total_revenue });
  });

  it('many requests at once, alike and different, each get the answer to their own question', async () => {
    // Identical requests in flight together share reads (SharedReads); different ones must not.
    const paths = [
      '/stats/global',
      '/stats/top-users?by=spend&limit=10',
      '/stats/top-users?by=orders&limit=10',
      '/stats/top-users?by=spend&limit=3',
      `/stats/range?from=${FROM}&to=${TO}&granularity=month`,
      `/stats/range?from=${FROM}&to=${TO}&granularity=day`,
      `/stats/range?from=2026-06-01&to=${TO}&granularity=day`,
      `/stats/top-users?by=spend&limit=10&from=${FROM}&to=2026-06-30`,
    ];
    const alone = new Map<string, unknown>();
    for (const path of paths) alone.set(path, (await t.get(path)).body);
    const together = await Promise.all(
      Array.from({ length: 12 }, () => paths)
        .flat()
        .map(async (path) => [path, (await t.get(path)).body] as const),
    );
    const wrong = together.filter(([path, body]) => JSON.stringify(body) !== JSON.stringify(alone.get(path)));
    expect(wrong.map(([path]) => path)).toEqual([]);
  });

  it.each(ranges)('users’ stats over %s (%s..%s) equal the generator’s', async (_name, from, to) => {
    const inRange = expectedUsersIn(expected, from, to);
    const sample = Object.keys(expected.users).filter((_, i) => i % 15 === 0);
    for (const user of sample) {
      const want = inRange.get(user) ?? { orders: 0, cents: 0 };
      const { body } = await t.get<{ order_count: number; total_spend: number }>(
        `/users/${user}/stats?from=${from}&to=${to}`,
      );
      expect([user, body.order_count, body.total_spend]).toEqual([user, want.orders, amount(want.cents)]);
    }
  });

  it('a user’s full-range stats equal their all-time stats', async () => {
    for (const user of Object.keys(expected.users).slice(0, 50)) {
      const range = (
        await t.get<{ order_count: number; total_spend: number }>(`/users/${user}/stats?from=${FROM}&to=${TO}`)
      ).body;
      const all = (await t.get<{ order_count: number; total_spend: number }>(`/users/${user}/stats`)).body;
      expect([range.order_count, range.total_spend]).toEqual([all.order_count, all.total_spend]);
    }
  });

  it('an empty range answers zeros and an empty top list', async () => {
    const series = (
      await t.get<{ total: unknown; periods: unknown[] }>(
        '/stats/range?from=2026-02-01&to=2026-02-28&granularity=month',
      )
    ).body;
    expect(series).toMatchObject({
      total: { orders: 0, revenue: 0 },
      periods: [{ period: '2026-02', orders: 0, revenue: 0 }],
    });
    expect((await t.get<{ users: unknown[] }>('/stats/top-users?from=2026-02-01&to=2026-02-10')).body.users).toEqual(
      [],
    );
  });

  it('refuses a range that needs day-level detail older than the retention, naming from', async () => {
    const res = await t.get<{ parameter: string }>('/stats/top-users?from=2010-01-15&to=2010-02-28');
    expect(res).toMatchObject({ status: 400, body: { parameter: 'from' } });
  });
});

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, source[k]]));
}
