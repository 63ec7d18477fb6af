// The benchmark suite behind `./scripts/bench [core|e2e|api ...]`: each figure against its
// own baseline, measured in the same run, written as a markdown table (docs/PERFORMANCE.md).
// ./scripts/bench starts the private redis-server and passes BENCH_REDIS_URL.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UsageError, intOption, parseArgs } from '../args.ts';
import { runApi } from './api.ts';
import { runCore } from './core.ts';
import { runE2e, type RunningApp } from './e2e.ts';
import { ROOT, log, pct, type ReportRow } from './harness.ts';

const PARTS = ['core', 'e2e', 'api'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `Usage: ./scripts/bench [core] [e2e] [api] [options]

Without a part, runs all three (about 7 minutes). Each figure is measured against its own
baseline in the same run, on loopback, with a private redis-server.
  core   ProcessingService over pre-generated messages vs the same Lua scripts sent raw
  e2e    N orders through the built app's embedded SQS emulator vs the emulator's own
         receive-and-delete drain; also the app's peak RSS and Redis memory per 1k orders
  api    autocannon on the stats endpoints of the app vs a bare node:http + ioredis server

Options:
  --orders N       orders for core and e2e, and the data the api part reads (default 100000)
  --rounds N       core: alternating baseline/service rounds, best of each (default 2)
  --in-flight N    core: batches of 10 in flight (default 16)
  --consumers N    e2e: SQS_CONSUMER_CONCURRENCY of the app and of the drain baseline, 1-16 (default 8)
  --connections N  api: autocannon connections (default 32)
  --duration S     api: seconds per endpoint, server and round (default 5)
  --api-rounds N   api: rounds per endpoint, alternating which server goes first; each
                   figure is the median over the rounds (default 3)
  --warmup S       api: seconds of untimed load on each server before an endpoint's rounds
                   (default 1)
  --out FILE       also write the markdown table to FILE
Other benchmarks: ./scripts/bench analytics (read side at 1M orders), ./scripts/bench ingest,
./scripts/bench guard (the quality guard's cost), ./scripts/bench apply (the apply script by part).
Writes .data/bench/suite-<timestamp>.{json,md}.`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), {
      help: 'boolean',
      orders: 'string',
      rounds: 'string',
      'in-flight': 'string',
      consumers: 'string',
      connections: 'string',
      duration: 'string',
      'api-rounds': 'string',
      warmup: 'string',
      out: 'string',
    });
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const { options: o, positionals } = parsed;
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  for (const p of positionals) {
    if (!(PARTS as readonly string[]).includes(p)) {
      process.stderr.write(`unknown part ${p}\n\n${USAGE}\n`);
      return 2;
    }
  }
  const parts = new Set<Part>(positionals.length > 0 ? (positionals as Part[]) : PARTS);
  const within = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = intOption(o[name], name, fallback);
    if (v < 1 || v > max) throw new UsageError(`--${name} must be from 1 to ${max.toLocaleString('en-US')}`);
    return v;
  };
  let settings;
  try {
    settings = {
      orders: within('orders', 100_000),
      rounds: within('rounds', 2),
      inFlight: within('in-flight', 16),
      // The app's own limit (SQS_CONSUMER_CONCURRENCY).
      consumers: within('consumers', 8, 16),
      connections: within('connections', 32),
      duration: within('duration', 5),
      apiRounds: within('api-rounds', 3),
      warmup: within('warmup', 1),
    };
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  // ./scripts/bench asks first, before it builds or starts a server.
  if (process.env.BENCH_CHECK_OPTIONS === '1') return 0;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (!redisUrl) {
    process.stderr.write(
      'BENCH_REDIS_URL is not set: run through ./scripts/bench, which starts a private redis-server\n',
    );
    return 2;
  }
  const command = process.env.BENCH_COMMAND ?? `./scripts/bench ${process.argv.slice(2).join(' ')}`.trim();
  const startedAt = new Date();
  log(`${command}: ${[...parts].join(', ')}; ${JSON.stringify(settings)}`);

  const rows: ReportRow[] = [];
  const detail: Record<string, unknown> = {};
  if (parts.has('core')) {
    const core = await runCore({
      redisUrl,
      orders: settings.orders,
      inFlight: settings.inFlight,
      rounds: settings.rounds,
    });
    rows.push(...core.rows);
    detail.core = core.detail;
  }
  let app: RunningApp | undefined;
  try {
    if (parts.has('e2e') || parts.has('api')) {
      // The api part reads the data the e2e run loaded; alone, it loads it the same way
      // (through the app's queue) without the drain baseline.
      const e2e = await runE2e({
        redisUrl,
        orders: settings.orders,
        consumers: settings.consumers,
        baseline: parts.has('e2e'),
      });
      app = e2e.app;
      if (parts.has('e2e')) {
        rows.push(...e2e.rows);
        detail.e2e = e2e.detail;
      }
    }
    if (parts.has('api') && app) {
      const api = await runApi({
        redisUrl,
        app,
        connections: settings.connections,
        durationSeconds: settings.duration,
        rounds: settings.apiRounds,
        warmupSeconds: settings.warmup,
      });
      rows.push(...api.rows);
      detail.api = api.detail;
    }
  } finally {
    await app?.stop();
  }

  const environment = {
    command,
    date: startedAt.toISOString(),
    node: process.version,
    redis: `Redis ${/v=([\d.]+)/.exec(process.env.BENCH_REDIS_SERVER_VERSION ?? '')?.[1] ?? '?'}`,
    cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
  };
  const markdown = render(rows, environment);
  process.stdout.write(`\n${markdown}\n`);
  const stamp = environment.date.replace(/[-:]/g, '').slice(0, 15);
  const dir = join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `suite-${stamp}Z.md`), `${markdown}\n`);
  writeFileSync(
    join(dir, `suite-${stamp}Z.json`),
    `${JSON.stringify({ environment, settings, rows, detail }, null, 2)}\n`,
  );
  if (typeof o.out === 'string') {
    const out = resolve(process.env.BENCH_CWD ?? process.cwd(), o.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${markdown}\n`);
    log(`table written to ${out}`);
  }
  return 0;
}

function render(rows: readonly ReportRow[], env: Record<string, string>): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const met = (r: ReportRow): string => (r.met === undefined ? 'n/a' : r.met ? 'yes' : '**no**');
  // Command, date and Node version in every row too, so a row copied on its own still says
  // how and where it was measured.
  const where = `\`${esc(env.command)}\` | ${env.date} | ${env.node}`;
  const lines = [
    `Command: \`${env.command}\` · date ${env.date} · Node ${env.node} · ${env.redis} · ${env.cpus}`,
    '',
    '| figure | value | baseline (same run) | ratio | target | met | command | date | Node |',
    '|---|---:|---:|---:|---|:-:|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${esc(r.figure)} | ${esc(r.value)} | ${esc(r.baseline)} | ${pct(r.ratio)} | ${esc(r.target)} | ${met(r)} | ${where} |`,
    ),
  ];
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
