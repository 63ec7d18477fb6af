import { RejectedOrderStore } from '@order-pipeline/aggregation';
import { anOrder } from '../../libs/orders/test/order-builder';
import { OpenApiContract, answerOf, type OpenApiDocument } from '../support/openapi';
import { eventually, startTestApp, type GlobalStats, type TestApp } from '../support/test-app';

/**
 * A client generated from the OpenAPI document must be able to read every answer the app
 * gives: each answer below, good or bad, is checked against the document the app serves
 * (status, media type, body schema with no undocumented field, declared headers).
 */

const ADMIN_KEY = 'contract-admin-key-0123456789';
const admin = { 'x-api-key': ADMIN_KEY };

interface Call {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly route: string;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

async function contractOf(t: TestApp): Promise<OpenApiContract> {
  const res = await fetch(`${base(t)}/docs-json`);
  return new OpenApiContract((await res.json()) as OpenApiDocument);
}

const base = (t: TestApp): string => t.baseUrl.replace('[::1]', '127.0.0.1');

/** The call's answer, checked: its status first, then what the document says of it. */
async function checked(t: TestApp, contract: OpenApiContract, call: Call): Promise<[number, string[]]> {
  const method = call.method ?? 'GET';
  const res = await fetch(`${base(t)}${call.path}`, {
    method,
    headers: call.headers,
    ...(call.body === undefined ? {} : { body: call.body }),
  });
  const answer = await answerOf(res);
  return [answer.status, contract.check(method, call.route, answer)];
}

describe('every answer of the running app, as its OpenAPI document describes it', () => {
  let t: TestApp;
  let contract: OpenApiContract;

  beforeAll(async () => {
    t = await startTestApp({
      ADMIN_API_KEY: ADMIN_KEY,
      ADMIN_RATE_LIMIT_PER_MINUTE: '1000',
      STATS_RETENTION_DAYS: '3650',
      QUALITY_GUARD_SUSPICIOUS_CENTS: '5000', // offline: a 99.99 order is listed as flagged by the rules
    });
    const order = (id: string, user: string): string => anOrder().with({ order_id: id, user_id: user }).json();
    await t.send([
      order('c-accepted', 'c-user'),
      order('c-conflicted', 'c-user'),
      anOrder().with({ order_id: 'c-bad', user_id: 'c-user' }).withValue(1).json(),
      // Rejected (too long), and stored cut to REJECTED_BODY_MAX_BYTES (4096): its reprocess is a 422.
      anOrder()
        .with({ order_id: 'c-long', user_id: 'c-user', shipping_address: 'x'.repeat(5_000) })
        .json(),
    ]);
    await eventually(async () => {
      const stats = (await t.get<GlobalStats>('/stats/global')).body;
      return stats.total_orders === 2 && stats.rejected === 2;
    });
    await t.send([order('c-conflicted', 'c-other')]);
    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.conflicts === 1);
    contract = await contractOf(t);
  });

  afterAll(async () => {
    await t.close();
  });

  const range = 'from=2026-01-01&to=2026-12-31';
  const calls: Call[] = [
    { path: '/users/c-user/stats', route: '/users/{user_id}/stats', status: 200 },
    { path: `/users/c-user/stats?${range}`, route: '/users/{user_id}/stats', status: 200 },
    { path: '/users/nobody/stats', route: '/users/{user_id}/stats', status: 404 },
    { path: '/users/%FF/stats', route: '/users/{user_id}/stats', status: 400 },
    { path: '/users/c-user/stats?colour=red', route: '/users/{user_id}/stats', status: 400 },
    { path: '/users/c-user/stats?%FF=1', route: '/users/{user_id}/stats', status: 400 },
    { path: '/stats/global', route: '/stats/global', status: 200 },
    { path: '/stats/global?from=2026-01-01', route: '/stats/global', status: 400 },
    { path: '/stats/top-users?limit=3', route: '/stats/top-users', status: 200 },
    { path: `/stats/top-users?by=orders&${range}`, route: '/stats/top-users', status: 200 },
    { path: '/stats/top-users?by=age', route: '/stats/top-users', status: 400 },
    { path: `/stats/range?${range}&granularity=month`, route: '/stats/range', status: 200 },
    { path: '/stats/range?from=2026-01-01', route: '/stats/range', status: 400 },
    { path: '/orders/c-accepted', route: '/orders/{order_id}', status: 200 },
    { path: '/orders/c-conflicted', route: '/orders/{order_id}', status: 200 },
    { path: '/orders/c-bad', route: '/orders/{order_id}', status: 200 },
    { path: '/orders/nothing-here', route: '/orders/{order_id}', status: 404 },
    { path: '/orders/%FF', route: '/orders/{order_id}', status: 400 },
    { path: '/orders/rejected?limit=5', route: '/orders/rejected', status: 200 },
    { path: '/orders/rejected?limit=0', route: '/orders/rejected', status: 400 },
    { path: '/orders/flagged', route: '/orders/flagged', status: 200 },
    { path: '/orders/flagged?cursor=x', route: '/orders/flagged', status: 400 },
    { path: '/quality-guard', route: '/quality-guard', status: 200 },
    { path: '/health/live', route: '/health/live', status: 200 },
    { path: '/health/ready', route: '/health/ready', status: 200 },
    { path: '/metrics', route: '/metrics', status: 200 },
    { path: '/admin/dead-letters', route: '/admin/dead-letters', status: 401 },
    { path: '/admin/dead-letters', route: '/admin/dead-letters', status: 200, headers: admin },
    { path: '/admin/dead-letters?limit=11', route: '/admin/dead-letters', status: 400, headers: admin },
    ...(['/admin/dead-letters/redrive?limit=5', '/orders/rejected/c-bad/reprocess'] as const).flatMap((path) => {
      const route = path.startsWith('/admin') ? '/admin/dead-letters/redrive' : '/orders/rejected/{order_id}/reprocess';
      const post = { method: 'POST' as const, path, route };
      return [
        { ...post, status: 200, headers: admin },
        { ...post, status: 401 },
        { ...post, status: 400, headers: { ...admin, 'content-type': 'application/json' }, body: '{"limit":' },
        { ...post, status: 413, headers: { ...admin, 'content-type': 'application/json' }, body: 'x'.repeat(70_000) },
        { ...post, status: 415, headers: { ...admin, 'content-type': 'application/json; charset=latin1' }, body: '{}' },
      ];
    }),
    {
      method: 'POST',
      path: '/orders/rejected/c-long/reprocess',
      route: '/orders/rejected/{order_id}/reprocess',
      status: 422,
      headers: admin,
    },
    {
      method: 'POST',
      path: '/orders/rejected/nothing-here/reprocess',
      route: '/orders/rejected/{order_id}/reprocess',
      status: 404,
      headers: admin,
    },
  ];

  it('marks every field of every documented shape as always present, except those that may be left out', () => {
    const optional = Object.entries(contract.document.components.schemas).flatMap(([name, schema]) => {
      const { properties = {}, required = [] } = schema as { properties?: object; required?: string[] };
      return Object.keys(properties)
        .filter((field) => !required.includes(field))
        .map((field) => `${name}.${field}`);
    });
    expect(optional).toEqual(['ErrorDto.parameter']);
  });

  it('answers a reprocess while another holds the order with a 409 as documented', async () => {
    const store = t.app.get(RejectedOrderStore);
    const lease = await store.leaseReprocess('C-BAD', 60_000);
    try {
      const call: Call = {
        method: 'POST',
        path: '/orders/rejected/c-bad/reprocess',
        route: '/orders/rejected/{order_id}/reprocess',
        status: 409,
        headers: admin,
      };
      expect(await checked(t, contract, call)).toEqual([409, []]);
    } finally {
      await store.releaseReprocess('C-BAD', lease ?? '');
    }
  });

  it.each(calls.map((c) => [c.method ?? 'GET', c.path, c.status, c] as const))(
    '%s %s answers %i as documented',
    async (_method, _path, status, call) => {
      expect(await checked(t, contract, call)).toEqual([status, []]);
    },
  );
});

describe('answers of an app whose Redis is away, and of a client over the admin rate limit', () => {
  let t: TestApp;
  let contract: OpenApiContract;

  beforeAll(async () => {
    t = await startTestApp({
      REDIS_URL: 'redis://127.0.0.1:1', // nothing listens on port 1
      ADMIN_API_KEY: ADMIN_KEY,
      ADMIN_RATE_LIMIT_PER_MINUTE: '1',
    });
    contract = await contractOf(t);
  });

  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['/health/ready', '/health/ready'],
    ['/stats/global', '/stats/global'],
    ['/users/c-user/stats', '/users/{user_id}/stats'],
  ])('GET %s answers 503 as documented', async (path, route) => {
    expect(await checked(t, contract, { path, route, status: 503 })).toEqual([503, []]);
  });

  it('answers the request over the limit with a 429 as documented', async () => {
    const call: Call = { path: '/admin/dead-letters', route: '/admin/dead-letters', status: 429, headers: admin };
    await fetch(`${base(t)}${call.path}`, { headers: admin });
    expect(await checked(t, contract, call)).toEqual([429, []]);
  });
});

describe('the security the document declares', () => {
  const readRoutes = ['/users/{user_id}/stats', '/stats/global', '/orders/rejected', '/metrics', '/quality-guard'];
  const securityOf = async (env: Record<string, string>): Promise<unknown[]> => {
    const t = await startTestApp(env);
    try {
      const doc = (await contractOf(t)).document;
      return readRoutes.map((route) => {
        const op = doc.paths[route]?.get;
        return [route, op?.security ?? [], op?.responses['401'] !== undefined, op?.responses['429'] !== undefined];
      });
    } finally {
      await t.close();
    }
  };

  it('says the read routes are open when READ_API_KEY is not set', async () => {
    expect(await securityOf({})).toEqual(readRoutes.map((route) => [route, [], false, false]));
  });

  it('says the read routes need a key, either way of sending it, when READ_API_KEY is set', async () => {
    const keyed = [{ 'api-key': [] }, { bearer: [] }];
    expect(await securityOf({ READ_API_KEY: 'contract-read-key-0123456789' })).toEqual(
      readRoutes.map((route) => [route, keyed, true, true]),
    );
  });

  it('answers a read route asked without the key with a 401 as documented, when READ_API_KEY is set', async () => {
    const t = await startTestApp({ READ_API_KEY: 'contract-read-key-0123456789' });
    try {
      const call: Call = { path: '/stats/global', route: '/stats/global', status: 401 };
      expect(await checked(t, await contractOf(t), call)).toEqual([401, []]);
    } finally {
      await t.close();
    }
  });

  it('answers an admin route with a 403 as documented, when ADMIN_API_KEY is not set', async () => {
    const t = await startTestApp();
    try {
      const call: Call = { path: '/admin/dead-letters', route: '/admin/dead-letters', status: 403, headers: admin };
      expect(await checked(t, await contractOf(t), call)).toEqual([403, []]);
    } finally {
      await t.close();
    }
  });

  it('keeps the health probes open even when READ_API_KEY is set', async () => {
    const t = await startTestApp({ READ_API_KEY: 'contract-read-key-0123456789' });
    try {
      const doc = (await contractOf(t)).document;
      expect(['/health/live', '/health/ready'].map((route) => doc.paths[route]?.get?.security)).toEqual([
        undefined,
        undefined,
      ]);
    } finally {
      await t.close();
    }
  });
});
