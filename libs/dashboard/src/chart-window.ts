import type { DayRange, RangeRow } from '@order-pipeline/aggregation';

const DAY_MS = 86_400_000;

/** Days the daily revenue chart shows at most. */
export const CHART_DAYS = 90;
/** Months looked back to find where the orders are. */
export const LOOKBACK_MONTHS = 24;

/** The whole months from LOOKBACK_MONTHS - 1 months ago to the current month: month keys only. */
export function lookbackMonths(nowMs: number): DayRange {
  const now = new Date(nowMs);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  return { fromMs: Date.UTC(y, m - (LOOKBACK_MONTHS - 1), 1), toMs: Date.UTC(y, m + 1, 1) - DAY_MS };
}

/**
 * The days of the daily revenue chart, from a monthly series ("YYYY-MM" periods) of the
 * lookback: up to CHART_DAYS days ending with the last month that has orders (today, when
 * that is the current month), not starting before the first month that has orders. Order
 * timestamps are event times, so a store filled with last quarter's orders still shows
 * them. With no orders at all: the last 30 days.
 */
export function chartWindow(months: readonly RangeRow[], nowMs: number): DayRange {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const active = months.filter((p) => p.orders > 0).map((p) => monthStart(p.period));
  const first = active[0];
  const last = active.at(-1);
  if (first === undefined || last === undefined) return { fromMs: today - 29 * DAY_MS, toMs: today };
  const lastDay = new Date(last);
  const toMs = Math.min(Date.UTC(lastDay.getUTCFullYear(), lastDay.getUTCMonth() + 1, 1) - DAY_MS, today);
  return { fromMs: Math.max(toMs - (CHART_DAYS - 1) * DAY_MS, first), toMs };
}

function monthStart(period: string): number {
  return Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5, 7)) - 1, 1);
}
