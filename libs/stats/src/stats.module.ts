import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { AggregationModule } from '@order-pipeline/aggregation';
import { ObservabilityModule } from '@order-pipeline/observability';
import { ProcessingModule } from '@order-pipeline/processing';
import { QualityGuardModule } from '@order-pipeline/quality-guard';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { AdminController } from './admin.controller';
import { AdminRateLimitGuard, ApiKeyGuard } from './api-keys';
import { HealthController, MetricsController } from './health.controller';
import { OrdersController } from './orders.controller';
import { QualityGuardController } from './quality-guard.controller';
import { StatsController } from './stats.controller';

/**
 * The HTTP side: statistics, order outcomes, health, metrics and the admin tools, behind
 * the API-key check and the admin rate limit.
 */
@Module({
  imports: [
    AggregationModule,
    ProcessingModule,
    OrderQueueModule,
    QualityGuardModule,
    ObservabilityModule,
    // A failing readiness check is answered with its report (503); no extra error log line.
    TerminusModule.forRoot({ logger: false }),
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      // Named 'default' so the headers are the standard Retry-After and X-RateLimit-* (another
      // name is appended to them); the guard runs on admin routes only (AdminRateLimitGuard).
      useFactory: (config: AppConfig) => ({
        throttlers: [{ name: 'default', ttl: 60_000, limit: config.http.adminRateLimitPerMinute }],
        errorMessage: (_context, detail) =>
          `too many admin requests or wrong API keys: at most ${detail.limit} a minute from one address (ADMIN_RATE_LIMIT_PER_MINUTE); retry in ${detail.timeToBlockExpire} s`,
      }),
    }),
  ],
  // One global guard: the key check, which runs the admin rate limit first on admin routes.
  providers: [AdminRateLimitGuard, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  controllers: [
    StatsController,
    OrdersController,
    HealthController,
    MetricsController,
    AdminController,
    QualityGuardController,
  ],
})
export class StatsModule {}
