import { Injectable, Logger, type Type } from '@nestjs/common';
import type { Message } from '@aws-sdk/client-sqs';
import { SqsConsumerEventHandler, SqsMessageHandler } from '@ssut/nestjs-sqs';
import { ConsumptionGate } from './consumption-gate';
import { OrderBatchHandler } from './order-batch-handler';

/**
 * One sqs-consumer polls with one receive in flight, and @ssut/nestjs-sqs binds each
 * consumer to the handler carrying its name. To have SQS_CONSUMER_CONCURRENCY receives
 * in flight we register that many consumers, each with a tiny named handler class
 * delegating to the one OrderBatchHandler.
 */
export const MAX_CONSUMERS = 16;
export const consumerName = (index: number): string => `orders-${index}`;

function consumerClass(index: number): Type<unknown> {
  @Injectable()
  class OrdersConsumer {
    private readonly logger = new Logger(`OrdersConsumer${index}`);

    constructor(
      private readonly handler: OrderBatchHandler,
      private readonly gate: ConsumptionGate,
    ) {}

    @SqsMessageHandler(consumerName(index), true)
    handle(messages: Message[]): Promise<Message[]> {
      return this.handler.handle(messages);
    }

    @SqsConsumerEventHandler(consumerName(index), 'error')
    onError(error: Error): void {
      // A failed receive pauses the receives (sqs-consumer itself would poll again at once)
      // and is logged by the gate, once per run of failures.
      if (error.message.startsWith('SQS receive message failed')) this.gate.receiveFailed(error);
      else this.logger.warn(`sqs consumer: ${error.message}`);
    }

    @SqsConsumerEventHandler(consumerName(index), 'response_processed')
    onResponseProcessed(): void {
      this.handler.batchSettled();
    }

    @SqsConsumerEventHandler(consumerName(index), 'processing_error')
    onProcessingError(error: Error): void {
      this.logger.error(`sqs batch: ${error.message}`);
    }
  }
  Object.defineProperty(OrdersConsumer, 'name', { value: `OrdersConsumer${index}` });
  return OrdersConsumer;
}

export const ORDER_CONSUMERS: readonly Type<unknown>[] = Array.from({ length: MAX_CONSUMERS }, (_, i) =>
  consumerClass(i),
);
