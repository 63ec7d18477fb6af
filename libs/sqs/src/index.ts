export { OrderQueueModule } from './order-queue.module';
export { QueueHealth } from './queue-health';
export type { QueueDepth } from './queue-health';
export { SampleDataLoader } from './sample-data-loader';
export { OrderBatchHandler } from './order-batch-handler';
export { QUEUE_TARGET } from './queue-target';
export type { QueueTarget } from './queue-target';
