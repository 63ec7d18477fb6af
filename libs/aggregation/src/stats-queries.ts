import { Injectable } from '@nestjs/common';
import { centsToAmount, normaliseId } from '@order-pipeline/orders';
import { RedisService, type ReadCommand } from '@order-pipeline/redis';
import { numberOf } from './integer-text';
import { KeySchema, USER_BUCKETS, orderBucketOf, userBucketOf } from './key-schema';
import { parseClaim } from './order-aggregator';
import { RejectedOrderStore, type RejectedOrderRecord } from './rejected-order-store';
import { SharedReads } from './shared-reads';
import type {
  GlobalStatsView,
  OrderStatusView,
  RejectedOrdersView,
  RejectedOrderView,
  UserStatsView,
} from './stats-views';

const iso = (ms: number | string | undefined | null): string | null =>
  ms === undefined || ms === null || ms === '' ? null : new Date(Number(ms)).toISOString();

export const average = (cents: number, count: number): number =>
  count === 0 ? 0 : centsToAmount(Math.round(cents / count));

export class NotFoundError extends Error {
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** All-time figures: one user (one read in the user's slot), global (per-bucket partials merged). */
@Injectable()
export class StatsQuery {
  private readonly keys: KeySchema;

  /** The global read: per bucket its totals and its user count (the all-time top set), then the rejected counts. */
  private readonly globalReads: readonly ReadCommand[];
  private readonly shared = new SharedReads<GlobalStatsView>();

  constructor(
    private readonly redis: RedisService,
    private readonly rejected: RejectedOrderStore,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
    this.globalReads = [
      ...Array.from({ length: USER_BUCKETS }, (_, b): ReadCommand[] => {
        const k = this.keys.bucket(b);
        return [
          ['hmgetBuffer', k.totals, 'orders', 'revenue', 'duplicates'],
          ['zcard', k.top('orders')],
        ];
      }).flat(),
      rejected.countsRead,
    ];
  }

  async user(userId: string): Promise<UserStatsView> {
    const id = normaliseId(userId);
    const h = await this.redis.bounded(this.redis.client.hgetall(this.keys.bucket(userBucketOf(id)).user(id)));
    if (h.orders === undefined) throw new NotFoundError('user', `no orders are recorded for user ${id}`);
    const count = Number(h.orders);
    const spend = Number(h.spend ?? 0);
    return {
      user_id: id,
      order_count: count,
      total_spend: centsToAmount(spend),
      average_order_value: average(spend, count),
      first_order_at: iso(h.first),
      last_order_at: iso(h.last),
    };
  }

  /**
   * Each bucket's partial totals and user count, and the rejected counts, in one read
   * (RedisService.readAll: one round trip on a single Redis), the integers read straight
   * from the bytes. Requests that arrive while a read is in flight share the next one
   * (SharedReads: never a read that began before them).
   */
  global(): Promise<GlobalStatsView> {
    return this.shared.run('global', () => this.readGlobal());
  }

  private async readGlobal(): Promise<GlobalStatsView> {
    const answers = await this.redis.readAll(this.globalReads);
    let orders = 0;
    let revenue = 0;
    let duplicates = 0;
    let users = 0;
    for (let b = 0; b < USER_BUCKETS; b++) {
      const [o, r, d] = answers[2 * b] as (Buffer | null)[];
      orders += numberOf(o);
      revenue += numberOf(r);
      duplicates += numberOf(d);
      users += answers[2 * b + 1] as number;
    }
    const { rejected, conflicts } = this.rejected.countsFrom(answers[2 * USER_BUCKETS]);
    return {
      total_orders: orders,
      total_revenue: centsToAmount(revenue),
      average_order_value: average(revenue, orders),
      total_users: users,
      duplicates,
      rejected,
      conflicts,
    };
  }
}

/** What became of one order id. */
@Injectable()
export class OrderStatusQuery {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: RedisService,
    private readonly rejected: RejectedOrderStore,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
  }

  /** One deadline for its two steps (RedisService.bounded). */
  async status(orderId: string): Promise<OrderStatusView> {
    return this.redis.bounded(this.read(normaliseId(orderId)));
  }

  private async read(id: string): Promise<OrderStatusView> {
    const [stored, record] = await Promise.all([
      this.redis.client.hget(this.keys.claims(orderBucketOf(id)), id),
      this.rejected.latestForOrder(id),
    ]);
    if (stored !== null) {
      const claim = parseClaim(stored);
      const applied = await this.redis.client.sismember(this.keys.bucket(userBucketOf(claim.userId)).applied, id);
      return {
        order_id: id,
        outcome: applied === 1 ? 'accepted' : 'pending',
        user_id: claim.userId,
        first_seen_at: iso(claim.firstSeenMs),
        reasons: [],
        last_conflict:
          record?.kind === 'conflict'
            ? { received_at: iso(record.receivedAtMs) ?? '', reasons: [...record.reasons] }
            : null,
      };
    }
    if (record) {
      return {
        order_id: id,
        outcome: record.kind,
        user_id: record.userId,
        first_seen_at: iso(record.receivedAtMs),
        reasons: [...record.reasons],
        last_conflict: null,
      };
    }
    throw new NotFoundError('order', `no message with order_id ${id} has been processed`);
  }
}

/** The rejected and conflicting messages, newest first. */
@Injectable()
export class RejectedOrdersQuery {
  constructor(private readonly store: RejectedOrderStore) {}

  async list(limit: number, cursor?: number): Promise<RejectedOrdersView> {
    const page = await this.store.list(limit, cursor);
    return { items: page.items.map(toView), next_cursor: page.nextCursor };
  }
}

function toView(r: RejectedOrderRecord): RejectedOrderView {
  return {
    id: r.id,
    kind: r.kind,
    order_id: r.orderId,
    user_id: r.userId,
    reasons: [...r.reasons],
    received_at: iso(r.receivedAtMs) ?? '',
    raw_body: r.rawBody,
    raw_truncated: r.rawTruncated,
  };
}
