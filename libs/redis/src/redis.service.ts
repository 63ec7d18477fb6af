import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A Lua script run with EVALSHA (falling back to EVAL), on a single Redis or a Cluster. */
export type ScriptRunner<R> = (keys: readonly string[], args: readonly (string | number)[]) => Promise<R>;

/**
 * Owns the one ioredis connection of the process (standalone or Cluster), script
 * registration and the health probe. Commands fail fast while Redis is away (callers
 * turn that into a retryable outcome) instead of queueing without bound.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis | Cluster;
  readonly keyPrefix: string;
  private scriptCount = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const options: RedisOptions = {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      lazyConnect: false,
    };
    this.keyPrefix = config.redis.keyPrefix;
    if (config.redis.cluster) {
      const seed = new URL(config.redis.url);
      this.client = new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
        enableAutoPipelining: true,
        redisOptions: {
          ...options,
          password: seed.password || undefined,
          username: seed.username || undefined,
          ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
        },
      });
    } else {
      this.client = new Redis(config.redis.url, options);
    }
    // One line per outage, not one per reconnection attempt.
    let down = false;
    this.client.on('error', (error: Error) => {
      if (!down) this.logger.warn(`redis unavailable (${error.message}); retrying`);
      down = true;
    });
    this.client.on('ready', () => {
      if (down) this.logger.log('redis is back');
      down = false;
    });
  }

  /**
   * Registers a script once; the returned function runs it with the given keys and
   * arguments. `numberOfKeys` 'variable' lets each call pass any number of keys.
   */
  defineScript<R>(lua: string, numberOfKeys: number | 'variable'): ScriptRunner<R> {
    const name = `opScript${++this.scriptCount}`;
    this.client.defineCommand(name, numberOfKeys === 'variable' ? { lua } : { lua, numberOfKeys });
    const client = this.client as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>;
    return (keys, args) => {
      const command = client[name];
      if (!command) throw new Error(`script ${name} is not registered`);
      if (numberOfKeys === 'variable') return command.call(this.client, keys.length, ...keys, ...args);
      if (keys.length !== numberOfKeys)
        throw new Error(`script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
      return command.call(this.client, ...keys, ...args);
    };
  }

  /**
   * Resolves true as soon as the connection is ready, or false after `timeoutMs`.
   * Lets a consumer hold a batch through a short outage instead of spending a receive.
   */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.client.status !== 'ready') {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  /** True when Redis answers PING within the timeout. */
  async isHealthy(timeoutMs = 1_000): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    const ping = this.client.ping().then(
      (answer) => answer === 'PONG',
      () => false,
    );
    return Promise.race([ping, timeout]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
