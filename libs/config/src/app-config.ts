import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * The one place that reads process.env. Everything is parsed and checked once at
 * boot into a typed, frozen AppConfig; a bad value stops start-up with a message
 * that names the variable.
 */
export interface AppConfig {
  readonly port: number;
  /** The address the HTTP API listens on (all interfaces by default). */
  readonly host: string;
  /** `log` is pino's `info`; `silent` logs nothing. */
  readonly logLevel: 'silent' | 'error' | 'warn' | 'log' | 'debug';
  /** JSON lines, pretty lines, or `auto`: pretty on a terminal (when pino-pretty is installed), JSON otherwise. */
  readonly logFormat: 'json' | 'pretty' | 'auto';
  readonly redis: {
    /** The standalone server, or (with `cluster`) the first seed node and the credentials. */
    readonly url: string;
    /** Connect as a Redis Cluster client: REDIS_CLUSTER=true, REDIS_CLUSTER_NODES or a redis+cluster:// URL. */
    readonly cluster: boolean;
    /** The cluster's seed nodes (empty for a standalone server). */
    readonly clusterNodes: readonly { readonly host: string; readonly port: number }[];
    /** Prefix of every key the service writes; lets several deployments share a server. */
    readonly keyPrefix: string;
    /** How long a command may wait for its answer before it fails (a stalled server: a 503, a retried batch). */
    readonly commandTimeoutMs: number;
  };
  readonly sqs: {
    /** Unset: the app embeds the fauxqs emulator and creates the queues itself. */
    readonly queueUrl: string | undefined;
    readonly endpoint: string | undefined;
    readonly region: string;
    readonly emulatorPort: number;
    /** The address the embedded emulator listens on (loopback by default). */
    readonly emulatorHost: string;
    readonly queueName: string;
    readonly dlqName: string;
    readonly maxReceiveCount: number;
    readonly consumerConcurrency: number;
    readonly batchSize: number;
    readonly waitTimeSeconds: number;
    readonly visibilityTimeoutSeconds: number;
    /** First redelivery delay after a transient failure; doubles with each receive (max 900 s). */
    readonly retryBackoffSeconds: number;
    /** While a batch is handled its visibility is extended every this many seconds (0: never). */
    readonly heartbeatSeconds: number;
    readonly dataDir: string;
  };
  readonly sampleData: { readonly load: boolean; readonly file: string };
  /** On SIGTERM/SIGINT, how long batches in flight may take to finish before the app stops anyway. */
  readonly shutdownGraceSeconds: number;
  readonly stats: {
    readonly retentionDays: number;
    readonly maxRangeDays: number;
  };
  readonly rejectedBodyMaxBytes: number;
  readonly http: {
    /** Largest request body accepted (JSON or form), in bytes. */
    readonly bodyLimitBytes: number;
    /** How long a request may take to arrive whole, headers and body (then a 408). */
    readonly requestTimeoutSeconds: number;
    /** Unset: the read API (stats, orders, metrics) is public. Set: it needs this key or the admin key. */
    readonly readApiKey: string | undefined;
    /** Unset: the admin routes are disabled (403). Set: they need this key. */
    readonly adminApiKey: string | undefined;
    /** Admin requests per minute and client address; more get a 429. */
    readonly adminRateLimitPerMinute: number;
    /**
     * Express's `trust proxy`: which proxies' X-Forwarded-For is believed for the client
     * address (the admin rate limit's key). false: none, the socket's address counts.
     */
    readonly trustProxy: boolean | number | string;
  };
  readonly qualityGuard: {
    /** False: no rules, no model, every valid order is allowed (QUALITY_GUARD_ENABLED). */
    readonly enabled: boolean;
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly baseUrl: string | undefined;
    /** Timeout of one model request (each retry gets its own). */
    readonly timeoutMs: number;
    /** Retries of a failed model request (429, 529, 5xx, timeouts), honouring retry-after. */
    readonly maxRetries: number;
    /** Most orders sent in one model request. */
    readonly batchSize: number;
    /** How long the first model-bound order waits for others (from concurrent batches) to share its call. */
    readonly collectWindowMs: number;
    /**
     * Seconds a suspicious order's message waits on the queue, on its first delivery, while
     * the model reviews it in the background (0: the batch waits for the model instead).
     */
    readonly deferSeconds: number;
    readonly suspiciousOrderCents: number;
    /** Share of unflagged orders also sent to the model (0 to 1), chosen by content hash, reviewed in the background. */
    readonly sampleRate: number;
    /** What a flagged order gets when the model cannot answer: accepted unchecked, or held for retry. */
    readonly onUnavailable: 'fail-open' | 'hold';
    readonly maxCallsPerMinute: number;
    /** Input + output tokens per minute, across calls of this instance. */
    readonly maxTokensPerMinute: number;
    /** Consecutive failed calls that open the circuit breaker, and how long it stays open. */
    readonly breakerFailures: number;
    readonly breakerOpenMs: number;
    /** Lifetime of a cached verdict (by order content hash) in Redis. */
    readonly cacheTtlSeconds: number;
    /** Most entries kept in the flagged-orders list (oldest dropped first). */
    readonly flaggedMaxEntries: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A listening address: an IPv4 or IPv6 literal, or `localhost`. */
function listenAddress(env: Env, name: string, fallback: string): string {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (value !== 'localhost' && isIP(value) === 0) {
    throw new ConfigError(
      name,
      `must be an IP address to listen on, such as 0.0.0.0, 127.0.0.1 or ::, or localhost (got "${value}")`,
    );
  }
  return value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return Number(value);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  const found = values.find((v) => v === value);
  if (found === undefined) throw new ConfigError(name, `must be one of ${values.join(', ')} (got "${value}")`);
  return found;
}

function fraction(env: Env, name: string, fallback: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^(0?\.\d+|0|1|1\.0+)$/.test(value))
    throw new ConfigError(name, `must be a number from 0 to 1 (got "${value}")`);
  return Number(value);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be true or false, 1 or 0, yes or no, on or off (got "${value}")`);
}

/** A URL as an error may show it: its user and password replaced by ***. */
function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: false (default), true (every proxy: only when the app cannot be reached but
 * through one), a number of hops, or a comma list of addresses, subnets (`10.0.0.0/8`) and
 * Express's names (`loopback`, `linklocal`, `uniquelocal`).
 */
function trustProxy(env: Env): boolean | number | string {
  const value = raw(env, 'TRUST_PROXY');
  if (value === undefined || ['false', '0', 'no', 'off'].includes(value.toLowerCase())) return false;
  if (['true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (/^\d+$/.test(value)) return int(env, 'TRUST_PROXY', 0, 1, 100);
  const items = value.split(',').map((item) => item.trim());
  const valid = (item: string): boolean => {
    if (PROXY_NAMES.has(item)) return true;
    const [address = '', prefix, extra] = item.split('/');
    if (extra !== undefined || isIP(address) === 0) return false;
    if (prefix === undefined) return true;
    const max = isIP(address) === 4 ? 32 : 128;
    return (/^\d+$/.test(prefix) && Number(prefix) <= max) || (isIP(address) === 4 && isIP(prefix) === 4);
  };
  const bad = items.find((item) => !valid(item));
  if (bad !== undefined) {
    throw new ConfigError(
      'TRUST_PROXY',
      `must be true, false, a number of hops, or addresses, subnets and loopback/linklocal/uniquelocal separated by commas (got "${bad}")`,
    );
  }
  return items.join(',');
}

function urlValue(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL (got "${withoutCredentials(value)}")`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
  }
  return value;
}

/**
 * A queue URL is checked by shape only: emulators hand out URLs such as
 * http://sqs.us-east-1.127.0.0.1:4566/000000000000/orders that WHATWG URL rejects.
 */
function queueUrl(env: Env, variable: string): string | undefined {
  const value = raw(env, variable);
  if (value === undefined) return undefined;
  if (!/^https?:\/\/[^\s/]+\/\S+$/.test(value)) {
    throw new ConfigError(
      variable,
      `must be a queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/orders (got "${value}")`,
    );
  }
  return value;
}

function name(env: Env, variable: string, fallback: string): string {
  const value = raw(env, variable) ?? fallback;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(value)) {
    throw new ConfigError(variable, `must be 1-80 letters, digits, "-" or "_" (got "${value}")`);
  }
  return value;
}

type HostPort = { host: string; port: number };

/** `host:port` (IPv6 as `[::1]:7000`); the port defaults to 6379. */
function hostPort(variable: string, text: string): HostPort {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = Number(match?.[3] ?? 6379);
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError(variable, `must list host:port pairs separated by commas (got "${text}")`);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

/**
 * REDIS_URL is a standalone server (redis:// or rediss://), or a cluster given as
 * redis+cluster://[user:password@]host:port,host:port (rediss+cluster:// for TLS).
 * REDIS_CLUSTER_NODES (host:port,host:port) also selects a cluster, with credentials and
 * TLS from REDIS_URL; REDIS_CLUSTER=true takes REDIS_URL's node as the only seed.
 */
function redisTarget(env: Env): Pick<AppConfig['redis'], 'url' | 'cluster' | 'clusterNodes'> {
  const text = raw(env, 'REDIS_URL');
  const clusterUrl = text === undefined ? null : /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/i.exec(text);
  const nodesText = raw(env, 'REDIS_CLUSTER_NODES');
  const nodesOf = (variable: string, list: string): HostPort[] =>
    list
      .split(',')
      .filter((n) => n.trim() !== '')
      .map((n) => hostPort(variable, n));
  if (clusterUrl) {
    const nodes = nodesOf('REDIS_URL', clusterUrl[3] ?? '');
    if (nodes.length === 0) {
      throw new ConfigError('REDIS_URL', `names no cluster node (got "${withoutCredentials(text ?? '')}")`);
    }
    const first = nodes[0];
    const auth = clusterUrl[2] ? `${clusterUrl[2]}@` : '';
    const host = first.host.includes(':') ? `[${first.host}]` : first.host;
    const nodeList = nodesText ? nodesOf('REDIS_CLUSTER_NODES', nodesText) : nodes;
    const scheme = (clusterUrl[1] ?? 'redis').toLowerCase();
    return { url: `${scheme}://${auth}${host}:${first.port}`, cluster: true, clusterNodes: nodeList };
  }
  const clusterScheme = text === undefined ? null : /^(rediss?\+cluster):/i.exec(text);
  if (text !== undefined && clusterScheme) {
    throw new ConfigError(
      'REDIS_URL',
      `must be ${clusterScheme[1]?.toLowerCase()}://[user:password@]host:port,host:port: at least one node, ` +
        `and nothing after the nodes (a cluster has only database 0) (got "${withoutCredentials(text)}")`,
    );
  }
  const url = urlValue(env, 'REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379';
  if (nodesText !== undefined) {
    const nodes = nodesOf('REDIS_CLUSTER_NODES', nodesText);
    if (nodes.length === 0) throw new ConfigError('REDIS_CLUSTER_NODES', `names no node (got "${nodesText}")`);
    return { url, cluster: true, clusterNodes: nodes };
  }
  if (bool(env, 'REDIS_CLUSTER', false)) {
    const seed = new URL(url);
    const host = seed.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
    return { url, cluster: true, clusterNodes: [{ host, port: Number(seed.port || 6379) }] };
  }
  return { url, cluster: false, clusterNodes: [] };
}

/** A whole number of seconds for the visibility heartbeat: below the visibility timeout. */
function heartbeat(env: Env, visibilityTimeoutSeconds: number): number {
  // Default: a third of the visibility timeout, so two heartbeats may be missed.
  const fallback = visibilityTimeoutSeconds >= 2 ? Math.max(1, Math.floor(visibilityTimeoutSeconds / 3)) : 0;
  const value = int(env, 'SQS_HEARTBEAT_SECONDS', fallback, 0, 43199);
  if (value >= visibilityTimeoutSeconds) {
    throw new ConfigError(
      'SQS_HEARTBEAT_SECONDS',
      `must be below SQS_VISIBILITY_TIMEOUT (${visibilityTimeoutSeconds}), or 0 for no heartbeat (got "${value}")`,
    );
  }
  return value;
}

/** An API key: at least 16 characters without spaces, so a guessable or mangled key cannot be set by accident. */
function apiKey(env: Env, variable: string): string | undefined {
  const value = raw(env, variable);
  if (value === undefined) return undefined;
  if (!/^\S{16,512}$/.test(value)) {
    throw new ConfigError(variable, 'must be 16 to 512 characters without spaces (the value is not shown)');
  }
  return value;
}

function apiKeys(env: Env): Pick<AppConfig['http'], 'readApiKey' | 'adminApiKey'> {
  const readApiKey = apiKey(env, 'READ_API_KEY');
  const adminApiKey = apiKey(env, 'ADMIN_API_KEY');
  if (readApiKey !== undefined && readApiKey === adminApiKey) {
    throw new ConfigError('READ_API_KEY', 'must differ from ADMIN_API_KEY (a read key must not open the admin routes)');
  }
  return { readApiKey, adminApiKey };
}

function sampleData(env: Env): AppConfig['sampleData'] {
  const load = bool(env, 'LOAD_SAMPLE_DATA', false);
  const file = raw(env, 'SAMPLE_DATA_FILE') ?? 'data/sample-orders.ndjson';
  // A file that is not there is not something waiting mends: say so before starting.
  if (load && !readableFile(file)) {
    throw new ConfigError(
      'SAMPLE_DATA_FILE',
      `names no file this process can read: ${file} (LOAD_SAMPLE_DATA is on; relative to ${process.cwd()})`,
    );
  }
  return { load, file };
}

function readableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function queueNames(env: Env): Pick<AppConfig['sqs'], 'queueName' | 'dlqName'> {
  const queueName = name(env, 'SQS_QUEUE_NAME', 'orders');
  const dlqName = name(env, 'SQS_DLQ_NAME', 'orders-dlq');
  // The embedded emulator would dead-letter a message into the queue it came from, and its
  // thread then spun at full CPU with the queue answering nothing (found by a black-box
  // review). The names are the emulator's only: with SQS_QUEUE_URL they are not used.
  if (dlqName === queueName && raw(env, 'SQS_QUEUE_URL') === undefined) {
    const named = raw(env, 'SQS_DLQ_NAME') !== undefined ? 'SQS_DLQ_NAME' : 'SQS_QUEUE_NAME';
    const other = named === 'SQS_DLQ_NAME' ? 'SQS_QUEUE_NAME' : 'SQS_DLQ_NAME';
    throw new ConfigError(named, `must differ from ${other} (both are "${queueName}")`);
  }
  return { queueName, dlqName };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const visibilityTimeoutSeconds = int(env, 'SQS_VISIBILITY_TIMEOUT', 30, 1, 43200);
  const config: AppConfig = {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: listenAddress(env, 'HOST', '0.0.0.0'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['silent', 'error', 'warn', 'log', 'debug'] as const, 'log'),
    logFormat: oneOf(env, 'LOG_FORMAT', ['json', 'pretty', 'auto'] as const, 'auto'),
    redis: {
      ...redisTarget(env),
      keyPrefix: name(env, 'REDIS_KEY_PREFIX', 'op'),
      commandTimeoutMs: int(env, 'REDIS_COMMAND_TIMEOUT_MS', 5000, 100, 600000),
    },
    sqs: {
      queueUrl: queueUrl(env, 'SQS_QUEUE_URL'),
      endpoint: urlValue(env, 'SQS_ENDPOINT', ['http:', 'https:']),
      region: name(env, 'AWS_REGION', 'us-east-1'),
      emulatorPort: int(env, 'SQS_EMULATOR_PORT', 4566, 0, 65535),
      emulatorHost: listenAddress(env, 'SQS_EMULATOR_HOST', '127.0.0.1'),
      ...queueNames(env),
      maxReceiveCount: int(env, 'SQS_MAX_RECEIVE_COUNT', 5, 1, 1000),
      consumerConcurrency: int(env, 'SQS_CONSUMER_CONCURRENCY', 4, 1, 16),
      batchSize: int(env, 'SQS_BATCH_SIZE', 10, 1, 10),
      waitTimeSeconds: int(env, 'SQS_WAIT_TIME_SECONDS', 20, 0, 20),
      visibilityTimeoutSeconds,
      retryBackoffSeconds: int(env, 'SQS_RETRY_BACKOFF_SECONDS', 10, 0, 900),
      heartbeatSeconds: heartbeat(env, visibilityTimeoutSeconds),
      dataDir: raw(env, 'SQS_DATA_DIR') ?? '.data/sqs',
    },
    sampleData: sampleData(env),
    shutdownGraceSeconds: int(env, 'SHUTDOWN_GRACE_SECONDS', 15, 1, 600),
    stats: {
      retentionDays: int(env, 'STATS_RETENTION_DAYS', 400, 1, 36500),
      maxRangeDays: int(env, 'STATS_MAX_RANGE_DAYS', 3660, 1, 36600),
    },
    rejectedBodyMaxBytes: int(env, 'REJECTED_BODY_MAX_BYTES', 4096, 64, 262144),
    http: {
      bodyLimitBytes: int(env, 'HTTP_BODY_LIMIT_BYTES', 65536, 1024, 10_485_760),
      requestTimeoutSeconds: int(env, 'HTTP_REQUEST_TIMEOUT_SECONDS', 30, 1, 300),
      ...apiKeys(env),
      adminRateLimitPerMinute: int(env, 'ADMIN_RATE_LIMIT_PER_MINUTE', 30, 1, 100_000),
      trustProxy: trustProxy(env),
    },
    qualityGuard: {
      enabled: bool(env, 'QUALITY_GUARD_ENABLED', true),
      apiKey: raw(env, 'ANTHROPIC_API_KEY'),
      model: raw(env, 'ANTHROPIC_MODEL') ?? 'claude-haiku-4-5',
      baseUrl: urlValue(env, 'ANTHROPIC_BASE_URL', ['http:', 'https:']),
      timeoutMs: int(env, 'QUALITY_GUARD_TIMEOUT_MS', 5000, 100, 120000),
      maxRetries: int(env, 'QUALITY_GUARD_MAX_RETRIES', 2, 0, 10),
      batchSize: int(env, 'QUALITY_GUARD_BATCH_SIZE', 20, 1, 100),
      collectWindowMs: int(env, 'QUALITY_GUARD_COLLECT_WINDOW_MS', 20, 0, 2000),
      deferSeconds: int(env, 'QUALITY_GUARD_DEFER_SECONDS', 2, 0, 900),
      suspiciousOrderCents: int(env, 'QUALITY_GUARD_SUSPICIOUS_CENTS', 1_000_000, 0, Number.MAX_SAFE_INTEGER),
      sampleRate: fraction(env, 'QUALITY_GUARD_SAMPLE_RATE', 0.01),
      // `allow` is the name this setting had before `fail-open`; it still means the same.
      onUnavailable:
        oneOf(env, 'QUALITY_GUARD_ON_UNAVAILABLE', ['fail-open', 'hold', 'allow'] as const, 'fail-open') === 'hold'
          ? 'hold'
          : 'fail-open',
      maxCallsPerMinute: int(env, 'QUALITY_GUARD_MAX_CALLS_PER_MINUTE', 60, 1, 100_000),
      // At least a few requests' worth: one order alone is about 450 tokens (mostly the system prompt),
      // and the sample may use half.
      maxTokensPerMinute: int(env, 'QUALITY_GUARD_MAX_TOKENS_PER_MINUTE', 200_000, 5_000, 100_000_000),
      breakerFailures: int(env, 'QUALITY_GUARD_BREAKER_FAILURES', 3, 1, 1000),
      breakerOpenMs: int(env, 'QUALITY_GUARD_BREAKER_OPEN_MS', 30_000, 100, 3_600_000),
      cacheTtlSeconds: int(env, 'QUALITY_GUARD_CACHE_TTL_SECONDS', 604_800, 1, 31_536_000),
      flaggedMaxEntries: int(env, 'QUALITY_GUARD_FLAGGED_MAX', 10_000, 1, 10_000_000),
    },
  };
  return Object.freeze(config);
}
