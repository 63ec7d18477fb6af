import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { PipelineMetrics } from '@order-pipeline/processing';
import { RedisService } from '@order-pipeline/redis';
import { QueueHealth } from '@order-pipeline/sqs';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly redis: RedisService,
    private readonly queue: QueueHealth,
    private readonly metrics: PipelineMetrics,
  ) {}

  @Get('health/live')
  @HttpCode(200)
  @ApiOperation({ summary: 'The process is up' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  @ApiOperation({ summary: 'Ready when Redis and the queue both answer' })
  @ApiOkResponse({ description: '{"status":"ok","redis":"up","queue":"up"}' })
  @ApiServiceUnavailableResponse({ description: 'Redis or the queue does not answer.' })
  async ready(@Res({ passthrough: true }) res: Response): Promise<{ status: string; redis: string; queue: string }> {
    const [redis, queue] = await Promise.all([this.redis.isHealthy(), this.queue.isHealthy()]);
    const ok = redis && queue;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', redis: redis ? 'up' : 'down', queue: queue ? 'up' : 'down' };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  @ApiOperation({ summary: 'Prometheus metrics: messages by outcome, batches, flagged orders' })
  render(): string {
    return this.metrics.render();
  }
}
