import { Module } from '@nestjs/common';
import { ConfigModule } from '@order-pipeline/config';
import { DashboardModule } from '@order-pipeline/dashboard';
import { LoggingModule, ObservabilityModule } from '@order-pipeline/observability';
import { RedisModule } from '@order-pipeline/redis';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { StatsModule } from '@order-pipeline/stats';

/** Wiring only: configuration, logs and metrics, Redis, the queue consumer, the HTTP API and the dashboard. */
@Module({
  imports: [
    ConfigModule,
    LoggingModule,
    ObservabilityModule,
    RedisModule,
    OrderQueueModule,
    StatsModule,
    DashboardModule,
  ],
})
export class AppModule {}
