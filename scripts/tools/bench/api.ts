// API: autocannon against the app's read endpoints (the app of the e2e part, with its data
// loaded) and against bare-server.ts (node:http + ioredis answering the same key reads), one
// endpoint at a time, in rounds that alternate which side goes first; each figure is the
// median over the rounds. Before timing, each endpoint's answer is checked to be the same
// from both servers.

import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RunningApp } from './e2e.ts';
import { DAY_MS } from './orders-model.ts';
import { median, pairedMedians, serverMicros, timeRounds, type PairedRound } from './stats.ts';
import {
  APP_HEAP_FLAGS,
  ROOT,
  dec,
  freePort,
  int,
  log,
  pct,
  startChild,
  stopChild,
  type ReportRow,
} from './harness.ts';

const require = createRequire(import.meta.url);
type Autocannon = typeof import('autocannon');
const autocannon = require('autocannon') as Autocannon;

export interface ApiOptions {
  readonly redisUrl: string;
  readonly app: RunningApp;
  readonly connections: number;
  readonly durationSeconds: number;
  /** Timed rounds per endpoint and server pair (each figure is their median). */
  readonly rounds: number;
  /** Untimed load on each server before an endpoint's rounds (JIT, connections). */
  readonly warmupSeconds: number;
}

interface Endpoint {
  readonly name: string;
  /** Paths to cycle through (one for a fixed URL). */
  readonly paths: readonly string[];
  readonly p99TargetMs: number;
  /** Whether the req/s ratio against bare Node has a target (≥ 50%). */
  readonly ratioTarget: boolean;
}

/** The framework floors (bare-server.ts): what Express, then Nest, cost with nothing of the app's own. */
const FLOORS = [
  { mode: 'express', label: 'Express 5, one route, no middleware' },
  { mode: 'nest', label: 'Nest 11 on Express, one controller, no middleware/guard/pipe' },
] as const;

interface Measured {
  /** Microseconds Redis spent per request (INFO commandstats): what the reads cost Redis. */
  readonly redisUsPerRequest: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly failures: number;
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

type BareMode = 'node' | 'express' | 'nest';

async function startBare(
  redisUrl: string,
  prefix: string,
  mode: BareMode,
): Promise<{ child: ChildProcess; baseUrl: string }> {
  const port = await freePort();
  // The app's heap flags (APP_HEAP_FLAGS): the same garbage collector settings on both sides.
  const script = join(ROOT, 'scripts', 'tools', 'bench', 'bare-server.ts');
  const child = startChild(process.execPath, [...APP_HEAP_FLAGS, script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BARE_PORT: String(port), BARE_REDIS_URL: redisUrl, BARE_PREFIX: prefix, BARE_MODE: mode },
  });
  await new Promise<void>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`bare-server exited (${code})`)));
    createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => line === 'ready' && done());
  });
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}

interface RedisStats {
  config(op: string): Promise<unknown>;
  info(section: string): Promise<string>;
  quit(): Promise<string>;
}

async function measure(
  redis: RedisStats,
  baseUrl: string,
  paths: readonly string[],
  connections: number,
  seconds: number,
): Promise<Measured> {
  await redis.config('RESETSTAT');
  let i = 0;
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, path: paths[i++ % paths.length] ?? '/' }),
      },
    ],
  });
  const micros = serverMicros(await redis.info('commandstats'));
  return {
    redisUsPerRequest: result.requests.total > 0 ? micros / result.requests.total : Number.NaN,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

async function sameAnswer(appUrl: string, bareUrl: string, path: string): Promise<void> {
  const [a, b] = await Promise.all([fetch(appUrl + path), fetch(bareUrl + path)]);
  const [ta, tb] = [await a.text(), await b.text()];
  if (a.status !== 200 || b.status !== 200 || JSON.stringify(JSON.parse(ta)) !== JSON.stringify(JSON.parse(tb))) {
    throw new Error(`api: ${path} differs: app ${a.status} ${ta.slice(0, 300)} / bare ${b.status} ${tb.slice(0, 300)}`);
  }
}

/**
 * The same endpoint on the framework floors, each in rounds with the bare server (so a busy
 * moment moves both): how far the stack itself can go, whatever the app does (reported, no
 * target).
 */
async function floors(
  options: ApiOptions,
  redis: RedisStats,
  bareUrl: string,
  e: Endpoint,
  detail: Record<string, unknown>,
): Promise<ReportRow[]> {
  const rows: ReportRow[] = [];
  for (const floor of FLOORS) {
    const server = await startBare(options.redisUrl, options.app.keyPrefix, floor.mode);
    try {
      await sameAnswer(server.baseUrl, bareUrl, e.paths[0] ?? '/');
      await measure(redis, server.baseUrl, e.paths, options.connections, options.warmupSeconds);
      const rounds = await pairedRounds(redis, server.baseUrl, bareUrl, e, options, `the ${floor.mode} floor`);
      const m = pairedMedians(rounds);
      log(
        `api ${e.name}: ${floor.mode} floor ${int(m.app.rps)} req/s p99 ${m.app.p99} ms; bare ${int(m.bare.rps)} req/s (medians; ratios ${ratios(m.ratios)})`,
      );
      detail[`${e.name} (${floor.mode} floor)`] = { rounds: rounds.map(({ app, bare }) => ({ floor: app, bare })) };
      rows.push({
        part: 'api',
        figure: `… floor: ${floor.label}, same reads${roundsNote(m.ratios)}: req/s (p50 / p99 ms)`,
        value: `${int(m.app.rps)} (${dec(m.app.p50, 1)} / ${dec(m.app.p99, 1)})`,
        baseline: `${int(m.bare.rps)} (${dec(m.bare.p50, 1)} / ${dec(m.bare.p99, 1)}) bare node:http, timed alongside`,
        ratio: m.ratio,
        target: '(reported)',
        met: true,
      });
    } finally {
      await stopChild(server.child);
    }
  }
  return rows;
}

/** options.rounds rounds of the server under test and the bare one (timeRounds). */
function pairedRounds(
  redis: RedisStats,
  testedUrl: string,
  bareUrl: string,
  e: Endpoint,
  options: ApiOptions,
  tested: string,
): Promise<PairedRound<Measured>[]> {
  return timeRounds(
    options.rounds,
    (side) =>
      measure(redis, side === 'app' ? testedUrl : bareUrl, e.paths, options.connections, options.durationSeconds),
    ({ app, bare }) =>
      `api: ${e.name}: ${app.failures} failed requests on ${tested}, ${bare.failures} on the bare server`,
  );
}

/** Each round's ratio, rounded down like the table's ratio column (pct). */
const ratios = (values: readonly number[]): string => values.map(pct).join(', ');

/** ", median of 3 rounds (ratios 48%, 53%, 50%)" for a row's figure; nothing for one round. */
const roundsNote = (values: readonly number[]): string =>
  values.length > 1 ? `, median of ${values.length} rounds (ratios ${ratios(values)})` : '';

export async function runApi(options: ApiOptions): Promise<{ rows: ReportRow[]; detail: Record<string, unknown> }> {
  const { app, connections, durationSeconds, rounds: roundCount } = options;
  const users = app.model.sampleActiveUsers(2_000).map((id) => `/users/${id}/stats`);
  const from = isoDay(app.firstDayMs);
  const to = isoDay(app.firstDayMs + 364 * DAY_MS);
  const endpoints: Endpoint[] = [
    { name: 'GET /users/{id}/stats (2,000 users in turn)', paths: users, p99TargetMs: 10, ratioTarget: true },
    { name: 'GET /stats/global', paths: ['/stats/global'], p99TargetMs: 10, ratioTarget: true },
    {
      name: 'GET /stats/top-users?limit=10 (all time)',
      paths: ['/stats/top-users?by=spend&limit=10'],
      p99TargetMs: 20,
      ratioTarget: false,
    },
    {
      name: `GET /stats/range, 1 year by month (${from}..${to})`,
      paths: [`/stats/range?from=${from}&to=${to}&granularity=month`],
      p99TargetMs: 20,
      ratioTarget: false,
    },
  ];
  const bare = await startBare(options.redisUrl, app.keyPrefix, 'node');
  const { Redis } = require('ioredis') as { Redis: new (url: string) => RedisStats };
  const redis = new Redis(options.redisUrl);
  const rows: ReportRow[] = [];
  const detail: Record<string, unknown> = { connections, duration_seconds: durationSeconds, rounds: roundCount };
  try {
    for (const e of endpoints) {
      await sameAnswer(app.baseUrl, bare.baseUrl, e.paths[0] ?? '/');
      // Warm both (JIT, connections), then time them in rounds.
      await measure(redis, app.baseUrl, e.paths, connections, options.warmupSeconds);
      await measure(redis, bare.baseUrl, e.paths, connections, options.warmupSeconds);
      const rounds = await pairedRounds(redis, app.baseUrl, bare.baseUrl, e, options, 'the app');
      const m = pairedMedians(rounds);
      const redisUs = median(rounds.map((r) => r.app.redisUsPerRequest));
      log(
        `api ${e.name}: app ${int(m.app.rps)} req/s p99 ${m.app.p99} ms; bare ${int(m.bare.rps)} req/s p99 ${m.bare.p99} ms; Redis ${dec(redisUs, 0)} µs per request (medians; ratios ${ratios(m.ratios)})`,
      );
      detail[e.name] = { rounds };
      rows.push({
        part: 'api',
        figure: `API ${e.name}, ${connections} connections${roundsNote(m.ratios)}: req/s (p50 / p99 ms)`,
        value: `${int(m.app.rps)} (${dec(m.app.p50, 1)} / ${dec(m.app.p99, 1)})`,
        baseline: `${int(m.bare.rps)} (${dec(m.bare.p50, 1)} / ${dec(m.bare.p99, 1)}) bare node:http`,
        ratio: m.ratio,
        target: e.ratioTarget ? `≥ 50%, p99 ≤ ${e.p99TargetMs} ms` : `p99 ≤ ${e.p99TargetMs} ms`,
        met: m.app.p99 <= e.p99TargetMs && (!e.ratioTarget || m.ratio >= 0.5),
      });
      if (e.ratioTarget) rows.push(...(await floors(options, redis, bare.baseUrl, e, detail)));
    }
  } finally {
    await redis.quit();
    await stopChild(bare.child);
  }
  return { rows, detail };
}
