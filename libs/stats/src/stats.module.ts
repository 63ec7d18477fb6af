import { Module } from '@nestjs/common';
import { AggregationModule } from '@order-pipeline/aggregation';
import { ProcessingModule } from '@order-pipeline/processing';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { HealthController } from './health.controller';
import { OrdersController } from './orders.controller';
import { StatsController } from './stats.controller';

/** The HTTP read side: statistics, order outcomes, health and metrics. */
@Module({
  imports: [AggregationModule, ProcessingModule, OrderQueueModule],
  controllers: [StatsController, OrdersController, HealthController],
})
export class StatsModule {}
