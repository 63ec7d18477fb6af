import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { KeySchema } from '@order-pipeline/aggregation';
import { RedisService } from '@order-pipeline/redis';
import { QUEUE_TARGET, type QueueTarget } from './queue-target';

/**
 * With LOAD_SAMPLE_DATA=true, sends the sample file (one message per non-empty line)
 * to the queue once per distinct file content: a restart does not send it again. The
 * marker is written only after every message went out, so a failed send is retried at
 * the next start. When the load cannot start (the queue does not exist yet, SQS or Redis
 * does not answer), it is tried again, 1 s doubling to 60 s, until it goes through or the
 * app stops: a queue created after the app must not mean a sample that never arrives.
 */
@Injectable()
export class SampleDataLoader implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SampleDataLoader.name);
  /** The first wait before another try; doubles up to maxRetryDelayMs. */
  retryDelayMs = 1_000;
  maxRetryDelayMs = 60_000;
  private retry: NodeJS.Timeout | undefined;
  /** Settles `done` while a retry waits (the app stopping ends the wait). */
  private waiting: (() => void) | undefined;
  /** What the tries so far sent of the file with this digest. */
  private progress: { digest: string; done: Set<number>; sent: number; failed: number } | undefined;
  private stopped = false;
  /** Settles when the load went through, or when the app stops before it did. */
  done: Promise<void> = Promise.resolve();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    private readonly redis: RedisService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.sampleData.load) return;
    this.done = new Promise((resolve) => this.attempt(this.retryDelayMs, 1, resolve));
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.waiting?.();
  }

  private attempt(delayMs: number, attempt: number, finished: () => void): void {
    this.load().then(finished, (error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      if (this.stopped) return finished();
      if ((error as { code?: unknown }).code === 'ENOENT') {
        // Not something time mends: say so once and stop trying.
        this.logger.error(`sample data not loaded: ${reason} (SAMPLE_DATA_FILE)`);
        return finished();
      }
      if (refusedForGood(error)) {
        this.logger.error(`sample data not loaded: the queue refused it (${reason}); not trying again`);
        return finished();
      }
      // One error line, then quiet retries (a debug line each).
      if (attempt === 1) this.logger.error(`sample data not loaded yet: ${reason}; retrying until it is`);
      else this.logger.debug(`sample data not loaded (try ${attempt}): ${reason}`);
      this.waiting = finished;
      this.retry = setTimeout(() => {
        this.waiting = undefined;
        this.attempt(Math.min(delayMs * 2, this.maxRetryDelayMs), attempt + 1, finished);
      }, delayMs);
      this.retry.unref();
    });
  }

  async load(): Promise<number> {
    const file = this.config.sampleData.file;
    const text = await readFile(file, 'utf8');
    const digest = createHash('sha1').update(text).digest('hex');
    const marker = new KeySchema(this.redis.keyPrefix).meta(`sample-loaded:${digest}`);
    await this.redis.waitUntilReady(30_000);
    if ((await this.redis.client.exists(marker)) === 1) {
      this.logger.log(`sample data ${file} was loaded before; not sending it again`);
      return 0;
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const batches: string[][] = [];
    for (let i = 0; i < lines.length; i += 10) batches.push(lines.slice(i, i + 10));
    // A later try of the same file resumes where this one stopped: a batch that went out is
    // not sent again (its messages would count as duplicate deliveries).
    if (this.progress?.digest !== digest) this.progress = { digest, done: new Set(), sent: 0, failed: 0 };
    const progress = this.progress;
    const pending = batches.map((_, i) => i).filter((i) => !progress.done.has(i));
    for (let g = 0; g < pending.length; g += 8) {
      const group = pending.slice(g, g + 8);
      const results = await Promise.allSettled(
        group.map((i) =>
          this.target.client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.target.queueUrl,
              Entries: (batches[i] ?? []).map((body, j) => ({ Id: String(j), MessageBody: body })),
            }),
          ),
        ),
      );
      let error: Error | undefined;
      results.forEach((result, k) => {
        if (result.status === 'rejected') {
          error ??= result.reason instanceof Error ? result.reason : new Error(String(result.reason));
          return;
        }
        progress.done.add(group[k] ?? -1);
        progress.sent += result.value.Successful?.length ?? 0;
        progress.failed += result.value.Failed?.length ?? 0;
      });
      if (error !== undefined) throw error;
    }
    const { sent, failed } = progress;
    if (failed > 0) {
      // Not marked as loaded: the next start sends the file again (what arrived twice counts once).
      this.logger.warn(`sent ${sent} sample messages from ${file}; ${failed} could not be sent`);
    } else {
      await this.redis.client.set(marker, new Date().toISOString());
      this.logger.log(`sent ${sent} sample messages from ${file}`);
    }
    return sent;
  }
}

/**
 * An SQS answer that another try would get again: a client error (access denied, a message
 * too large, a bad request), other than the queue not existing yet or throttling.
 */
function refusedForGood(error: unknown): boolean {
  const { $fault, name } = (error ?? {}) as { $fault?: unknown; name?: unknown };
  if ($fault !== 'client' || typeof name !== 'string') return false;
  return !/QueueDoesNotExist|NonExistentQueue|Throttl|RequestLimitExceeded|OverLimit/i.test(name);
}
