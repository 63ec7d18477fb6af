// Analytics read-side benchmark: loads a deterministic order set through the real
// OrderAggregator into a private Redis, then times the real query classes (TopUsersQuery,
// RangeStatsQuery, StatsQuery) and spot-checks their answers. Run it through ./scripts/bench,
// which builds dist/ and starts (and stops) the private redis-server; see docs/PERFORMANCE.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DAY_MS, ExpectedModel, OrderStream, centsText } from './orders-model.ts';
import { loadServiceModules } from './service.ts';
import type { DayRange, Order } from './service.ts';
import { fmt, fmtInt, round3, serverMicros, summarize, table } from './stats.ts';
import type { LatencySummary } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const WARMUP_RUNS = 3;
const CHUNK = 20_000;
const RETENTION_DAYS = 400;

const USAGE = `Usage: ./scripts/bench analytics [options]

Loads N generated orders through the real OrderAggregator into a private redis-server,
then times the analytics queries (top-N, ranges, user and global stats) and checks them.

Options:
  --users N        distinct users, skewed towards a few heavy buyers (default 100000)
  --orders N       orders to load (default 1000000)
  --days N         days of data, ending yesterday UTC, 1-${RETENTION_DAYS} (default 365)
  --runs N         timed runs per query, after ${WARMUP_RUNS} warm-up runs (default 50)
  --quick          smoke run: 10000 users, 100000 orders (explicit --users/--orders win)
  --seed N         PRNG seed (default 1)
  --concurrency N  orders in flight during the load (default 512)
  -h, --help       this text

Prints a table and writes the same results to .data/bench/analytics-<timestamp>.json.`;

interface Options {
  users: number;
  orders: number;
  days: number;
  runs: number;
  seed: number;
  concurrency: number;
  quick: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const values = new Map<string, string>();
  let quick = false;
  const numeric = ['users', 'orders', 'days', 'runs', 'seed', 'concurrency'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--quick') {
      quick = true;
      continue;
    }
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    const name = m?.[1];
    if (!m || name === undefined || !numeric.includes(name)) throw new UsageError(`unknown argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`--${name} needs a whole number`);
    values.set(name, value);
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const text = values.get(name);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max}`);
    return n;
  };
  return {
    users: int('users', quick ? 10_000 : 100_000, 1, 10_000_000),
    orders: int('orders', quick ? 100_000 : 1_000_000, 1, 100_000_000),
    days: int('days', 365, 1, RETENTION_DAYS),
    runs: int('runs', 50, 1, 300),
    seed: int('seed', 1, 0, 2 ** 32 - 1),
    concurrency: int('concurrency', 512, 1, 100_000),
    quick,
  };
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** Runs `fn` over the items with at most `width` calls in flight. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

interface LatencyRow extends LatencySummary {
  readonly name: string;
  readonly note: string;
  /** Mean Redis-side execution time per query (INFO commandstats), the rest is client + network. */
  readonly redis_ms_per_query: number;
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

async function main(): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // ./scripts/bench asks first, before it builds or starts a server.
  if (process.env.BENCH_CHECK_OPTIONS === '1') return 0;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (!redisUrl) {
    process.stderr.write(
      'BENCH_REDIS_URL is not set: run the benchmark through ./scripts/bench, which starts a private redis-server.\n',
    );
    return 2;
  }
  const { users, orders: orderCount, days, runs, seed, concurrency } = options;
  const startedAt = new Date();
  const todayStartMs = Math.floor(startedAt.getTime() / DAY_MS) * DAY_MS;

  const svc = loadServiceModules(ROOT);
  const config = svc.loadConfig({
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: 'bench',
    STATS_RETENTION_DAYS: String(RETENTION_DAYS),
  });
  const redis = new svc.RedisService(config);
  const client = redis.client;
  try {
    await client.call('PING');
    const serverInfo = await client.info('server');
    const dbsizeBefore = await client.dbsize();
    if (dbsizeBefore !== 0) {
      process.stderr.write(
        `the benchmark's Redis is not empty (${dbsizeBefore} keys); it only runs on a fresh, private server\n`,
      );
      return 1;
    }
    const aggregator = new svc.OrderAggregator(redis, config);
    const rejected = new svc.RejectedOrderStore(redis, config);
    const stats = new svc.StatsQuery(redis, rejected);
    const topUsers = new svc.TopUsersQuery(redis, config);
    const ranges = new svc.RangeStatsQuery(redis, config);
    const checks: Check[] = [];
    const check = (name: string, ok: boolean, detail: string): void => {
      checks.push({ name, ok, detail });
    };

    const environment = {
      command:
        process.env.BENCH_COMMAND ??
        `node ${relative(ROOT, process.argv[1] ?? '')} ${process.argv.slice(2).join(' ')}`.trim(),
      date: startedAt.toISOString(),
      node: process.version,
      redis_server:
        process.env.BENCH_REDIS_SERVER_VERSION ?? `Redis server v=${infoField(serverInfo, 'redis_version') ?? '?'}`,
      nproc: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      memory_gb: round3(totalmem() / 2 ** 30),
      redis_url: redisUrl,
    };
    log(`${environment.command}: ${orderCount} orders, ${users} users, ${days} days, ${runs} runs`);

    // ---------------------------------------------------------------- 1. load
    const usedBefore = Number(infoField(await client.info('memory'), 'used_memory'));
    const stream = new OrderStream({ seed, users, orders: orderCount, days, todayStartMs });
    const model = new ExpectedModel(users, days);
    let prepareMs = 0;
    let redisMs = 0;
    let nextReport = 0.1;
    const loadStart = performance.now();
    for (let done = 0; done < orderCount;) {
      const size = Math.min(CHUNK, orderCount - done);
      const t0 = performance.now();
      const batch: Order[] = [];
      for (let j = 0; j < size; j++) {
        const generated = stream.next();
        const parsed = svc.parseOrderMessage(generated.body);
        if (!parsed.ok)
          throw new Error(`generated order rejected: ${JSON.stringify(parsed.violations)} ${generated.body}`);
        batch.push(parsed.order);
        model.add(generated);
      }
      const t1 = performance.now();
      await pool(batch, concurrency, async (order) => {
        const claim = await aggregator.claim(order);
        if (claim.status !== 'new') throw new Error(`claim of ${order.orderId} answered ${claim.status}`);
        const applied = await aggregator.apply(order);
        if (applied !== 'accepted') throw new Error(`apply of ${order.orderId} answered ${applied}`);
      });
      const t2 = performance.now();
      prepareMs += t1 - t0;
      redisMs += t2 - t1;
      done += size;
      if (done / orderCount >= nextReport || done === orderCount) {
        const s = (performance.now() - loadStart) / 1000;
        log(`loaded ${done}/${orderCount} orders in ${s.toFixed(1)} s (${fmtInt(done / s)} orders/s)`);
        while (nextReport <= done / orderCount) nextReport += 0.1;
      }
    }
    const loadMs = performance.now() - loadStart;
    const memoryInfo = await client.info('memory');
    const usedAfter = Number(infoField(memoryInfo, 'used_memory'));
    const dbsize = await client.dbsize();
    const keys = new svc.KeySchema(redis.keyPrefix);
    const memoryOf = async (names: readonly string[]): Promise<number> => {
      let total = 0;
      for (const name of names) total += Number((await client.call('MEMORY', 'USAGE', name, 'SAMPLES', '0')) ?? 0);
      return total;
    };
    const orderBuckets = Array.from({ length: svc.ORDER_BUCKETS }, (_, b) => b);
    const userBuckets = Array.from({ length: svc.USER_BUCKETS }, (_, b) => b);
    const claimsBytes = await memoryOf(orderBuckets.map((b) => keys.claims(b)));
    const appliedBytes = await memoryOf(userBuckets.map((b) => keys.bucket(b).applied));
    const allTimeTopBytes = await memoryOf(
      userBuckets.flatMap((b) => [keys.bucket(b).top('spend'), keys.bucket(b).top('orders')]),
    );
    const periodKeys: string[] = [];
    const monthsSeen = new Set<string>();
    for (let d = 0; d < days; d++) {
      const day = isoDay(stream.firstDay + d * DAY_MS).replaceAll('-', '');
      monthsSeen.add(day.slice(0, 6));
      for (const b of userBuckets)
        periodKeys.push(keys.bucket(b).top('spend', `d:${day}`), keys.bucket(b).top('orders', `d:${day}`));
    }
    for (const month of monthsSeen) {
      for (const b of userBuckets)
        periodKeys.push(keys.bucket(b).top('spend', `m:${month}`), keys.bucket(b).top('orders', `m:${month}`));
    }
    const periodTopBytes = (
      await Promise.all(periodKeys.map((k) => client.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')))
    ).reduce((a: number, v) => a + Number(v ?? 0), 0);
    const deltaBytes = usedAfter - usedBefore;
    const load = {
      orders: orderCount,
      users_with_orders: model.activeUsers(),
      concurrency,
      total_s: round3(loadMs / 1000),
      orders_per_s: Math.round(orderCount / (loadMs / 1000)),
      prepare_s: round3(prepareMs / 1000),
      redis_s: round3(redisMs / 1000),
      redis_orders_per_s: Math.round(orderCount / (redisMs / 1000)),
    };
    const memory = {
      used_memory_before: usedBefore,
      used_memory_after: usedAfter,
      used_memory_delta: deltaBytes,
      bytes_per_order: Math.round(deltaBytes / orderCount),
      used_memory_rss: Number(infoField(memoryInfo, 'used_memory_rss')),
      dbsize,
      breakdown_bytes_per_order: {
        claims: Math.round(claimsBytes / orderCount),
        applied_marks: Math.round(appliedBytes / orderCount),
        all_time_top_sets: Math.round(allTimeTopBytes / orderCount),
        day_and_month_top_sets: Math.round(periodTopBytes / orderCount),
        everything_else: Math.round(
          (deltaBytes - claimsBytes - appliedBytes - allTimeTopBytes - periodTopBytes) / orderCount,
        ),
      },
    };
    log(`load done: ${fmtInt(load.orders_per_s)} orders/s, ${memory.bytes_per_order} bytes/order, ${dbsize} keys`);

    // ---------------------------------------------------------------- 2. latency
    const yesterday = todayStartMs - DAY_MS;
    const yearFrom = todayStartMs - 365 * DAY_MS;
    const year: DayRange = { fromMs: yearFrom, toMs: yesterday };
    const activeSample = model.sampleActiveUsers(runs + WARMUP_RUNS);
    const latency: LatencyRow[] = [];
    const measure = async (name: string, note: string, fn: (run: number) => Promise<unknown>): Promise<void> => {
      const samples: number[] = [];
      for (let run = 0; run < WARMUP_RUNS + runs; run++) {
        if (run === WARMUP_RUNS) await client.call('CONFIG', 'RESETSTAT');
        const t0 = performance.now();
        await fn(run);
        const ms = performance.now() - t0;
        if (run >= WARMUP_RUNS) samples.push(ms);
      }
      const redisMsPerQuery = round3(serverMicros(await client.info('commandstats')) / runs / 1000);
      const row = { name, note, ...summarize(samples), redis_ms_per_query: redisMsPerQuery };
      latency.push(row);
      log(`${name}: p50 ${fmt(row.p50)} ms, p99 ${fmt(row.p99)} ms`);
    };
    const yearLabel = `${isoDay(year.fromMs)}..${isoDay(year.toMs)}`;
    // What a cold 1-year top-N has to merge: per bucket and measure, one sorted set per period.
    const periods = svc.coveringPeriods(year);
    const cards = await Promise.all(
      userBuckets.flatMap((b) => periods.map((p) => client.call('ZCARD', keys.bucket(b).top('spend', p)))),
    );
    const membersPerMeasure = cards.reduce((a: number, c) => a + Number(c), 0);
    const topMerge = {
      range: { from: isoDay(year.fromMs), to: isoDay(year.toMs) },
      periods: periods.length,
      whole_months: periods.filter((p) => p.startsWith('m:')).length,
      day_periods: periods.filter((p) => p.startsWith('d:')).length,
      period_sets_per_measure: svc.USER_BUCKETS * periods.length,
      set_members_per_measure: membersPerMeasure,
      users_with_orders_in_range: model.usersActiveSince(days - 365),
    };
    // Cold: every run asks for a range no earlier run asked for (to moves one day back per
    // run), so the 5 s top-N cache never answers. The "orders" series starts one day later
    // than the "spend" one, so neither can find a cache entry the other made.
    const coldRange = (run: number, fromShiftDays: number): DayRange => ({
      fromMs: yearFrom + fromShiftDays * DAY_MS,
      toMs: yesterday - run * DAY_MS,
    });
    await measure('top 10 by spend, all time', "reads each bucket's all-time set", () =>
      topUsers.top('spend', 10, undefined),
    );
    await measure('top 100 by spend, all time', "reads each bucket's all-time set", () =>
      topUsers.top('spend', 100, undefined),
    );
    await measure('top 10 by spend, 1 year, cold', 'to = yesterday - run days: no cache hit', (run) =>
      topUsers.top('spend', 10, coldRange(run, 0)),
    );
    await measure('top 10 by orders, 1 year, cold', 'from + 1 day, to = yesterday - run days', (run) =>
      topUsers.top('orders', 10, coldRange(run, 1)),
    );
    await measure('top 10 by spend, 1 year, warm', `${yearLabel} repeated (5 s cache)`, () =>
      topUsers.top('spend', 10, year),
    );
    await measure('top 10 by orders, 1 year, warm', `${yearLabel} repeated (5 s cache)`, () =>
      topUsers.top('orders', 10, year),
    );
    const from = new Date(year.fromMs);
    const to = new Date(year.toMs);
    const months = (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth() + 1;
    await measure('range series, 1 year, by day', `${yearLabel}, 365 rows`, () => ranges.series(year, 'day'));
    await measure('range series, 1 year, by month', `${yearLabel}, ${months} rows`, () => ranges.series(year, 'month'));
    await measure('user stats, 1 year range', 'a different user each run', (run) =>
      ranges.user(activeSample[run % activeSample.length] ?? '', year),
    );
    await measure('user stats, all time', 'a different user each run', (run) =>
      stats.user(activeSample[run % activeSample.length] ?? ''),
    );
    await measure('global stats', '16 bucket totals + user counts', () => stats.global());

    // ---------------------------------------------------------------- 3. checks
    const cents = (amount: number): number => Math.round(amount * 100);
    const span: DayRange = { fromMs: stream.firstDay, toMs: yesterday };
    const [global, spanMonths, yearDays, yearMonths, top10] = await Promise.all([
      stats.global(),
      ranges.series(span, 'month'),
      ranges.series(year, 'day'),
      ranges.series(year, 'month'),
      topUsers.top('spend', 10, undefined),
    ]);
    check(
      'month series over all data = global totals',
      spanMonths.total.orders === global.total_orders &&
        cents(spanMonths.total.revenue) === cents(global.total_revenue),
      `series ${spanMonths.total.orders} orders / ${spanMonths.total.revenue.toFixed(2)}; global ${global.total_orders} / ${global.total_revenue.toFixed(2)}`,
    );
    check(
      'global totals = generated orders',
      global.total_orders === model.totalOrders &&
        cents(global.total_revenue) === model.totalRevenue &&
        global.total_users === model.activeUsers(),
      `expected ${model.totalOrders} orders / ${centsText(model.totalRevenue)} / ${model.activeUsers()} users; got ${global.total_orders} / ${global.total_revenue.toFixed(2)} / ${global.total_users}`,
    );
    const yearExpected = model.daySpan(days - 365, days - 1);
    check(
      '1-year series: day total = month total = generated',
      yearDays.total.orders === yearMonths.total.orders &&
        cents(yearDays.total.revenue) === cents(yearMonths.total.revenue) &&
        yearMonths.total.orders === yearExpected.orders &&
        cents(yearMonths.total.revenue) === yearExpected.revenueCents,
      `day ${yearDays.total.orders} / ${yearDays.total.revenue.toFixed(2)}, month ${yearMonths.total.orders} / ${yearMonths.total.revenue.toFixed(2)}, expected ${yearExpected.orders} / ${centsText(yearExpected.revenueCents)}`,
    );
    const first = top10.users[0];
    if (first) {
      const own = await stats.user(first.user_id);
      const ownSpan = await ranges.user(first.user_id, span);
      check(
        "top-1 by spend = that user's own all-time stats",
        own.order_count === first.order_count && cents(own.total_spend) === cents(first.total_spend),
        `${first.user_id}: top ${first.order_count} orders / ${first.total_spend.toFixed(2)}; user ${own.order_count} / ${own.total_spend.toFixed(2)}`,
      );
      check(
        'top-1: range stats over all data = all-time stats',
        ownSpan.order_count === own.order_count && cents(ownSpan.total_spend) === cents(own.total_spend),
        `range ${ownSpan.order_count} / ${ownSpan.total_spend.toFixed(2)}; all time ${own.order_count} / ${own.total_spend.toFixed(2)}`,
      );
    } else {
      check("top-1 by spend = that user's own all-time stats", false, 'top-N answered no users');
    }
    const expectedTop = model.topBySpend(10);
    const got = top10.users.map((u) => `${u.user_id}:${cents(u.total_spend)}:${u.order_count}`).join(',');
    const want = expectedTop.map((u) => `${u.userId}:${u.spendCents}:${u.orders}`).join(',');
    check(
      'top 10 by spend, all time = generated',
      got === want,
      got === want ? `${expectedTop.length} users match` : `got ${got}; expected ${want}`,
    );

    // ---------------------------------------------------------------- report
    const result = {
      environment,
      parameters: {
        users,
        orders: orderCount,
        days,
        runs,
        warmup_runs: WARMUP_RUNS,
        seed,
        concurrency,
        quick: options.quick,
        key_prefix: redis.keyPrefix,
        retention_days: RETENTION_DAYS,
      },
      ranges: {
        one_year: { from: isoDay(year.fromMs), to: isoDay(year.toMs) },
        all_data: { from: isoDay(span.fromMs), to: isoDay(span.toMs) },
      },
      load,
      memory,
      latency_ms: latency,
      top_n_merge_1_year: topMerge,
      checks,
    };
    const out = [
      'Analytics benchmark',
      `  command   ${environment.command}`,
      `  date      ${environment.date}`,
      `  node      ${environment.node}`,
      `  redis     ${environment.redis_server}`,
      `  machine   nproc ${environment.nproc}, ${environment.cpu}, ${environment.memory_gb} GiB`,
      `  data      ${fmtInt(orderCount)} orders, ${fmtInt(users)} users (${fmtInt(load.users_with_orders)} with orders), ${days} days ${isoDay(span.fromMs)}..${isoDay(span.toMs)}, seed ${seed}`,
      '',
      'Load (parseOrderMessage, then OrderAggregator.claim + apply per order)',
      `  total       ${fmt(load.total_s, 1)} s  ${fmtInt(load.orders_per_s)} orders/s end to end`,
      `  redis part  ${fmt(load.redis_s, 1)} s  ${fmtInt(load.redis_orders_per_s)} orders/s (claim + apply, ${concurrency} in flight)`,
      `  generate+parse ${fmt(load.prepare_s, 1)} s`,
      `  memory      used_memory +${fmtInt(deltaBytes)} bytes = ${fmtInt(memory.bytes_per_order)} bytes/order (rss ${fmtInt(memory.used_memory_rss)})`,
      `              per order: claims ${memory.breakdown_bytes_per_order.claims}, applied marks ${memory.breakdown_bytes_per_order.applied_marks}, all-time top sets ${memory.breakdown_bytes_per_order.all_time_top_sets}, day/month top sets ${memory.breakdown_bytes_per_order.day_and_month_top_sets}, rest (per-user hashes, bucket partials, key overhead) ${memory.breakdown_bytes_per_order.everything_else}`,
      `  DBSIZE      ${fmtInt(dbsize)} keys`,
      '',
      `Latency (ms, ${runs} runs after ${WARMUP_RUNS} warm-up runs, one query at a time; redis = mean server-side ms per query from INFO commandstats)`,
      table(
        ['query', 'p50', 'p95', 'p99', 'max', 'redis', 'runs', 'note'],
        latency.map((r) => [
          r.name,
          fmt(r.p50),
          fmt(r.p95),
          fmt(r.p99),
          fmt(r.max),
          fmt(r.redis_ms_per_query),
          String(r.runs),
          r.note,
        ]),
      ),
      `  1-year top-N, cold: ${topMerge.periods} periods (${topMerge.whole_months} whole months + ${topMerge.day_periods} days) = ${fmtInt(topMerge.period_sets_per_measure)} sorted sets per measure over the 16 buckets,`,
      `  holding ${fmtInt(topMerge.set_members_per_measure)} members (what ZUNIONSTORE merges per measure); ${fmtInt(topMerge.users_with_orders_in_range)} users with orders in the range`,
      '',
      'Checks',
      ...checks.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
    ].join('\n');
    process.stdout.write(`${out}\n`);
    const dir = join(ROOT, '.data', 'bench');
    mkdirSync(dir, { recursive: true });
    const file = join(
      dir,
      `analytics-${startedAt
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}.json`,
    );
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\nresults: ${relative(ROOT, file)}\n`);
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    await redis.onApplicationShutdown();
  }
}

process.exitCode = await main();
