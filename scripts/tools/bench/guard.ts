// Quality guard benchmark: what the AI guard costs in model calls and in ingestion throughput.
// The same N orders (1% suspicious by default: value over QUALITY_GUARD_SUSPICIOUS_CENTS) are
// drained three times by the built app (dist/) from a fauxqs emulator into a private
// redis-server: guard switched off, rules only (offline, no key) and rules + model, where the
// model is a local fake Messages API with a fixed latency, reached through the real
// @anthropic-ai/sdk. The guard runs with its defaults (sample rate, window, batch size, budgets).
// Run it through `./scripts/bench guard`; results go to docs/PERFORMANCE.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '../prng.ts';
import {
  sendAll,
  startAppOnQueue,
  startEmulator,
  until,
  onlyCheckingOptions,
  onlyOptions,
  usageError,
  wholeOption,
} from './harness.ts';
import { FakeMessagesApi, type SeenRequest } from '../../../libs/quality-guard/test/fake-messages-api.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

const USAGE = `Usage: ./scripts/bench guard [--messages N] [--suspicious-per-mille N] [--latency-ms N] [--consumers N]

Drains the same orders through the built app three times: quality guard off, rules only
(offline), rules + model (a fake Messages API answering after a fixed latency). Reports model
calls per 1,000 orders and the drain rate of each run.
  --messages N              orders (default 5000)
  --suspicious-per-mille N  suspicious orders per 1,000 (default 10, i.e. 1%)
  --latency-ms N            the fake model's latency per call (default 1000)
  --consumers N             SQS_CONSUMER_CONCURRENCY of the app (default 4)
Writes .data/bench/guard-<timestamp>.json.`;

const STREETS = ['Station Rd', 'High St', 'Mill Lane', 'Church St', 'Park Ave', 'Bahnhofstr.', 'Rue de la Paix'];
const CITIES = ['Springfield', 'München', 'Lyon', 'Leeds', 'Porto', 'Graz'];

/** N valid, distinct orders; `suspiciousPerMille` of them are worth 12,500.00 (over the default threshold). */
function orders(n: number, suspiciousPerMille: number): string[] {
  const random = mulberry32(5); // deterministic: every run drains the same orders
  const users = Math.max(1, Math.floor(n / 5));
  const now = Date.now();
  const every = suspiciousPerMille > 0 ? Math.round(1000 / suspiciousPerMille) : Number.POSITIVE_INFINITY;
  return Array.from({ length: n }, (_, i) => {
    const suspicious = i % every === every - 1;
    const cents = suspicious ? 1_250_000 : 2000 + Math.floor(random() * 18_000);
    const price = (cents / 100).toFixed(2);
    return JSON.stringify({
      order_id: `GB-${i}`,
      user_id: `U-${Math.floor(random() * users)}`,
      order_timestamp: new Date(now - Math.floor(random() * 300 * 86_400_000)).toISOString(),
      order_value: price,
      items: [{ product_id: `P-${Math.floor(random() * 500)}`, quantity: 1, price_per_unit: price }],
      shipping_address: `${1 + Math.floor(random() * 200)} ${STREETS[i % STREETS.length]}, ${CITIES[i % CITIES.length]}`,
      payment_method: i % 3 === 0 ? 'paypal' : 'credit_card',
    });
  });
}

interface Scenario {
  readonly name: string;
  readonly env: Record<string, string>;
}

interface RunResult {
  readonly scenario: string;
  readonly drain_messages_per_second: number;
  readonly drain_seconds: number;
  readonly model_calls: number;
  readonly model_calls_per_1000_orders: number;
  readonly orders_sent_to_model: number;
  readonly flagged_by_rules: number;
  readonly sampled: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly mean_call_ms: number;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(`${USAGE}\n`);
  onlyOptions(argv, ['messages', 'suspicious-per-mille', 'latency-ms', 'consumers'], USAGE);
  const messages = wholeOption(argv, 'messages', 5000, 0);
  const perMille = wholeOption(argv, 'suspicious-per-mille', 10, 0);
  const latencyMs = wholeOption(argv, 'latency-ms', 1000, 0);
  const consumers = wholeOption(argv, 'consumers', 4);
  if (consumers > 16) usageError('--consumers must be from 1 to 16 (SQS_CONSUMER_CONCURRENCY)', USAGE);
  if (perMille > 1000) usageError('--suspicious-per-mille must be from 0 to 1000', USAGE);
  if (onlyCheckingOptions()) return;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (!redisUrl) throw new Error('BENCH_REDIS_URL is not set: run through ./scripts/bench guard');

  const api = new FakeMessagesApi();
  api.latencyMs = latencyMs;
  // The suspicious orders are flagged for a person; everything else is allowed.
  api.reply = (r: SeenRequest) => ({
    verdicts: r.orders.map((o) =>
      o.flags.length > 0
        ? { order_id: o.order_id, decision: 'flag', code: 'implausible_values', explanation: 'large one-off order' }
        : { order_id: o.order_id, decision: 'allow', code: 'none', explanation: 'ordinary order' },
    ),
  });
  try {
    const apiUrl = await api.start();
    const scenarios: Scenario[] = [
      { name: 'guard off', env: { QUALITY_GUARD_ENABLED: 'false' } },
      { name: 'rules only (offline)', env: {} },
      { name: `rules + model (${latencyMs} ms)`, env: { ANTHROPIC_API_KEY: 'bench-key', ANTHROPIC_BASE_URL: apiUrl } },
    ];
    const { endpoint, sqs, queueUrl } = await startEmulator(scenarios.map((_, i) => `bench-guard-${i}`));

    const bodies = orders(messages, perMille);
    const results: RunResult[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      const url = await queueUrl(`bench-guard-${index}`);
      await sendAll(sqs, url, bodies);
      const callsBefore = api.requests.length;
      const ordersBefore = api.requests.reduce((sum, r) => sum + r.orders.length, 0);
      const { child: app, base } = await startAppOnQueue({
        redisUrl,
        keyPrefix: `guard${index}x${Date.now()}`,
        queueUrl: url,
        endpoint,
        consumers,
        env: scenario.env,
      });
      const accepted = async (): Promise<number> =>
        ((await (await fetch(`${base}/stats/global`)).json()) as { total_orders: number }).total_orders;
      let first = 0;
      let firstAt = 0;
      await until(
        async () => {
          first = await accepted();
          firstAt = performance.now();
          return first > 0;
        },
        60_000,
        'the first accepted order',
      );
      await until(async () => (await accepted()) >= messages, 30 * 60_000, 'every order');
      const doneAt = performance.now();
      // The sample is reviewed in the background: let it finish before counting calls.
      await new Promise((r) => setTimeout(r, scenario.env.ANTHROPIC_API_KEY ? 1500 + latencyMs : 0));
      const guard = (await (await fetch(`${base}/quality-guard`)).json()) as {
        counters: Record<string, number>;
        latency_ms: { mean: number };
      };
      app.kill('SIGTERM');
      await new Promise((r) => app.once('exit', r));
      const calls = api.requests.length - callsBefore;
      const sent = api.requests.reduce((sum, r) => sum + r.orders.length, 0) - ordersBefore;
      const drainSeconds = (doneAt - firstAt) / 1000;
      results.push({
        scenario: scenario.name,
        drain_messages_per_second: Math.round((messages - first) / drainSeconds),
        drain_seconds: Number(drainSeconds.toFixed(2)),
        model_calls: calls,
        model_calls_per_1000_orders: Number(((calls * 1000) / messages).toFixed(1)),
        orders_sent_to_model: sent,
        flagged_by_rules: guard.counters.flagged ?? 0,
        sampled: guard.counters.sampled ?? 0,
        input_tokens: guard.counters.inputTokens ?? 0,
        output_tokens: guard.counters.outputTokens ?? 0,
        mean_call_ms: guard.latency_ms.mean,
      });
    }

    const off = results[0]?.drain_messages_per_second ?? 0;
    const rows = results.map((r) => [
      r.scenario,
      String(r.drain_messages_per_second),
      off > 0 ? `${Math.round((100 * r.drain_messages_per_second) / off)}%` : '-',
      String(r.flagged_by_rules),
      String(r.sampled),
      String(r.model_calls),
      String(r.model_calls_per_1000_orders),
      String(r.orders_sent_to_model),
      `${r.input_tokens}/${r.output_tokens}`,
    ]);
    const header = [
      'run',
      'drain msg/s',
      'vs off',
      'flagged',
      'sampled',
      'calls',
      'calls/1k',
      'orders sent',
      'tokens in/out',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
    console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
    const result = {
      command: process.env.BENCH_COMMAND ?? 'scripts/tools/bench/guard.ts',
      date: new Date().toISOString(),
      node: process.version,
      messages,
      suspicious_per_mille: perMille,
      fake_model_latency_ms: latencyMs,
      consumers,
      results,
    };
    const dir = join(ROOT, '.data', 'bench');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `guard-${result.date.replace(/[-:]/g, '').slice(0, 15)}Z.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results: ${file.slice(ROOT.length + 1)}`);
  } finally {
    await api.stop();
  }
}

// Exit either way: the harness stops the emulator and the apps on exit.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
