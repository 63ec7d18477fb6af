import { Module } from '@nestjs/common';
import { AggregationModule } from '@order-pipeline/aggregation';
import { ProcessingModule } from '@order-pipeline/processing';
import { QualityGuardModule } from '@order-pipeline/quality-guard';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { HealthController } from './health.controller';
import { OrdersController } from './orders.controller';
import { QualityGuardController } from './quality-guard.controller';
import { StatsController } from './stats.controller';

/** The HTTP read side: statistics, order outcomes, health and metrics. */
@Module({
  imports: [AggregationModule, ProcessingModule, OrderQueueModule, QualityGuardModule],
  controllers: [StatsController, OrdersController, HealthController, QualityGuardController],
})
export class StatsModule {}
