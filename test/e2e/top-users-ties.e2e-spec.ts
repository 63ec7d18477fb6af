import { loadConfig } from '@order-pipeline/config';
import { centsToAmount } from '@order-pipeline/orders';
import { RedisService } from '@order-pipeline/redis';
import { TopUsersQuery } from '../../libs/aggregation/src/analytics-queries';
import { KeySchema, userBucketOf, type TopBy } from '../../libs/aggregation/src/key-schema';
import { e2eRedisUrl } from '../support/test-app';

/**
 * The top-N script against hand-made ranking sets full of ties: few distinct scores, so
 * the last place is shared by many users in several buckets, over one period (all time)
 * and over five (two days, a month, two days), with users missing from some periods and
 * ids whose byte order differs from their UTF-16 order. Every answer must equal a brute
 * force over all users: rank by the figure summed over the periods, ties by user id in
 * UTF-8 byte order, users with a zero figure left out.
 */
describe('top-N with ties at the limit (TopUsersQuery on crafted ranking sets)', () => {
  const prefix = `ties${Date.now()}`;
  let redis: RedisService;
  let query: TopUsersQuery;
  const keys = new KeySchema(prefix);
  const periods = ['d:20260530', 'd:20260531', 'm:202606', 'd:20260701', 'd:20260702'];
  const range = { fromMs: Date.UTC(2026, 4, 30), toMs: Date.UTC(2026, 6, 2) };
  const nowMs = Date.UTC(2026, 6, 3);
  /** Per user: spend cents and order count in each period (undefined = not in that period's sets). */
  const figures = new Map<string, ({ cents: number; orders: number } | undefined)[]>();
  const allTime = new Map<string, { cents: number; orders: number }>();

  beforeAll(async () => {
    const config = loadConfig({
      REDIS_URL: e2eRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      STATS_RETENTION_DAYS: '400',
    });
    redis = new RedisService(config);
    query = new TopUsersQuery(redis, config);
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return (seed >>> 8) % n;
    };
    const ids = Array.from({ length: 240 }, (_, i) => `U-${String(i).padStart(3, '0')}`);
    ids.push('U-\uFF21', 'U-😀', 'U-é', 'U-中', 'U-\uE000', 'U-𝒜');
    const pipeline = redis.client.pipeline();
    for (const id of ids) {
      const k = keys.bucket(userBucketOf(id));
      const perPeriod = periods.map((p) => {
        // Mostly present with 1 order of 1.00: many users share the top sums.
        if (next(8) === 0) return undefined;
        const v = { cents: next(5) === 0 ? 0 : 100, orders: next(5) === 0 ? 0 : 1 };
        pipeline.zadd(k.top('spend', p), v.cents, id).zadd(k.top('orders', p), v.orders, id);
        return v;
      });
      figures.set(id, perPeriod);
      const all = { cents: 100 * next(6), orders: next(4) };
      allTime.set(id, all);
      pipeline.zadd(k.top('spend'), all.cents, id).zadd(k.top('orders'), all.orders, id);
    }
    await pipeline.exec();
  });

  afterAll(async () => {
    await redis.onApplicationShutdown();
  });

  const summed = (): Map<string, { cents: number; orders: number }> =>
    new Map(
      [...figures].map(([id, per]) => [
        id,
        per.reduce<{ cents: number; orders: number }>(
          (a, v) => ({ cents: a.cents + (v?.cents ?? 0), orders: a.orders + (v?.orders ?? 0) }),
          { cents: 0, orders: 0 },
        ),
      ]),
    );

  const bruteForce = (totals: Map<string, { cents: number; orders: number }>, by: TopBy, limit: number) => {
    const ranked = (v: { cents: number; orders: number }): number => (by === 'spend' ? v.cents : v.orders);
    return [...totals]
      .filter(([, v]) => v.orders > 0)
      .sort(([a, va], [b, vb]) => ranked(vb) - ranked(va) || Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .slice(0, limit)
      .map(([user_id, v], i) => ({
        rank: i + 1,
        user_id,
        order_count: v.orders,
        total_spend: centsToAmount(v.cents),
      }));
  };

  /** Whether the place after the limit ties with the last one shown (so ties decide who is in). */
  const tiedAtLimit = (totals: Map<string, { cents: number; orders: number }>, by: TopBy, limit: number): boolean => {
    const rows = bruteForce(totals, by, limit + 1);
    const figure = (r: { order_count: number; total_spend: number }): number =>
      by === 'spend' ? r.total_spend : r.order_count;
    const [last, after] = [rows[limit - 1], rows[limit]];
    return last !== undefined && after !== undefined && figure(last) === figure(after);
  };

  const limits = [1, 2, 3, 5, 10, 25, 100];

  it.each(['spend', 'orders'] as const)('all time by %s equals the brute force at every limit', async (by) => {
    for (const limit of limits) {
      expect([limit, (await query.top(by, limit, undefined, nowMs)).users]).toEqual([
        limit,
        bruteForce(allTime, by, limit),
      ]);
    }
  });

  it.each(['spend', 'orders'] as const)('over five periods by %s equals the brute force at every limit', async (by) => {
    const totals = summed();
    for (const limit of limits) {
      expect([limit, (await query.top(by, limit, range, nowMs)).users]).toEqual([limit, bruteForce(totals, by, limit)]);
    }
  });

  it('the data really ties at the limit, across buckets, all time and over the periods', () => {
    const totals = summed();
    for (const by of ['spend', 'orders'] as const) {
      expect(limits.filter((l) => tiedAtLimit(allTime, by, l)).length).toBeGreaterThan(3);
      expect(limits.filter((l) => tiedAtLimit(totals, by, l)).length).toBeGreaterThan(3);
    }
    const lastScore = bruteForce(totals, 'orders', 10)[9]?.order_count;
    const tiedBuckets = new Set([...totals].filter(([, v]) => v.orders === lastScore).map(([id]) => userBucketOf(id)));
    expect(tiedBuckets.size).toBeGreaterThan(4);
  });
});
