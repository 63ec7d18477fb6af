import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ChangeMessageVisibilityBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { ProcessingService, isFinal } from '@order-pipeline/processing';
import { RedisService } from '@order-pipeline/redis';
import { QUEUE_TARGET, type QueueTarget } from './queue-target';

/** Longest a message waits before its next delivery after a transient failure (seconds). */
const MAX_BACKOFF_SECONDS = 900;

/**
 * The adapter between sqs-consumer and ProcessingService. It returns exactly the
 * messages that reached a final outcome: sqs-consumer 11 deletes the *whole batch*
 * when a batch handler returns anything but an array, so this always returns one
 * (possibly empty) and never throws. Messages left for retry get a visibility backoff
 * (SQS_RETRY_BACKOFF_SECONDS doubled per receive, at most 900 s); SQS dead-letters
 * them after SQS_MAX_RECEIVE_COUNT receives.
 */
@Injectable()
export class OrderBatchHandler implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderBatchHandler.name);
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly processing: ProcessingService,
    private readonly redis: RedisService,
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  handle(messages: Message[]): Promise<Message[]> {
    const work = this.process(messages);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  private async process(messages: Message[]): Promise<Message[]> {
    try {
      // Through a short Redis outage, hold the batch (its messages stay invisible and no
      // receive is spent) for up to half the visibility timeout before giving up on it.
      await this.redis.waitUntilReady((this.config.sqs.visibilityTimeoutSeconds * 1000) / 2);
      const outcomes = await this.processing.processBatch(
        messages.map((m) => ({
          id: m.MessageId ?? m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
        })),
      );
      const retry = messages.filter((_, i) => !isFinal(outcomes[i] ?? { messageId: '', kind: 'retry' }));
      const firstRetry = outcomes.find((o) => o.kind === 'retry');
      if (firstRetry) {
        this.logger.warn(
          `${retry.length} of ${messages.length} messages left for redelivery: ${firstRetry.error ?? 'unknown error'}`,
        );
      }
      await this.backOff(retry);
      return messages.filter((m) => !retry.includes(m));
    } catch (error) {
      this.logger.error(
        `batch of ${messages.length} not acknowledged: ${error instanceof Error ? error.message : String(error)}`,
      );
      return [];
    }
  }

  private async backOff(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const entries = messages.map((m, i) => {
      const receives = Number(m.Attributes?.ApproximateReceiveCount ?? 1);
      return {
        Id: String(i),
        ReceiptHandle: m.ReceiptHandle ?? '',
        VisibilityTimeout: Math.min(
          MAX_BACKOFF_SECONDS,
          this.config.sqs.retryBackoffSeconds * 2 ** Math.min(receives - 1, 16),
        ),
      };
    });
    try {
      await this.target.client.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.target.queueUrl, Entries: entries }),
      );
    } catch (error) {
      // The visibility timeout already in force still brings the messages back.
      this.logger.warn(`visibility backoff failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Lets batches in flight finish (and their outcomes be stored) before Redis closes. */
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
  }
}
