import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ChangeMessageVisibilityBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { ProcessingService, isFinal, type Outcome } from '@order-pipeline/processing';

import { RedisService } from '@order-pipeline/redis';
import { ConsumptionGate } from './consumption-gate';
import { QUEUE_TARGET, type QueueTarget } from './queue-target';
import { originalMessageId } from './dead-letter-queue';
import { ReceiveLimit } from './redrive-policy';

/** Longest a message waits before its next delivery after a transient failure (seconds). */
const MAX_BACKOFF_SECONDS = 900;

const NO_OUTCOME: Outcome = { messageId: '', kind: 'retry', error: 'no outcome was reached' };

/**
 * The adapter between sqs-consumer and ProcessingService. It returns exactly the
 * messages that reached a final outcome: sqs-consumer 11 deletes the *whole batch*
 * when a batch handler returns anything but an array, so this always returns one
 * (possibly empty) and never throws. Messages left for retry get a visibility backoff
 * (SQS_RETRY_BACKOFF_SECONDS doubled per receive, at most 900 s); SQS dead-letters
 * them after the queue's maxReceiveCount receives (its redrive policy). A batch in which
 * nothing reached a final outcome pauses the receives, and one with any message left for
 * retry while Redis looked ready holds them until every part of Redis answers
 * (ConsumptionGate); a batch received
 * or still held while the app shuts down is released (made visible again at once) for
 * another consumer.
 */
@Injectable()
export class OrderBatchHandler implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderBatchHandler.name);
  private openBatches = 0;

  constructor(
    private readonly processing: ProcessingService,
    private readonly redis: RedisService,
    private readonly gate: ConsumptionGate,
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly receiveLimit: ReceiveLimit,
  ) {}

  /** The gate's probe after a batch failed in part (ConsumptionGate.suspectRedis). */
  private readonly redisAnswers = (): Promise<boolean> => this.processing.redisAnswersEverywhere();

  async handle(messages: Message[]): Promise<Message[]> {
    // Counted first: sqs-consumer answers every handler call with one 'response_processed'.
    this.openBatches += 1;
    try {
      // A receive that returns while the app shuts down: release its messages at once
      // rather than start work that may not finish.
      if (this.gate.closed.aborted) return await this.release(messages);
      // Through a short Redis outage, hold the batch (its messages stay invisible, the
      // heartbeat keeps them so, and no receive is spent) for up to half the visibility
      // timeout before giving up on it; a shutdown ends the hold and releases the batch.
      const visibilityMs = this.config.sqs.visibilityTimeoutSeconds * 1000;
      const ready = await this.redis.waitUntilReady(visibilityMs / 2, this.gate.closed);
      if (!ready && this.gate.closed.aborted) return await this.release(messages);
      const outcomes = await this.processing.processBatch(
        messages.map((m) => {
          const receiveCount = Number(m.Attributes?.ApproximateReceiveCount ?? 1);
          return {
            // A redriven message is processed under the id it was first known by.
            id: originalMessageId(m) ?? m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            receiveCount,
            redeliverable: this.receiveLimit.allowsAnotherReceive(receiveCount),
          };
        }),
      );
      const retry = messages.flatMap((message, i) => {
        const outcome = outcomes[i] ?? NO_OUTCOME;
        return isFinal(outcome) ? [] : [{ message, after: outcome.retryAfterSeconds }];
      });
      // A planned wait (an order deferred for the quality guard) is not a failure.
      const failed = outcomes.filter((o) => o.kind === 'retry' && o.retryAfterSeconds === undefined).length;
      const firstRetry = outcomes.find((o) => o.kind === 'retry' && o.retryAfterSeconds === undefined);
      if (firstRetry) {
        this.logger.warn(
          `${failed} of ${messages.length} messages left for redelivery: ${firstRetry.error ?? 'unknown error'}`,
        );
      }
      await this.backOff(retry);
      if (failed > 0 && ready) this.gate.suspectRedis(this.redisAnswers);
      if (failed === messages.length && ready) this.gate.batchFailed();
      else this.gate.batchProgressed();
      return messages.filter((m) => !retry.some((r) => r.message === m));
    } catch (error) {
      this.logger.error(
        `batch of ${messages.length} not acknowledged: ${error instanceof Error ? error.message : String(error)}`,
      );
      return [];
    }
  }

  /** Makes the messages visible again at once (nothing of them was applied); acknowledges none. */
  private async release(messages: Message[]): Promise<Message[]> {
    if (messages.length === 0) return [];
    try {
      await this.target.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.target.queueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle ?? '',
            VisibilityTimeout: 0,
          })),
        }),
      );
      this.logger.log(`released ${messages.length} messages received during shutdown`);
    } catch (error) {
      // Their visibility timeout brings them back instead.
      this.logger.warn(`release failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return [];
  }

  /** Each message comes back after its planned wait, or after the failure backoff. */
  private async backOff(messages: readonly { message: Message; after: number | undefined }[]): Promise<void> {
    if (messages.length === 0) return;
    const entries = messages.map(({ message: m, after }, i) => {
      const receives = Number(m.Attributes?.ApproximateReceiveCount ?? 1);
      return {
        Id: String(i),
        ReceiptHandle: m.ReceiptHandle ?? '',
        VisibilityTimeout:
          after ?? Math.min(MAX_BACKOFF_SECONDS, this.config.sqs.retryBackoffSeconds * 2 ** Math.min(receives - 1, 16)),
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

  /** sqs-consumer has finished a response: the batch's deletes are done (or failed). */
  batchSettled(): void {
    this.openBatches -= 1;
    if (this.openBatches < 0) {
      this.logger.warn('a batch settled that was never opened; counting from zero again');
      this.openBatches = 0;
    }
  }

  /**
   * Shutdown: the consumers were told to stop (SqsService.onModuleDestroy), but a batch may
   * still be handled, and sqs-consumer deletes its final messages only after `handle`
   * returns. Wait (at most SHUTDOWN_GRACE_SECONDS) until every open batch has settled
   * ('response_processed') before the SQS client and Redis close, so acknowledged work is
   * not redelivered. A receive still long-polling is abandoned; if it returns messages
   * they are released. A batch that outlives the grace period is not acknowledged: its
   * messages come back after their visibility timeout (a duplicate at worst, never a loss).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.gate.close();
    const deadline = Date.now() + this.config.shutdownGraceSeconds * 1000;
    while (this.openBatches > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (this.openBatches > 0) {
      this.logger.warn(
        `${this.openBatches} batches still open after the grace period: not waited for; the messages they do not acknowledge come back after their visibility timeout`,
      );
    }
  }
}
