import { Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics-registry';
import { RedisMetrics } from './redis-metrics';

/**
 * The application's Prometheus registry (with Node's default metrics) and the Redis error
 * counters. Other capabilities register their own metrics on MetricsRegistry; the HTTP
 * route GET /metrics renders it.
 */
@Module({
  providers: [MetricsRegistry, RedisMetrics],
  exports: [MetricsRegistry],
})
export class ObservabilityModule {}
