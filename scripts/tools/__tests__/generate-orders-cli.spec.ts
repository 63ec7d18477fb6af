import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(__dirname, '..', 'generate-orders.ts');

/** Runs the generator's CLI with this process's Node; its exit status and stderr. */
function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stderr });
    });
  });
}

describe('generate-orders --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'op-gen-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a file name populate would read as another format, and writes nothing', async () => {
    const out = join(dir, 'orders.ndjson');
    const result = await run(['--count', '20', '--format', 'csv', '--out', out]);
    expect([result.code, existsSync(out)]).toEqual([2, false]);
    expect(result.stderr).toContain('is read as ndjson by ./scripts/populate, but --format is csv');
  });

  it('refuses a file name populate cannot read, and writes nothing', async () => {
    const out = join(dir, 'orders.txt');
    const result = await run(['--count', '20', '--out', out]);
    expect([result.code, existsSync(out)]).toEqual([2, false]);
    expect(result.stderr).toContain('use one of .ndjson, .jsonl, .json, .csv, .xlsx');
  });

  it('takes the format from the extension when --format is left out', async () => {
    const out = join(dir, 'orders.csv');
    const result = await run(['--count', '20', '--out', out]);
    expect([result.code, existsSync(out), existsSync(`${out}.expected.json`)]).toEqual([0, true, true]);
  });
});
