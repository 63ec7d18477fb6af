export { OrderQueueModule } from './order-queue.module';
export { QueueHealth } from './queue-health';
export type { QueueDepth } from './queue-health';
export { DeadLetterQueue } from './dead-letter-queue';
export type { DeadLetter, DeadLetterPeek, RedriveResult } from './dead-letter-queue';
export { OrderBatchHandler } from './order-batch-handler';
export { ConsumptionGate } from './consumption-gate';
export { QUEUE_TARGET } from './queue-target';
export type { QueueTarget } from './queue-target';
