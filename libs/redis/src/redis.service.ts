import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { createHash } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** The keys and arguments of one script call. */
export interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}

/** One call's answer in a batch: its value, or the error that touched only that call. */
export type ScriptAnswer<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error };

/** A Lua script run with EVALSHA (falling back to EVAL), on a single Redis or a Cluster. */
export interface ScriptRunner<R> {
  (keys: readonly string[], args: readonly (string | number)[]): Promise<R>;
  /**
   * Runs many calls of the script, each still atomic on its own, and answers one
   * settled result per call, in order. On a single Redis they go out as one explicit
   * pipeline (one round trip, no per-call promise). A Cluster pipeline must keep to one
   * slot, so there every call is sent on its own (the Cluster client runs without
   * auto-pipelining: see the constructor).
   */
  many(calls: readonly ScriptCall[]): Promise<ScriptAnswer<R>[]>;
}

/** One read of RedisService.readAll: an ioredis command method and its arguments. */
export type ReadCommand =
  | readonly [method: 'hmgetBuffer', key: string, ...fields: string[]]
  | readonly [method: 'zcard', key: string]
  | readonly [method: 'exists', key: string];

/**
 * Owns the one ioredis connection of the process (standalone or Cluster), script
 * registration and the health probe. Commands fail fast while Redis is away (callers
 * turn that into a retryable outcome) instead of queueing without bound.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis | Cluster;
  readonly keyPrefix: string;
  private readonly commandTimeoutMs: number;
  private lastError: string | undefined;
  private scriptCount = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const options: RedisOptions = {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      // A server that is up but does not answer (stopped, paused, a black-holed network)
      // fails each command after this long, as a server that is away does at once: reads
      // get a 503 and batches are retried, rather than waiting as long as the stall lasts.
      // A write that timed out may still have run: its retry finds the claim and the
      // applied-mark and changes no total (it counts one more duplicate delivery).
      commandTimeout: config.redis.commandTimeoutMs,
      // And the connection is dropped when nothing comes back for as long while commands
      // wait, so the client is not `ready` until the server answers again: the consumers
      // hold their receives as for a server that is away, instead of receiving, failing
      // and spending each message's receives until it is dead-lettered.
      socketTimeout: config.redis.commandTimeoutMs,
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      lazyConnect: false,
    };
    this.keyPrefix = config.redis.keyPrefix;
    this.commandTimeoutMs = config.redis.commandTimeoutMs;
    if (config.redis.cluster) {
      // Credentials and TLS come from REDIS_URL (a redis+cluster:// URL becomes one of its seeds).
      const seed = new URL(config.redis.url);
      this.client = new Cluster(
        config.redis.clusterNodes.map((n) => ({ host: n.host, port: n.port })),
        {
          // No auto-pipelining on a Cluster: a MOVED reply inside an auto-pipeline that also
          // holds commands that succeeded is handed back as an error, with no redirect and no
          // refresh of the slot map, so after a node restart every command for its slots kept
          // failing (an audit saw instances stuck for minutes). One command at a time, ioredis
          // follows MOVED/ASK itself. And the slot map is read again every 5 s regardless.
          enableAutoPipelining: false,
          slotsRefreshInterval: 5_000,
          // Fail fast while the cluster is away (a retry outcome, a 503) instead of queueing
          // without bound; the batch handler waits for 'ready' before it starts a batch.
          enableOfflineQueue: false,
          clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
          // ioredis gives CLUSTER SLOTS 1 s by default; a busy host can miss that on every try.
          slotsRefreshTimeout: 5_000,
          redisOptions: {
            ...options,
            enableAutoPipelining: false,
            password: seed.password ? decodeURIComponent(seed.password) : undefined,
            username: seed.username ? decodeURIComponent(seed.username) : undefined,
            ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
          },
        },
      );
    } else {
      this.client = new Redis(config.redis.url, options);
      // Commands sent before the first connection wait for it (start-up). Once connected, a
      // command sent while the connection is down fails at once (a 503 for a read, a retry
      // for a batch) instead of waiting in the client for a reconnection: an audit saw reads
      // take 5-8 s to get their 503 during an outage (two reconnection attempts, then the
      // command timeout). ioredis reads this option on every command. The consumers already
      // wait for `ready` before they receive.
      const client = this.client;
      client.once('ready', () => {
        client.options.enableOfflineQueue = false;
      });
    }
    // One line per outage, not one per reconnection attempt.
    let down = false;
    this.client.on('error', (error: Error) => {
      if (!down) this.logger.warn(`redis unavailable (${error.message}); retrying`);
      down = true;
      this.lastError = error.message;
    });
    this.client.on('ready', () => {
      if (down) this.logger.log('redis is back');
      down = false;
      this.lastError = undefined;
    });
  }

  /**
   * Read commands, answered in order (a reply per command: hmgetBuffer an array of Buffer or
   * null, zcard and exists a number); an error fails the whole read. On a single Redis they go out as
   * one explicit pipeline, one round trip, which costs Node much less than an auto-pipelined
   * call (and its promise chain) per command; a Cluster pipeline must keep to one slot, so
   * there each is sent on its own, all at once (each node's commands share its connection,
   * and ioredis follows a MOVED for each).
   */
  async readAll(commands: readonly ReadCommand[]): Promise<unknown[]> {
    const client = this.client;
    if (commands.length === 0) return [];
    type Send = (...args: string[]) => unknown;
    if (client instanceof Cluster) {
      return this.bounded(
        Promise.all(commands.map(([method, ...args]) => (client[method] as Send).apply(client, args))),
      );
    }
    const pipeline = client.pipeline();
    for (const command of commands) (pipeline[command[0]] as Send).apply(pipeline, command.slice(1));
    const results = await pipeline.exec();
    if (!results) throw new Error('no answer from redis');
    return results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
  }

  /**
   * A read of the HTTP API, answered within the command timeout or failed as a command that
   * timed out (a 503), however many commands it sends. On a Cluster a command's own timeout
   * starts only when it reaches a node: while a stalled master's connection was being
   * re-established, commands for its slots waited in the client first, and reads took up to
   * nearly five timeouts (`redis-cluster.e2e-spec.ts`; an earlier audit measured 15 s at 5 s).
   * On a single Redis the read is left as it is, with no timer on the hot path: there the
   * connection is dropped after one timeout (socketTimeout), and a read gets its 503 within
   * two (docs/RELIABILITY.md, "Redis stalled").
   */
  bounded<T>(read: Promise<T>): Promise<T> {
    return this.client instanceof Cluster ? withinTimeout(read, this.commandTimeoutMs) : read;
  }

  /**
   * Registers a script once; the returned function runs it with the given keys and
   * arguments. A fixed key count becomes an ioredis command, defined here, before any
   * call. With 'variable' the key count is only known per call, and defining a command
   * then is unsafe: an auto-pipeline opened earlier in the same tick lacks the new method
   * and ioredis crashes the process. So variable-key scripts go out as plain EVALSHA (which
   * ioredis routes by its first key in a Cluster), falling back to EVAL when the server
   * does not hold the script.
   */
  defineScript<R>(lua: string, numberOfKeys: number | 'variable'): ScriptRunner<R> {
    const name = `opScript${++this.scriptCount}`;
    const sha = createHash('sha1').update(lua).digest('hex');
    if (numberOfKeys !== 'variable') this.client.defineCommand(name, { lua, numberOfKeys });
    const fixed = this.client as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>;
    const checkKeys = (keys: readonly string[]): void => {
      if (numberOfKeys !== 'variable' && keys.length !== numberOfKeys) {
        throw new Error(`script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
      }
    };
    const run = async (keys: readonly string[], args: readonly (string | number)[]): Promise<R> => {
      checkKeys(keys);
      if (numberOfKeys !== 'variable') return fixed[name].call(this.client, ...keys, ...args);
      try {
        return (await this.client.evalsha(sha, keys.length, ...keys, ...args)) as R;
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return (await this.client.eval(lua, keys.length, ...keys, ...args)) as R;
      }
    };
    const many = async (calls: readonly ScriptCall[]): Promise<ScriptAnswer<R>[]> => {
      if (calls.length === 0) return [];
      if (this.client instanceof Cluster) {
        return Promise.all(calls.map((c) => settle(run(c.keys, c.args))));
      }
      const pipeline = this.client.pipeline() as unknown as Record<
        string,
        (...args: (string | number)[]) => unknown
      > & {
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      for (const c of calls) {
        checkKeys(c.keys);
        if (numberOfKeys === 'variable') pipeline.evalsha(sha, c.keys.length, ...c.keys, ...c.args);
        else pipeline[name].call(pipeline, ...c.keys, ...c.args);
      }
      let results: [Error | null, unknown][] | null;
      try {
        results = await pipeline.exec();
      } catch (error) {
        const failed: ScriptAnswer<R> = { ok: false, error: asError(error) };
        return calls.map(() => failed);
      }
      return Promise.all(
        calls.map(async (c, i): Promise<ScriptAnswer<R>> => {
          const [error, value] = results?.[i] ?? [new Error('no answer from redis'), undefined];
          if (!error) return { ok: true, value: value as R };
          // A server that lost its script cache (restart, SCRIPT FLUSH): one more try via EVAL.
          if (numberOfKeys === 'variable' && isNoScript(error)) return settle(run(c.keys, c.args));
          return { ok: false, error };
        }),
      );
    };
    return Object.assign(run, { many });
  }

  /**
   * Resolves true as soon as the connection is ready, or false after `timeoutMs` (or once
   * `signal` aborts). Lets a consumer hold a batch through a short outage instead of
   * spending a receive.
   */
  async waitUntilReady(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.client.status !== 'ready') {
      if (Date.now() >= deadline || signal?.aborted) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  /**
   * Why the connection is not up, for readiness: the client's last connection error
   * (`connect ECONNREFUSED 127.0.0.1:6380`), else its state (`connecting`, `reconnecting`);
   * undefined while it is up.
   */
  get downReason(): string | undefined {
    if (this.ready) return undefined;
    return this.lastError ?? this.client.status;
  }

  /** True while the connection (every node's, for a cluster) is up. */
  get ready(): boolean {
    return this.client.status === 'ready';
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

  /**
   * Start-up waits (a few seconds at most) for the connection, so the first requests find
   * it ready: a Cluster client fails commands until it knows the slots. An app whose Redis
   * is away still starts; readiness reports it and the consumers wait.
   */
  async onModuleInit(): Promise<void> {
    if (!(await this.waitUntilReady(5_000))) this.logger.warn('redis is not ready yet; starting without it');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith('NOSCRIPT');

const settle = <R>(answer: Promise<R>): Promise<ScriptAnswer<R>> =>
  answer.then(
    (value): ScriptAnswer<R> => ({ ok: true, value }),
    (error: unknown): ScriptAnswer<R> => ({ ok: false, error: asError(error) }),
  );

/**
 * The answer, or an error once `ms` have passed: ioredis's own "Command timed out", so the
 * callers (and the HTTP error filter's 503) treat it as any command timeout.
 */
export function withinTimeout<T>(answer: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Command timed out')), ms);
  });
  return Promise.race([answer, timedOut]).finally(() => clearTimeout(timer));
}
