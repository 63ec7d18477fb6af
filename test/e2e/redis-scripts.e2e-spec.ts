import { loadConfig } from '@order-pipeline/config';
import { RedisService } from '@order-pipeline/redis';
import { startRedisServer, type RedisServer } from '../support/processes';

/**
 * Scripts that take a varying number of keys (the ranged top-N) must work whatever else is
 * in flight: a first call with a new key count, issued in the same tick as other commands
 * that ioredis auto-pipelines, once crashed the process ("pipeline[...] is not a function").
 */
describe('RedisService scripts with a variable number of keys', () => {
  // A server of its own: SCRIPT FLUSH below must not reach the specs that run beside it.
  let server: RedisServer;
  let redis: RedisService;
  const prefix = `scripts${Date.now()}`;
  const SUM_LUA = `local n = 0 for i = 1, #KEYS do n = n + (tonumber(redis.call('GET', KEYS[i])) or 0) end return n + tonumber(ARGV[1])`;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix }));
    await redis.client.mset(`{${prefix}}:a`, '1', `{${prefix}}:b`, '2', `{${prefix}}:c`, '3');
  });

  afterAll(async () => {
    await redis.onApplicationShutdown();
    await server.stop();
  });

  const keys = (n: number): string[] => ['a', 'b', 'c'].slice(0, n).map((k) => `{${prefix}}:${k}`);

  it('answers a first call with a new key count sent in the same tick as auto-pipelined commands', async () => {
    const sum = redis.defineScript<number>(SUM_LUA, 'variable');

    const [before, one, two, three] = await Promise.all([
      redis.client.get(`{${prefix}}:a`),
      sum(keys(1), [0]),
      sum(keys(2), [0]),
      sum(keys(3), [10]),
    ]);

    expect([before, one, two, three]).toEqual(['1', 1, 3, 16]);
  });

  it('answers a batch of calls with different key counts, each on its own', async () => {
    const sum = redis.defineScript<number>(SUM_LUA, 'variable');

    const answers = await sum.many([
      { keys: keys(3), args: [0] },
      { keys: keys(1), args: [100] },
    ]);

    expect(answers).toEqual([
      { ok: true, value: 6 },
      { ok: true, value: 101 },
    ]);
  });

  it('still answers after the server forgot its scripts (SCRIPT FLUSH)', async () => {
    const sum = redis.defineScript<number>(SUM_LUA, 'variable');
    await sum(keys(2), [0]);
    await redis.client.script('FLUSH');

    await expect(sum(keys(2), [1])).resolves.toBe(4);
  });
});
