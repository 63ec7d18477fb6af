// Shared plumbing of the benchmark suite (scripts/tools/bench/suite.ts): free ports,
// waiting for a condition, child processes that are always stopped, peak RSS, and the
// row type of the report table.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const sqsLib = createRequire(import.meta.url)('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');

export const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

/** One line of the report: a figure of the project against its baseline, same run. */
export interface ReportRow {
  readonly part: 'core' | 'e2e' | 'api' | 'memory';
  readonly figure: string;
  /** What the project reached, formatted (e.g. "41,230 orders/s"). */
  readonly value: string;
  /** The baseline it is compared with, formatted; "" when the figure has none. */
  readonly baseline: string;
  /** value / baseline as a fraction, or undefined when there is no baseline. */
  readonly ratio: number | undefined;
  /** The target, in words (e.g. "≥ 40k/s and ≥ 35%"). */
  readonly target: string;
  /** undefined where the target does not apply to this run (e.g. peak RSS below 100k orders). */
  readonly met: boolean | undefined;
}

import { freePort, until } from '../wait.ts';

export { freePort, until };

const children = new Set<ChildProcess>();
const scratch = new Set<string>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
// Ctrl-C or a kill: leave no emulator, app or server behind ('exit' runs on process.exit).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Starts a child process that is killed when this process exits, whatever happens. */
export function startChild(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  // ./scripts/bench finds whatever a killed run left behind by this variable.
  const runId = process.env.BENCH_RUN_ID;
  const env = options.env && runId ? { ...options.env, BENCH_RUN_ID: runId } : options.env;
  const child = spawn(command, args, { ...options, env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * A fresh directory for the emulator's SQLite files (WAL, an fsync per commit), removed at
 * exit. On a disk that fsync is the whole cost of a message; a RAM-backed directory, where
 * there is one (/dev/shm), takes it out of every run, so the figures are about the
 * pipeline, not the disk.
 */
export function scratchDir(prefix: string): string {
  // Named with the run id too, so ./scripts/bench removes it even when this process was killed.
  const runId = process.env.BENCH_RUN_ID;
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), runId ? `${prefix}${runId}-` : prefix));
  scratch.add(dir);
  return dir;
}

/**
 * Node flags the app runs with in ./scripts/start, the Dockerfile and `pnpm start:prod`. V8
 * sizes the young generation by the machine's RAM (64 MB semi-spaces on a 23 GB machine);
 * a fixed 8 MB keeps the resident size down at no measurable cost in throughput. The old
 * generation of the app's own thread is held to 192 MB (its live heap is about 50 MB); the
 * embedded emulator's thread, which holds the queue's backlog, has its own limit
 * (libs/sqs/src/embedded-emulator.ts). Without allocation-site pretenuring, a burst of
 * orders no longer leaves allocation sites of the read path allocating straight into the old
 * generation for good (docs/PERFORMANCE.md, "Node flags"). BENCH_APP_NODE_FLAGS replaces
 * them, to measure other settings.
 */
export const APP_NODE_FLAGS: readonly string[] = (
  process.env.BENCH_APP_NODE_FLAGS ??
  '--max-semi-space-size=8 --max-old-space-size=192 --no-allocation-site-pretenuring'
)
  .split(' ')
  .filter(Boolean);

/**
 * The app's heap and garbage collector flags alone (no profiler or other flags), for the API
 * baselines: they run with the same heap as the app, so a ratio measures the request path,
 * not the garbage collector's settings (8 MB semi-spaces cost a read as much as a third more
 * CPU).
 */
export const APP_HEAP_FLAGS: readonly string[] = APP_NODE_FLAGS.filter((flag) =>
  /^--(max-(semi|old)-space-size=|no-allocation-site-pretenuring$)/.test(flag),
);
export interface AppOnQueue {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly queueUrl: string;
  readonly endpoint: string;
  readonly consumers: number;
  /** More environment (the guard bench's scenarios). */
  readonly env?: Record<string, string>;
}

/**
 * The built app (dist/) on a free port, consuming `queueUrl` at `endpoint` with the given
 * consumers, logging at warn; stopped when this process exits. Resolves once it listens.
 */
export async function startAppOnQueue(options: AppOnQueue): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  // Run as ./scripts/start runs it: its flags shape the garbage collector, so the peak RSS.
  const main = join(ROOT, 'dist', 'apps', 'order-pipeline', 'src', 'main.js');
  const child = startChild(process.execPath, [...APP_NODE_FLAGS, main], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: options.keyPrefix,
      SQS_QUEUE_URL: options.queueUrl,
      SQS_ENDPOINT: options.endpoint,
      AWS_ACCESS_KEY_ID: 'b',
      AWS_SECRET_ACCESS_KEY: 'b',
      SQS_CONSUMER_CONCURRENCY: String(options.consumers),
      SQS_WAIT_TIME_SECONDS: '1',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${base}/health/live`)).ok, 60_000, 'the app');
  return { child, base };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Peak resident set size (VmHWM) of a live process, in MB (Linux /proc). */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** A field of a Redis INFO answer. */
export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
export const dec = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
/** A ratio in whole percent, rounded down: 79.5% shows as 79%, never as an 80% that missed "≥ 80%". */
export const pct = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? '' : `${Math.floor(x * 100 + 1e-9)}%`;

/** A fauxqs emulator in its own process, its queues, and a client for it. */
export interface Emulator {
  readonly endpoint: string;
  readonly sqs: import('@aws-sdk/client-sqs').SQSClient;
  readonly queueUrl: (name: string) => Promise<string>;
}

/** Starts the fauxqs CLI on a free port with these queues (60 s visibility) and waits until it answers. */
export async function startEmulator(queueNames: readonly string[]): Promise<Emulator> {
  const port = await freePort();
  const init = join(scratchDir('bench-fauxqs-'), 'init.json');
  writeFileSync(
    init,
    JSON.stringify({ queues: queueNames.map((name) => ({ name, attributes: { VisibilityTimeout: '60' } })) }),
  );
  startChild(process.execPath, [join(ROOT, 'node_modules', 'fauxqs', 'dist', 'cli.js')], {
    stdio: 'ignore',
    env: {
      ...process.env,
      FAUXQS_PORT: String(port),
      FAUXQS_LISTEN_HOST: '127.0.0.1', // this project's patch of fauxqs (patches/)
      FAUXQS_LOGGER: 'false',
      FAUXQS_INIT: init,
    },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const sqs = new sqsLib.SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'b', secretAccessKey: 'b' },
  });
  const queueUrl = async (name: string): Promise<string> =>
    (await sqs.send(new sqsLib.GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';
  await until(async () => (await queueUrl(queueNames[0] ?? '')) !== '', 20_000, 'the emulator');
  return { endpoint, sqs, queueUrl };
}

/** Sends the bodies in order, 16 SendMessageBatch calls of 10 in flight. */
export async function sendAll(
  sqs: import('@aws-sdk/client-sqs').SQSClient,
  queueUrl: string,
  bodies: readonly string[],
): Promise<void> {
  for (let i = 0; i < bodies.length; i += 160) {
    await Promise.all(
      Array.from({ length: 16 }, (_, j) => bodies.slice(i + j * 10, i + j * 10 + 10))
        .filter((b) => b.length > 0)
        .map((batch) =>
          sqs.send(
            new sqsLib.SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: batch.map((b, k) => ({ Id: String(k), MessageBody: b })),
            }),
          ),
        ),
    );
  }
}

/**
 * Ends the run with status 2 and the usage when an argument is not one of `names` given as
 * `--name N` (a mistyped option would otherwise be ignored and the run time the defaults).
 */
export function onlyOptions(argv: readonly string[], names: readonly string[], usage: string): void {
  for (let i = 0; i < argv.length; i += 2) {
    const arg = argv[i] ?? '';
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const problem =
      name === undefined || !names.includes(name)
        ? `unknown argument ${arg}`
        : argv[i + 1] === undefined
          ? `--${name} needs a value`
          : undefined;
    if (problem !== undefined) usageError(problem, usage);
  }
}

/** Ends the run with status 2: what is wrong, then the usage. */
export function usageError(message: string, usage: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

/** ./scripts/bench asks a benchmark to check its options first, before it builds or starts a server. */
export const onlyCheckingOptions = (): boolean => process.env.BENCH_CHECK_OPTIONS === '1';

/**
 * The whole-number value of `--name` in `argv`, or `fallback` when it is absent. A value
 * below `min` (or none, or not a whole number) ends the process with exit status 2.
 */
export function wholeOption(argv: readonly string[], name: string, fallback: number, min = 1): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(
      `--${name} must be a ${min === 1 ? 'positive ' : ''}whole number${min > 1 ? ` of at least ${min}` : ''}\n`,
    );
    process.exit(2);
  }
  return value;
}
