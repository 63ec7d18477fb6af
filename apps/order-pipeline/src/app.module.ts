import { Module } from '@nestjs/common';
import { ConfigModule } from '@order-pipeline/config';
import { DashboardModule } from '@order-pipeline/dashboard';
import { LoggingModule, ObservabilityModule } from '@order-pipeline/observability';
import { RedisModule } from '@order-pipeline/redis';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { StatsModule } from '@order-pipeline/stats';
import { ClosingConnections } from './closing-connections';

/**
 * Wiring: configuration, logs and metrics, Redis, the queue consumer, the HTTP API and the
 * dashboard; and how the HTTP server lets its connections go at shutdown.
 */
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
  providers: [ClosingConnections],
})
export class AppModule {}
