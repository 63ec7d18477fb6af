import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { centsToAmount, normaliseId } from '@order-pipeline/orders';
import { RedisService, type ScriptRunner } from '@order-pipeline/redis';
import { InvalidQueryError, coveringPeriods, isoDay, monthSlices, needsExpiredDays, type DayRange } from './date-range';
import { KeySchema, USER_BUCKETS, dayOf, userBucketOf, type TopBy } from './key-schema';
import { TOP_LUA } from './lua/scripts';
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

  constructor(
    redis: RedisService,
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
    const periods = range ? coveringPeriods(range) : [undefined];
    const token = createHash('sha1').update(periods.join(',')).digest('hex').slice(0, 16);
    const perBucket = await Promise.all(
      Array.from({ length: USER_BUCKETS }, (_, b) => {
        const k = this.keys.bucket(b);
        const keys = [
          k.topCache(by, token),
          ...periods.map((p) => k.top(by, p)),
          ...periods.map((p) => k.top(other, p)),
        ];
        return this.topScript(keys, [periods.length, limit, TOP_CACHE_TTL_SECONDS]);
      }),
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
    const users: TopUserRow[] = candidates
      .filter((c) => c.ranked > 0)
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

/** Totals over date ranges, from the per-bucket day and month partials. */
@Injectable()
export class RangeStatsQuery {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
  }

  /** One row per day or month of the range (zero-filled) and the range total. */
  async series(range: DayRange, granularity: 'day' | 'month'): Promise<RangeStatsView> {
    const slices = monthSlices(range);
    const dayFields = slices.flatMap((s) => (s.whole && granularity === 'month' ? [] : s.days.map(dayOf)));
    const monthFields = slices.filter((s) => s.whole && granularity === 'month').map((s) => s.month);
    const [days, months] = await Promise.all([
      this.sumFields((k) => k.days, dayFields),
      this.sumFields((k) => k.months, monthFields),
    ]);
    const periods: RangeRow[] =
      granularity === 'day'
        ? slices.flatMap((s) => s.days.map((d) => row(isoDay(d), days.get(dayOf(d)))))
        : slices.map((s) => {
            const label = isoDay(s.monthStartMs).slice(0, 7);
            if (s.whole) return row(label, months.get(s.month));
            const sum = s.days.reduce(
              (acc, d) => {
                const v = days.get(dayOf(d));
                return { o: acc.o + (v?.o ?? 0), r: acc.r + (v?.r ?? 0) };
              },
              { o: 0, r: 0 },
            );
            return row(label, sum);
          });
    const totalOrders = periods.reduce((a, p) => a + p.orders, 0);
    const totalCents = [...(granularity === 'day' ? days.values() : [...days.values(), ...months.values()])].reduce(
      (a, v) => a + v.r,
      0,
    );
    return {
      from: isoDay(range.fromMs),
      to: isoDay(range.toMs),
      granularity,
      periods,
      total: { orders: totalOrders, revenue: centsToAmount(totalCents) },
    };
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
    const [exists, monthValues, ...dayValues] = await Promise.all([
      client.exists(k.user(id)),
      whole.length > 0 ? client.hmget(k.userMonths(id), ...whole.flatMap((s) => [`${s.month}:o`, `${s.month}:s`])) : [],
      ...partial.map((s) =>
        client.hmget(
          k.userDays(id, s.month),
          ...s.days.flatMap((d) => [`${dayOf(d).slice(6)}:o`, `${dayOf(d).slice(6)}:s`]),
        ),
      ),
    ]);
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

  /** HMGET of `<field>:o` and `<field>:r` in every bucket's hash, summed per field. */
  private async sumFields(
    hashOf: (k: ReturnType<KeySchema['bucket']>) => string,
    fields: readonly string[],
  ): Promise<Map<string, { o: number; r: number }>> {
    const totals = new Map<string, { o: number; r: number }>();
    if (fields.length === 0) return totals;
    const names = fields.flatMap((f) => [`${f}:o`, `${f}:r`]);
    const perBucket = await Promise.all(
      Array.from({ length: USER_BUCKETS }, (_, b) => this.redis.client.hmget(hashOf(this.keys.bucket(b)), ...names)),
    );
    fields.forEach((f, i) => {
      let o = 0;
      let r = 0;
      for (const values of perBucket) {
        o += Number(values[2 * i] ?? 0);
        r += Number(values[2 * i + 1] ?? 0);
      }
      totals.set(f, { o, r });
    });
    return totals;
  }
}

function row(period: string, v: { o: number; r: number } | undefined): RangeRow {
  return { period, orders: v?.o ?? 0, revenue: centsToAmount(v?.r ?? 0) };
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
