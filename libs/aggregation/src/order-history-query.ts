import { Injectable } from '@nestjs/common';
import { RedisService } from '@order-pipeline/redis';
import { KeySchema, USER_BUCKETS, userBucketOf } from './key-schema';

/** What the aggregates already know about a user or about every order: a count and a sum in cents. */
export interface History {
  readonly orders: number;
  readonly cents: number;
}

/**
 * Cheap reads of the existing aggregates for the quality guard's rules: a user's order
 * count and spend (one HMGET in the user's slot; the HMGETs of a batch go out together,
 * auto-pipelined), and the global count and revenue (one HMGET per user bucket).
 */
@Injectable()
export class OrderHistoryQuery {
  private readonly keys: KeySchema;

  constructor(private readonly redis: RedisService) {
    this.keys = new KeySchema(redis.keyPrefix);
  }

  /** Each distinct user once; users without orders are absent from the map. */
  async users(userIds: readonly string[]): Promise<Map<string, History>> {
    const ids = [...new Set(userIds)];
    const rows = await Promise.all(
      ids.map((id) => this.redis.client.hmget(this.keys.bucket(userBucketOf(id)).user(id), 'orders', 'spend')),
    );
    const result = new Map<string, History>();
    ids.forEach((id, i) => {
      const [orders, spend] = rows[i] ?? [];
      if (orders) result.set(id, { orders: Number(orders), cents: Number(spend ?? 0) });
    });
    return result;
  }

  async global(): Promise<History> {
    const rows = await Promise.all(
      Array.from({ length: USER_BUCKETS }, (_, b) =>
        this.redis.client.hmget(this.keys.bucket(b).totals, 'orders', 'revenue'),
      ),
    );
    return rows.reduce<History>(
      (acc, [orders, revenue]) => ({
        orders: acc.orders + Number(orders ?? 0),
        cents: acc.cents + Number(revenue ?? 0),
      }),
      { orders: 0, cents: 0 },
    );
  }
}
