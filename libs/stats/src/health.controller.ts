import { Controller, Get, Header, type OnModuleDestroy, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { Response } from 'express';
import { MetricsRegistry } from '@order-pipeline/observability';
import { QualityGuard } from '@order-pipeline/quality-guard';
import { RedisService } from '@order-pipeline/redis';
import { QueueHealth } from '@order-pipeline/sqs';
import { PublicRoute, ReadRoute } from './api-keys';

const READY_EXAMPLE = {
  status: 'ok',
  info: {
    process: { status: 'up' },
    redis: { status: 'up' },
    queue: { status: 'up', visible: 0, in_flight: 0, delayed: 0 },
    quality_guard: {
      status: 'up',
      mode: 'offline',
      model: null,
      breaker: 'closed',
      on_unavailable: 'fail-open',
      healthy: true,
      impaired: false,
    },
  },
  error: {},
  details: {},
};

const REDIS_DOWN = { status: 'down', message: 'not connected: connect ECONNREFUSED 127.0.0.1:6379' };
const NOT_READY_EXAMPLE = {
  status: 'error',
  info: {
    process: READY_EXAMPLE.info.process,
    queue: READY_EXAMPLE.info.queue,
    quality_guard: READY_EXAMPLE.info.quality_guard,
  },
  error: { redis: REDIS_DOWN },
  details: { ...READY_EXAMPLE.info, redis: REDIS_DOWN },
};

/** One check of a report: up or down, and what it adds (why it is down, queue depths, the guard's state). */
const CHECKS_SCHEMA = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/**
 * The health report (@nestjs/terminus's shape, which probes and load balancers read): the
 * checks that passed in `info`, those that failed in `error`, all of them in `details`.
 * Not the API's error shape, on purpose: a 503 here is a report, not a refused request.
 */
const healthReport = (example: object): Record<string, unknown> => ({
  type: 'object',
  required: ['status', 'info', 'error', 'details'],
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: CHECKS_SCHEMA,
    error: CHECKS_SCHEMA,
    details: CHECKS_SCHEMA,
  },
  example,
});

/**
 * Liveness and readiness (@nestjs/terminus). Ready means Redis answers PING within 1 s and
 * the orders queue answers GetQueueAttributes within 2 s. The quality guard is reported
 * (its status() when it has one) but never makes the app unready: without the model it
 * still decides (fail-open or hold), and the read API does not need it.
 */
@ApiTags('operations')
@PublicRoute()
@Controller('health')
export class HealthController implements OnModuleDestroy {
  /** Set when the shutdown starts: batches in flight are finishing, new work should go elsewhere. */
  private stopping = false;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly queue: QueueHealth,
    private readonly guard: QualityGuard,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP (checks nothing else)' })
  @ApiOkResponse({ schema: healthReport({ status: 'ok', info: {}, error: {}, details: {} }) })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * The first shutdown step (Nest's destroy hooks run before the drain and before the HTTP
   * server closes): from here on readiness answers 503, so a load balancer stops sending
   * requests while the batches in flight finish and the API still answers.
   */
  onModuleDestroy(): void {
    this.stopping = true;
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: Redis and the orders queue answer; quality guard details' })
  @ApiOkResponse({ schema: healthReport(READY_EXAMPLE) })
  @ApiServiceUnavailableResponse({
    description:
      'Redis or the queue does not answer, or the app is shutting down; `error` names which, with a `message` saying why. The same report as the 200, not the error shape of the other routes.',
    schema: healthReport(NOT_READY_EXAMPLE),
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.running(),
        () => this.redisUp(),
        () => this.queueUp(),
        () => this.guardState(),
      ]);
    } catch (error) {
      // Terminus answers 503 with the full report; keep the report as the body.
      if (error instanceof ServiceUnavailableException) {
        res.status(503);
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }

  private running(): HealthIndicatorResult {
    const check = this.indicators.check('process');
    return this.stopping ? check.down({ message: 'shutting down: batches in flight are finishing' }) : check.up();
  }

  private async redisUp(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('redis');
    if (await this.redis.isHealthy(1_000)) return check.up();
    const down = this.redis.downReason;
    return check.down({ message: down === undefined ? 'no answer to PING within 1 s' : `not connected: ${down}` });
  }

  private async queueUp(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('queue');
    try {
      return check.up({ ...(await this.queue.depth(2_000)) });
    } catch (error) {
      return check.down({
        message: `GetQueueAttributes failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  /** The guard's status, with `impaired: true` while its breaker is open (still up: see above). */
  private guardState(): HealthIndicatorResult {
    const status = this.guard.status();
    return this.indicators.check('quality_guard').up({ ...status, impaired: !status.healthy });
  }
}

/** Prometheus metrics of this process (prom-client registry of the app). */
@ApiTags('operations')
@ReadRoute({ readsRedis: false })
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Messages by outcome and reason, batch latency and size histograms, in-flight messages, queue and dead-letter depth, oldest message age, Redis errors, quality guard counters and state, Node.js process metrics. Needs READ_API_KEY when it is set.',
  })
  @ApiOkResponse({
    description: 'Prometheus text exposition format.',
    content: {
      'text/plain': { schema: { type: 'string', example: 'order_pipeline_messages_total{outcome="accepted"} 1830' } },
    },
  })
  render(): Promise<string> {
    return this.metrics.render();
  }
}
