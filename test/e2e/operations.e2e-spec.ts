import { request } from 'node:http';
import { connect } from 'node:net';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { RedisService } from '@order-pipeline/redis';
import { anOrder } from '../../libs/orders/test/order-builder';
import { startRedisServer, type RedisServer } from '../support/processes';
import { eventually, startTestApp, type TestApp } from '../support/test-app';

/** The value of one sample line of the Prometheus text, e.g. `order_pipeline_messages_total{outcome="accepted"}`. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface Health {
  status: string;
  info: Record<string, { status: string } & Record<string, unknown>>;
  error: Record<string, { status: string } & Record<string, unknown>>;
}

describe('operations: metrics, health, request ids, HTTP protection', () => {
  let t: TestApp;
  const url = (path: string): string => `${t.baseUrl.replace('[::1]', '127.0.0.1')}${path}`;
  const ADMIN_KEY = 'operations-admin-key-0123456789';
  const asAdmin = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, HTTP_REQUEST_TIMEOUT_SECONDS: '2' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('counts a known batch by outcome, reason, batch size and queue state in /metrics', async () => {
    const order = (id: string): string => anOrder().with({ order_id: id, user_id: 'u-metrics' }).json();
    await t.send([
      order('ord-m1'),
      order('ord-m2'),
      order('ord-m3'),
      order('ord-m3'),
      'not json',
      anOrder().with({ order_id: 'ord-m-bad' }).withValue(10).json(),
    ]);
    const counted = (m: string, outcome: string): number =>
      sample(m, `order_pipeline_messages_total{outcome="${outcome}"}`) ?? 0;
    await eventually(async () => {
      const m = await t.metrics();
      return ['accepted', 'duplicate', 'rejected'].reduce((n, o) => n + counted(m, o), 0) === 6;
    });
    const metrics = await t.metrics();

    expect({
      accepted: counted(metrics, 'accepted'),
      duplicate: counted(metrics, 'duplicate'),
      rejected: counted(metrics, 'rejected'),
      conflict: counted(metrics, 'conflict'),
      retry: counted(metrics, 'retry'),
      notJson: sample(metrics, 'order_pipeline_message_reasons_total{outcome="rejected",reason="not_json"}'),
      mismatch: sample(metrics, 'order_pipeline_message_reasons_total{outcome="rejected",reason="value_mismatch"}'),
      batchedMessages: sample(metrics, 'order_pipeline_batch_size_sum'),
      inFlight: sample(metrics, 'order_pipeline_messages_in_flight'),
    }).toEqual({
      accepted: 3,
      duplicate: 1,
      rejected: 2,
      conflict: 0,
      retry: 0,
      notJson: 1,
      mismatch: 1,
      batchedMessages: 6,
      inFlight: 0,
    });
    expect(sample(metrics, 'order_pipeline_batches_total')).toBe(sample(metrics, 'order_pipeline_batch_size_count'));
    expect(sample(metrics, 'order_pipeline_batch_duration_seconds_count')).toBe(
      sample(metrics, 'order_pipeline_batches_total'),
    );
    expect(sample(metrics, 'order_pipeline_queue_up{queue="orders"}')).toBe(1);
    expect(sample(metrics, 'order_pipeline_queue_messages{queue="dead_letter",state="visible"}')).toBe(0);
    expect(sample(metrics, 'order_pipeline_message_queue_wait_seconds_count')).toBeGreaterThanOrEqual(6);
    expect(sample(metrics, 'order_pipeline_quality_guard_total{event="flagged"}')).toBe(0);
  });

  /** The orders queue's up gauge, the dead-letter gauge and the age gauge of an app started with `env`. */
  const queueGauges = async (env: Record<string, string>): Promise<(number | undefined)[]> => {
    const app = await startTestApp(env);
    try {
      const metrics = await app.metrics();
      return [
        sample(metrics, 'order_pipeline_queue_up{queue="orders"}'),
        sample(metrics, 'order_pipeline_dead_letter_messages'),
        sample(metrics, 'order_pipeline_queue_oldest_message_age_seconds'),
      ];
    } finally {
      await app.close();
    }
  };

  it('leaves the dead-letter gauge out, rather than at 0, for a queue with no redrive policy', async () => {
    const bare = await t.sqs.send(new CreateQueueCommand({ QueueName: `no-policy-${Date.now()}` }));
    expect(await queueGauges({ SQS_QUEUE_URL: bare.QueueUrl ?? '' })).toEqual([1, undefined, 0]);
  });

  it('leaves the queue gauges out, rather than at 0, while the queue does not answer', async () => {
    const unreachable = {
      SQS_ENDPOINT: 'http://127.0.0.1:1', // nothing listens on port 1
      SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/orders',
    };
    expect(await queueGauges(unreachable)).toEqual([0, undefined, undefined]);
  });

  it('publishes the queue, Redis, guard and Node.js metric families', async () => {
    const names = [...(await t.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'order_pipeline_messages_total counter',
        'order_pipeline_message_reasons_total counter',
        'order_pipeline_batch_duration_seconds histogram',
        'order_pipeline_batch_size histogram',
        'order_pipeline_messages_in_flight gauge',
        'order_pipeline_queue_messages gauge',
        'order_pipeline_dead_letter_messages gauge',
        'order_pipeline_queue_oldest_message_age_seconds gauge',
        'order_pipeline_message_queue_wait_seconds histogram',
        'order_pipeline_redis_connection_errors_total counter',
        'order_pipeline_redis_command_errors_total counter',
        'order_pipeline_quality_guard_total counter',
        'order_pipeline_quality_guard gauge',
        'process_cpu_user_seconds_total counter',
        'nodejs_eventloop_lag_seconds gauge',
      ]),
    );
  });

  it('answers readiness with Redis, queue and quality guard details', async () => {
    // Its probes have short limits (Redis 1 s, the queue 2 s): on a loaded machine one may miss.
    let body: Health | undefined;
    await eventually(async () => {
      const res = await t.get<Health>('/health/ready');
      body = res.body;
      return res.status === 200;
    }, 10_000);
    expect(body).toMatchObject({
      status: 'ok',
      info: {
        redis: { status: 'up' },
        queue: { status: 'up', visible: expect.any(Number) as unknown },
        quality_guard: { status: 'up' },
      },
    });
  });

  it('echoes an incoming x-request-id, and makes one up when there is none', async () => {
    const given = await fetch(url('/stats/global'), { headers: { 'x-request-id': 'trace-42.a' } });
    const made = await fetch(url('/stats/global'));
    const unsafe = await fetch(url('/stats/global'), { headers: { 'x-request-id': 'evil"\\id with spaces' } });
    expect(given.headers.get('x-request-id')).toBe('trace-42.a');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends helmet security headers, and Swagger UI still loads under its CSP', async () => {
    const api = await fetch(url('/stats/global'));
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('content-security-policy')).toContain("script-src 'self'");
    const ui = await fetch(url('/docs'));
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-security-policy')).toContain("default-src 'self'");
    const scripts = [...(await ui.text()).matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect((await fetch(new URL(src ?? '', url('/docs')))).status).toBe(200);
    }
  });

  it('refuses a request body over HTTP_BODY_LIMIT_BYTES with a 413', async () => {
    const res = await fetch(url('/admin/dead-letters/redrive'), {
      method: 'POST',
      headers: asAdmin,
      body: JSON.stringify({ padding: 'x'.repeat(70_000) }),
    });
    expect(res.status).toBe(413);
  });

  it.each([
    ['POST', '/stats/global', 'GET, HEAD'],
    ['DELETE', '/users/U-1/stats', 'GET, HEAD'],
    ['GET', '/admin/dead-letters/redrive', 'POST'],
    ['POST', '/', 'GET, HEAD'],
    ['DELETE', '/docs', 'GET, HEAD'],
    ['PUT', '/docs-json', 'GET, HEAD'],
    ['POST', '/dashboard/summary', 'GET, HEAD'],
  ])('answers %s %s with a 405 that lists the methods the path has', async (method, path, allow) => {
    const res = await fetch(url(path), { method });
    expect([res.status, res.headers.get('allow'), ((await res.json()) as { message: string }).message]).toEqual([
      405,
      allow,
      `${method} is not allowed on ${path}; allowed: ${allow}`,
    ]);
  });

  it.each([
    ['PUT', '/users/%FF/stats', {}, 405],
    ['OPTIONS', '/users/%FF/stats', {}, 204],
    ['GET', '/stats/%FF', {}, 404],
    ['POST', '/orders/rejected/%E0%A4/reprocess', {}, 401],
    ['POST', '/orders/rejected/%E0%A4/reprocess', asAdmin, 400],
  ])(
    'answers %s %s, whose segment is not percent-encoded UTF-8, as any path with a bad id',
    async (method, path, headers, status) => {
      expect((await fetch(url(path), { method, headers })).status).toBe(status);
    },
  );

  it('names the path as sent in a 405 for a path with escaped unreserved characters', async () => {
    const res = await fetch(url('/stats/%67lobal'), { method: 'DELETE' });
    expect([res.status, ((await res.json()) as { message: string }).message]).toEqual([
      405,
      'DELETE is not allowed on /stats/%67lobal; allowed: GET, HEAD',
    ]);
  });

  it('routes a path with escaped unreserved characters as the path they spell (RFC 3986)', async () => {
    const [escaped, plain] = await Promise.all([fetch(url('/stats/%67lobal')), fetch(url('/stats/global'))]);
    // The figures may move between the two reads while orders are processed; their shape may not.
    const fields = async (res: Response): Promise<string[]> => Object.keys((await res.json()) as object).sort();
    expect([escaped.status, await fields(escaped)]).toEqual([200, await fields(plain)]);
  });

  it('names the path id that is not percent-encoded UTF-8, and the path as sent', async () => {
    const [bad, wrongMethod] = await Promise.all([
      fetch(url('/users/A%FFB/stats?from=2026-01-01')),
      fetch(url('/users/%FF/stats'), { method: 'PUT' }),
    ]);
    expect([await bad.json(), ((await wrongMethod.json()) as { message: string }).message]).toEqual([
      expect.objectContaining({ parameter: 'user_id', message: 'user_id is not valid percent-encoded UTF-8' }),
      'PUT is not allowed on /users/%FF/stats; allowed: GET, HEAD',
    ]);
  });

  /** Sends raw bytes on a fresh connection; resolves with all the server wrote before it closed. */
  const raw = (bytes: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const { port } = new URL(url('/'));
      const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes, 'latin1'));
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });

  it.each([
    ['an unknown method', 'FOO /stats/global HTTP/1.1\r\nHost: x\r\n\r\n', 400, /^the request is not valid HTTP/],
    [
      'a byte HTTP does not allow in the path',
      'GET /stats/glob\x7fal HTTP/1.1\r\nHost: x\r\n\r\n',
      400,
      /^the request is not valid HTTP/,
    ],
    [
      'an HTTP/1.1 request without a Host header',
      'GET /stats/global HTTP/1.1\r\n\r\n',
      400,
      /^the request has no Host header/,
    ],
    [
      'headers over the limit',
      `GET /stats/global HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /headers are larger/,
    ],
  ])('answers %s, which Node itself refuses, with a JSON error', async (_name, bytes, status, message) => {
    const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    const [head = '', body = ''] = (await raw(bytes)).split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${reason}`);
    expect(head).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    const error = JSON.parse(body) as { statusCode: number; error: string; message: string };
    expect([error.statusCode, error.error]).toEqual([status, reason]);
    expect(error.message).toMatch(message);
  });

  it('answers a request whose body stops coming with a 408 and closes its connection', async () => {
    const { port } = new URL(url('/'));
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        // 100 bytes announced, 9 sent, and the connection kept open.
        socket.write(
          'POST /admin/dead-letters/redrive HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            'Content-Length: 100\r\n\r\n{"limit":',
        ),
      );
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect([head.split('\r\n')[0], JSON.parse(body)]).toEqual([
      'HTTP/1.1 408 Request Timeout',
      { statusCode: 408, error: 'Request Timeout', message: 'the request did not arrive in time' },
    ]);
  });

  it('answers OPTIONS on a path with a 204 whose Allow lists its methods', async () => {
    const res = await fetch(url('/stats/global'), { method: 'OPTIONS' });
    expect([res.status, res.headers.get('allow')]).toEqual([204, 'GET, HEAD, OPTIONS']);
  });

  it.each(['/no/such/route', '/STATS/GLOBAL'])(
    'answers %s, a path no route has, with a 404 whatever the method',
    async (path) => {
      expect([(await fetch(url(path))).status, (await fetch(url(path), { method: 'POST' })).status]).toEqual([
        404, 404,
      ]);
    },
  );

  it('refuses a body that is not what its Content-Encoding says with a 400 naming the body', async () => {
    const res = await fetch(url('/admin/dead-letters/redrive'), {
      method: 'POST',
      headers: { ...asAdmin, 'content-encoding': 'gzip' },
      body: '{"limit":1}',
    });
    expect([res.status, await res.json()]).toEqual([
      400,
      expect.objectContaining({
        parameter: 'body',
        message: 'the request body is not valid gzip data (Content-Encoding)',
      }),
    ]);
  });

  it('refuses a body that is not valid JSON with a 400 naming the body', async () => {
    const res = await fetch(url('/admin/dead-letters/redrive'), {
      method: 'POST',
      headers: asAdmin,
      body: '{"limit":',
    });
    expect([res.status, await res.json()]).toEqual([
      400,
      expect.objectContaining({ parameter: 'body', message: 'the request body is not valid JSON' }),
    ]);
  });

  it('ignores the body of a GET, even one that is not valid JSON', async () => {
    const { port } = new URL(url('/'));
    const body = '{"limit":';
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/stats/global',
          method: 'GET',
          // A length, or Node's client would send a GET's body as the next request.
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => resolve(res.resume().statusCode),
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
  });

  it.each([
    ['POST', '/no/such/route', {}, 404],
    ['POST', '/stats/global', {}, 405],
    ['POST', '/admin/dead-letters/redrive', {}, 401],
    ['PUT', '/admin/dead-letters/redrive', { 'x-api-key': 'operations-admin-key-0123456789' }, 405],
  ])('answers %s %s with an unreadable body with the %i it gives without one', async (method, path, key, status) => {
    const bad = { method, headers: { ...key, 'content-type': 'application/json' }, body: '{"limit":' };
    expect((await fetch(url(path), bad)).status).toBe(status);
  });
});

describe('operations: readiness without Redis', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' }); // nothing listens on port 1
  });

  afterAll(async () => {
    await t.close();
  });

  it('is live but not ready, and says Redis is the reason', async () => {
    expect((await t.get('/health/live')).status).toBe(200);
    // The queue's probe has 2 s: on a loaded machine one answer may also miss it.
    let ready: { status: number; body: Health } | undefined;
    await eventually(async () => {
      ready = await t.get<Health>('/health/ready');
      return ready.body.info?.queue?.status === 'up';
    }, 10_000);
    expect(ready?.status).toBe(503);
    expect(ready?.body.status).toBe('error');
    expect(ready?.body.error.redis?.status).toBe('down');
  });

  it('says why Redis is down: the connection is refused, not a slow PING', async () => {
    await eventually(async () => {
      const { body } = await t.get<Health>('/health/ready');
      return /^not connected: connect ECONNREFUSED 127\.0\.0\.1:1$/.test(String(body.error.redis?.message));
    }, 10_000);
  });

  it('counts the Redis connection errors', async () => {
    await eventually(async () => (sample(await t.metrics(), 'order_pipeline_redis_connection_errors_total') ?? 0) > 0);
  });
});

describe('operations: a Redis that goes away', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    // A command timeout far longer than the spec: a read held for a reconnection would show.
    t = await startTestApp({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '600000' });
  });

  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('refuses commands at once while it is away instead of holding them for a reconnection', async () => {
    expect((await t.get('/stats/global')).status).toBe(200);
    await redis.stop();
    const client = t.app.get(RedisService).client;
    await eventually(() => client.status !== 'ready');
    await expect(client.hget(`${t.keyPrefix}:any`, 'field')).rejects.toThrow(/enableOfflineQueue/);
    const res = await t.get<{ message: string }>('/stats/global');
    expect([res.status, res.body.message]).toEqual([503, 'the statistics store is not reachable; try again shortly']);
  });
});

describe('operations: a Redis that is up but does not answer', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' });
  });

  afterAll(async () => {
    redis?.process.kill('SIGCONT');
    await t?.close();
    await redis?.stop();
  });

  it('answers a read with a 503 after REDIS_COMMAND_TIMEOUT_MS, not when the stall ends', async () => {
    expect((await t.get('/stats/global')).status).toBe(200);
    redis.process.kill('SIGSTOP');
    // Far longer than the timeout: a read that waited for Redis would be cut off here.
    const res = await fetch(`${t.baseUrl.replace('[::1]', '127.0.0.1')}/stats/global`, {
      signal: AbortSignal.timeout(10_000),
    });
    redis.process.kill('SIGCONT');
    expect([res.status, ((await res.json()) as { message: string }).message]).toEqual([
      503,
      'the statistics store is not reachable; try again shortly',
    ]);
  });
});
