// End to end: N orders through the built app with its embedded SQS emulator, from the first
// send to the last acknowledged (deleted) order, with the totals checked exactly, against
// the emulator's own receive-and-delete drain (drain-baseline.ts) with the same client
// settings. Both are driven the same way from this process: N messages sent with 16
// SendMessageBatch calls in flight while the consumers drain, and the queue polled until
// it is empty. Also measured here: the app's peak RSS and Redis memory per 1,000 orders.

import { type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { DAY_MS, ExpectedModel, OrderStream } from './orders-model.ts';
import {
  APP_HEAP_FLAGS,
  APP_NODE_FLAGS,
  ROOT,
  dec,
  freePort,
  infoField,
  int,
  log,
  peakRssMb,
  scratchDir,
  startChild,
  stopChild,
  until,
} from './harness.ts';
import type { ReportRow } from './harness.ts';
import { cpuBetween, cpuTotal, redisCpuSeconds, threadCpu, type ThreadCpu } from './cpu.ts';

const require = createRequire(import.meta.url);
const sqsLib = require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');

const BATCH_SIZE = 10;
const WAIT_TIME_SECONDS = 20;
const VISIBILITY_TIMEOUT = 30;
const SENDS_IN_FLIGHT = 16;
/** The sender waits while more messages than this are visible in the queue. */
const MAX_BACKLOG = 2_000;
const POLL_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface E2eOptions {
  readonly redisUrl: string;
  readonly orders: number;
  readonly consumers: number;
  /** Skip the drain baseline (the api part alone only needs the loaded app). */
  readonly baseline: boolean;
}

/** The app left running with the data loaded, for the api part. */
export interface RunningApp {
  readonly baseUrl: string;
  readonly keyPrefix: string;
  readonly model: ExpectedModel;
  readonly firstDayMs: number;
  stop(): Promise<void>;
}

export interface E2eResult {
  readonly rows: ReportRow[];
  readonly detail: Record<string, unknown>;
  readonly app: RunningApp;
}

interface Drained {
  readonly seconds: number;
  readonly sendSeconds: number;
}

/**
 * The CPU a run cost, in seconds: the consuming process by thread (the app, or the drain
 * baseline), Redis (the app's run only) and this process, which sends and polls. Undefined
 * parts could not be read (no /proc).
 */
interface RunCpu {
  readonly consumer: ThreadCpu | undefined;
  readonly redis: number | undefined;
  readonly sender: number;
}

/** Starts the CPU clocks of a run; the function it resolves to reads what the run cost. */
async function cpuClock(pid: number | undefined, redisCpu?: () => Promise<number>): Promise<() => Promise<RunCpu>> {
  const redis = await redisCpu?.();
  const consumer = threadCpu(pid);
  const sender = process.cpuUsage();
  return async () => {
    const consumerAfter = threadCpu(pid);
    const senderAfter = process.cpuUsage(sender);
    const redisAfter = await redisCpu?.();
    return {
      consumer: cpuBetween(consumer, consumerAfter),
      redis: redis !== undefined && redisAfter !== undefined ? redisAfter - redis : undefined,
      sender: (senderAfter.user + senderAfter.system) / 1e6,
    };
  };
}

/** "713 µs (main thread 367, worker threads 197, V8 helpers 153, other 0)" per order. */
function perOrder(cpu: ThreadCpu | undefined, n: number): string {
  if (!cpu) return 'n/a (no /proc)';
  // `other` comes from readings a moment apart and may dip a tick below zero: show it as 0.
  const us = (seconds: number): string => int(Math.max(0, seconds / n) * 1e6);
  return `${us(cpuTotal(cpu))} µs (main thread ${us(cpu.main)}, worker threads ${us(cpu.workers)}, V8 helpers ${us(cpu.v8)}, other ${us(cpu.other)})`;
}

function sqsClient(port: number): InstanceType<typeof sqsLib.SQSClient> {
  return new sqsLib.SQSClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * Sends every body (SENDS_IN_FLIGHT batches of 10 in flight) while the consumers drain, and
 * polls the queue until nothing is visible or in flight: first send to last delete. The
 * sender holds back while more than MAX_BACKLOG messages wait: fauxqs keeps a queue in one
 * array and takes messages off its front, which gets slower the longer the array is, so an
 * unbounded backlog would measure that rather than the consumers.
 */
async function sendAndDrain(
  port: number,
  queueUrl: string,
  bodies: readonly string[],
  timeoutMs: number,
): Promise<Drained> {
  // The SDK gives a request no time limit: a send or poll to an emulator that is up but
  // silent would outlast every check below, so the whole run also races this timer.
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms (a request went unanswered)`)), timeoutMs);
  });
  try {
    return await Promise.race([sendAndDrainUnbounded(port, queueUrl, bodies, timeoutMs), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function sendAndDrainUnbounded(
  port: number,
  queueUrl: string,
  bodies: readonly string[],
  timeoutMs: number,
): Promise<Drained> {
  const sqs = sqsClient(port);
  let visible = 0;
  let inFlight = 0;
  let sending = true;
  let pollError: Error | undefined;
  const poll = async (): Promise<void> => {
    const a = await sqs.send(
      new sqsLib.GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    visible = Number(a.Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
    inFlight = Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? Number.NaN);
  };
  const poller = (async (): Promise<void> => {
    while (sending) {
      await poll().then(
        () => (pollError = undefined),
        (error: unknown) => (pollError = error instanceof Error ? error : new Error(String(error))),
      );
      await sleep(POLL_MS);
    }
  })();
  const start = performance.now();
  // One deadline for the whole run, sending included: an emulator that stops answering (the
  // app died) leaves `visible` at its last value, and the senders would wait on it for ever.
  const deadline = start + timeoutMs;
  const bounded = (): void => {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms (${pollError ? `last poll: ${pollError.message}` : 'sending'})`);
    }
  };
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < bodies.length) {
        while (visible > MAX_BACKLOG) {
          bounded();
          await sleep(2);
        }
        const first = next;
        if (first >= bodies.length) break;
        next += BATCH_SIZE;
        const batch = bodies.slice(first, first + BATCH_SIZE);
        const answer = await sqs.send(
          new sqsLib.SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((b, k) => ({ Id: String(k), MessageBody: b })),
          }),
        );
        if ((answer.Failed ?? []).length > 0) throw new Error(`send failed: ${JSON.stringify(answer.Failed)}`);
        visible += batch.length;
      }
    };
    await Promise.all(Array.from({ length: SENDS_IN_FLIGHT }, lane));
    const sendSeconds = (performance.now() - start) / 1000;
    sending = false;
    await poller;
    await until(
      async () => {
        await poll().catch((error: unknown) => {
          pollError = error instanceof Error ? error : new Error(String(error));
          throw error;
        });
        return visible + inFlight === 0;
      },
      Math.max(0, deadline - performance.now()),
      'the queue to drain',
      POLL_MS,
    ).catch((error: unknown) => {
      throw pollError ? new Error(`${String(error)} (last poll: ${pollError.message})`) : error;
    });
    return { seconds: (performance.now() - start) / 1000, sendSeconds };
  } finally {
    sending = false;
    await poller;
    sqs.destroy();
  }
}

/** Resolves with the first stdout line of the child that starts with `prefix`. */
function lineFrom(child: ChildProcess, prefix: string, timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "${prefix}" line within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => fail(new Error(`child exited (${code}) before "${prefix}"`)));
    if (!child.stdout) return fail(new Error('child has no stdout'));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(prefix)) {
        clearTimeout(timer);
        done(line.slice(prefix.length).trim());
      }
    });
  });
}

async function drainBaseline(
  bodies: readonly string[],
  consumers: number,
  timeoutMs: number,
): Promise<Drained & { cpu: RunCpu }> {
  const port = await freePort();
  const dataDir = scratchDir('bench-drain-');
  // The app's heap flags: the same garbage collector settings on both sides.
  const script = join(ROOT, 'scripts', 'tools', 'bench', 'drain-baseline.ts');
  const child = startChild(process.execPath, [...APP_HEAP_FLAGS, script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      DRAIN_PORT: String(port),
      DRAIN_CONSUMERS: String(consumers),
      DRAIN_BATCH_SIZE: String(BATCH_SIZE),
      DRAIN_WAIT_TIME_SECONDS: String(WAIT_TIME_SECONDS),
      DRAIN_VISIBILITY_TIMEOUT: String(VISIBILITY_TIMEOUT),
      DRAIN_DATA_DIR: dataDir,
    },
  });
  try {
    const exited = whileAlive(child, 'the drain baseline', () => '(its errors are above)');
    const queueUrl = await lineFrom(child, 'ready ', 30_000);
    const cpu = await cpuClock(child.pid);
    const drained = await Promise.race([sendAndDrain(port, queueUrl, bodies, timeoutMs), exited]);
    return { ...drained, cpu: await cpu() };
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The last lines a child wrote (stdout and stderr), to say why it stopped. */
function lastLines(child: ChildProcess, keep = 20): () => string {
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > keep) lines.shift();
    });
  }
  return () => lines.join('\n');
}

/**
 * Rejects as soon as the child exits (with its last output), so a run whose app dies fails
 * at once instead of waiting out its deadline. Race it against each step that needs the app.
 */
function whileAlive(child: ChildProcess, what: string, output: () => string): Promise<never> {
  const exited = new Promise<never>((_, fail) => {
    child.once('exit', (code, signal) =>
      fail(new Error(`${what} exited (${code ?? signal}) during the run; its last output:\n${output()}`)),
    );
  });
  exited.catch(() => undefined); // raced, not always awaited
  return exited;
}

interface StartedApp {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly sqsPort: number;
  readonly queueUrl: string;
  readonly dataDir: string;
  /** Rejects when the app exits: race it with every step that needs the app. */
  readonly exited: Promise<never>;
}

/** The built app with the embedded emulator (no SQS_QUEUE_URL), as ./scripts/start runs it. */
async function startApp(redisUrl: string, keyPrefix: string, consumers: number): Promise<StartedApp> {
  const port = await freePort();
  const sqsPort = await freePort();
  const dataDir = scratchDir('bench-app-sqs-');
  const child = startChild(
    process.execPath,
    [...APP_NODE_FLAGS, join(ROOT, 'dist', 'apps', 'order-pipeline', 'src', 'main.js')],
    {
      cwd: ROOT,
      // Its log lines (JSON on stdout, warnings and worse) are kept to say why it stopped.
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '',
        // NODE_OPTIONS=--cpu-prof ./scripts/bench e2e profiles the app too.
        ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
        // Loopback only: the API and the emulator.
        HOST: '127.0.0.1',
        PORT: String(port),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        SQS_EMULATOR_HOST: '127.0.0.1',
        SQS_EMULATOR_PORT: String(sqsPort),
        SQS_DATA_DIR: dataDir,
        SQS_CONSUMER_CONCURRENCY: String(consumers),
        SQS_BATCH_SIZE: String(BATCH_SIZE),
        SQS_WAIT_TIME_SECONDS: String(WAIT_TIME_SECONDS),
        SQS_VISIBILITY_TIMEOUT: String(VISIBILITY_TIMEOUT),
        LOAD_SAMPLE_DATA: 'false',
        LOG_LEVEL: 'warn',
      },
    },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const exited = whileAlive(child, 'the app', lastLines(child));
  await Promise.race([
    until(async () => (await fetch(`${baseUrl}/health/ready`)).ok, 60_000, 'the app to be ready', 100),
    exited,
  ]);
  const sqs = sqsClient(sqsPort);
  const queueUrl = (await sqs.send(new sqsLib.GetQueueUrlCommand({ QueueName: 'orders' }))).QueueUrl ?? '';
  sqs.destroy();
  return { child, baseUrl, sqsPort, queueUrl, dataDir, exited };
}

/**
 * What limits the end-to-end ratio, in every run: the CPU each side spent per order. On a
 * machine whose cores are all busy (this one has two), a rate is about the cores divided by
 * the CPU per order, so the app reaches 80% of the drain rate only if all its processes
 * together spend at most 1/0.8 of what the baseline's spend per order.
 */
function cpuRow(n: number, app: RunCpu, base: RunCpu): ReportRow {
  const us = (seconds: number): number => (seconds / n) * 1e6;
  const appTotal = app.consumer && app.redis !== undefined ? us(cpuTotal(app.consumer) + app.redis + app.sender) : NaN;
  const baseTotal = base.consumer ? us(cpuTotal(base.consumer) + base.sender) : NaN;
  log(
    `e2e CPU per order: app ${perOrder(app.consumer, n)} + Redis ${int(us(app.redis ?? NaN))} µs + sender ` +
      `${int(us(app.sender))} µs; baseline ${perOrder(base.consumer, n)} + sender ${int(us(base.sender))} µs`,
  );
  return {
    part: 'e2e',
    figure:
      'End to end: CPU per order, all processes (the app or the drain baseline, Redis, the sender): ' +
      'what limits the ratio above when the cores are full',
    value: `${int(appTotal)} µs: app ${perOrder(app.consumer, n)}, Redis ${int(us(app.redis ?? NaN))} µs, sender ${int(us(app.sender))} µs`,
    baseline: `${int(baseTotal)} µs: drain ${perOrder(base.consumer, n)}, sender ${int(us(base.sender))} µs`,
    ratio: undefined,
    target: `(reported; 80% needs ≤ ${int(baseTotal / 0.8)} µs)`,
    met: undefined,
  };
}

interface RedisInfo {
  info(section: string): Promise<string>;
  quit(): Promise<string>;
}

export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const { redisUrl, orders: n, consumers } = options;
  const todayStartMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const users = Math.max(1_000, Math.floor(n / 10));
  const stream = new OrderStream({ seed: 21, users, orders: n, days: 365, todayStartMs });
  const model = new ExpectedModel(users, 365);
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = stream.next();
    model.add(o);
    bodies.push(o.body);
  }
  const timeoutMs = Math.max(120_000, n * 2);
  const rows: ReportRow[] = [];
  const detail: Record<string, unknown> = {
    orders: n,
    consumers,
    batch_size: BATCH_SIZE,
    sends_in_flight: SENDS_IN_FLIGHT,
  };

  let baseline: (Drained & { cpu: RunCpu }) | undefined;
  if (options.baseline) {
    log(`e2e baseline: ${int(n)} messages through the emulator alone, ${consumers} consumers`);
    baseline = await drainBaseline(bodies, consumers, timeoutMs);
    detail.baseline = baseline;
  }

  const { Redis } = require('ioredis') as { Redis: new (url: string) => RedisInfo };
  const redis = new Redis(redisUrl);
  const keyPrefix = `e2e${Date.now().toString(36)}`;
  const app = await startApp(redisUrl, keyPrefix, consumers);
  let stopped = false;
  const stopApp = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopChild(app.child, 20_000);
    rmSync(app.dataDir, { recursive: true, force: true });
  };
  try {
    const usedBefore = Number(infoField(await redis.info('memory'), 'used_memory'));
    log(`e2e: ${int(n)} orders through the app's embedded emulator, ${consumers} consumers`);
    const cpu = await cpuClock(app.child.pid, () => redisCpuSeconds(redis));
    const run = await Promise.race([sendAndDrain(app.sqsPort, app.queueUrl, bodies, timeoutMs), app.exited]);
    const runCpu = await cpu();
    const peakRss = peakRssMb(app.child.pid ?? 0);
    const usedAfter = Number(infoField(await redis.info('memory'), 'used_memory'));
    const global = (await (await fetch(`${app.baseUrl}/stats/global`)).json()) as {
      total_orders: number;
      total_revenue: number;
    };
    const revenueCents = Math.round(global.total_revenue * 100);
    if (global.total_orders !== n || revenueCents !== model.totalRevenue) {
      throw new Error(
        `e2e: the app reports ${global.total_orders} orders / ${revenueCents} cents, expected ${n} / ${model.totalRevenue}`,
      );
    }
    const rate = n / run.seconds;
    const bytesPer1k = ((usedAfter - usedBefore) / n) * 1000;
    detail.app = { ...run, cpu: runCpu, peak_rss_mb: peakRss, redis_used_memory_delta: usedAfter - usedBefore };
    if (baseline) {
      const base = n / baseline.seconds;
      rows.push({
        part: 'e2e',
        figure: `End to end: ${int(n)} orders, first send to last ack, exact totals, ${consumers} consumers (orders/s)`,
        value: `${int(rate)} (${dec(run.seconds, 1)} s)`,
        baseline: `${int(base)} (${dec(baseline.seconds, 1)} s; emulator receive+delete only)`,
        ratio: rate / base,
        target: '≥ 80%',
        met: rate / base >= 0.8,
      });
      rows.push(cpuRow(n, runCpu, baseline.cpu));
    }
    rows.push(
      {
        part: 'memory',
        figure: `Memory: app peak RSS during the e2e run (${int(n)} orders, emulator inside)`,
        value: `${dec(peakRss, 0)} MB`,
        baseline: '',
        ratio: undefined,
        // The target is for 100k orders; a smaller run's peak says nothing against it.
        target: n >= 100_000 ? '≤ 250 MB' : '≤ 250 MB at 100k orders (not this run)',
        met: n >= 100_000 ? peakRss <= 250 : undefined,
      },
      {
        part: 'memory',
        figure: 'Memory: Redis used_memory per 1,000 orders',
        value: `${dec(bytesPer1k / 1024, 0)} KiB`,
        baseline: '',
        ratio: undefined,
        target: '(reported)',
        met: true,
      },
    );
    return {
      rows,
      detail,
      app: {
        baseUrl: app.baseUrl,
        keyPrefix,
        model,
        firstDayMs: stream.firstDay,
        stop: stopApp,
      },
    };
  } catch (error) {
    await stopApp();
    throw error;
  } finally {
    await redis.quit();
  }
}
