import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  BusyError,
  FlaggedOrdersQuery,
  NotFoundError,
  OrderStatusQuery,
  RangeStatsQuery,
  RejectedOrdersQuery,
  StatsQuery,
  TopUsersQuery,
  type DayRange,
} from '@order-pipeline/aggregation';
import { APP_CONFIG, loadConfig } from '@order-pipeline/config';
import { createValidationPipe, HttpErrorFilter } from './http-errors';
import { OrdersController } from './orders.controller';
import { StatsController } from './stats.controller';

/** Small fakes of the query services: they record what the controller asked for. */
class FakeStats {
  users: string[] = [];
  user(userId: string) {
    this.users.push(userId);
    if (userId.toUpperCase() === 'NOBODY')
      return Promise.reject(new NotFoundError('user', 'no orders are recorded for user NOBODY'));
    return Promise.resolve({ user_id: userId });
  }
  global() {
    return Promise.resolve({ total_orders: 0 });
  }
}
class FakeTop {
  calls: [string, number, DayRange | undefined][] = [];
  top(by: string, limit: number, range: DayRange | undefined) {
    this.calls.push([by, limit, range]);
    return Promise.resolve({ by, limit, users: [] });
  }
}
class FakeRanges {
  series(range: DayRange, granularity: string) {
    // This range stands for a moment when too many long reads wait.
    if (granularity === 'day' && new Date(range.fromMs).toISOString().startsWith('2026-12-24')) {
      return Promise.reject(new BusyError('too many long reads at once (100 waiting); retry in a moment'));
    }
    return Promise.resolve({ range, granularity });
  }
  user(userId: string, range: DayRange) {
    return Promise.resolve({ user_id: userId, range });
  }
}
class FakeRejected {
  calls: [number, number | undefined][] = [];
  list(limit: number, cursor?: number) {
    this.calls.push([limit, cursor]);
    return Promise.resolve({ items: [], next_cursor: null });
  }
}
class FakeStatus {
  status(orderId: string) {
    return Promise.resolve({ order_id: orderId });
  }
}

describe('HTTP API validation (real ValidationPipe and exception filter)', () => {
  let app: INestApplication;
  let base: string;
  const stats = new FakeStats();
  const top = new FakeTop();
  const rejected = new FakeRejected();
  const flagged = new FakeRejected(); // same paging surface

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [StatsController, OrdersController],
      providers: [
        { provide: APP_CONFIG, useValue: loadConfig({ STATS_MAX_RANGE_DAYS: '400' }) },
        { provide: StatsQuery, useValue: stats },
        { provide: TopUsersQuery, useValue: top },
        { provide: RangeStatsQuery, useValue: new FakeRanges() },
        { provide: RejectedOrdersQuery, useValue: rejected },
        { provide: FlaggedOrdersQuery, useValue: flagged },
        { provide: OrderStatusQuery, useValue: new FakeStatus() },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new HttpErrorFilter());
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
  });

  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(base + path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it.each([
    ['/stats/top-users?limit=0', 'limit'],
    ['/stats/top-users?limit=101', 'limit'],
    ['/stats/top-users?limit=ten', 'limit'],
    ['/stats/top-users?limit=0x10', 'limit'],
    ['/stats/top-users?limit=1e1', 'limit'],
    ['/stats/top-users?limit=%2B5', 'limit'],
    ['/stats/top-users?limit=5.0', 'limit'],
    ['/stats/top-users?limit=%205', 'limit'],
    ['/stats/top-users?limit=', 'limit'],
    ['/stats/top-users?limit=1&limit=2', 'limit'],
    ['/stats/top-users?by=revenue', 'by'],
    ['/stats/top-users?from=2026-01-01', 'to'],
    ['/stats/top-users?from=2026-13-01&to=2026-12-31', 'from'],
    ['/stats/top-users?from=yesterday&to=2026-12-31', 'from'],
    ['/stats/top-users?from=2026-02-01&to=2026-01-01', 'from'],
    ['/stats/top-users?from=2020-01-01&to=2026-01-01', 'to'],
    ['/stats/top-users?colour=blue', 'colour'],
    ['/stats/range?to=2026-01-31', 'from'],
    ['/stats/range?from=2026-01-01&to=2026-01-31&granularity=week', 'granularity'],
    ['/users/U-1/stats?from=2026-01-01', 'to'],
    ['/users/a:b/stats', 'user_id'],
    ['/orders/rejected?limit=501', 'limit'],
    ['/orders/rejected?cursor=abc', 'cursor'],
    ['/orders/flagged?limit=501', 'limit'],
    ['/orders/flagged?cursor=abc', 'cursor'],
    ['/stats/global?from=2027-01-01&to=2027-01-31', 'from'],
    ['/stats/global?to=2027-01-31', 'to'],
    ['/stats/global?granularity=month', 'granularity'],
  ])('answers %s with a 400 naming %s', async (path, parameter) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', parameter });
    expect(String(res.body.message)).toContain(parameter);
  });

  it('points a range asked of the all-time totals to /stats/range', async () => {
    expect((await get('/stats/global?from=2027-01-01&to=2027-01-31')).body.message).toBe(
      'from is not taken here: /stats/global is all time; for a date range use /stats/range?from=YYYY-MM-DD&to=YYYY-MM-DD',
    );
  });

  it('answers the all-time totals with any other parameter (a cache-buster), as routes without parameters do', async () => {
    expect(await get('/stats/global?_=1733550000')).toEqual({ status: 200, body: { total_orders: 0 } });
  });

  it.each([
    ['/stats/range?from=2026-01-01', 'to is required (YYYY-MM-DD)'],
    ['/stats/range?to=2026-01-31', 'from is required (YYYY-MM-DD)'],
    ['/stats/range?from=2026-01-01&to=31.01.2026', 'to must be a date as YYYY-MM-DD'],
  ])('tells a missing date from a malformed one: %s', async (path, message) => {
    expect((await get(path)).body).toMatchObject({ message });
  });

  it('reads a limit written in digits, leading zeros included', async () => {
    await get('/stats/top-users?limit=007');
    expect(top.calls.at(-1)).toEqual(['spend', 7, undefined]);
  });

  it('applies the defaults by=spend and limit=10', async () => {
    await get('/stats/top-users');
    expect(top.calls.at(-1)).toEqual(['spend', 10, undefined]);
  });

  it('applies the defaults again to a later request without a query, after one with a query', async () => {
    await get('/stats/top-users');
    await get('/stats/top-users?by=orders&limit=3');
    await get('/stats/top-users');
    expect(top.calls.slice(-3)).toEqual([
      ['spend', 10, undefined],
      ['orders', 3, undefined],
      ['spend', 10, undefined],
    ]);
  });

  it('refuses an empty query to a route whose parameters are required, every time', async () => {
    const first = await get('/stats/range');
    const second = await get('/stats/range');
    expect([first.status, second.status]).toEqual([400, 400]);
    expect(second.body).toMatchObject({ parameter: 'from' });
  });

  it('passes an inclusive UTC day range to the query', async () => {
    await get('/stats/top-users?by=orders&limit=3&from=2026-01-01&to=2026-01-31');
    expect(top.calls.at(-1)).toEqual(['orders', 3, { fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 0, 31) }]);
  });

  it('normalises the user id in the path (trimmed, NFC, upper case) before it reaches the query', async () => {
    const res = await get('/users/%20u-7%20/stats');
    expect(res.status).toBe(200);
    expect(stats.users.at(-1)).toBe('U-7');
  });

  it('reads a user id written decomposed (NFD) in the path as its composed form, as a message id is read', async () => {
    const res = await get('/users/u%CC%88-delta/stats');
    expect([res.status, stats.users.at(-1)]).toEqual([200, '\u00dc-DELTA']);
  });

  it('counts a user id in characters, as a message id is counted: 64 letters outside the BMP pass, 65 do not', async () => {
    const letter = encodeURIComponent('\u{1D400}');
    const [ok, long] = [await get(`/users/${letter.repeat(64)}/stats`), await get(`/users/${letter.repeat(65)}/stats`)];
    expect([ok.status, stats.users.at(-1), long.status, long.body.message]).toEqual([
      200,
      '\u{1D400}'.repeat(64),
      400,
      'user_id must be at most 64 characters',
    ]);
  });

  it('refuses a blank user id with a 400 that says it is blank', async () => {
    const res = await get('/users/%20%20/stats');
    expect(res).toEqual({
      status: 400,
      body: expect.objectContaining({ parameter: 'user_id', message: 'user_id must not be empty or blank' }) as unknown,
    });
  });

  it('answers a range read refused while too many wait with a 503 and Retry-After', async () => {
    const res = await fetch(`${base}/stats/range?from=2026-12-24&to=2026-12-31&granularity=day`);
    expect([res.status, res.headers.get('retry-after'), await res.json()]).toEqual([
      503,
      '1',
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'too many long reads at once (100 waiting); retry in a moment',
      },
    ]);
  });

  it('answers an unknown user with a JSON 404', async () => {
    const res = await get('/users/nobody/stats');
    expect(res).toEqual({
      status: 404,
      body: expect.objectContaining({ statusCode: 404, error: 'Not Found' }) as unknown,
    });
  });

  it('passes the rejected-list cursor as a number', async () => {
    await get('/orders/rejected?limit=5&cursor=42');
    expect(rejected.calls.at(-1)).toEqual([5, 42]);
  });

  it('passes the flagged-list cursor as a number', async () => {
    await get('/orders/flagged?limit=5&cursor=42');
    expect(flagged.calls.at(-1)).toEqual([5, 42]);
  });

  it('answers an unknown route with a JSON 404, not a 500', async () => {
    const res = await get('/no/such/route');
    expect(res.status).toBe(404);
  });
});
