import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { centsToAmount, normaliseId } from '@order-pipeline/orders';
import { RedisService, type ScriptRunner } from '@order-pipeline/redis';
import { InvalidQueryError, coveringPeriods, isoDay, monthSlices, needsExpiredDays, type DayRange } from './date-range';
import { numberOf } from './integer-text';
import { KeySchema, USER_BUCKETS, dayOf, userBucketOf, type TopBy } from './key-schema';
import { TOP_LUA } from './lua/scripts';
import { ReadBudget } from './read-budget';
import { SharedReads } from './shared-reads';
import { average, NotFoundError } from './stats-queries';
import type { RangeRow, RangeStatsView, TopUserRow, TopUsersView, UserRangeStatsView } from './stats-views';

/**
 * How long a merged ranking over several periods is reused (seconds). It only decides
 * which users are candidates; their figures are always read live, so within this window
 * a user who just climbed into the top may be missing, but no row is ever stale.
 */
const TOP_CACHE_TTL_SECONDS = 5;

interface Candidate {
  readonly userId: string;
  readonly ranked: number;
  readonly other: number;
}

/**
 * Top-N users, all time or over a date range. Each user bucket ranks its own users
 * (merging the range's day/month sets in Redis), and the buckets' short lists are
 * merged here: cost O(buckets x (limit + ties)), never O(users).
 */
@Injectable()
export class TopUsersQuery {
  private readonly keys: KeySchema;
  private readonly topScript: ScriptRunner<string[]>;
  /** Identical requests that arrive while a read is in flight share the next one. */
  private readonly shared = new SharedReads<TopUsersView>();

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
    this.topScript = redis.defineScript(TOP_LUA, 'variable');
  }

  async top(by: TopBy, limit: number, range: DayRange | undefined, nowMs = Date.now()): Promise<TopUsersView> {
    const other: TopBy = by === 'spend' ? 'orders' : 'spend';
    if (range && needsExpiredDays(range, this.config.stats.retentionDays, nowMs)) {
      throw retentionError(this.config.stats.retentionDays);
    }
    const key = `${by}|${limit}|${range ? `${range.fromMs}|${range.toMs}` : 'all'}`;
    return this.shared.run(key, () => this.read(by, other, limit, range));
  }

  private async read(by: TopBy, other: TopBy, limit: number, range: DayRange | undefined): Promise<TopUsersView> {
    const periods = range ? coveringPeriods(range) : [undefined];
    const token = createHash('sha1').update(periods.join(',')).digest('hex').slice(0, 16);
    const perBucket = await this.redis.bounded(
      Promise.all(
        Array.from({ length: USER_BUCKETS }, (_, b) => {
          const k = this.keys.bucket(b);
          const keys = [
            k.topCache(by, token),
            ...periods.map((p) => k.top(by, p)),
            ...periods.map((p) => k.top(other, p)),
          ];
          return this.topScript(keys, [periods.length, limit, TOP_CACHE_TTL_SECONDS]);
        }),
      ),
    );
    const candidates: Candidate[] = perBucket.flatMap((flat) => {
      const rows: Candidate[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        rows.push({ userId: flat[i] ?? '', ranked: Number(flat[i + 1]), other: Number(flat[i + 2]) });
      }
      return rows;
    });
    // Ties by user id in byte order, as Redis orders equal scores.
    candidates.sort((a, b) => b.ranked - a.ranked || compareUtf8(a.userId, b.userId));
    // Every user with an order in the period is listed, by spend too: one whose orders there
    // add up to 0.00 ranks last, not out (both rankings list the same users).
    const users: TopUserRow[] = candidates
      .filter((c) => (by === 'orders' ? c.ranked : c.other) > 0)
      .slice(0, limit)
      .map((c, i) => {
        const [spend, orders] = by === 'spend' ? [c.ranked, c.other] : [c.other, c.ranked];
        return { rank: i + 1, user_id: c.userId, order_count: orders, total_spend: centsToAmount(spend) };
      });
    return {
      by,
      from: range ? isoDay(range.fromMs) : null,
      to: range ? isoDay(range.toMs) : null,
      limit,
      users,
    };
  }
}

/** How many series plans (fields and rows of one range and granularity) are kept. */
const SERIES_PLANS_KEPT = 64;

/**
 * Fields one HMGET asks for (pairs of `:o` and `:r`), so that a long range is many short
 * Redis commands, each a fraction of a millisecond, rather than sixteen long ones.
 */
const FIELDS_PER_COMMAND = 1_024;
/**
 * Hash fields range reads may have in flight together: about two ten-year day series (each
 * 16 × 7,320), or some 180 one-year month series with ragged ends (16 × 84). Reads beyond
 * it wait.
 */
const RANGE_FIELDS_AT_ONCE = 250_000;
/** Range reads that may wait for the budget; one more is answered 503 at once. */
const RANGE_READS_WAITING = 100;

/** One row of a series: the sum of fields [first, end) of the day or the month hash. */
interface PlanRow {
  readonly label: string;
  readonly months: boolean;
  readonly first: number;
  readonly end: number;
}

interface SeriesPlan {
  readonly from: string;
  readonly to: string;
  /** HMGET names: `<field>:o`, `<field>:r` for each field, in field order. */
  readonly dayNames: readonly string[];
  readonly monthNames: readonly string[];
  readonly rows: readonly PlanRow[];
}

/** Orders and revenue cents of each field, summed over the buckets, by field index. */
interface FieldSums {
  readonly o: number[];
  readonly r: number[];
}

/** Totals over date ranges, from the per-bucket day and month partials. */
@Injectable()
export class RangeStatsQuery {
  private readonly keys: KeySchema;
  private readonly dayHashes: readonly string[];
  private readonly monthHashes: readonly string[];
  private readonly plans = new Map<string, SeriesPlan>();
  /** Identical requests that arrive while a read is in flight share the next one. */
  private readonly shared = new SharedReads<RangeStatsView>();
  /**
   * Distinct long ranges do not: they take turns for Redis and for memory, each waiting at
   * most one command timeout for its turn.
   */
  private readonly budget: ReadBudget;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.budget = new ReadBudget(RANGE_FIELDS_AT_ONCE, RANGE_READS_WAITING, config.redis.commandTimeoutMs);
    this.keys = new KeySchema(redis.keyPrefix);
    const buckets = Array.from({ length: USER_BUCKETS }, (_, b) => this.keys.bucket(b));
    this.dayHashes = buckets.map((k) => k.days);
    this.monthHashes = buckets.map((k) => k.months);
  }

  /**
   * One row per day or month of the range (zero-filled) and the range total. Identical
   * requests that arrive while a read is in flight share the next one.
   */
  series(range: DayRange, granularity: 'day' | 'month'): Promise<RangeStatsView> {
    return this.shared.run(`${range.fromMs}|${range.toMs}|${granularity}`, () => this.readSeries(range, granularity));
  }

  private async readSeries(range: DayRange, granularity: 'day' | 'month'): Promise<RangeStatsView> {
    const plan = this.planOf(range, granularity);
    const fields = (plan.dayNames.length + plan.monthNames.length) * USER_BUCKETS;
    const { days, months } = await this.budget.run(fields, () => this.sumFields(plan.dayNames, plan.monthNames));
    const periods: RangeRow[] = plan.rows.map((row) => {
      const sums = row.months ? months : days;
      let orders = 0;
      let cents = 0;
      for (let i = row.first; i < row.end; i++) {
        orders += sums.o[i] ?? 0;
        cents += sums.r[i] ?? 0;
      }
      return { period: row.label, orders, revenue: centsToAmount(cents) };
    });
    const totalOrders = periods.reduce((a, p) => a + p.orders, 0);
    let totalCents = 0;
    for (const v of days.r) totalCents += v;
    for (const v of months.r) totalCents += v;
    return {
      from: plan.from,
      to: plan.to,
      granularity,
      periods,
      total: { orders: totalOrders, revenue: centsToAmount(totalCents) },
    };
  }

  /**
   * The fields and rows of a series: which day and month fields to read and which of them
   * each row sums. Depends on the range and granularity only, so the last few are kept (a
   * dashboard asks for the same range again and again).
   */
  private planOf(range: DayRange, granularity: 'day' | 'month'): SeriesPlan {
    const key = `${range.fromMs}/${range.toMs}/${granularity}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const dayFields: string[] = [];
    const monthFields: string[] = [];
    const rows: PlanRow[] = [];
    const daily = granularity === 'day';
    for (const s of monthSlices(range)) {
      const label = isoDay(s.monthStartMs).slice(0, 7);
      if (s.whole && granularity === 'month') {
        rows.push({ label, months: true, first: monthFields.length, end: monthFields.length + 1 });
        monthFields.push(s.month);
        continue;
      }
      const first = dayFields.length;
      for (const d of s.days) {
        if (daily) rows.push({ label: isoDay(d), months: false, first: dayFields.length, end: dayFields.length + 1 });
        dayFields.push(dayOf(d));
      }
      if (!daily) rows.push({ label, months: false, first, end: dayFields.length });
    }
    const plan: SeriesPlan = {
      from: isoDay(range.fromMs),
      to: isoDay(range.toMs),
      dayNames: dayFields.flatMap((f) => [`${f}:o`, `${f}:r`]),
      monthNames: monthFields.flatMap((f) => [`${f}:o`, `${f}:r`]),
      rows,
    };
    if (this.plans.size >= SERIES_PLANS_KEPT) this.plans.delete(this.plans.keys().next().value ?? '');
    this.plans.set(key, plan);
    return plan;
  }

  /** One user's totals within the range: reads only that user's month and day hashes. */
  async user(userId: string, range: DayRange, nowMs = Date.now()): Promise<UserRangeStatsView> {
    const id = normaliseId(userId);
    if (needsExpiredDays(range, this.config.stats.retentionDays, nowMs)) {
      throw retentionError(this.config.stats.retentionDays);
    }
    const k = this.keys.bucket(userBucketOf(id));
    const client = this.redis.client;
    const slices = monthSlices(range);
    const whole = slices.filter((s) => s.whole);
    const partial = slices.filter((s) => !s.whole);
    const [exists, monthValues, ...dayValues] = await this.redis.bounded(
      Promise.all([
        client.exists(k.user(id)),
        whole.length > 0
          ? client.hmget(k.userMonths(id), ...whole.flatMap((s) => [`${s.month}:o`, `${s.month}:s`]))
          : [],
        ...partial.map((s) =>
          client.hmget(
            k.userDays(id, s.month),
            ...s.days.flatMap((d) => [`${dayOf(d).slice(6)}:o`, `${dayOf(d).slice(6)}:s`]),
          ),
        ),
      ]),
    );
    if (exists === 0) throw new NotFoundError('user', `no orders are recorded for user ${id}`);
    let orders = 0;
    let cents = 0;
    for (const values of [monthValues, ...dayValues]) {
      for (let i = 0; i < values.length; i += 2) {
        orders += Number(values[i] ?? 0);
        cents += Number(values[i + 1] ?? 0);
      }
    }
    return {
      user_id: id,
      from: isoDay(range.fromMs),
      to: isoDay(range.toMs),
      order_count: orders,
      total_spend: centsToAmount(cents),
      average_order_value: average(cents, orders),
    };
  }

  /**
   * HMGET of the day names in every bucket's day hash and of the month names in every
   * bucket's month hash, summed per field. The values come back as Buffers (integer text
   * is read without decoding a string), all in one read (RedisService.readAll: one round
   * trip on a single Redis).
   */
  private async sumFields(
    dayNames: readonly string[],
    monthNames: readonly string[],
  ): Promise<{ days: FieldSums; months: FieldSums }> {
    const days = emptySums(dayNames.length / 2);
    const months = emptySums(monthNames.length / 2);
    // Each HMGET asks for at most FIELDS_PER_COMMAND fields: Redis runs one command at a
    // time, so a ten-year day range in one command per hash would hold every other client
    // (the consumers included) for milliseconds at a stretch.
    const reads: [hash: string, names: readonly string[], into: FieldSums, firstPair: number][] = [];
    const add = (hashes: readonly string[], names: readonly string[], into: FieldSums): void => {
      for (let start = 0; start < names.length; start += FIELDS_PER_COMMAND) {
        const chunk = names.slice(start, start + FIELDS_PER_COMMAND);
        for (const hash of hashes) reads.push([hash, chunk, into, start / 2]);
      }
    };
    add(this.dayHashes, dayNames, days);
    add(this.monthHashes, monthNames, months);
    const answers = (await this.redis.readAll(
      reads.map(([hash, names]) => ['hmgetBuffer', hash, ...names]),
    )) as (Buffer | null)[][];
    answers.forEach((values, i) => {
      const [, names, into, firstPair] = reads[i] ?? [];
      if (!names || !into || firstPair === undefined) return;
      for (let f = 0; f < names.length / 2; f++) {
        into.o[firstPair + f] += numberOf(values[2 * f]);
        into.r[firstPair + f] += numberOf(values[2 * f + 1]);
      }
    });
    return { days, months };
  }
}

function emptySums(fields: number): FieldSums {
  return { o: new Array<number>(fields).fill(0), r: new Array<number>(fields).fill(0) };
}

/**
 * Byte order of the UTF-8 encodings (the order Redis gives equal scores), without encoding:
 * outside the surrogates, UTF-16 code units order as the UTF-8 bytes do. Where a surrogate
 * decides (a character above U+FFFF, or a lone half, which encodes as U+FFFD) the strings
 * are encoded and compared as bytes.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (!isSurrogate(x) && !isSurrogate(y)) return x - y;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  if (a.length === b.length) return 0;
  // The shorter one is a prefix of the other, and so are its bytes unless it ends halfway
  // through a pair.
  if (n > 0 && isSurrogate(a.charCodeAt(n - 1))) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a.length - b.length;
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

function retentionError(days: number): InvalidQueryError {
  return new InvalidQueryError(
    'from',
    `day-level detail is kept for ${days} days (STATS_RETENTION_DAYS); use whole calendar months for older periods`,
  );
}
