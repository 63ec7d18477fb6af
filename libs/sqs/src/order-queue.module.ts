import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SqsModule } from '@ssut/nestjs-sqs';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { ObservabilityModule } from '@order-pipeline/observability';
import { ProcessingModule } from '@order-pipeline/processing';
import { ConsumptionGate, ConsumptionGateModule } from './consumption-gate';
import { OrderBatchHandler } from './order-batch-handler';
import { ORDER_CONSUMERS, consumerName } from './order-consumers';
import { QUEUE_TARGET, openQueueTarget, type QueueTarget } from './queue-target';
import { SampleDataLoader } from './sample-data-loader';
import { QueueHealth } from './queue-health';
import { DeadLetterQueue, ORIGINAL_MESSAGE_ID } from './dead-letter-queue';
import { QueueMetrics } from './queue-metrics';
import { ReceiveLimit } from './redrive-policy';

/** Opens the queue target once; shared by the consumers, the loader and health. */
@Module({
  providers: [{ provide: QUEUE_TARGET, inject: [APP_CONFIG], useFactory: openQueueTarget }],
  exports: [QUEUE_TARGET],
})
class QueueTargetModule implements OnApplicationShutdown {
  constructor(@Inject(QUEUE_TARGET) private readonly target: QueueTarget) {}

  async onApplicationShutdown(): Promise<void> {
    await this.target.close();
  }
}

/**
 * Consumes the orders queue with @ssut/nestjs-sqs in batch mode: SQS_CONSUMER_CONCURRENCY
 * consumers, each receiving up to SQS_BATCH_SIZE messages with long polling, gated by
 * ConsumptionGate, with a visibility heartbeat while a batch is handled.
 */
@Module({
  imports: [
    QueueTargetModule,
    ConsumptionGateModule,
    ProcessingModule,
    ObservabilityModule,
    SqsModule.registerAsync({
      imports: [QueueTargetModule, ConsumptionGateModule],
      inject: [APP_CONFIG, QUEUE_TARGET, ConsumptionGate],
      useFactory: (config: AppConfig, target: QueueTarget, gate: ConsumptionGate) => ({
        consumers: Array.from({ length: config.sqs.consumerConcurrency }, (_, i) => ({
          name: consumerName(i),
          queueUrl: target.queueUrl,
          sqs: target.client,
          batchSize: config.sqs.batchSize,
          waitTimeSeconds: config.sqs.waitTimeSeconds,
          visibilityTimeout: config.sqs.visibilityTimeoutSeconds,
          // While a batch is handled, its messages' visibility is set back to the full
          // timeout every SQS_HEARTBEAT_SECONDS: a long batch is not delivered twice.
          ...(config.sqs.heartbeatSeconds > 0 ? { heartbeatInterval: config.sqs.heartbeatSeconds } : {}),
          // No receive while Redis is away or after batches that all failed: no spinning.
          preReceiveMessageCallback: () => gate.beforeReceive(),
          // A receive that answered ends a run of failed ones (their pause: ConsumptionGate).
          postReceiveMessageCallback: () => Promise.resolve(gate.receiveSucceeded()),
          // SentTimestamp feeds the queue-wait metrics; a redriven message carries the id it
          // was first known by (dead-letter-queue.ts).
          messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          messageAttributeNames: [ORIGINAL_MESSAGE_ID],
          pollingWaitTimeMs: 0,
          // sqs-consumer warns that it may break a FIFO group's order, with a bare console.log
          // among the JSON log lines. Totals are sums and each order is claimed by its id, so
          // they do not depend on arrival order: a FIFO queue is consumed like any other.
          suppressFifoWarning: true,
          // Stop without aborting: deletes of batches still finishing must go out.
          stopOptions: { abort: false },
        })),
      }),
    }),
  ],
  providers: [
    OrderBatchHandler,
    ReceiveLimit,
    ...ORDER_CONSUMERS,
    SampleDataLoader,
    QueueHealth,
    DeadLetterQueue,
    QueueMetrics,
  ],
  exports: [QueueHealth, SampleDataLoader, DeadLetterQueue],
})
export class OrderQueueModule {}
