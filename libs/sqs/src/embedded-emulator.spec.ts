import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startEmbeddedEmulator, type EmulatorRequest } from './embedded-emulator';

const REQUEST: EmulatorRequest = {
  port: 0,
  host: '127.0.0.1',
  dataDir: '',
  queue: { name: 'q', attributes: {} },
  dlq: { name: 'q-dlq', attributes: {} },
  maxReceiveCount: 5,
};

describe('startEmbeddedEmulator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A worker script of the given body, standing in for the emulator's. */
  const worker = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };

  it('gives up on a thread that never says it is ready, and ends it', async () => {
    // Keeps its thread alive and says nothing; were it not ended, jest would wait on it.
    const silent = worker('silent.js', 'setInterval(() => undefined, 1000);');
    const terminate = jest.spyOn(Worker.prototype, 'terminate');
    await expect(startEmbeddedEmulator(REQUEST, { workerPath: silent, readyTimeoutMs: 200 })).rejects.toThrow(
      'the embedded SQS emulator did not start within 0.2 s',
    );
    expect(terminate).toHaveBeenCalledTimes(1);
    terminate.mockRestore();
  });

  it("passes on the thread's own reason when it cannot start", async () => {
    const failing = worker(
      'failing.js',
      "require('node:worker_threads').parentPort.postMessage({ type: 'failed', message: 'port 4566 is in use' });" +
        'setInterval(() => undefined, 1000);',
    );
    await expect(startEmbeddedEmulator(REQUEST, { workerPath: failing, readyTimeoutMs: 5_000 })).rejects.toThrow(
      'port 4566 is in use',
    );
  });
});
