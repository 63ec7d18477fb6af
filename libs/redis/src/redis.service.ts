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
      const host = seed.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
      this.client = new Cluster([{ host, port: Number(seed.port || 6379) }], {
        enableAutoPipelining: true,
        // Fail fast while the cluster is away (a retry outcome, a 503) instead of queueing
        // without bound; the batch handler waits for 'ready' before it starts a batch.
        enableOfflineQueue: false,
        clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
        redisOptions: {
          ...options,
          password: seed.password ? decodeURIComponent(seed.password) : undefined,
          username: seed.username ? decodeURIComponent(seed.username) : undefined,
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
   * arguments. With `numberOfKeys` 'variable' each call may pass any number of keys: the
   * script is registered once per key count, so the first argument is always a key (the
   * Cluster client's auto-pipelining routes a command by its first argument).
   */
  defineScript<R>(lua: string, numberOfKeys: number | 'variable'): ScriptRunner<R> {
    const name = `opScript${++this.scriptCount}`;
    const client = this.client as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>;
    const defined = new Set<number>();
    const commandFor = (keyCount: number): string => {
      const command = numberOfKeys === 'variable' ? `${name}k${keyCount}` : name;
      if (!defined.has(keyCount)) {
        this.client.defineCommand(command, { lua, numberOfKeys: keyCount });
        defined.add(keyCount);
      }
      return command;
    };
    if (numberOfKeys !== 'variable') commandFor(numberOfKeys);
    return (keys, args) => {
      if (numberOfKeys !== 'variable' && keys.length !== numberOfKeys) {
        throw new Error(`script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
      }
      const command = client[commandFor(keys.length)];
      if (!command) throw new Error(`script ${name} is not registered`);
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
