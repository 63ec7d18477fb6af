import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { RejectedOrderStore } from '@order-pipeline/aggregation';
import { anOrder } from '../../libs/orders/test/order-builder';
import { eventually, startTestApp, type GlobalStats, type TestApp, e2eSqsPort } from '../support/test-app';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const READ_KEY = 'read-key-0123456789abcdef';

interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

async function call<T = Record<string, unknown>>(
  t: TestApp,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  // Bounded: an admin request that does not answer within 20 s fails its spec with a reason.
  const res = await fetch(`${t.baseUrl.replace('[::1]', '127.0.0.1')}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const admin = { 'x-api-key': ADMIN_KEY };
const globalStats = async (t: TestApp): Promise<GlobalStats> => (await t.get<GlobalStats>('/stats/global')).body;

describe('admin routes without ADMIN_API_KEY', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('are disabled with a 403 that says how to enable them, even for a request with a key', async () => {
    const res = await call(t, 'GET', '/admin/dead-letters', { 'x-api-key': ADMIN_KEY });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('ADMIN_API_KEY');
  });

  it('leave the read API public', async () => {
    expect((await call(t, 'GET', '/stats/global')).status).toBe(200);
  });
});

describe('API keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, READ_API_KEY: READ_KEY, ADMIN_RATE_LIMIT_PER_MINUTE: '1000' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuse an admin request without a key with a 401', async () => {
    const res = await call(t, 'GET', '/admin/dead-letters');
    expect([res.status, res.body.message]).toEqual([401, expect.stringContaining('admin key') as unknown]);
  });

  it('refuse an admin request with a wrong key with a 401', async () => {
    expect((await call(t, 'GET', '/admin/dead-letters', { 'x-api-key': `${ADMIN_KEY}x` })).status).toBe(401);
  });

  it('refuse an admin request with the read key', async () => {
    expect((await call(t, 'GET', '/admin/dead-letters', { 'x-api-key': READ_KEY })).status).toBe(401);
  });

  it('let the admin key in as x-api-key or as a bearer token', async () => {
    expect((await call(t, 'GET', '/admin/dead-letters', admin)).status).toBe(200);
    expect((await call(t, 'GET', '/admin/dead-letters', { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(200);
  });

  it('with READ_API_KEY, refuse a read request without a key and let the read or admin key in', async () => {
    expect((await call(t, 'GET', '/stats/global')).status).toBe(401);
    expect((await call(t, 'GET', '/metrics')).status).toBe(401);
    expect((await call(t, 'GET', '/stats/global', { 'x-api-key': READ_KEY })).status).toBe(200);
    expect((await call(t, 'GET', '/stats/global', admin)).status).toBe(200);
  });

  it('keep the health probes open with READ_API_KEY set', async () => {
    expect((await call(t, 'GET', '/health/live')).status).toBe(200);
    // Readiness pings Redis with a 1 s limit: on a loaded machine one probe may miss it.
    await eventually(async () => (await call(t, 'GET', '/health/ready')).status === 200, 10_000);
  });
});

describe('admin rate limit', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, ADMIN_RATE_LIMIT_PER_MINUTE: '3' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers 429 after ADMIN_RATE_LIMIT_PER_MINUTE admin requests, refused ones included', async () => {
    const wrong = { 'x-api-key': 'not-the-admin-key-at-all' };
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call(t, 'GET', '/admin/dead-letters', i < 2 ? wrong : admin)).status);
    const limited = await fetch(`${t.baseUrl.replace('[::1]', '127.0.0.1')}/admin/dead-letters`, { headers: admin });
    statuses.push(limited.status);
    expect(statuses).toEqual([401, 401, 200, 429]);
    // When to retry: the standard header, and the message.
    expect([
      Number(limited.headers.get('retry-after')) > 0,
      ((await limited.json()) as { message: string }).message,
    ]).toEqual([
      true,
      expect.stringMatching(
        /^too many admin requests or wrong API keys: at most 3 a minute from one address .*retry in \d+ s$/,
      ),
    ]);
    expect((await call(t, 'GET', '/stats/global')).status).toBe(200);
  });
});

describe('admin rate limit and wrong keys on read routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, READ_API_KEY: READ_KEY, ADMIN_RATE_LIMIT_PER_MINUTE: '2' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('counts a wrong key on a read route against the budget, so no key can be guessed there without limit', async () => {
    const guess = { 'x-api-key': 'a-guess-at-the-admin-key' };
    const statuses = [
      (await call(t, 'GET', '/stats/global', guess)).status,
      (await call(t, 'GET', '/stats/global', guess)).status,
      (await call(t, 'GET', '/stats/global', guess)).status,
      (await call(t, 'GET', '/admin/dead-letters', admin)).status,
    ];
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  it('does not count a read with the right key, or with no key', async () => {
    const other = await startTestApp({
      ADMIN_API_KEY: ADMIN_KEY,
      READ_API_KEY: READ_KEY,
      ADMIN_RATE_LIMIT_PER_MINUTE: '2',
    });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await call(other, 'GET', '/stats/global', { 'x-api-key': READ_KEY })).status);
      for (let i = 0; i < 3; i++) statuses.push((await call(other, 'GET', '/stats/global')).status);
      statuses.push((await call(other, 'GET', '/admin/dead-letters', admin)).status);
      expect(statuses).toEqual([200, 200, 200, 401, 401, 401, 200]);
    } finally {
      await other.close();
    }
  });
});

describe('admin rate limit across routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, ADMIN_RATE_LIMIT_PER_MINUTE: '2' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('counts every admin route against one budget per address', async () => {
    const statuses = [
      (await call(t, 'GET', '/admin/dead-letters', admin)).status,
      (await call(t, 'GET', '/admin/dead-letters', admin)).status,
      (await call(t, 'POST', '/admin/dead-letters/redrive', admin)).status,
      (await call(t, 'POST', '/orders/rejected/ORD-1/reprocess', admin)).status,
      // An id that is not percent-encoded UTF-8 is no way around the limit.
      (await call(t, 'POST', '/orders/rejected/%FF/reprocess', admin)).status,
    ];
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
  });
});

describe('dead letters and reprocessing', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, ADMIN_RATE_LIMIT_PER_MINUTE: '1000' });
  });

  afterEach(async () => {
    await t.close();
  });

  /** Puts bodies straight on the dead-letter queue, as SQS does after the last receive; returns their ids. */
  const deadLetter = async (bodies: string[]): Promise<string[]> => {
    const res = await t.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: t.dlqUrl,
        Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    return bodies.map((_, i) => res.Successful?.find((s) => s.Id === String(i))?.MessageId ?? '');
  };
  const dlqDepth = async (): Promise<number> => {
    const res = await t.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: t.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
  };

  it('peeks at dead letters without consuming them', async () => {
    const ids = await deadLetter([anOrder().with({ order_id: 'ord-dl-1' }).json(), 'not json']);
    type Peek = { approximate_depth: number; items: { message_id: string; body: string; receive_count: number }[] };
    const first = await call<Peek>(t, 'GET', '/admin/dead-letters', admin);
    const second = await call<Peek>(t, 'GET', '/admin/dead-letters', admin);

    expect(first.status).toBe(200);
    // Still two after a look: a peek does not make the queue look empty.
    expect([first.body.approximate_depth, second.body.approximate_depth]).toEqual([2, 2]);
    expect(first.body.items.map((i) => i.body).sort()).toEqual(
      [anOrder().with({ order_id: 'ord-dl-1' }).json(), 'not json'].sort(),
    );
    expect(second.body.items.map((i) => i.message_id).sort()).toEqual([...ids].sort());
  });

  it('redrives dead letters through the exactly-once path: exact totals, nothing counted twice', async () => {
    const applied = anOrder().with({ order_id: 'ord-dl-applied', user_id: 'u-dl' }).json();
    await t.send([applied]);
    await eventually(async () => (await globalStats(t)).total_orders === 1);
    const [, , , badId] = await deadLetter([
      anOrder().with({ order_id: 'ord-dl-a', user_id: 'u-dl' }).json(),
      anOrder().with({ order_id: 'ord-dl-b', user_id: 'u-dl' }).json(),
      applied,
      'not json',
    ]);

    const redrive = await call(t, 'POST', '/admin/dead-letters/redrive', admin);
    expect(redrive).toEqual({ status: 200, body: { moved: 4, failed: 0, not_deleted: 0, remaining: 0 } });
    await eventually(async () => {
      const g = await globalStats(t);
      return g.total_orders + g.duplicates + g.rejected === 5;
    });
    await t.drained();

    expect(await globalStats(t)).toMatchObject({
      total_orders: 3,
      total_revenue: 299.97,
      duplicates: 1,
      rejected: 1,
      conflicts: 0,
    });
    // The rejected record keeps the id the message had in the dead-letter queue.
    const rejected = await t.get<{ items: { id: string }[] }>('/orders/rejected');
    expect(rejected.body.items.map((i) => i.id)).toEqual([badId]);
    expect(await dlqDepth()).toBe(0);
    expect((await call(t, 'POST', '/admin/dead-letters/redrive', admin)).body).toMatchObject({ moved: 0 });
  });

  it('keeps two different messages that carry the same original-message-id attribute', async () => {
    // Any sender can set the attribute a redrive uses; it must not make one message pass for another.
    const forged = { 'op-original-message-id': { DataType: 'String', StringValue: 'forged-id-1' } };
    const bad = (orderId: string): string => anOrder().with({ order_id: orderId }).withValue(1).json();
    await t.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: t.queueUrl,
        Entries: [
          { Id: '1', MessageBody: bad('spoof-1'), MessageAttributes: forged },
          { Id: '2', MessageBody: bad('spoof-2'), MessageAttributes: forged },
        ],
      }),
    );
    await eventually(async () => (await globalStats(t)).rejected === 2);
    await t.drained();
    const [one, two] = await Promise.all([call(t, 'GET', '/orders/spoof-1'), call(t, 'GET', '/orders/spoof-2')]);
    expect([one.body.outcome, two.body.outcome]).toEqual(['rejected', 'rejected']);
  });

  it('gives a valid and an invalid message that carry one original-message-id each its own outcome', async () => {
    const forged = { 'op-original-message-id': { DataType: 'String', StringValue: 'forged-id-2' } };
    await t.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: t.queueUrl,
        Entries: [
          { Id: '1', MessageBody: anOrder().with({ order_id: 'shared-ok' }).json(), MessageAttributes: forged },
          { Id: '2', MessageBody: 'not json', MessageAttributes: forged },
        ],
      }),
    );
    await eventually(async () => {
      const g = await globalStats(t);
      return g.total_orders + g.rejected === 2;
    });
    await t.drained();
    const counted = (outcome: string, metrics: string): number =>
      Number(new RegExp(`order_pipeline_messages_total\\{outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    const metrics = await t.metrics();
    expect([counted('accepted', metrics), counted('rejected', metrics)]).toEqual([1, 1]);
  });

  it('reprocesses a rejected order that passes now: applied once, and it leaves the rejected list', async () => {
    const body = anOrder().with({ order_id: 'ord-fixed', user_id: 'u-fixed' }).json();
    // Rejected under an older rule: stored as the pipeline stores rejections.
    const store = t.app.get(RejectedOrderStore);
    await store.record({
      id: randomUUID(),
      kind: 'rejected',
      orderId: 'ORD-FIXED',
      userId: 'U-FIXED',
      reasons: [{ code: 'old_rule:too_strict', message: 'an old rule refused it' }],
      receivedAtMs: Date.now(),
      ...store.capBody(body),
    });
    expect(await globalStats(t)).toMatchObject({ total_orders: 0, rejected: 1 });

    const first = await call(t, 'POST', '/orders/rejected/ord-fixed/reprocess', admin);
    const again = await call(t, 'POST', '/orders/rejected/ord-fixed/reprocess', admin);

    expect(first).toEqual({
      status: 200,
      body: expect.objectContaining({ order_id: 'ORD-FIXED', outcome: 'accepted', resolved: true }) as unknown,
    });
    expect(again.status).toBe(404);
    expect(await globalStats(t)).toMatchObject({ total_orders: 1, total_revenue: 99.99, rejected: 0, duplicates: 0 });
    expect((await t.get<{ outcome: string }>('/orders/ord-fixed')).body.outcome).toBe('accepted');
    expect((await t.get<{ items: unknown[] }>('/orders/rejected')).body.items).toEqual([]);
  });

  it('reprocesses a rejected copy of an order already applied as a duplicate: never applied twice', async () => {
    const body = anOrder().with({ order_id: 'ord-twice', user_id: 'u-twice' }).json();
    await t.send([body]);
    await eventually(async () => (await globalStats(t)).total_orders === 1);
    const store = t.app.get(RejectedOrderStore);
    await store.record({
      id: randomUUID(),
      kind: 'rejected',
      orderId: 'ORD-TWICE',
      userId: 'U-TWICE',
      reasons: [{ code: 'old_rule:too_strict', message: 'an old rule refused it' }],
      receivedAtMs: Date.now(),
      ...store.capBody(body),
    });

    const res = await call(t, 'POST', '/orders/rejected/ord-twice/reprocess', admin);

    expect(res.body).toMatchObject({ outcome: 'duplicate', resolved: true });
    expect(await globalStats(t)).toMatchObject({ total_orders: 1, total_revenue: 99.99, rejected: 0, duplicates: 1 });
  });

  it('reprocesses an order that is still invalid without storing or counting it again', async () => {
    await t.send([anOrder().with({ order_id: 'ord-still-bad' }).withValue(10).json()]);
    await eventually(async () => (await globalStats(t)).rejected === 1);

    const res = await call(t, 'POST', '/orders/rejected/ord-still-bad/reprocess', admin);

    expect(res).toEqual({
      status: 200,
      body: expect.objectContaining({ outcome: 'rejected', reasons: ['value_mismatch'], resolved: false }) as unknown,
    });
    expect(await globalStats(t)).toMatchObject({ total_orders: 0, rejected: 1 });
    expect((await t.get<{ items: unknown[] }>('/orders/rejected')).body.items).toHaveLength(1);
  });

  it('answers 404 for an order with no stored rejection', async () => {
    const res = await call(t, 'POST', '/orders/rejected/ord-unknown/reprocess', admin);
    expect(res.status).toBe(404);
  });

  it('answers 409, and runs nothing, while another reprocess of the order holds its lease', async () => {
    await t.send([anOrder().with({ order_id: 'ord-busy' }).withValue(10).json()]);
    await eventually(async () => (await globalStats(t)).rejected === 1);
    const store = t.app.get(RejectedOrderStore);
    // What a reprocess in flight (on this or another instance) holds while it runs.
    const lease = await store.leaseReprocess('ORD-BUSY', 60_000);
    expect(lease).toEqual(expect.any(String));

    const busy = await call(t, 'POST', '/orders/rejected/ord-busy/reprocess', admin);
    await store.releaseReprocess('ORD-BUSY', lease ?? '');
    const after = await call(t, 'POST', '/orders/rejected/ord-busy/reprocess', admin);

    // The lease's time left, rounded up: 60 s less however long this machine took since.
    const left = /already running; ask again once it has answered \(at most (\d+) s\)$/.exec(String(busy.body.message));
    expect([busy.status, Number(left?.[1]) > 0 && Number(left?.[1]) <= 60]).toEqual([409, true]);
    expect([after.status, after.body.outcome]).toEqual([200, 'rejected']);
  });
});

describe('a FIFO orders queue', () => {
  let t: TestApp;
  let dlqUrl: string;
  let consoleLog: jest.SpyInstance;

  beforeAll(async () => {
    // Lines the consumers print past the logger, while they start on the FIFO queue.
    consoleLog = jest.spyOn(console, 'log');
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: process.env.E2E_SQS_ENDPOINT,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const id = randomUUID().slice(0, 8);
      const fifo = { FifoQueue: 'true' };
      dlqUrl =
        (await sqs.send(new CreateQueueCommand({ QueueName: `dlq-${id}.fifo`, Attributes: fifo }))).QueueUrl ?? '';
      const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })))
        .Attributes?.QueueArn;
      const queue = await sqs.send(
        new CreateQueueCommand({
          QueueName: `orders-${id}.fifo`,
          Attributes: { ...fifo, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
        }),
      );
      t = await startTestApp({ SQS_QUEUE_URL: queue.QueueUrl ?? '', ADMIN_API_KEY: ADMIN_KEY });
    } finally {
      sqs.destroy();
    }
  });

  afterAll(async () => {
    consoleLog.mockRestore();
    await t.close();
  });

  it('is consumed without a plain-text warning among the JSON logs', () => {
    expect(consoleLog.mock.calls.flat().filter((line) => /FIFO/.test(String(line)))).toEqual([]);
  });

  it('gets its dead letters back, each with its group, and counts them', async () => {
    await t.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: anOrder().with({ order_id: 'ord-fifo', user_id: 'u-fifo' }).json(),
        MessageGroupId: 'shop-7',
        MessageDeduplicationId: 'first-send',
      }),
    );

    const redrive = await call(t, 'POST', '/admin/dead-letters/redrive', admin);

    expect(redrive).toEqual({ status: 200, body: { moved: 1, failed: 0, not_deleted: 0, remaining: 0 } });
    await eventually(async () => (await t.get('/users/u-fifo/stats')).status === 200);
  });
});

describe('admin rate limit behind a proxy', () => {
  /** Statuses of two admin requests that a proxy on loopback forwards for two clients. */
  const twoClients = async (env: Record<string, string>): Promise<number[]> => {
    const t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, ADMIN_RATE_LIMIT_PER_MINUTE: '1', ...env });
    try {
      const statuses = [];
      for (const client of ['203.0.113.7', '198.51.100.9']) {
        statuses.push((await call(t, 'GET', '/admin/dead-letters', { ...admin, 'x-forwarded-for': client })).status);
      }
      return statuses;
    } finally {
      await t.close();
    }
  };

  it('counts per forwarded client when TRUST_PROXY names the proxy', async () => {
    expect(await twoClients({ TRUST_PROXY: 'loopback' })).toEqual([200, 200]);
  });

  it('ignores X-Forwarded-For by default: a client cannot pick its own budget', async () => {
    expect(await twoClients({})).toEqual([200, 429]);
  });
});

describe('admin routes while the queue goes silent (a black-holed network)', () => {
  let proxy: StallingProxy;
  let t: TestApp;

  beforeAll(async () => {
    proxy = await startStallingProxy(e2eSqsPort());
    t = await startTestApp({ ADMIN_API_KEY: ADMIN_KEY, SQS_ENDPOINT: proxy.endpoint });
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
  });

  it('answers a redrive with a 503 within seconds, not after the SQS client retries', async () => {
    // The dead-letter queue is found first (and kept for a minute): the redrive's receive is
    // the first call to meet the silence.
    expect((await call(t, 'GET', '/admin/dead-letters', admin)).status).toBe(200);
    proxy.stall();

    const res = await call(t, 'POST', '/admin/dead-letters/redrive', admin);

    expect([res.status, res.body.message]).toEqual([
      503,
      expect.stringMatching(/^the SQS queue did not answer \(\w+\); retry later$/) as unknown,
    ]);
  });
});

describe('admin routes while the queue does not answer', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      ADMIN_API_KEY: ADMIN_KEY,
      SQS_ENDPOINT: 'http://127.0.0.1:1', // nothing listens on port 1
      SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/orders',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['GET', '/admin/dead-letters'],
    ['POST', '/admin/dead-letters/redrive'],
  ] as const)('answers %s %s with a 503 that says the queue did not answer', async (method, path) => {
    const res = await call(t, method, path, admin);
    expect([res.status, res.body.message]).toEqual([
      503,
      expect.stringMatching(/^the SQS queue did not answer \(\w+\); retry later$/) as unknown,
    ]);
  });

  it('still reprocesses nothing it does not have: a 404 from Redis, not the queue', async () => {
    expect((await call(t, 'POST', '/orders/rejected/ord-none/reprocess', admin)).status).toBe(404);
  });
});
