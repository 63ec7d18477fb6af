import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { AppConfig } from '@order-pipeline/config';
import type { RedisService } from '@order-pipeline/redis';
import type { QueueTarget } from './queue-target';
import { SampleDataLoader } from './sample-data-loader';

/** The sample files' directories, removed after the specs. */
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

const missingQueue = (): Error => new Error('The specified queue does not exist.');

/**
 * A loader over a sample of `lines`, a queue that refuses the first `failures` sends (or
 * the sends `refuse` picks by their number, from 1), and a Redis with no marker yet.
 */
function loaderFor(lines: string[], failures: number, file?: string, refuse?: (call: number) => Error | undefined) {
  let path = file;
  if (path === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'op-sample-'));
    scratch.push(dir);
    path = join(dir, 'sample.ndjson');
    writeFileSync(path, `${lines.join('\n')}\n`);
  }
  let calls = 0;
  const sent: string[] = [];
  const send = jest.fn((command: SendMessageBatchCommand) => {
    calls += 1;
    const refusal = refuse ? refuse(calls) : calls <= failures ? missingQueue() : undefined;
    if (refusal !== undefined) return Promise.reject(refusal);
    const entries = command.input.Entries ?? [];
    sent.push(...entries.map((e) => e.MessageBody ?? ''));
    return Promise.resolve({ Successful: entries.map((e) => ({ Id: e.Id })) });
  });
  const markers: string[] = [];
  const redis = {
    keyPrefix: 't',
    waitUntilReady: () => Promise.resolve(true),
    client: {
      exists: () => Promise.resolve(0),
      set: (key: string) => Promise.resolve(markers.push(key)),
    },
  };
  const config = { sampleData: { load: true, file: path } } as unknown as AppConfig;
  const target = { queueUrl: 'http://queue', client: { send } } as unknown as QueueTarget;
  const loader = new SampleDataLoader(config, target, redis as unknown as RedisService);
  loader.retryDelayMs = 5;
  return { loader, sent, send, markers };
}

describe('SampleDataLoader', () => {
  let errors: jest.SpyInstance;

  beforeEach(() => {
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('keeps trying while the queue does not exist, then sends the sample once and marks it loaded', async () => {
    const { loader, sent, markers } = loaderFor(['{"a":1}', '{"b":2}'], 3);
    loader.onApplicationBootstrap();
    await loader.done;
    expect(sent).toEqual(['{"a":1}', '{"b":2}']);
    expect(markers).toEqual([expect.stringContaining('sample-loaded:')]);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('The specified queue does not exist.'));
  });

  it('resumes where a failed try stopped: no batch of the sample is sent twice', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => `{"n":${i}}`);
    const { loader, sent } = loaderFor(lines, 0, undefined, (call) => (call === 2 ? missingQueue() : undefined));
    loader.onApplicationBootstrap();
    await loader.done;
    expect([...sent].sort()).toEqual([...lines].sort());
  });

  it('gives up, with one error, on a refusal that another try would get again', async () => {
    const denied = Object.assign(new Error('Access to the resource is denied.'), {
      name: 'AccessDeniedException',
      $fault: 'client',
    });
    const { loader, send, markers } = loaderFor(['{"a":1}'], 0, undefined, () => denied);
    loader.onApplicationBootstrap();
    await loader.done;
    expect([send.mock.calls.length, markers]).toEqual([1, []]);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('not trying again'));
  });

  it('stops trying when the app stops', async () => {
    const { loader, send } = loaderFor(['{"a":1}'], Number.POSITIVE_INFINITY);
    loader.retryDelayMs = 60_000;
    loader.onApplicationBootstrap();
    await new Promise<void>((resolve) => {
      const check = (): void => (send.mock.calls.length > 0 ? resolve() : void setImmediate(check));
      check();
    });
    loader.onApplicationShutdown();
    await loader.done;
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('gives up at once, with one error naming the variable, when the sample file does not exist', async () => {
    const { loader, send } = loaderFor([], 0, join(tmpdir(), 'no-such-sample.ndjson'));
    loader.onApplicationBootstrap();
    await loader.done;
    expect(send).not.toHaveBeenCalled();
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors).toHaveBeenCalledWith(expect.stringMatching(/ENOENT.*\(SAMPLE_DATA_FILE\)$/));
  });
});
