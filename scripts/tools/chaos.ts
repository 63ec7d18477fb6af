// CLI: ./scripts/chaos --help
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, intOption, UsageError } from './args.ts';
import { DEFAULT_OPTIONS, formatReport, runChaos } from './chaos-run.ts';
import { killAll } from './chaos-processes.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const d = DEFAULT_OPTIONS;

const USAGE = `Usage: ./scripts/chaos [options]

Crash-and-redelivery test, on loopback only. Generates orders (10% duplicates, some re-sent
after a delay; 2% invalid; a few conflicting order_ids), runs the fauxqs SQS emulator as its
own process, a private redis-server (appendonly yes, appendfsync always) and the built app as
a child process pointed at the emulator; kills the app with SIGKILL and restarts it, crashes
Redis for a while once, then compares every total and the rejected/conflict counts with the
generator's expected values. Exits 0 only with 0 lost, 0 double-applied and every total exact.

Options:
  --orders N                 messages to generate (default ${d.orders})
  --kills N                  times the app is killed mid-stream and restarted (default ${d.kills})
  --redis-outage-seconds N   Redis is down this long once; 0 for no outage (default ${d.redisOutageSeconds})
  --seed N                   generator seed (default ${d.seed})
  --consumers N              SQS_CONSUMER_CONCURRENCY of the app (default ${d.consumers})
  --max-receive-count N      the queue's redrive policy (default ${d.maxReceiveCount})
  --visibility-timeout N     SQS_VISIBILITY_TIMEOUT of the queue and the app, s (default ${d.visibilityTimeoutSeconds})
  --timeout-seconds N        the run fails if it is not done by then (default ${d.timeoutSeconds})
  --report PATH              also write the report as JSON
  -h, --help                 this help
`;

async function main(argv: string[]): Promise<number> {
  const { options: a, positionals } = parseArgs(argv, {
    help: 'boolean',
    orders: 'string',
    kills: 'string',
    'redis-outage-seconds': 'string',
    seed: 'string',
    consumers: 'string',
    'max-receive-count': 'string',
    'visibility-timeout': 'string',
    'timeout-seconds': 'string',
    report: 'string',
  });
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const atLeast = (name: string, fallback: number, min: number, max: number): number => {
    const value = intOption(a[name], name, fallback);
    if (value < min || value > max) throw new UsageError(`--${name} must be from ${min} to ${max}`);
    return value;
  };
  const options = {
    root: ROOT,
    orders: atLeast('orders', d.orders, 1000, 1_000_000),
    kills: atLeast('kills', d.kills, 0, 20),
    redisOutageSeconds: atLeast('redis-outage-seconds', d.redisOutageSeconds, 0, 600),
    seed: atLeast('seed', d.seed, 0, 2 ** 31),
    consumers: atLeast('consumers', d.consumers, 1, 16),
    maxReceiveCount: atLeast('max-receive-count', d.maxReceiveCount, 1, 1000),
    visibilityTimeoutSeconds: atLeast('visibility-timeout', d.visibilityTimeoutSeconds, 2, 600),
    timeoutSeconds: atLeast('timeout-seconds', d.timeoutSeconds, 10, 24 * 3600),
    log: (line: string) => process.stderr.write(`[chaos] ${line}\n`),
  };
  const report = await runChaos(options);
  const command = process.env.CHAOS_COMMAND ?? `./scripts/chaos ${argv.join(' ')}`.trim();
  process.stdout.write(`${formatReport(report, command)}\n`);
  if (typeof a.report === 'string') writeFileSync(a.report, `${JSON.stringify({ command, ...report }, null, 2)}\n`);
  return report.ok ? 0 : 1;
}

// Interrupted: take the app, the emulator and Redis down with us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write('Run ./scripts/chaos --help for the options.\n');
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
