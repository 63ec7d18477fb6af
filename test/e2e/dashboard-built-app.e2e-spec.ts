import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess } from '../support/processes';
import { eventually, e2eRedisUrl } from '../support/test-app';

const MAIN = join(__dirname, '..', '..', 'dist', 'apps', 'order-pipeline', 'src', 'main.js');

describe('the dashboard of the built app', () => {
  let child: ChildProcess | undefined;
  let base: string;
  let output = '';
  let cwd: string | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN))
      throw new Error('dist/ is missing: run `pnpm build` (./scripts/test does) before the e2e specs');
    const port = await freePort();
    cwd = mkdtempSync(join(tmpdir(), 'op-dashboard-cwd-'));
    // Started from an unrelated directory: the page's files must be found beside the build.
    child = spawn(process.execPath, [MAIN], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        REDIS_URL: e2eRedisUrl(),
        REDIS_KEY_PREFIX: `dash${Date.now()}`,
        SQS_EMULATOR_PORT: String(await freePort()),
        SQS_DATA_DIR: join(cwd, 'sqs'),
        SQS_WAIT_TIME_SECONDS: '1',
      },
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    base = `http://127.0.0.1:${port}`;
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) => reject(new Error(`the app exited (${code}) before it answered:\n${output}`))),
    );
    exited.catch(() => undefined); // also stopped on purpose in afterAll
    await Promise.race([eventually(async () => (await fetch(`${base}/health/live`)).ok, 60_000, 100), exited]);
  }, 90_000);

  afterAll(async () => {
    if (child) await stopProcess(child);
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('serves the page and every asset it links, from any working directory', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    const links = [...(await page.text()).matchAll(/(?:src|href)="(dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(links).toHaveLength(4);
    const answers = await Promise.all(
      links.map(async (link) => {
        const res = await fetch(`${base}/${link}`);
        return [link?.replace(/\?v=.*$/, ''), res.status, res.headers.get('content-type')];
      }),
    );
    expect(answers).toEqual([
      ['dashboard/assets/uPlot.min.css', 200, 'text/css; charset=utf-8'],
      ['dashboard/assets/dashboard.css', 200, 'text/css; charset=utf-8'],
      ['dashboard/assets/uPlot.iife.min.js', 200, 'text/javascript; charset=utf-8'],
      ['dashboard/assets/dashboard.js', 200, 'text/javascript; charset=utf-8'],
    ]);
  });
});
