import { loadConfig } from '@order-pipeline/config';
import { MetricsRegistry } from '@order-pipeline/observability';
import { RedisMetrics } from '../../libs/observability/src/redis-metrics';
import { RedisService } from '@order-pipeline/redis';
import { e2eRedisUrl } from '../support/test-app';

/** order_pipeline_redis_command_errors_total on a real Redis: what counts as a failed command, and how often. */
describe('Redis command error counter', () => {
  let redis: RedisService;
  let metrics: MetricsRegistry;
  const prefix = `rm${Date.now()}`;

  beforeAll(() => {
    redis = new RedisService(loadConfig({ REDIS_URL: e2eRedisUrl(), REDIS_KEY_PREFIX: prefix }));
    metrics = new MetricsRegistry();
    new RedisMetrics(redis, metrics).onModuleInit();
  });

  afterAll(async () => {
    await redis.client.del(`${prefix}:text`, `${prefix}:string`);
    await redis.onApplicationShutdown();
  });

  const failed = async (command: string): Promise<number> => {
    const text = await metrics.render();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`order_pipeline_redis_command_errors_total{command="${command}"}`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };

  it('counts a command answered with an error once, by its name', async () => {
    await redis.client.set(`${prefix}:text`, 'a');
    await expect(redis.client.incr(`${prefix}:text`)).rejects.toThrow(/not an integer/);
    expect(await failed('incr')).toBe(1);
  });

  it('counts a failed command of a pipeline (RedisService.readAll) once', async () => {
    await redis.client.set(`${prefix}:string`, 'a');
    await expect(redis.readAll([['zcard', `${prefix}:string`]])).rejects.toThrow(/WRONGTYPE/);
    expect(await failed('zcard')).toBe(1);
  });

  it('leaves successful commands and NOSCRIPT answers (ioredis sends the script again) uncounted', async () => {
    await redis.client.get(`${prefix}:text`);
    await expect(redis.client.evalsha('0'.repeat(40), 0)).rejects.toThrow(/NOSCRIPT/);
    expect(await failed('get')).toBe(0);
    expect(await failed('evalsha')).toBe(0);
  });
});
