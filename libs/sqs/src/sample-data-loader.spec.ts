import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { AppConfig } from '@order-pipeline/config';
import type { RedisService } from '@order-pipeline/redis';
import type { QueueTarget } from './queue-target';
import { SampleDataLoader } from './sample-data-loader';

/** A loader over a sample of `lines`, a queue that refuses the first `failures` sends, and a Redis with no marker yet. */
function loaderFor(lines: string[], failures: number, file?: string) {
  const path = file ?? join(mkdtempSync(join(tmpdir(), 'op-sample-')), 'sample.ndjson');
  if (file === undefined) writeFileSync(path, `${lines.join('\n')}\n`);
  let refused = 0;
  const sent: string[] = [];
  const send = jest.fn((command: SendMessageBatchCommand) => {
    if (refused < failures) {
      refused += 1;
      return Promise.reject(new Error('The specified queue does not exist.'));
    }
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
