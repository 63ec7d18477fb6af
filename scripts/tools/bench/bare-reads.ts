// The reads of the API baseline (bare-server.ts): one ioredis client (the app's own
// RedisService, so the same connection options) answering the benchmarked routes with the
// same key reads as the app and the same JSON, and nothing else. User and global stats are
// written out by hand (one HGETALL; one pipeline of 16 HMGET + 16 ZCARD + one HMGET); top-N and the
// range series call the app's own query classes, so there the ratio is the cost of Nest and
// Express alone. Global, top-N and range share a read among the identical requests that
// arrive while one is in flight (the app's SharedReads), as the app does.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './harness.ts';

const require = createRequire(import.meta.url);
const dist = (lib: string, file = 'index'): unknown => require(join(ROOT, 'dist', 'libs', lib, 'src', `${file}.js`));

interface Pipeline {
  hmget(key: string, ...fields: string[]): Pipeline;
  zcard(key: string): Pipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}
interface Client {
  hgetall(key: string): Promise<Record<string, string>>;
  pipeline(): Pipeline;
}
interface Keys {
  bucket(b: number): { totals: string; user(id: string): string; top(by: string): string };
  rejected(): { counts: string };
}
const { loadConfig } = dist('config') as { loadConfig: (env: Record<string, string>) => unknown };
const { RedisService } = dist('redis') as { RedisService: new (config: unknown) => { client: Client } };
const { TopUsersQuery, RangeStatsQuery, SharedReads } = dist('aggregation') as {
  SharedReads: new () => { run(key: string, read: () => Promise<unknown>): Promise<unknown> };
  TopUsersQuery: new (
    redis: unknown,
    config: unknown,
  ) => { top(by: string, limit: number, range: undefined): Promise<unknown> };
  RangeStatsQuery: new (
    redis: unknown,
    config: unknown,
  ) => { series(range: { fromMs: number; toMs: number }, granularity: string): Promise<unknown> };
};
const { KeySchema, USER_BUCKETS, userBucketOf } = dist('aggregation', 'key-schema') as {
  KeySchema: new (prefix: string) => Keys;
  USER_BUCKETS: number;
  userBucketOf: (id: string) => number;
};

const prefix = process.env.BARE_PREFIX ?? '';
const config = loadConfig({ REDIS_URL: process.env.BARE_REDIS_URL ?? '', REDIS_KEY_PREFIX: prefix });
const redis = new RedisService(config);
const client = redis.client;
const keys = new KeySchema(prefix);
const buckets = Array.from({ length: USER_BUCKETS }, (_, b) => keys.bucket(b));
const topUsers = new TopUsersQuery(redis, config);
const ranges = new RangeStatsQuery(redis, config);
const sharedGlobal = new SharedReads();

const amount = (cents: number): number => Math.round(cents) / 100;
const average = (cents: number, count: number): number => (count === 0 ? 0 : amount(Math.round(cents / count)));
const iso = (ms: string | undefined): string | null => (ms ? new Date(Number(ms)).toISOString() : null);
const dayMs = (text: string | null): number => Date.parse(`${text ?? ''}T00:00:00Z`);

/** [status, JSON body] for a path and its query, from the same key reads as the app. */
export async function answer(path: string, query: URLSearchParams): Promise<[number, unknown]> {
  const user = /^\/users\/([^/]+)\/stats$/.exec(path);
  if (user) {
    const id = decodeURIComponent(user[1] ?? '').toUpperCase();
    const h = await client.hgetall(keys.bucket(userBucketOf(id)).user(id));
    if (h.orders === undefined) return [404, { message: 'not found' }];
    const count = Number(h.orders);
    const spend = Number(h.spend ?? 0);
    return [
      200,
      {
        user_id: id,
        order_count: count,
        total_spend: amount(spend),
        average_order_value: average(spend, count),
        first_order_at: iso(h.first),
        last_order_at: iso(h.last),
      },
    ];
  }
  if (path === '/stats/global') return [200, await sharedGlobal.run('global', readGlobal)];
  if (path === '/stats/top-users') {
    return [200, await topUsers.top(query.get('by') ?? 'spend', Number(query.get('limit') ?? 10), undefined)];
  }
  if (path === '/stats/range') {
    const range = { fromMs: dayMs(query.get('from')), toMs: dayMs(query.get('to')) };
    return [200, await ranges.series(range, query.get('granularity') ?? 'day')];
  }
  return [404, { message: 'not found' }];
}

/**
 * One pipeline, as the app sends it on a single Redis: per bucket HMGET of its totals and
 * ZCARD of its all-time set, then HMGET of the rejected counts. Shared by the requests that
 * arrive while one is in flight, as the app's are (SharedReads).
 */
async function readGlobal(): Promise<unknown> {
  const pipeline = client.pipeline();
  for (const k of buckets) pipeline.hmget(k.totals, 'orders', 'revenue', 'duplicates').zcard(k.top('orders'));
  pipeline.hmget(keys.rejected().counts, 'rejected', 'conflict');
  const answers = ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  let [orders, revenue, duplicates, users] = [0, 0, 0, 0];
  for (let b = 0; b < buckets.length; b++) {
    const [o, r, d] = answers[2 * b] as (string | null)[];
    orders += Number(o ?? 0);
    revenue += Number(r ?? 0);
    duplicates += Number(d ?? 0);
    users += answers[2 * b + 1] as number;
  }
  const [rejected, conflicts] = answers[2 * buckets.length] as (string | null)[];
  return {
    total_orders: orders,
    total_revenue: amount(revenue),
    average_order_value: average(revenue, orders),
    total_users: users,
    duplicates,
    rejected: Number(rejected ?? 0),
    conflicts: Number(conflicts ?? 0),
  };
}
