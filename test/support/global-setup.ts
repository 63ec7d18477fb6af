import { startRedisServer, startSqsEmulator } from './processes';

/**
 * Starts one redis-server and one fauxqs emulator for the e2e project and hands their
 * addresses to the workers through the environment. Each spec uses its own queue and
 * key space, so specs never see each other's data.
 */
export default async function globalSetup(): Promise<void> {
  const [redis, sqs] = await Promise.all([startRedisServer(), startSqsEmulator([])]);
  process.env.E2E_REDIS_URL = redis.url;
  process.env.E2E_SQS_ENDPOINT = sqs.endpoint;
  // The AWS SDK reads credentials lazily from the environment (the emulator accepts any).
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  (globalThis as Record<string, unknown>).__E2E_STOP__ = async () => {
    await Promise.all([redis.stop(), sqs.stop()]);
  };
}
