// Where the apply script's Redis time goes: the real APPLY_LUA against variants with one of
// its parts taken out, each sent the same calls (the app's own keys and arguments for N
// generated orders) into an empty private Redis, the variants alternating over several
// rounds. Redis's own time per call (INFO commandstats) is the figure, so the Node side and
// the network do not count. Run it through `./scripts/bench apply`; see docs/PERFORMANCE.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { applyVariants } from './apply-variants.ts';
import { dist, processingContext } from './core.ts';
import { ROOT, dec, onlyCheckingOptions, onlyOptions, wholeOption } from './harness.ts';
import { DAY_MS, OrderStream } from './orders-model.ts';

const require = createRequire(import.meta.url);

const USAGE = `Usage: ./scripts/bench apply [--orders N] [--rounds N]

Sends the apply script (APPLY_LUA) and variants of it without one part each (the key
expiries, the top-N sets, the day-level top-N sets; a script that only marks the order
applied) the same N calls, into an empty private Redis each time, and reports Redis's
time per call (median over the rounds, from INFO commandstats).
  --orders N   calls per variant and round (default 30000)
  --rounds N   rounds, the variants in turn, alternating their order (default 4)
Writes .data/bench/apply-<timestamp>.json.`;

interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}
type Pipeline = { evalsha(...args: (string | number)[]): unknown; exec(): Promise<[Error | null, unknown][] | null> };
interface RawRedis {
  script(op: 'LOAD', lua: string): Promise<string>;
  pipeline(): Pipeline;
  flushdb(): Promise<string>;
  config(op: string): Promise<unknown>;
  info(section: string): Promise<string>;
  quit(): Promise<string>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(`${USAGE}\n`);
  onlyOptions(argv, ['orders', 'rounds'], USAGE);
  const n = wholeOption(argv, 'orders', 30_000);
  const rounds = wholeOption(argv, 'rounds', 4);
  if (onlyCheckingOptions()) return;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (!redisUrl) throw new Error('BENCH_REDIS_URL is not set: run through ./scripts/bench apply');

  const { APPLY_LUA } = dist('aggregation', 'lua/scripts') as { APPLY_LUA: string };
  const { parseOrderMessage } = dist('orders') as {
    parseOrderMessage: (body: string) => { ok: true; order: unknown } | { ok: false };
  };
  const { OrderAggregator } = dist('aggregation') as { OrderAggregator: unknown };
  const variants = applyVariants(APPLY_LUA);

  // The app's own calls, as the core benchmark makes them (same order model and seed).
  const ctx = await processingContext(redisUrl, 'apply');
  const aggregator = ctx.get<{ applyCall(order: unknown): ScriptCall }>(OrderAggregator);
  const stream = new OrderStream({
    seed: 11,
    users: Math.max(1_000, Math.floor(n / 10)),
    orders: n,
    days: 365,
    todayStartMs: Math.floor(Date.now() / DAY_MS) * DAY_MS,
  });
  const calls = Array.from({ length: n }, () => {
    const parsed = parseOrderMessage(stream.next().body);
    if (!parsed.ok) throw new Error('a generated order did not parse');
    return aggregator.applyCall(parsed.order);
  });
  await ctx.close();

  const { Redis } = require('ioredis') as { Redis: new (url: string) => RawRedis };
  const redis = new Redis(redisUrl);
  const micros = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  try {
    const shas = new Map<string, string>();
    for (const [name, lua] of variants) shas.set(name, await redis.script('LOAD', lua));
    for (let r = 0; r < rounds; r++) {
      for (const [name] of r % 2 ? [...variants].reverse() : variants) {
        await redis.flushdb();
        await redis.config('RESETSTAT');
        const sha = shas.get(name) ?? '';
        for (let i = 0; i < calls.length; i += 160) {
          const pipeline = redis.pipeline();
          for (const c of calls.slice(i, i + 160)) pipeline.evalsha(sha, c.keys.length, ...c.keys, ...c.args);
          for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
        }
        const stats = await redis.info('commandstats');
        const perCall = /^cmdstat_evalsha:.*usec_per_call=([\d.]+)/m.exec(stats)?.[1];
        micros.get(name)?.push(Number(perCall));
      }
    }
    await redis.flushdb();
  } finally {
    await redis.quit();
  }

  const whole = median(micros.get(variants[0]?.[0] ?? '') ?? []);
  const redisVersion = /v=([\d.]+)/.exec(process.env.BENCH_REDIS_SERVER_VERSION ?? '')?.[1];
  const rows = variants.map(([name]) => {
    const values = micros.get(name) ?? [];
    const each = values.map((v) => v.toFixed(1)).join(' · ');
    return `| ${name} | ${dec(median(values), 1)} | ${dec(whole - median(values), 1)} | ${each} |`;
  });
  const header = `Command: \`${process.env.BENCH_COMMAND ?? './scripts/bench apply'}\` · ${new Date().toISOString()} · Node ${process.version} · Redis ${redisVersion ?? '?'} · ${n.toLocaleString('en-US')} calls per variant and round, ${rounds} rounds`;
  process.stdout.write(
    [
      header,
      '',
      '| apply script | Redis µs per call (median) | less than the whole | each round |',
      '|---|---:|---:|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  const dir = join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `apply-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ orders: n, rounds, micros: Object.fromEntries(micros) }, null, 2)}\n`);
  process.stdout.write(`written to ${file}\n`);
}

await main();
