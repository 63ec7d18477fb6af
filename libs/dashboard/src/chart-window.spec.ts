import type { RangeRow } from '@order-pipeline/aggregation';
import { chartWindow, lookbackMonths } from './chart-window';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);
const NOW = Date.parse('2026-11-25T10:48:05Z');
const months = (withOrders: Record<string, number>): RangeRow[] =>
  Array.from({ length: 24 }, (_, i) => {
    const period = new Date(Date.UTC(2024, 11 + i, 1)).toISOString().slice(0, 7);
    return { period, orders: withOrders[period] ?? 0, revenue: 0 };
  });

describe('the daily revenue chart window', () => {
  it('looks back over 24 whole months ending with the current one', () => {
    expect(lookbackMonths(NOW)).toEqual({ fromMs: day('2024-12-01'), toMs: day('2026-11-30') });
  });

  it.each([
    [
      'the last 90 days of the months with orders',
      { '2026-01': 5, '2026-02': 1, '2026-03': 7 },
      '2026-01-01',
      '2026-03-31',
    ],
    ['no day before the first month with orders', { '2026-03': 7 }, '2026-03-01', '2026-03-31'],
    ['90 days back from the last month with orders', { '2025-06': 1, '2026-06': 2 }, '2026-04-02', '2026-06-30'],
    ['up to today when the current month has orders', { '2026-10': 1, '2026-11': 3 }, '2026-10-01', '2026-11-25'],
    ['the last 30 days when there are no orders', {}, '2026-10-27', '2026-11-25'],
  ])('shows %s', (_name, withOrders, from, to) => {
    expect(chartWindow(months(withOrders), NOW)).toEqual({ fromMs: day(from), toMs: day(to) });
  });
});
