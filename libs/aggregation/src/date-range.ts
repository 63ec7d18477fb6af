/** Inclusive ranges of UTC days and how to cover them with the fewest bucket keys. */
import { dayOf, monthOf, utcDate } from './key-schema';

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A query parameter that is well-formed but not acceptable; becomes a 400 naming it. */
export class InvalidQueryError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidQueryError';
  }
}

/** Midnight UTC (ms) of a date; month from 0. Not Date.UTC: it reads the years 0-99 as 1900-1999. */
function utcMidnight(year: number, month: number, day: number): number {
  return new Date(0).setUTCFullYear(year, month, day);
}

/** Midnight UTC (ms) of a YYYY-MM-DD date, or undefined when it is not a real date. */
export function parseDay(text: string): number | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const ms = utcMidnight(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === text ? ms : undefined;
}

export interface DayRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** "2026-03-04" for the UTC day of the instant. */
export function isoDay(ms: number): string {
  return utcDate(ms, '-');
}

export function daysIn(range: DayRange): number[] {
  const days: number[] = [];
  for (let d = range.fromMs; d <= range.toMs; d += DAY_MS) days.push(d);
  return days;
}

export interface MonthSlice {
  /** "202603" */
  readonly month: string;
  /** First day of the month, ms. */
  readonly monthStartMs: number;
  /** Covered days of this month within the range. */
  readonly days: readonly number[];
  /** True when the range covers the whole month: one month key stands for it. */
  readonly whole: boolean;
}

/** Splits a range into calendar months, each whole or a run of days. */
export function monthSlices(range: DayRange): MonthSlice[] {
  const slices: MonthSlice[] = [];
  let cursor = range.fromMs;
  while (cursor <= range.toMs) {
    const d = new Date(cursor);
    const monthStart = utcMidnight(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const nextMonth = utcMidnight(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const end = Math.min(range.toMs, nextMonth - DAY_MS);
    const days = daysIn({ fromMs: cursor, toMs: end });
    slices.push({
      month: monthOf(cursor),
      monthStartMs: monthStart,
      days,
      whole: cursor === monthStart && end === nextMonth - DAY_MS,
    });
    cursor = nextMonth;
  }
  return slices;
}

/** Bucket periods ("m:YYYYMM" / "d:YYYYMMDD") covering the range with the fewest keys. */
export function coveringPeriods(range: DayRange): string[] {
  return monthSlices(range).flatMap((s) => (s.whole ? [`m:${s.month}`] : s.days.map((d) => `d:${dayOf(d)}`)));
}

/** The day-level periods a range needs that are older than the retained detail. */
export function needsExpiredDays(range: DayRange, retentionDays: number, nowMs: number): boolean {
  const oldestKept = Math.floor(nowMs / DAY_MS) * DAY_MS - retentionDays * DAY_MS;
  return monthSlices(range).some((s) => !s.whole && s.days.some((d) => d < oldestKept));
}

/**
 * Checks optional from/to query values: both or neither, real dates, from <= to, and a
 * span within maxDays. Returns undefined when neither is given.
 */
export function parseOptionalRange(
  from: string | undefined,
  to: string | undefined,
  maxDays: number,
): DayRange | undefined {
  if (from === undefined && to === undefined) return undefined;
  if (from === undefined) throw new InvalidQueryError('from', 'from is required when to is given (YYYY-MM-DD)');
  if (to === undefined) throw new InvalidQueryError('to', 'to is required when from is given (YYYY-MM-DD)');
  return parseRange(from, to, maxDays);
}

function dayOrRefuse(parameter: 'from' | 'to', text: string): number {
  const ms = parseDay(text);
  if (ms !== undefined) return ms;
  throw new InvalidQueryError(
    parameter,
    DATE.test(text)
      ? `${parameter} is not a real date (got "${text}")`
      : `${parameter} must be a date as YYYY-MM-DD (got "${text}")`,
  );
}

export function parseRange(from: string, to: string, maxDays: number): DayRange {
  const fromMs = dayOrRefuse('from', from);
  const toMs = dayOrRefuse('to', to);
  if (fromMs > toMs) throw new InvalidQueryError('from', `from (${from}) must not be after to (${to})`);
  const days = (toMs - fromMs) / DAY_MS + 1;
  if (days > maxDays)
    throw new InvalidQueryError(
      'to',
      `the range from ${from} to ${to} spans ${days} days; at most ${maxDays} are allowed (STATS_MAX_RANGE_DAYS)`,
    );
  return { fromMs, toMs };
}
