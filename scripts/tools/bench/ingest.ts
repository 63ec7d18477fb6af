// Ingestion benchmark: how fast the real app drains an SQS queue into Redis.
// A fauxqs emulator (child process) is pre-filled with N valid orders; then the built app
// (dist/) starts against it and a private redis-server, and /metrics is sampled until every
// message has an outcome. Run it through `./scripts/bench ingest`; see docs/PERFORMANCE.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  peakRssMb,
  sendAll,
  startAppOnQueue,
  startEmulator,
  until,
  onlyCheckingOptions,
  onlyOptions,
  usageError,
  wholeOption,
} from './harness.ts';
import { OrderStream, DAY_MS } from './orders-model.ts';
import { fmt, fmtInt, table } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

const USAGE = `Usage: ./scripts/bench ingest [--messages N] [--users N] [--consumers N]

Pre-fills an SQS emulator queue with N valid orders, starts the built app against it and a
private redis-server, and measures how fast every message reaches its outcome.
  --messages N   orders to send (default 50000)
  --users N      distinct users (default 10000)
  --consumers N  SQS_CONSUMER_CONCURRENCY of the app (default 4)
Writes .data/bench/ingest-<timestamp>.json.`;

function outcomes(metrics: string): number {
  let total = 0;
  for (const m of metrics.matchAll(/order_pipeline_messages_total\{outcome="(\w+)"\} (\d+)/g)) {
    if (m[1] !== 'retry' && m[1] !== 'deferred') total += Number(m[2]); // not final: back on the queue
  }
  return total;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(`${USAGE}\n`);
  onlyOptions(argv, ['messages', 'users', 'consumers'], USAGE);
  const messages = wholeOption(argv, 'messages', 50_000);
  const users = wholeOption(argv, 'users', 10_000);
  const consumers = wholeOption(argv, 'consumers', 4);
  if (consumers > 16) usageError('--consumers must be from 1 to 16 (SQS_CONSUMER_CONCURRENCY)', USAGE);
  if (onlyCheckingOptions()) return;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (!redisUrl) throw new Error('BENCH_REDIS_URL is not set: run through ./scripts/bench ingest');

  const { endpoint, sqs, queueUrl: urlOf } = await startEmulator(['bench-orders']);
  const queueUrl = await urlOf('bench-orders');

  // Pre-fill: N valid orders, 16 SendMessageBatch calls in flight.
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const stream = new OrderStream({ seed: 7, users, orders: messages, days: 365, todayStartMs: today });
  const bodies = Array.from({ length: messages }, () => stream.next().body);
  const sendStart = performance.now();
  await sendAll(sqs, queueUrl, bodies);
  const sendSeconds = (performance.now() - sendStart) / 1000;

  // The built app, consuming the pre-filled queue.
  const appStart = performance.now();
  const { child: app, base } = await startAppOnQueue({
    redisUrl,
    keyPrefix: `ingest${Date.now()}`,
    queueUrl,
    endpoint,
    consumers,
  });
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  let first = 0;
  let firstAt = 0;
  await until(
    async () => {
      first = outcomes(await metrics());
      firstAt = performance.now();
      return first > 0;
    },
    60_000,
    'the first outcome',
  );
  await until(async () => outcomes(await metrics()) >= messages, 30 * 60_000, 'every outcome');
  const doneAt = performance.now();
  const final = await metrics();
  const global = (await (await fetch(`${base}/stats/global`)).json()) as { total_orders: number };
  const batches = Number(/order_pipeline_batches_total (\d+)/.exec(final)?.[1] ?? 0);
  const batchSeconds = Number(/order_pipeline_batch_duration_seconds_sum ([\d.e+-]+)/.exec(final)?.[1] ?? 0);
  const result = {
    command: process.env.BENCH_COMMAND ?? 'scripts/tools/bench/ingest.ts',
    date: new Date().toISOString(),
    node: process.version,
    messages,
    users,
    consumers,
    prefill_messages_per_second: Math.round(messages / sendSeconds),
    drain_messages_per_second: Math.round((messages - first) / ((doneAt - firstAt) / 1000)),
    start_to_drained_seconds: (doneAt - appStart) / 1000,
    mean_batch_ms: batches > 0 ? (batchSeconds * 1000) / batches : 0,
    app_peak_rss_mb: peakRssMb(app.pid ?? 0),
    accepted: global.total_orders,
  };
  console.log(
    table(
      ['measure', 'value'],
      [
        ['messages (all valid, distinct)', fmtInt(messages)],
        ['consumers (receives in flight)', String(consumers)],
        ['pre-fill rate (msg/s, 16 batches in flight)', fmtInt(result.prefill_messages_per_second)],
        ['drain rate (msg/s, app SQS->Redis)', fmtInt(result.drain_messages_per_second)],
        ['app start to queue drained (s)', fmt(result.start_to_drained_seconds)],
        ['mean batch handling (ms, 10 msgs)', fmt(result.mean_batch_ms)],
        ['app peak RSS (MB)', fmt(result.app_peak_rss_mb)],
        ['accepted orders (check)', fmtInt(result.accepted)],
      ],
    ),
  );
  if (result.accepted !== messages) throw new Error(`expected ${messages} accepted orders, got ${result.accepted}`);
  const dir = join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ingest-${result.date.replace(/[-:]/g, '').slice(0, 15)}Z.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${file.slice(ROOT.length + 1)}`);
}

// Exit either way: the harness stops the emulator and the app on exit.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
