// Processing core: the real ProcessingService (parse -> validate -> guard -> claim -> apply)
// over pre-generated messages into the private Redis, against the Redis limit: a minimal
// loop that sends the same two Lua scripts, with the same keys and arguments and the same
// pipelining (a batch of 10 = one claim pipeline, then one apply pipeline; the same number
// of batches in flight), straight through ioredis with everything computed beforehand.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DAY_MS, OrderStream } from './orders-model.ts';
import { ROOT, int, log, type ReportRow } from './harness.ts';
import { cpuStopwatch } from './cpu.ts';

const require = createRequire(import.meta.url);

export interface CoreOptions {
  readonly redisUrl: string;
  readonly orders: number;
  /** Batches of 10 in flight, for both the service and the baseline. */
  readonly inFlight: number;
  /** Alternating baseline/service rounds; the best round of each is reported. */
  readonly rounds: number;
}

export interface CoreResult {
  readonly rows: ReportRow[];
  readonly detail: Record<string, unknown>;
}

interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}
interface Order {
  readonly orderId: string;
}
interface Aggregator {
  claimCall(order: Order, nowMs: number): ScriptCall;
  applyCall(order: Order): ScriptCall;
}
interface Outcome {
  readonly kind: string;
  readonly error?: string;
}
interface Processing {
  processBatch(messages: readonly { id: string; body: string; receiveCount: number }[]): Promise<Outcome[]>;
}
interface NestContext {
  get<T>(token: unknown): T;
  close(): Promise<void>;
}
type Pipeline = Record<string, (...args: (string | number)[]) => unknown> & {
  exec(): Promise<[Error | null, unknown][] | null>;
};
interface RawRedis {
  defineCommand(name: string, def: { lua: string; numberOfKeys: number }): void;
  pipeline(): Pipeline;
  hmget(key: string, ...fields: string[]): Promise<(string | null)[]>;
  flushdb(): Promise<string>;
  quit(): Promise<string>;
  info(section: string): Promise<string>;
  config(op: string): Promise<unknown>;
}

const BATCH = 10;

export function dist(lib: string, file = 'index'): unknown {
  return require(join(ROOT, 'dist', 'libs', lib, 'src', `${file}.js`));
}

/** A Nest application context with config, Redis and processing, for one key prefix. */
export async function processingContext(redisUrl: string, prefix: string): Promise<NestContext> {
  const { NestFactory } = require('@nestjs/core') as {
    NestFactory: { createApplicationContext(m: unknown, o: unknown): Promise<NestContext> };
  };
  const { Module } = require('@nestjs/common') as { Module: (meta: unknown) => (target: unknown) => void };
  const { Global } = require('@nestjs/common') as { Global: () => (target: unknown) => void };
  const { APP_CONFIG, Clock, SystemClock, loadConfig } = dist('config') as {
    APP_CONFIG: symbol;
    Clock: unknown;
    SystemClock: unknown;
    loadConfig: (env: Record<string, string>) => unknown;
  };
  const { RedisModule } = dist('redis') as { RedisModule: unknown };
  const { ProcessingModule } = dist('processing') as { ProcessingModule: unknown };
  // The configuration from these variables alone, not from the caller's environment: an
  // exported REDIS_CLUSTER_NODES, ANTHROPIC_API_KEY or QUALITY_GUARD_ENABLED would point the
  // run at another Redis or time another path.
  const config = loadConfig({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' });
  class BenchConfigModule {}
  Module({
    providers: [
      { provide: APP_CONFIG, useValue: config },
      { provide: Clock, useClass: SystemClock },
    ],
    exports: [APP_CONFIG, Clock],
  })(BenchConfigModule);
  Global()(BenchConfigModule);
  class BenchCoreModule {}
  Module({ imports: [BenchConfigModule, RedisModule, ProcessingModule] })(BenchCoreModule);
  return NestFactory.createApplicationContext(BenchCoreModule, { logger: ['error'] });
}

/** Runs `batches` through `worker` with `width` of them in flight. */
async function inFlight<T>(batches: readonly T[], width: number, worker: (b: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) await worker(batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, batches.length) }, lane));
}

/** Microseconds Redis spent in EVAL/EVALSHA since the last CONFIG RESETSTAT. */
function scriptMicros(commandstats: string): number {
  let total = 0;
  for (const m of commandstats.matchAll(/^cmdstat_(?:eval|evalsha):calls=\d+,usec=(\d+)/gm)) total += Number(m[1]);
  return total;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One timed round: orders/s, and the CPU per order it cost (µs). */
interface Round {
  readonly rate: number;
  readonly cpu: CpuPerOrder;
}

/** µs per order: Node's main thread (the event loop), all of Node's threads, and Redis. */
interface CpuPerOrder {
  readonly main: number;
  readonly node: number;
  readonly redis: number;
}

/** "main thread 61 µs (all threads 82 µs), Redis 55 µs" (CPU per order). */
function cpuText(cpu: CpuPerOrder | undefined): string {
  return cpu ? `main thread ${int(cpu.main)} µs (all threads ${int(cpu.node)} µs), Redis ${int(cpu.redis)} µs` : 'n/a';
}

export async function runCore(options: CoreOptions): Promise<CoreResult> {
  const { redisUrl, orders: n, inFlight: width, rounds } = options;
  const { Redis } = require('ioredis') as { Redis: new (url: string, o?: object) => RawRedis };
  const { parseOrderMessage } = dist('orders') as {
    parseOrderMessage: (body: string) => { ok: true; order: Order } | { ok: false };
  };
  const { OrderAggregator } = dist('aggregation') as { OrderAggregator: unknown };
  const { ProcessingService } = dist('processing') as { ProcessingService: unknown };
  const { CLAIM_LUA, APPLY_LUA } = dist('aggregation', 'lua/scripts') as { CLAIM_LUA: string; APPLY_LUA: string };
  const { KeySchema, USER_BUCKETS } = dist('aggregation', 'key-schema') as {
    KeySchema: new (p: string) => { bucket(b: number): { totals: string } };
    USER_BUCKETS: number;
  };

  const todayStartMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const stream = new OrderStream({
    seed: 11,
    users: Math.max(1_000, Math.floor(n / 10)),
    orders: n,
    days: 365,
    todayStartMs,
  });
  const bodies: string[] = [];
  let expectedCents = 0;
  for (let i = 0; i < n; i++) {
    const o = stream.next();
    bodies.push(o.body);
    expectedCents += o.cents;
  }
  const raw = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  raw.defineCommand('benchClaim', { lua: CLAIM_LUA, numberOfKeys: 1 });
  raw.defineCommand('benchApply', { lua: APPLY_LUA, numberOfKeys: 13 });

  const checkTotals = async (prefix: string, what: string): Promise<void> => {
    const keys = new KeySchema(prefix);
    let count = 0;
    let cents = 0;
    for (let b = 0; b < USER_BUCKETS; b++) {
      const [o, r] = await raw.hmget(keys.bucket(b).totals, 'orders', 'revenue');
      count += Number(o ?? 0);
      cents += Number(r ?? 0);
    }
    if (count !== n || cents !== expectedCents) {
      throw new Error(`${what}: Redis holds ${count} orders / ${cents} cents, expected ${n} / ${expectedCents}`);
    }
  };

  /** The Redis limit: precomputed calls, one claim pipeline then one apply pipeline per batch. */
  const baseline = async (prefix: string, count: number): Promise<Round> => {
    const ctx = await processingContext(redisUrl, prefix);
    const aggregator = ctx.get<Aggregator>(OrderAggregator);
    const now = Date.now();
    const calls = bodies.slice(0, count).map((body) => {
      const parsed = parseOrderMessage(body);
      if (!parsed.ok) throw new Error('a generated order did not parse');
      return { claim: aggregator.claimCall(parsed.order, now), apply: aggregator.applyCall(parsed.order) };
    });
    await ctx.close();
    const send = async (command: string, list: readonly ScriptCall[]): Promise<void> => {
      const p = raw.pipeline();
      for (const c of list) p[command]?.(...c.keys, ...c.args);
      const results = await p.exec();
      for (const [error] of results ?? []) if (error) throw error;
    };
    await raw.config('RESETSTAT');
    const cpu = await cpuStopwatch(raw);
    const t0 = performance.now();
    await inFlight(chunks(calls, BATCH), width, async (batch) => {
      await send(
        'benchClaim',
        batch.map((c) => c.claim),
      );
      await send(
        'benchApply',
        batch.map((c) => c.apply),
      );
    });
    const rate = (count / (performance.now() - t0)) * 1000;
    const used = perOrder(await cpu(), count);
    redisMicros.push(scriptMicros(await raw.info('commandstats')) / count);
    return { rate, cpu: used };
  };

  /** The real ProcessingService, batches of 10 raw message bodies. */
  const service = async (prefix: string, count: number): Promise<Round> => {
    const ctx = await processingContext(redisUrl, prefix);
    const processing = ctx.get<Processing>(ProcessingService);
    const messages = bodies.slice(0, count).map((body, i) => ({ id: `m-${i}`, body, receiveCount: 1 }));
    let accepted = 0;
    let other: Outcome | undefined;
    const cpu = await cpuStopwatch(raw);
    const t0 = performance.now();
    await inFlight(chunks(messages, BATCH), width, async (batch) => {
      for (const outcome of await processing.processBatch(batch)) {
        if (outcome.kind === 'accepted') accepted += 1;
        else other ??= outcome;
      }
    });
    const rate = (count / (performance.now() - t0)) * 1000;
    const used = perOrder(await cpu(), count);
    await ctx.close();
    if (accepted !== count) {
      throw new Error(`core: ${accepted} of ${count} accepted; first other outcome ${JSON.stringify(other)}`);
    }
    return { rate, cpu: used };
  };

  /** CPU per order of each round, in µs: this process (Node) and Redis. */
  const perOrder = (cpu: CpuPerOrder, count: number): CpuPerOrder => ({
    main: (cpu.main / count) * 1e6,
    node: (cpu.node / count) * 1e6,
    redis: (cpu.redis / count) * 1e6,
  });
  const redisMicros: number[] = [];
  const baseRounds: Round[] = [];
  const serviceRounds: Round[] = [];
  try {
    // Warm-up (JIT, script cache), untimed, then alternating rounds on an empty Redis each.
    const warm = Math.min(n, 5_000);
    await raw.flushdb();
    await baseline('warmbase', warm);
    await service('warmcore', warm);
    for (let r = 1; r <= rounds; r++) {
      await raw.flushdb();
      baseRounds.push(await baseline(`base${r}`, n));
      await checkTotals(`base${r}`, 'core baseline');
      await raw.flushdb();
      serviceRounds.push(await service(`core${r}`, n));
      await checkTotals(`core${r}`, 'core');
      log(
        `core round ${r}: baseline ${int(baseRounds.at(-1)?.rate ?? 0)}/s (Redis ${(redisMicros.at(-1) ?? 0).toFixed(1)} µs of script per order), service ${int(serviceRounds.at(-1)?.rate ?? 0)}/s; ` +
          `CPU per order: baseline Node ${cpuText(baseRounds.at(-1)?.cpu)}, service Node ${cpuText(serviceRounds.at(-1)?.cpu)}`,
      );
    }
    await raw.flushdb();
  } finally {
    await raw.quit();
  }
  const bestOf = (rounds: readonly Round[]): Round | undefined =>
    rounds.reduce<Round | undefined>((a, b) => (a && a.rate >= b.rate ? a : b), undefined);
  // The best round of each side, with its CPU: Node's event loop and Redis's each run on one
  // core at most, so each one's CPU per order bounds the rate on its own (40,000/s leaves 25
  // µs). Redis's figure is its whole process (INFO cpu), whose main thread does nearly all.
  const best = bestOf(serviceRounds);
  const bestBase = bestOf(baseRounds);
  const base = bestBase?.rate ?? Number.NaN;
  const core = best?.rate ?? Number.NaN;
  const ratio = core / base;
  return {
    rows: [
      {
        part: 'core',
        figure: `Processing core: ProcessingService, ${int(n)} orders, ${width} batches of 10 in flight (orders/s)`,
        value: int(core),
        baseline: `${int(base)} (same Lua, same pipelining, raw ioredis)`,
        ratio,
        target: '≥ 40,000/s and ≥ 35%',
        met: core >= 40_000 && ratio >= 0.35,
      },
      {
        part: 'core',
        figure:
          "Processing core: CPU per order, Node (this process: its main thread, and all its threads with the garbage collector's helpers) " +
          'and Redis: what limits the rate above (each event loop runs on one core at most)',
        value: cpuText(best?.cpu),
        baseline: cpuText(bestBase?.cpu),
        ratio: undefined,
        target: '(reported; 40,000/s needs ≤ 25 µs on each main thread)',
        met: undefined,
      },
    ],
    detail: {
      redis_script_us_per_order: redisMicros,
      orders: n,
      in_flight_batches: width,
      rounds,
      baseline_rates: baseRounds.map((r) => r.rate),
      service_rates: serviceRounds.map((r) => r.rate),
      baseline_cpu_us_per_order: baseRounds.map((r) => r.cpu),
      service_cpu_us_per_order: serviceRounds.map((r) => r.cpu),
    },
  };
}
