// Loads the REAL service classes from the compiled build (dist/, CommonJS) and describes
// the small part of their surface the benchmark uses. The view types come straight from
// the source (a types-only file), so a change to an answer's shape shows up here.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import type {
  GlobalStatsView,
  RangeStatsView,
  TopUsersView,
  UserRangeStatsView,
  UserStatsView,
} from '../../../libs/aggregation/src/stats-views.ts';

export type { GlobalStatsView, RangeStatsView, TopUsersView, UserRangeStatsView, UserStatsView };

export interface DayRange {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface AppConfig {
  readonly redis: { readonly url: string; readonly keyPrefix: string };
  readonly stats: { readonly retentionDays: number };
}

export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly timestampMs: number;
  readonly valueCents: number;
  readonly contentHash: string;
}

export type ParseResult =
  | { readonly ok: true; readonly order: Order }
  | { readonly ok: false; readonly violations: readonly { code: string; message: string }[] };

/** The ioredis client (standalone), reduced to what the benchmark calls. */
export interface RedisClient {
  info(section: string): Promise<string>;
  dbsize(): Promise<number>;
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisService {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  onApplicationShutdown(): Promise<void>;
}

export interface OrderAggregator {
  claim(order: Order, nowMs?: number): Promise<{ status: 'new' | 'same' | 'conflict' }>;
  apply(order: Order): Promise<'accepted' | 'duplicate'>;
}

export interface TopUsersQuery {
  top(by: 'spend' | 'orders', limit: number, range: DayRange | undefined, nowMs?: number): Promise<TopUsersView>;
}

export interface RangeStatsQuery {
  series(range: DayRange, granularity: 'day' | 'month'): Promise<RangeStatsView>;
  user(userId: string, range: DayRange, nowMs?: number): Promise<UserRangeStatsView>;
}

export interface StatsQuery {
  user(userId: string): Promise<UserStatsView>;
  global(): Promise<GlobalStatsView>;
}

export type RejectedOrderStore = object;

/** key-schema.ts: the key names, so the memory breakdown reads the service's own keys. */
export interface KeySchema {
  claims(orderBucket: number): string;
  bucket(b: number): { readonly applied: string; top(by: 'spend' | 'orders', period?: string): string };
}

export interface ServiceModules {
  loadConfig: (env: Readonly<Record<string, string | undefined>>) => AppConfig;
  parseOrderMessage: (body: string) => ParseResult;
  RedisService: new (config: AppConfig) => RedisService;
  OrderAggregator: new (redis: RedisService, config: AppConfig) => OrderAggregator;
  RejectedOrderStore: new (redis: RedisService, config: AppConfig) => RejectedOrderStore;
  StatsQuery: new (redis: RedisService, rejected: RejectedOrderStore) => StatsQuery;
  TopUsersQuery: new (redis: RedisService, config: AppConfig) => TopUsersQuery;
  RangeStatsQuery: new (redis: RedisService, config: AppConfig) => RangeStatsQuery;
  KeySchema: new (prefix: string) => KeySchema;
  ORDER_BUCKETS: number;
  USER_BUCKETS: number;
  /** date-range.ts: the "m:YYYYMM" / "d:YYYYMMDD" periods that cover a range. */
  coveringPeriods: (range: DayRange) => string[];
}

/** Requires the compiled libraries under `<root>/dist/libs` (run `nest build` first). */
export function loadServiceModules(root: string): ServiceModules {
  const require = createRequire(import.meta.url);
  const lib = (name: string): unknown => require(join(root, 'dist', 'libs', name, 'src', 'index.js'));
  const config = lib('config') as Pick<ServiceModules, 'loadConfig'>;
  const orders = lib('orders') as Pick<ServiceModules, 'parseOrderMessage'>;
  const redis = lib('redis') as Pick<ServiceModules, 'RedisService'>;
  const aggregation = lib('aggregation') as Pick<
    ServiceModules,
    'OrderAggregator' | 'RejectedOrderStore' | 'StatsQuery' | 'TopUsersQuery' | 'RangeStatsQuery'
  >;
  const keySchema = require(join(root, 'dist', 'libs', 'aggregation', 'src', 'key-schema.js')) as Pick<
    ServiceModules,
    'KeySchema' | 'ORDER_BUCKETS' | 'USER_BUCKETS'
  >;
  const dateRange = require(join(root, 'dist', 'libs', 'aggregation', 'src', 'date-range.js')) as Pick<
    ServiceModules,
    'coveringPeriods'
  >;
  const modules: ServiceModules = {
    loadConfig: config.loadConfig,
    parseOrderMessage: orders.parseOrderMessage,
    RedisService: redis.RedisService,
    OrderAggregator: aggregation.OrderAggregator,
    RejectedOrderStore: aggregation.RejectedOrderStore,
    StatsQuery: aggregation.StatsQuery,
    TopUsersQuery: aggregation.TopUsersQuery,
    RangeStatsQuery: aggregation.RangeStatsQuery,
    KeySchema: keySchema.KeySchema,
    ORDER_BUCKETS: keySchema.ORDER_BUCKETS,
    USER_BUCKETS: keySchema.USER_BUCKETS,
    coveringPeriods: dateRange.coveringPeriods,
  };
  for (const [name, value] of Object.entries(modules)) {
    if (!['function', 'number'].includes(typeof value))
      throw new Error(`dist/libs does not export ${name}: rebuild with "pnpm exec nest build"`);
  }
  return modules;
}
