import fc from 'fast-check';
import { FUZZ_SEED } from '../../libs/orders/test/hostile-input';
import { startTestApp, type TestApp } from '../support/test-app';

interface ErrorBody {
  statusCode: number;
  message: string;
  parameter?: string;
}

/** A route, the parameters it takes, and a valid value for each (to hold the others fixed). */
interface Route {
  readonly path: (id: string) => string;
  readonly pathParameter?: string;
  readonly query: Record<string, string>;
}

const ROUTES: Record<string, Route> = {
  topUsers: {
    path: () => '/stats/top-users',
    query: { by: 'orders', limit: '5', from: '2026-01-01', to: '2026-01-31' },
  },
  range: { path: () => '/stats/range', query: { from: '2026-01-01', to: '2026-01-31', granularity: 'month' } },
  user: {
    path: (id) => `/users/${id}/stats`,
    pathParameter: 'user_id',
    query: { from: '2026-01-01', to: '2026-01-31' },
  },
  order: { path: (id) => `/orders/${id}`, pathParameter: 'order_id', query: {} },
  rejected: { path: () => '/orders/rejected', query: { limit: '20', cursor: '12345' } },
};

/** Values that no parameter of its kind accepts. */
const notAWholeNumber = fc.oneof(
  fc.string({ maxLength: 12 }).filter((s) => !/^\s*\d+\s*$/.test(s)),
  fc.constantFrom('0', '-1', '1.5', '1e2', '0x10', 'NaN', 'Infinity', '101', '501', '99999999999999999999'),
);
const notADate = fc.oneof(
  fc.string({ maxLength: 14 }).filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)),
  fc.constantFrom('2026-02-30', '2026-13-01', '2026-00-10', '26-01-01', '2026-1-1', '2026/01/01', '２０２６-01-01'),
);
const BAD_VALUES: Record<string, fc.Arbitrary<string>> = {
  by: fc.string({ maxLength: 12 }).filter((s) => s !== 'spend' && s !== 'orders'),
  granularity: fc.string({ maxLength: 12 }).filter((s) => s !== 'day' && s !== 'month'),
  limit: notAWholeNumber,
  cursor: fc.string({ maxLength: 20 }).filter((s) => !/^\d{1,15}$/.test(s)),
  from: notADate,
  to: notADate,
};

/** Ids the API refuses: a character outside letters, digits and . _ - # / @ + inside, or too long. */
const badId = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[A-Z0-9]{1,10}$/),
      fc.constantFrom(':', '{', '}', '|', ' ', '!', '$', '&', '*', '(', '=', ',', ';', '\u200b', '\u0000', '😀', '%'),
      fc.stringMatching(/^[A-Z0-9]{1,10}$/),
    )
    .map(([a, bad, b]) => `${a}${bad}${b}`),
  fc.stringMatching(/^[A-Z0-9]{65,200}$/),
);

/** As sent in the path: a bad id percent-encoded, or a segment that is not percent-encoded UTF-8 at all. */
const badPathSegment = fc.oneof(
  badId.map((id) => encodeURIComponent(id)),
  fc.constantFrom('%', '%a', '%FF', '%E0%A4', '%C0%AF', 'A%ZZ', '%ED%A0%80'),
);

const queryString = (pairs: readonly (readonly [string, string])[]): string =>
  pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;

/**
 * Bad HTTP parameters through the real HTTP app (validation pipe, exception filter):
 * every bad parameter gets a 400 whose `parameter` names it, and nothing gets a 500.
 */
describe('hostile HTTP parameters', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ STATS_RETENTION_DAYS: '3650' });
  });

  afterAll(async () => {
    await t.close();
  });

  const get = async (path: string): Promise<{ status: number; body: ErrorBody | undefined }> => {
    const res = await fetch(`${t.baseUrl.replace('[::1]', '127.0.0.1')}${path}`);
    const text = await res.text();
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  };

  it('a bad query value gets a 400 naming that parameter', async () => {
    const cases = fc.constantFrom(
      ...Object.entries(ROUTES).flatMap(([name, r]) => Object.keys(r.query).map((p) => [name, p] as const)),
    );
    await fc.assert(
      fc.asyncProperty(
        cases.chain(([name, parameter]) =>
          (BAD_VALUES[parameter] ?? fc.constant('')).map((value) => ({ name, parameter, value })),
        ),
        fc.boolean(),
        async ({ name, parameter, value }, repeat) => {
          const route = ROUTES[name];
          const pairs = Object.entries({ ...route.query, [parameter]: value });
          // A repeated parameter (an array to the framework) is as bad as a bad value.
          if (repeat) pairs.push([parameter, route.query[parameter] ?? '']);
          const res = await get(`${route.path('U-1')}${queryString(pairs)}`);
          expect([res.status, res.body?.parameter]).toEqual([400, parameter]);
        },
      ),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
  });

  it('a bad path id gets a 400 naming user_id or order_id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('user', 'order'), badPathSegment, async (name, segment) => {
        const route = ROUTES[name];
        const res = await get(route.path(segment));
        expect([res.status, res.body?.parameter]).toEqual([400, route.pathParameter]);
      }),
      { seed: FUZZ_SEED, numRuns: 100 },
    );
  });

  it('an unknown query parameter gets a 400 naming it', async () => {
    const names = Object.keys(BAD_VALUES);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('topUsers', 'range', 'user', 'rejected'),
        fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/).filter((n) => !names.includes(n)),
        async (name, unknown) => {
          const route = ROUTES[name];
          const res = await get(`${route.path('U-1')}${queryString([...Object.entries(route.query), [unknown, '1']])}`);
          expect([res.status, res.body?.parameter]).toEqual([400, unknown]);
        },
      ),
      { seed: FUZZ_SEED, numRuns: 60 },
    );
  });

  it('any junk in the path or query is answered without a 500', async () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.stringMatching(/^(%[0-9A-F]{2}|%|%[G-Z]|[a-z]){1,12}$/), // invalid percent-encodings included
      fc.string({ minLength: 5000, maxLength: 20000 }),
    );
    const encode = (s: string, raw: boolean): string => (raw ? s : encodeURIComponent(s));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(ROUTES)),
        junk,
        fc.array(fc.tuple(junk, junk), { maxLength: 4 }),
        fc.boolean(),
        async (name, id, pairs, raw) => {
          const route = ROUTES[name];
          const query = pairs.map(([k, v]) => `${encode(k, raw)}=${encode(v, raw)}`).join('&');
          const path = `${route.path(encode(id, raw) || 'X')}${query ? `?${query}` : ''}`;
          // Only a path that is no URL at all is skipped; a failed request (a reset, a crash) fails.
          if (!URL.canParse(path, 'http://127.0.0.1')) return;
          const res = await get(path);
          expect([200, 400, 404, 414, 431]).toContain(res.status);
          if (res.status === 400) expect(typeof res.body?.parameter).toBe('string');
        },
      ),
      { seed: FUZZ_SEED, numRuns: 200 },
    );
  });
});
