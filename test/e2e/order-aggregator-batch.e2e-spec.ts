import { OrderAggregator, RejectedOrderStore, StatsQuery } from '@order-pipeline/aggregation';
import { loadConfig } from '@order-pipeline/config';
import { parseOrderMessage, type Order } from '@order-pipeline/orders';
import { RedisService } from '@order-pipeline/redis';
import { anOrder } from '../../libs/orders/test/order-builder';
import { e2eRedisUrl } from '../support/test-app';

/**
 * claimAll/applyAll send a whole batch as one pipeline per step (a single Redis here; the
 * Cluster path is covered by redis-cluster.e2e-spec.ts). Each order is still its own atomic
 * script, answered in order, and one order's answer never changes another's.
 */
describe('OrderAggregator batch calls on a real Redis', () => {
  let redis: RedisService;
  let aggregator: OrderAggregator;
  let stats: StatsQuery;

  beforeAll(() => {
    const config = loadConfig({
      REDIS_URL: e2eRedisUrl(),
      REDIS_KEY_PREFIX: `batch${Date.now()}`,
    });
    redis = new RedisService(config);
    aggregator = new OrderAggregator(redis, config);
    stats = new StatsQuery(redis, new RejectedOrderStore(redis, config));
  });

  afterAll(async () => {
    await redis.onApplicationShutdown();
  });

  const order = (fields: Record<string, unknown>): Order => {
    const parsed = parseOrderMessage(anOrder().with(fields).json());
    if (!parsed.ok) throw new Error(`test order did not parse: ${JSON.stringify(parsed.violations)}`);
    return parsed.order;
  };

  it('answers one claim per order, in order: new, then same for a redelivery, conflict for other content', async () => {
    const first = order({ order_id: 'B-1', user_id: 'U-A' });
    const other = order({ order_id: 'B-1', user_id: 'U-B' });
    const unrelated = order({ order_id: 'B-2', user_id: 'U-A' });

    const claims = await aggregator.claimAll([first, first, other, unrelated]);

    expect(claims.map((c) => (c.ok ? c.value.status : c.error.message))).toEqual(['new', 'same', 'conflict', 'new']);
  });

  it('applies the same order twice in one batch exactly once: accepted, then duplicate', async () => {
    const once = order({ order_id: 'B-3', user_id: 'U-C', order_value: '99.99' });
    await aggregator.claimAll([once]);

    const applied = await aggregator.applyAll([once, once]);

    expect(applied.map((a) => (a.ok ? a.value : a.error.message))).toEqual(['accepted', 'duplicate']);
    expect(await stats.user('U-C')).toMatchObject({ order_count: 1, total_spend: 99.99 });
  });

  it("keeps a user's first and last order times whatever order the orders arrive in", async () => {
    const at = (id: string, time: string): Order => order({ order_id: id, user_id: 'U-T', order_timestamp: time });
    const times = async () => {
      const user = await stats.user('U-T');
      return [user?.first_order_at, user?.last_order_at];
    };
    const apply = async (o: Order) => {
      await aggregator.claimAll([o]);
      await aggregator.applyAll([o]);
    };

    await apply(at('T-1', '2026-03-02T10:00:00Z'));
    expect(await times()).toEqual(['2026-03-02T10:00:00.000Z', '2026-03-02T10:00:00.000Z']);
    await apply(at('T-2', '2026-03-01T10:00:00Z'));
    expect(await times()).toEqual(['2026-03-01T10:00:00.000Z', '2026-03-02T10:00:00.000Z']);
    await apply(at('T-3', '2026-03-03T10:00:00Z'));
    expect(await times()).toEqual(['2026-03-01T10:00:00.000Z', '2026-03-03T10:00:00.000Z']);
    await apply(at('T-4', '2026-03-02T12:00:00Z'));
    expect(await times()).toEqual(['2026-03-01T10:00:00.000Z', '2026-03-03T10:00:00.000Z']);
  });

  it('answers an empty batch with an empty list', async () => {
    await expect(aggregator.claimAll([])).resolves.toEqual([]);
    await expect(aggregator.applyAll([])).resolves.toEqual([]);
  });
});
