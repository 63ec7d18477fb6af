import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

  it('refuses --expected naming the orders file, and writes nothing', async () => {
    const out = join(dir, 'same.json');
    const result = await run(['--count', '20', '--out', out, '--expected', out]);
    expect([result.code, existsSync(out)]).toEqual([2, false]);
    expect(result.stderr).toContain('--expected is the same file as --out');
  });

  it('refuses a directory as --expected before writing the orders file', async () => {
    const out = join(dir, 'beside-dir.ndjson');
    const expected = join(dir, 'a-directory');
    mkdirSync(expected);
    const result = await run(['--count', '20', '--out', out, '--expected', expected]);
    expect([result.code, existsSync(out)]).toEqual([2, false]);
    expect(result.stderr).toContain('is a directory');
  });

  it.each([
    [['--order-prefix', 'BAD:'], '--order-prefix may contain letters, digits'],
    [['--order-prefix', 'P'.repeat(61)], '--order-prefix is too long'],
    [['--from', '1969-12-30', '--to', '1969-12-31'], '--from must be 1970-01-01 or later'],
    [['--from', '9999-12-31', '--to', '9999-12-31'], '--to must be 9999-12-30 or earlier'],
    [['--count', '99999999999'], '--count must be an integer from 1 to 300000'],
  ])('refuses %j, which the service could not take, as a usage error', async (args, message) => {
    const out = join(dir, 'refused.ndjson');
    const result = await run(['--out', out, ...args]);
    expect([result.code, existsSync(out)]).toEqual([2, false]);
    expect(result.stderr).toContain(message);
  });

  it('takes the format from the extension when --format is left out', async () => {
    const out = join(dir, 'orders.csv');
    const result = await run(['--count', '20', '--out', out]);
    expect([result.code, existsSync(out), existsSync(`${out}.expected.json`)]).toEqual([0, true, true]);
  });
});
