import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// ./scripts/bench runs each benchmark with BENCH_CHECK_OPTIONS=1 before it builds or starts a
// server: a bad option must end that check with status 2 and say what is wrong, and good ones
// must pass it (no Redis, no build needed for the check).
const BENCH = join(__dirname, '..', 'bench');

function check(entry: string, ...args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(
    process.execPath,
    ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', join(BENCH, entry), ...args],
    { env: { ...process.env, BENCH_CHECK_OPTIONS: '1', BENCH_REDIS_URL: '' }, encoding: 'utf8', timeout: 20_000 },
  );
  return { status: run.status, stderr: run.stderr };
}

describe('the benchmarks check their options before anything starts', () => {
  it.each([
    ['ingest.ts', ['--mesages', '5'], 'unknown argument --mesages'],
    ['ingest.ts', ['--consumers', '17'], '--consumers must be from 1 to 16'],
    ['guard.ts', ['--consumers', '0'], '--consumers must be a positive whole number'],
    ['guard.ts', ['--suspicious-per-mille', '1001'], '--suspicious-per-mille must be from 0 to 1000'],
    ['apply-parts.ts', ['--orders'], '--orders needs a value'],
    ['apply-parts.ts', ['extra'], 'unknown argument extra'],
    ['analytics.ts', ['--bogus', '1'], 'unknown argument --bogus'],
    ['suite.ts', ['--consumers', '17'], '--consumers must be from 1 to 16'],
    ['suite.ts', ['api', '--api-rounds', '0'], '--api-rounds must be from 1 to'],
    ['suite.ts', ['api', '--warmup', 'x'], '--warmup must be an integer, got x'],
  ])('%s %j ends with status 2: %s', (entry, args, message) => {
    const { status, stderr } = check(entry, ...args);
    expect(stderr).toContain(message);
    expect(status).toBe(2);
  });

  it.each([
    ['ingest.ts', ['--messages', '10', '--consumers', '16']],
    ['guard.ts', ['--messages', '0', '--suspicious-per-mille', '1000']],
    ['apply-parts.ts', ['--orders', '10', '--rounds', '1']],
    ['analytics.ts', ['--quick']],
    ['suite.ts', ['core', '--orders', '10']],
    ['suite.ts', ['api', '--api-rounds', '1', '--warmup', '5']],
  ])('%s %j passes the check', (entry, args) => {
    const { status, stderr } = check(entry, ...args);
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
