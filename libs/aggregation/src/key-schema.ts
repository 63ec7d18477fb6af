/**
 * The Redis key schema. Every key carries a hash tag, so each Lua script touches keys
 * of one slot only and runs unchanged on Redis Cluster:
 *
 *   {o<n>}  order bucket n = fnv1a(order_id) mod ORDER_BUCKETS  -> claims
 *   {u<n>}  user bucket  n = fnv1a(user_id)  mod USER_BUCKETS   -> applied-marks, the
 *           user's own figures, and this bucket's partials of global/day/month/top-N
 *   {rej}   the rejected/conflicting order store (low volume, one slot)
 *   {flag}  the flagged-orders list of the quality guard (low volume, one slot)
 *   {guard} the quality guard's verdict cache (one key per reviewed order content)
 *
 * The bucket counts are part of the data format: changing them needs a migration.
 * See docs/DESIGN.md for the full table.
 */
export const ORDER_BUCKETS = 16;
export const USER_BUCKETS = 16;

/** 32-bit FNV-1a over the UTF-8 bytes: stable across processes, languages and versions. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export const userBucketOf = (userId: string): number => fnv1a(userId) % USER_BUCKETS;
export const orderBucketOf = (orderId: string): number => fnv1a(orderId) % ORDER_BUCKETS;

/** "20260304" for the UTC day of the instant. */
export function dayOf(ms: number): string {
  return utcDate(ms, '');
}

/**
 * The UTC date of an instant as YYYY<sep>MM<sep>DD, as toISOString writes it, read from the
 * date's fields (a tenth of the cost of formatting and cutting the whole ISO string).
 * Years outside 1000-9999 (a sign and six digits, or zero-padded) and invalid times (a
 * RangeError) are left to toISOString itself.
 */
export function utcDate(ms: number, sep: string): string {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) {
    const iso = date.toISOString().slice(0, 10);
    return sep === '-' ? iso : iso.replaceAll('-', sep);
  }
  const month = date.getUTCMonth() + 1;
  const day = date.getUTCDate();
  return `${year}${sep}${month < 10 ? '0' : ''}${month}${sep}${day < 10 ? '0' : ''}${day}`;
}

/** "202603" for the UTC month of the instant. */
export function monthOf(ms: number): string {
  return dayOf(ms).slice(0, 6);
}

export class KeySchema {
  /** Each bucket's keys are built once: the global read and every order ask for them. */
  private readonly buckets: UserBucketKeys[] = [];
  private rejectedKeys: RejectedKeys | undefined;

  constructor(private readonly prefix: string) {}

  /**
   * A key in each hash tag that processing an order writes to (every order and user bucket,
   * the rejected and flagged lists, the guard's verdicts): a read of each reaches every slot,
   * and so every Cluster master, the pipeline needs.
   */
  slotProbes(): string[] {
    return [
      ...Array.from({ length: ORDER_BUCKETS }, (_, b) => this.claims(b)),
      ...Array.from({ length: USER_BUCKETS }, (_, b) => this.bucket(b).totals),
      this.rejected().counts,
      this.flagged().counts,
      this.guardVerdict('probe'),
    ];
  }

  claims(orderBucket: number): string {
    return `${this.prefix}:{o${orderBucket}}:claims`;
  }

  /** Keys of one user bucket; `b` is the bucket number. */
  bucket(b: number): UserBucketKeys {
    return (this.buckets[b] ??= this.bucketKeys(b));
  }

  private bucketKeys(b: number): UserBucketKeys {
    const tag = `${this.prefix}:{u${b}}`;
    return {
      applied: `${tag}:applied`,
      totals: `${tag}:totals`,
      days: `${tag}:days`,
      months: `${tag}:months`,
      user: (userId) => `${tag}:user:${userId}`,
      userMonths: (userId) => `${tag}:user:${userId}:m`,
      userDays: (userId, month) => `${tag}:user:${userId}:d:${month}`,
      top: (by, period) => (period ? `${tag}:top:${by}:${period}` : `${tag}:top:${by}`),
      topCache: (by, token) => `${tag}:cache:top:${by}:${token}`,
    };
  }

  rejected(): RejectedKeys {
    return (this.rejectedKeys ??= this.rejectedKeysOf());
  }

  private rejectedKeysOf(): RejectedKeys {
    const tag = `${this.prefix}:{rej}`;
    return {
      records: `${tag}:records`,
      index: `${tag}:index`,
      byOrder: `${tag}:by-order`,
      counts: `${tag}:counts`,
      sequence: `${tag}:seq`,
      resolved: `${tag}:resolved`,
      reprocessing: (orderId) => `${tag}:reprocessing:${orderId}`,
    };
  }

  flagged(): FlaggedKeys {
    const tag = `${this.prefix}:{flag}`;
    return { records: `${tag}:records`, index: `${tag}:index`, counts: `${tag}:counts`, sequence: `${tag}:seq` };
  }

  /** The quality guard's cached verdict for one order content and its flags (all in one slot, so MGET works on a Cluster). */
  guardVerdict(verdictKey: string): string {
    return `${this.prefix}:{guard}:verdict:${verdictKey}`;
  }

  meta(name: string): string {
    return `${this.prefix}:{meta}:${name}`;
  }
}

export type TopBy = 'spend' | 'orders';

export interface UserBucketKeys {
  readonly applied: string;
  readonly totals: string;
  readonly days: string;
  readonly months: string;
  user(userId: string): string;
  userMonths(userId: string): string;
  userDays(userId: string, month: string): string;
  /** `period` is "m:YYYYMM" or "d:YYYYMMDD"; none for all time. */
  top(by: TopBy, period?: string): string;
  topCache(by: TopBy, token: string): string;
}

export interface RejectedKeys {
  readonly records: string;
  readonly index: string;
  readonly byOrder: string;
  readonly counts: string;
  readonly sequence: string;
  /** Records taken out of the store by a reprocess that applied the order (kept for the record). */
  readonly resolved: string;
  /** The lease of a reprocess of this order in flight (one at a time, across instances). */
  reprocessing(orderId: string): string;
}

export interface FlaggedKeys {
  readonly records: string;
  readonly index: string;
  readonly counts: string;
  readonly sequence: string;
}
