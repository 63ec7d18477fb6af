import { Module } from '@nestjs/common';
import { ConfigModule } from '@order-pipeline/config';
import { DashboardModule } from '@order-pipeline/dashboard';
import { RedisModule } from '@order-pipeline/redis';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { StatsModule } from '@order-pipeline/stats';

/** Wiring only: configuration, Redis, the queue consumer, the HTTP read side and the dashboard. */
@Module({
  imports: [ConfigModule, RedisModule, OrderQueueModule, StatsModule, DashboardModule],
})
export class AppModule {}
