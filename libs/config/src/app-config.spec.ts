import { join } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      redis: { url: 'redis://127.0.0.1:6379', cluster: false, keyPrefix: 'op' },
      sqs: {
        queueUrl: undefined,
        region: 'us-east-1',
        emulatorPort: 4566,
        emulatorHost: '127.0.0.1',
        queueName: 'orders',
        dlqName: 'orders-dlq',
        maxReceiveCount: 5,
        batchSize: 10,
      },
      sampleData: { load: false },
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['HOST', 'example.com'],
    ['HOST', '0.0.0.0:3000'],
    ['SQS_EMULATOR_HOST', 'all'],
    ['REDIS_URL', 'http://localhost'],
    ['REDIS_URL', 'not a url'],
    ['SQS_QUEUE_URL', 'orders'],
    ['SQS_MAX_RECEIVE_COUNT', '0'],
    ['SQS_BATCH_SIZE', '11'],
    ['SQS_CONSUMER_CONCURRENCY', '-1'],
    ['LOAD_SAMPLE_DATA', 'maybe'],
    ['SQS_QUEUE_NAME', 'bad name'],
    ['QUALITY_GUARD_SAMPLE_RATE', '1.5'],
    ['QUALITY_GUARD_SAMPLE_RATE', '-0.1'],
    ['QUALITY_GUARD_SAMPLE_RATE', '5%'],
  ])('refuses %s=%p with a message naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it.each([
    ['.5', 0.5],
    ['0.25', 0.25],
    ['0', 0],
    ['1', 1],
    ['1.0', 1],
  ])('reads the fraction QUALITY_GUARD_SAMPLE_RATE=%s', (value, rate) => {
    expect(loadConfig({ QUALITY_GUARD_SAMPLE_RATE: value }).qualityGuard.sampleRate).toBe(rate);
  });

  it.each([
    ['127.0.0.1', '::'],
    ['::1', '0.0.0.0'],
    ['localhost', 'localhost'],
  ])('listens where HOST=%s and SQS_EMULATOR_HOST=%s say', (host, emulatorHost) => {
    const config = loadConfig({ HOST: host, SQS_EMULATOR_HOST: emulatorHost });
    expect([config.host, config.sqs.emulatorHost]).toEqual([host, emulatorHost]);
  });

  it('accepts an emulator queue URL whose host WHATWG URL would refuse', () => {
    const url = 'http://sqs.us-east-1.127.0.0.1:4566/000000000000/orders';
    expect(loadConfig({ SQS_QUEUE_URL: url }).sqs.queueUrl).toBe(url);
  });

  it('reads a redis+cluster:// URL as the seed nodes of a cluster, with its credentials', () => {
    const redis = loadConfig({ REDIS_URL: 'redis+cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002' }).redis;
    expect(redis).toMatchObject({
      cluster: true,
      url: 'redis://app:s3cret@10.0.0.1:7000',
      clusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it('switches to a cluster client when REDIS_CLUSTER_NODES lists the seeds', () => {
    const redis = loadConfig({ REDIS_CLUSTER_NODES: 'a.example:7000, b.example' }).redis;
    expect(redis).toMatchObject({
      cluster: true,
      clusterNodes: [
        { host: 'a.example', port: 7000 },
        { host: 'b.example', port: 6379 },
      ],
    });
  });

  it('keeps REDIS_CLUSTER=true with REDIS_URL as the only seed', () => {
    const redis = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:7005' }).redis;
    expect(redis).toMatchObject({ cluster: true, clusterNodes: [{ host: '127.0.0.1', port: 7005 }] });
  });

  it.each([
    ['REDIS_CLUSTER_NODES', 'a:b:c'],
    ['REDIS_CLUSTER_NODES', 'host:99999'],
    ['REDIS_CLUSTER_NODES', ','],
    ['REDIS_URL', 'redis+cluster://'],
    ['SQS_HEARTBEAT_SECONDS', '30'],
    ['SHUTDOWN_GRACE_SECONDS', '0'],
  ])('refuses %s=%p with a message naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it.each([
    ['REDIS_URL', 'redis+cluster://', 'at least one node'],
    ['REDIS_URL', 'rediss+cluster:', 'must be rediss+cluster://[user:password@]host:port,host:port'],
    ['REDIS_URL', 'redis+cluster://h:1,h:2/0', 'nothing after the nodes (a cluster has only database 0)'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'must use redis: or rediss:'],
    ['QUALITY_GUARD_ENABLED', 'maybe', 'must be true or false, 1 or 0, yes or no, on or off (got "maybe")'],
  ])('says what %s=%p should look like', (variable, value, message) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });

  it('reads a redis+cluster:// URL whatever the case of its scheme', () => {
    expect(loadConfig({ REDIS_URL: 'REDIS+CLUSTER://h1:7000,h2:7001' }).redis).toMatchObject({
      url: 'redis://h1:7000',
      cluster: true,
    });
  });

  it.each(['redis+cluster://app:s3cret@h:1/0', 'redis+cluster://app:s3cret@', 'redis://app:s3cret@h:1:2:3'])(
    'never shows the password of REDIS_URL=%p in its error',
    (url) => {
      expect(() => loadConfig({ REDIS_URL: url })).toThrow(/\*\*\*@/);
      expect(() => loadConfig({ REDIS_URL: url })).not.toThrow(/s3cret/);
    },
  );

  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback', 'loopback'],
    ['10.0.0.0/8, 192.168.1.7 ,fd00::/8', '10.0.0.0/8,192.168.1.7,fd00::/8'],
    ['10.0.0.0/255.0.0.0', '10.0.0.0/255.0.0.0'],
  ])('reads TRUST_PROXY=%p as %p', (value, trust) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).http.trustProxy).toEqual(trust);
  });

  it.each(['proxy.example', '10.0.0.0/33', '10.0.0.1,', '999', 'loopback,nonsense'])(
    'refuses TRUST_PROXY=%p with a message naming it',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/^Invalid configuration: TRUST_PROXY /);
    },
  );

  it('extends visibility every third of the visibility timeout by default', () => {
    expect(loadConfig({ SQS_VISIBILITY_TIMEOUT: '30' }).sqs.heartbeatSeconds).toBe(10);
    expect(loadConfig({ SQS_VISIBILITY_TIMEOUT: '1' }).sqs.heartbeatSeconds).toBe(0);
  });

  it('loads the sample data from its file when asked, the file being there', () => {
    const file = join(__dirname, '..', '..', '..', 'data', 'sample-orders.ndjson');
    expect(loadConfig({ LOAD_SAMPLE_DATA: 'true', SAMPLE_DATA_FILE: file }).sampleData).toEqual({ load: true, file });
  });

  it('lets the queue names be equal when it consumes a queue of its own (SQS_QUEUE_URL): they are not used', () => {
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
    expect(loadConfig({ SQS_QUEUE_URL: url, SQS_DLQ_NAME: 'orders' }).sqs.dlqName).toBe('orders');
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: '  ', SQS_QUEUE_URL: '' }).port).toBe(3000);
  });

  it('leaves the API keys unset by default: admin routes disabled, read routes public', () => {
    expect(loadConfig({}).http).toEqual({
      bodyLimitBytes: 65536,
      requestTimeoutSeconds: 30,
      readApiKey: undefined,
      adminApiKey: undefined,
      adminRateLimitPerMinute: 30,
      trustProxy: false,
    });
  });

  it.each([
    ['ADMIN_API_KEY', { ADMIN_API_KEY: 'short' }],
    ['READ_API_KEY', { READ_API_KEY: 'has spaces in the key' }],
    ['READ_API_KEY', { READ_API_KEY: 'same-key-0123456789', ADMIN_API_KEY: 'same-key-0123456789' }],
    ['LOG_FORMAT', { LOG_FORMAT: 'xml' }],
    ['HTTP_BODY_LIMIT_BYTES', { HTTP_BODY_LIMIT_BYTES: '10' }],
    ['HTTP_REQUEST_TIMEOUT_SECONDS', { HTTP_REQUEST_TIMEOUT_SECONDS: '301' }],
    ['SQS_DLQ_NAME', { SQS_DLQ_NAME: 'orders' }],
    ['SAMPLE_DATA_FILE', { LOAD_SAMPLE_DATA: 'true', SAMPLE_DATA_FILE: 'data/no-such-file.ndjson' }],
    ['SAMPLE_DATA_FILE', { LOAD_SAMPLE_DATA: 'true', SAMPLE_DATA_FILE: __dirname }],
    ['SQS_QUEUE_NAME', { SQS_QUEUE_NAME: 'orders-dlq' }],
    ['SQS_DLQ_NAME', { SQS_QUEUE_NAME: 'events', SQS_DLQ_NAME: 'events' }],
    ['ADMIN_RATE_LIMIT_PER_MINUTE', { ADMIN_RATE_LIMIT_PER_MINUTE: '0' }],
  ])('refuses a bad %s with a message naming it (and never a key)', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${variable} `));
    for (const [name, value] of Object.entries(env)) {
      if (name.endsWith('_API_KEY')) expect(() => loadConfig(env)).not.toThrow(value);
    }
  });
});
