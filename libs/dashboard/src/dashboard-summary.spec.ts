import type {
  FlaggedOrdersQuery,
  RangeStatsQuery,
  RejectedOrdersQuery,
  RejectedOrderView,
  StatsQuery,
  TopUsersQuery,
} from '@order-pipeline/aggregation';
import type { Clock } from '@order-pipeline/config';
import type { QueueHealth } from '@order-pipeline/sqs';
import { DashboardSummaryQuery } from './dashboard-summary';

const NOW = Date.parse('2026-11-25T10:48:05Z');

/** Small fakes of the read queries; `globalCalls` counts the reads that reached "Redis". */
function fakes(options: { queueDown?: boolean; redisDown?: boolean; clock?: Clock } = {}) {
  const calls = { global: 0 };
  const rejected: RejectedOrderView[] = [
    {
      id: 'm-1',
      kind: 'rejected',
      order_id: null,
      user_id: null,
      reasons: [{ code: 'not_json', message: 'the body is not JSON' }],
      received_at: '2026-11-25T10:47:00.000Z',
      raw_body: 'x'.repeat(500),
      raw_truncated: false,
    },
    {
      id: 'm-2',
      kind: 'conflict',
      order_id: 'ORD-1',
      user_id: 'U-2',
      reasons: [{ code: 'order_id_reused', message: 'other content' }],
      received_at: '2026-11-25T10:46:00.000Z',
      raw_body: '{"order_id":"ORD-1"}',
      raw_truncated: false,
    },
  ];
  const stats = {
    global: () => {
      calls.global += 1;
      return options.redisDown
        ? Promise.reject(new Error('Connection is closed.'))
        : Promise.resolve({ total_orders: 2, total_revenue: 199.98 });
    },
  } as unknown as StatsQuery;
  const top = { top: () => Promise.resolve({ users: [{ rank: 1, user_id: 'U-1' }] }) } as unknown as TopUsersQuery;
  const ranges = {
    series: (_range: unknown, granularity: string) =>
      Promise.resolve(
        granularity === 'month'
          ? { periods: [{ period: '2026-03', orders: 2, revenue: 199.98 }] }
          : { granularity: 'day', from: '2026-03-01', to: '2026-03-31' },
      ),
  } as unknown as RangeStatsQuery;
  const rejectedQuery = { list: () => Promise.resolve({ items: rejected, next_cursor: null }) };
  const flaggedQuery = {
    list: () => Promise.resolve({ items: [{ order_id: 'ORD-9', reasons: [] }], next_cursor: null, total: 4 }),
  } as unknown as FlaggedOrdersQuery;
  const queue = {
    depth: () =>
      options.queueDown
        ? Promise.reject(new Error('socket hang up'))
        : Promise.resolve({ visible: 3, in_flight: 1, delayed: 0 }),
  } as unknown as QueueHealth;
  const query = new DashboardSummaryQuery(
    stats,
    top,
    ranges,
    rejectedQuery as unknown as RejectedOrdersQuery,
    flaggedQuery,
    queue,
    options.clock,
  );
  return { query, calls };
}

describe('DashboardSummaryQuery', () => {
  it('composes totals, top users, the chart days, recent flags and the queue depth', async () => {
    const summary = await fakes().query.summary(NOW);
    expect(summary).toMatchObject({
      generated_at: '2026-11-25T10:48:05.000Z',
      totals: { total_orders: 2, total_revenue: 199.98 },
      top_users: [{ rank: 1, user_id: 'U-1' }],
      daily_revenue: { granularity: 'day', from: '2026-03-01', to: '2026-03-31' },
      recent_flagged: [{ order_id: 'ORD-9', reasons: [] }],
      flagged_total: 4,
      queue: { visible: 3, in_flight: 1, delayed: 0 },
      queue_error: null,
    });
  });

  it('shows the start of the raw body only for a rejected message without an order id', async () => {
    const summary = await fakes().query.summary(NOW);
    expect(summary.recent_rejected.map((r) => [r.order_id, r.raw_preview?.length ?? null])).toEqual([
      [null, 120],
      ['ORD-1', null],
    ]);
  });

  it('blanks only the queue figures when the queue does not answer', async () => {
    const summary = await fakes({ queueDown: true }).query.summary(NOW);
    expect(summary.queue).toBeNull();
    expect(summary.queue_error).toBe('the queue did not answer: socket hang up');
    expect(summary.totals.total_orders).toBe(2);
  });

  it('dates the summary by the app clock when the caller gives no time', async () => {
    const summary = await fakes({ clock: { now: () => NOW } }).query.summary();
    expect(summary.generated_at).toBe('2026-11-25T10:48:05.000Z');
  });

  it('answers polls within a second from one read', async () => {
    const { query, calls } = fakes();
    await query.summary(NOW);
    await query.summary(NOW + 999);
    expect(calls.global).toBe(1);
    await query.summary(NOW + 1000);
    expect(calls.global).toBe(2);
  });

  it('does not reuse a failed read: the next poll asks again', async () => {
    const { query, calls } = fakes({ redisDown: true });
    await expect(query.summary(NOW)).rejects.toThrow('Connection is closed.');
    await expect(query.summary(NOW + 10)).rejects.toThrow('Connection is closed.');
    expect(calls.global).toBe(2);
  });
});
