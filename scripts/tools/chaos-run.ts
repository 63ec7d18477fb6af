// The chaos run behind ./scripts/chaos (and test/e2e/chaos.e2e-spec.ts): generated orders with
// duplicates, invalid messages and conflicting order_ids go through the built app while it is
// killed with SIGKILL and restarted, and while Redis is crashed and restarted from its
// append-only file; at the end every total is compared with the generator's expected values.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SQSClient,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { generate } from './generator.ts';
import type { Expected } from './generator.ts';
import { serializeDoc } from './json-text.ts';
import type { DocValue } from './json-text.ts';
import { ChaosRedis, freePort, logFile, sleep, startApp, startFauxqs, until, type Child } from './chaos-processes.ts';

export type ChaosOptions = {
  /** The repository root (dist/ and node_modules/ live there). */
  root: string;
  orders: number;
  kills: number;
  redisOutageSeconds: number;
  seed: number;
  consumers: number;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** The whole run (not the verification) must finish within this. */
  timeoutSeconds: number;
  log: (line: string) => void;
};

export const DEFAULT_OPTIONS: Omit<ChaosOptions, 'root' | 'log'> = {
  orders: 100_000,
  kills: 3,
  redisOutageSeconds: 10,
  seed: 6,
  consumers: 4,
  maxReceiveCount: 5,
  visibilityTimeoutSeconds: 10,
  timeoutSeconds: 900,
};

export type ChaosReport = {
  date: string;
  options: Omit<ChaosOptions, 'root' | 'log'>;
  seconds: number;
  sent: number;
  generated: { valid_unique: number; duplicates: number; delayed: number; invalid: number; conflicts: number };
  events: string[];
  kills: number;
  redis_outages: number;
  /** Whether /health/ready answered 503 while Redis was down. */
  not_ready_during_outage: boolean | null;
  /** Messages handled more than once: outcomes counted by all app instances (/metrics) minus messages sent. */
  redelivered: number;
  /** Of those, messages delivered again after their outcome was recorded (seen as extra duplicates). */
  redelivered_after_outcome: number;
  dead_lettered: number;
  left_in_queue: number;
  lost: number;
  double_applied: number;
  mismatches: string[];
  /** Exit code of the last app instance after SIGTERM (0: orderly shutdown). */
  final_exit_code: number | null;
  error: string | null;
  ok: boolean;
};

type GlobalStats = {
  total_orders: number;
  total_revenue: number;
  total_users: number;
  duplicates: number;
  rejected: number;
  conflicts: number;
};

/** The order id a body carries, normalised as the service does for routing purposes. */
function orderIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { order_id?: unknown }).order_id;
    return typeof id === 'string' ? id.trim().toUpperCase() : undefined;
  } catch {
    return undefined;
  }
}

const cents = (amount: number): number => Math.round(amount * 100);

/**
 * Splits the stream: SQS keeps no order, and for a reused order_id the first content seen
 * wins, so an order_id that has a conflicting message goes out (all its later messages)
 * only after the first wave is processed. Every other second copy is sent either at once,
 * mixed into the first wave, or in the delayed second wave (one in two of each).
 */
export function planWaves(
  bodies: readonly string[],
  conflictIds: ReadonlySet<string>,
): { first: string[]; delayed: string[] } {
  const seen = new Set<string>();
  const first: string[] = [];
  const delayed: string[] = [];
  let repeat = 0;
  for (const body of bodies) {
    const id = orderIdOf(body);
    if (id === undefined || !seen.has(id)) first.push(body);
    else if (conflictIds.has(id) || repeat++ % 2 === 1) delayed.push(body);
    else first.push(body);
    if (id !== undefined) seen.add(id);
  }
  return { first, delayed };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + o.timeoutSeconds * 1000;
  const remaining = (): number => Math.max(1_000, deadline - Date.now());
  const dir = mkdtempSync(join(tmpdir(), 'op-chaos-'));
  const log = logFile(join(dir, 'processes.log'));
  o.log(`work directory ${dir} (processes.log holds the app's and the emulator's output)`);

  // --- the data -----------------------------------------------------------------------------
  const generated = generate({
    seed: o.seed,
    count: o.orders,
    users: Math.max(50, Math.round(o.orders / 20)),
    from: '2026-01-01',
    to: '2026-03-31',
    duplicateRate: 0.1,
    invalidRate: 0.02,
    conflictRate: Math.min(0.01, 20 / o.orders),
    orderPrefix: 'CHAOS-',
    format: 'ndjson',
  });
  const expected: Expected = generated.expected;
  const bodies = generated.messages.map((m) => (m.raw !== undefined ? m.raw : serializeDoc(m.doc as DocValue)));
  const conflictIds = new Set<string>();
  generated.messages.forEach((m, i) => {
    const id = m.kind === 'conflict' ? orderIdOf(bodies[i] ?? '') : undefined;
    if (id !== undefined) conflictIds.add(id);
  });
  const waves = planWaves(bodies, conflictIds);
  o.log(
    `generated ${bodies.length} messages: ${expected.messages.valid_unique} orders, ${expected.messages.duplicates} duplicates ` +
      `(${waves.delayed.length - expected.messages.conflicts} of them re-sent later), ${expected.messages.invalid} invalid, ` +
      `${expected.messages.conflicts} conflicting order_ids`,
  );

  const report: ChaosReport = {
    date: new Date(started).toISOString(),
    options: {
      orders: o.orders,
      kills: o.kills,
      redisOutageSeconds: o.redisOutageSeconds,
      seed: o.seed,
      consumers: o.consumers,
      maxReceiveCount: o.maxReceiveCount,
      visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
      timeoutSeconds: o.timeoutSeconds,
    },
    seconds: 0,
    sent: 0,
    generated: {
      valid_unique: expected.messages.valid_unique,
      duplicates: expected.messages.duplicates,
      delayed: waves.delayed.length,
      invalid: expected.messages.invalid,
      conflicts: expected.messages.conflicts,
    },
    events: [],
    kills: 0,
    redis_outages: 0,
    not_ready_during_outage: null,
    redelivered: 0,
    redelivered_after_outcome: 0,
    dead_lettered: 0,
    left_in_queue: 0,
    lost: 0,
    double_applied: 0,
    mismatches: [],
    final_exit_code: null,
    error: null,
    ok: false,
  };
  const event = (text: string): void => {
    const line = `+${((Date.now() - started) / 1000).toFixed(1)} s ${text}`;
    report.events.push(line);
    o.log(line);
  };

  // --- the processes ------------------------------------------------------------------------
  const redis = new ChaosRedis(await freePort(), dir, log);
  let fauxqs: Child | undefined;
  let app: Child | undefined;
  const sqs = { client: undefined as SQSClient | undefined };
  try {
    await redis.start();
    const sqsPort = await freePort();
    fauxqs = await startFauxqs(o.root, sqsPort, log);
    const endpoint = `http://127.0.0.1:${sqsPort}`;
    const client = new SQSClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'chaos', secretAccessKey: 'chaos' },
    });
    sqs.client = client;
    const dlq = await client.send(new CreateQueueCommand({ QueueName: 'chaos-orders-dlq' }));
    const dlqArn = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const queue = await client.send(
      new CreateQueueCommand({
        QueueName: 'chaos-orders',
        Attributes: {
          VisibilityTimeout: String(o.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
            maxReceiveCount: o.maxReceiveCount,
          }),
        },
      }),
    );
    const queueUrl = queue.QueueUrl ?? '';
    const dlqUrl = dlq.QueueUrl ?? '';
    const depth = async (url: string): Promise<number> => {
      const names: QueueAttributeName[] = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'];
      const res = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }));
      return names.reduce((sum, n) => sum + Number(res.Attributes?.[n] ?? 0), 0);
    };

    const appPort = await freePort();
    const base = `http://127.0.0.1:${appPort}`;
    const appEnv = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'chaos',
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'chaos',
      AWS_SECRET_ACCESS_KEY: 'chaos',
      SQS_CONSUMER_CONCURRENCY: String(o.consumers),
      SQS_WAIT_TIME_SECONDS: '1',
      SQS_VISIBILITY_TIMEOUT: String(o.visibilityTimeoutSeconds),
      SQS_RETRY_BACKOFF_SECONDS: '1',
      STATS_RETENTION_DAYS: '3650',
      LOAD_SAMPLE_DATA: 'false',
      LOG_LEVEL: 'warn',
    };
    const launch = async (): Promise<Child> => startApp(o.root, appPort, appEnv, log);
    app = await launch();
    event('app started');

    const getJson = async <T>(path: string): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, body: (await res.json()) as T };
    };
    let processed = 0;
    // Messages handled (every outcome, retries included) by earlier instances, and the last
    // count the current one reported: a SIGKILL takes its in-memory metrics with it.
    let handledBefore = 0;
    let handledNow = 0;
    const scrape = async (): Promise<void> => {
      const text = await fetch(`${base}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      let sum = 0;
      for (const m of text.matchAll(/order_pipeline_messages_total\{outcome="(\w+)"\} (\d+)/g)) sum += Number(m[2]);
      if (sum > 0) handledNow = sum;
    };
    const refresh = async (): Promise<void> => {
      const g = await getJson<GlobalStats>('/stats/global').catch(() => undefined);
      if (g?.status === 200) processed = g.body.total_orders + g.body.duplicates + g.body.rejected + g.body.conflicts;
      await scrape();
    };

    // --- the faults, spread over the first wave -------------------------------------------------
    type Fault = 'kill' | 'redis';
    const faults: Fault[] = Array.from({ length: o.kills }, (): Fault => 'kill');
    if (o.redisOutageSeconds > 0) faults.splice(Math.floor(faults.length / 2), 0, 'redis');
    const thresholds = faults.map((_, j) => Math.floor((waves.first.length * 0.85 * (j + 1)) / (faults.length + 1)));
    const runFault = async (fault: Fault): Promise<void> => {
      if (fault === 'kill') {
        await scrape();
        await app?.kill();
        handledBefore += handledNow;
        handledNow = 0;
        report.kills += 1;
        event(`kill -9 the app (${processed} outcomes recorded so far)`);
        app = await launch();
        event('app restarted');
        return;
      }
      await redis.crash();
      report.redis_outages += 1;
      event(`kill -9 redis-server for ${o.redisOutageSeconds} s (${processed} outcomes recorded so far)`);
      const back = Date.now() + o.redisOutageSeconds * 1000;
      while (Date.now() < back) {
        const ready = await fetch(`${base}/health/ready`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready === 503) report.not_ready_during_outage = true;
        else if (ready === 200 && report.not_ready_during_outage === null) report.not_ready_during_outage = false;
        await sleep(Math.min(500, Math.max(0, back - Date.now())));
      }
      await redis.start();
      event('redis-server restarted from its append-only file');
    };

    // --- send the first wave while the faults happen ------------------------------------------
    const send = async (wave: readonly string[]): Promise<void> => {
      for (let i = 0; i < wave.length; i += 80) {
        await Promise.all(
          Array.from({ length: 8 }, (_, j) => wave.slice(i + j * 10, i + j * 10 + 10))
            .filter((batch) => batch.length > 0)
            .map(async (batch) => {
              const res = await client.send(
                new SendMessageBatchCommand({
                  QueueUrl: queueUrl,
                  Entries: batch.map((body, k) => ({ Id: String(k), MessageBody: body })),
                }),
              );
              if ((res.Failed ?? []).length > 0) throw new Error(`the emulator refused ${res.Failed?.length} messages`);
              report.sent += batch.length;
            }),
        );
      }
    };
    let firstSent = false;
    const sending = send(waves.first).then(() => {
      firstSent = true;
      event(`first wave sent (${waves.first.length} messages)`);
    });
    sending.catch(() => undefined);
    let next = 0;
    let drainedFirst = false;
    while (next < faults.length || !drainedFirst) {
      if (Date.now() > deadline) throw new Error('the run took longer than --timeout-seconds');
      await refresh();
      const fault = faults[next];
      if (fault !== undefined && (processed >= (thresholds[next] ?? 0) || drainedFirst)) {
        await runFault(fault);
        next += 1;
        continue;
      }
      if (firstSent && !drainedFirst) drainedFirst = (await depth(queueUrl)) === 0 && processed >= waves.first.length;
      await sleep(100);
    }
    await sending;
    event('first wave processed; sending the delayed duplicates and the conflicting messages');
    await send(waves.delayed);
    await until(
      async () => (await depth(queueUrl)) === 0 && (await fetch(`${base}/health/ready`)).ok,
      remaining(),
      'the queue to drain',
    );
    event('queue drained');

    // --- compare with the generator's answers ----------------------------------------------------
    const g = (await getJson<GlobalStats>('/stats/global')).body;
    const mismatch = (what: string, want: number, got: number): void => {
      if (want !== got) report.mismatches.push(`${what}: expected ${want}, got ${got}`);
    };
    const tally = (want: number, got: number): void => {
      if (got < want) report.lost += want - got;
      if (got > want) report.double_applied += got - want;
    };
    mismatch('total_orders', expected.global.total_orders, g.total_orders);
    mismatch('total_revenue (cents)', expected.global.total_revenue_cents, cents(g.total_revenue));
    mismatch('total_users', Object.keys(expected.users).length, g.total_users);
    mismatch('rejected', expected.messages.invalid, g.rejected);
    mismatch('conflicts', expected.messages.conflicts, g.conflicts);
    tally(expected.messages.invalid, g.rejected);
    tally(expected.messages.conflicts, g.conflicts);
    if (g.duplicates < expected.messages.duplicates) {
      report.mismatches.push(`duplicates: expected at least ${expected.messages.duplicates}, got ${g.duplicates}`);
    }
    report.redelivered_after_outcome = Math.max(0, g.duplicates - expected.messages.duplicates);
    await scrape();
    report.redelivered = Math.max(report.redelivered_after_outcome, handledBefore + handledNow - report.sent);

    const users = Object.entries(expected.users);
    let counted = 0;
    for (let i = 0; i < users.length; i += 16) {
      await Promise.all(
        users.slice(i, i + 16).map(async ([user, want]) => {
          const res = await getJson<{ order_count: number; total_spend: number }>(
            `/users/${encodeURIComponent(user)}/stats`,
          );
          const got = res.status === 200 ? res.body : { order_count: 0, total_spend: 0 };
          counted += got.order_count;
          tally(want.order_count, got.order_count);
          mismatch(`user ${user} order_count`, want.order_count, got.order_count);
          mismatch(`user ${user} total_spend (cents)`, want.total_spend_cents, cents(got.total_spend));
        }),
      );
    }
    // Orders applied to a user the generator never made would be double-applied too.
    if (g.total_orders > counted) report.double_applied += g.total_orders - counted;

    const days = Object.keys(expected.days).sort();
    if (days.length > 0) {
      const range = (
        await getJson<{ periods: { period: string; orders: number; revenue: number }[] }>(
          `/stats/range?from=${days[0]}&to=${days[days.length - 1]}&granularity=day`,
        )
      ).body;
      for (const p of range.periods) {
        const want = expected.days[p.period] ?? { orders: 0, revenue_cents: 0 };
        mismatch(`day ${p.period} orders`, want.orders, p.orders);
        mismatch(`day ${p.period} revenue (cents)`, want.revenue_cents, cents(p.revenue));
      }
    }
    report.dead_lettered = await depth(dlqUrl);
    report.left_in_queue = await depth(queueUrl);

    report.final_exit_code = await app.stop();
    event(`app stopped with SIGTERM: exit code ${report.final_exit_code}`);
    app = undefined;
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
    o.log(`error: ${report.error}`);
  } finally {
    await app?.kill();
    sqs.client?.destroy();
    await fauxqs?.kill();
    await redis.stop();
    log.end();
  }
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  report.ok =
    report.error === null &&
    report.lost === 0 &&
    report.double_applied === 0 &&
    report.mismatches.length === 0 &&
    report.dead_lettered === 0 &&
    report.left_in_queue === 0 &&
    report.final_exit_code === 0;
  // A passing run leaves nothing behind; a failing one keeps its logs and Redis files.
  if (report.ok) rmSync(dir, { recursive: true, force: true });
  else o.log(`kept ${dir} for inspection (processes.log, redis.log, the append-only file)`);
  return report;
}

/** The report as people read it. */
export function formatReport(r: ChaosReport, command: string): string {
  const rows: [string, string | number][] = [
    ['command', command],
    ['date', r.date],
    ['duration (s)', r.seconds],
    ['messages sent', r.sent],
    ['  orders (distinct, valid)', r.generated.valid_unique],
    ['  duplicates (second copies)', r.generated.duplicates],
    ['  invalid', r.generated.invalid],
    ['  conflicting order_ids', r.generated.conflicts],
    ['  sent after a delay', r.generated.delayed],
    ['app killed with SIGKILL', r.kills],
    ['Redis outages (SIGKILL, AOF restart)', r.redis_outages],
    [
      '/health/ready 503 during the outage',
      r.not_ready_during_outage === null ? '-' : r.not_ready_during_outage ? 'yes' : 'no',
    ],
    ['redelivered (handled more than once)', r.redelivered],
    ['  of them after their outcome was stored', r.redelivered_after_outcome],
    ['dead-lettered', r.dead_lettered],
    ['left in the queue', r.left_in_queue],
    ['lost', r.lost],
    ['double-applied', r.double_applied],
    ['total mismatches', r.mismatches.length],
    ['last app exit code after SIGTERM', r.final_exit_code ?? '-'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (r.mismatches.length > 0) lines.push('mismatches (first 20):', ...r.mismatches.slice(0, 20).map((m) => `  ${m}`));
  if (r.error) lines.push(`error: ${r.error}`);
  lines.push(r.ok ? 'RESULT: PASS (0 lost, 0 double-applied, every total exact)' : 'RESULT: FAIL');
  return lines.join('\n');
}
