import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { KeySchema } from '@order-pipeline/aggregation';
import { RedisService } from '@order-pipeline/redis';
import { QUEUE_TARGET, type QueueTarget } from './queue-target';

/**
 * With LOAD_SAMPLE_DATA=true, sends the sample file (one message per non-empty line)
 * to the queue once per distinct file content: a restart does not send it again. The
 * marker is written only after every message went out, so a failed send is retried at
 * the next start.
 */
@Injectable()
export class SampleDataLoader implements OnApplicationBootstrap {
  private readonly logger = new Logger(SampleDataLoader.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    private readonly redis: RedisService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.sampleData.load) return;
    this.load().catch((error: unknown) =>
      this.logger.error(`sample data not loaded: ${error instanceof Error ? error.message : String(error)}`),
    );
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
    let sent = 0;
    let failed = 0;
    for (let i = 0; i < batches.length; i += 8) {
      const results = await Promise.all(
        batches.slice(i, i + 8).map((batch) =>
          this.target.client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.target.queueUrl,
              Entries: batch.map((body, j) => ({ Id: String(j), MessageBody: body })),
            }),
          ),
        ),
      );
      sent += results.reduce((n, r) => n + (r.Successful?.length ?? 0), 0);
      failed += results.reduce((n, r) => n + (r.Failed?.length ?? 0), 0);
    }
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
