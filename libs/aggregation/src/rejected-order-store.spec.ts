import { loadConfig } from '@order-pipeline/config';
import type { RedisService } from '@order-pipeline/redis';
import { RejectedOrderStore } from './rejected-order-store';

/** The calls the reprocess lease makes, with a SET that times out as it does while Redis stalls. */
function stallingRedis(): { service: RedisService; sets: string[]; releases: string[] } {
  const sets: string[] = [];
  const releases: string[] = [];
  const client = {
    set: (_key: string, token: string) => {
      sets.push(token);
      return Promise.reject(new Error('Command timed out'));
    },
    eval: (_script: string, _keys: number, _key: string, token: string) => {
      releases.push(token);
      return Promise.resolve(0);
    },
  };
  const service = { keyPrefix: 'op', client, defineScript: () => () => Promise.resolve(0) };
  return { service: service as unknown as RedisService, sets, releases };
}

describe('RejectedOrderStore reprocess lease', () => {
  it('gives back a lease whose SET failed (it may still run when Redis answers), and still fails', async () => {
    const redis = stallingRedis();
    const store = new RejectedOrderStore(redis.service, loadConfig({}));
    await expect(store.leaseReprocess('ORD-1', 120_000)).rejects.toThrow('Command timed out');
    expect(redis.releases).toEqual(redis.sets);
    expect(redis.sets).toHaveLength(1);
  });
});
