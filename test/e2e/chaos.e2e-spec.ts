import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'order-pipeline', 'src', 'main.js');

/** The part of scripts/tools/chaos-run.ts' report this spec reads. */
interface ChaosReport {
  sent: number;
  kills: number;
  redis_outages: number;
  not_ready_during_outage: boolean | null;
  dead_lettered: number;
  left_in_queue: number;
  lost: number;
  double_applied: number;
  mismatches: string[];
  final_exit_code: number | null;
  error: string | null;
  ok: boolean;
}

/**
 * The 10k-order, one-kill variant of ./scripts/chaos: the same tool (scripts/tools/chaos.ts),
 * run as a child process against the built app, its own fauxqs process and its own
 * redis-server with an append-only file.
 */
describe('the chaos run (./scripts/chaos, 10k orders, one kill -9, one Redis crash)', () => {
  it('loses nothing, applies nothing twice and ends with every total exact', async () => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `pnpm exec nest build` (./scripts/test does) first');
    const reportPath = join(mkdtempSync(join(tmpdir(), 'op-chaos-spec-')), 'report.json');
    const args = ['--orders', '10000', '--kills', '1', '--redis-outage-seconds', '3', '--timeout-seconds', '120'];
    const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(ROOT, 'scripts', 'tools', 'chaos.ts'), ...args, '--report', reportPath],
        // Ended (it stops its app, emulator and Redis on SIGTERM) before jest's own limit, so
        // a run that hangs reports its output instead of leaving its processes behind.
        { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 165_000, killSignal: 'SIGTERM' },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, output: `${stdout}\n${stderr}` }),
      );
    });
    if (!existsSync(reportPath)) throw new Error(`the chaos tool wrote no report:\n${run.output}`);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as ChaosReport;
    rmSync(join(reportPath, '..'), { recursive: true, force: true });

    expect({ error: report.error, mismatches: report.mismatches.slice(0, 10) }).toEqual({
      error: null,
      mismatches: [],
    });
    expect(report).toMatchObject({
      sent: 10000,
      kills: 1,
      redis_outages: 1,
      not_ready_during_outage: true,
      lost: 0,
      double_applied: 0,
      dead_lettered: 0,
      left_in_queue: 0,
      final_exit_code: 0,
      ok: true,
    });
    expect(run.code).toBe(0);
  }, 180_000);
});
