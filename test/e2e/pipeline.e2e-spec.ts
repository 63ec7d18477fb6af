import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { ConsumptionGate } from '@order-pipeline/sqs';
import { anOrder } from '../../libs/orders/test/order-builder';
import { eventually, startTestApp, type GlobalStats, type TestApp } from '../support/test-app';
interface UserStats {
  user_id: string;
  order_count: number;
  total_spend: number;
}

describe('order pipeline (SQS -> Redis -> HTTP)', () => {
  let t: TestApp;

  beforeEach(async () => {
    // Ten years of day-level detail, so the fixed 2026 dates below stay queryable.
    t = await startTestApp({ STATS_RETENTION_DAYS: '3650' });
  });

  afterEach(async () => {
    await t.close();
  });

  const globalStats = async (): Promise<GlobalStats> => (await t.get<GlobalStats>('/stats/global')).body;

  it('folds five orders of 99.99 into exactly 499.95 for the user and globally', async () => {
    await t.send(Array.from({ length: 5 }, () => anOrder().with({ user_id: 'u-5' }).json()));
    await eventually(async () => (await globalStats()).total_orders === 5);
    const user = await t.get<UserStats>('/users/u-5/stats');
    expect(user.body).toMatchObject({ user_id: 'U-5', order_count: 5, total_spend: 499.95 });
    expect((await globalStats()).total_revenue).toBe(499.95);
  });

  it('counts an order sent five times once, and the other four as duplicates', async () => {
    const body = anOrder().with({ user_id: 'u-dup' }).json();
    await t.send([body, body, body, body, body]);
    await eventually(async () => (await globalStats()).duplicates === 4);
    expect(await globalStats()).toMatchObject({ total_orders: 1, total_revenue: 99.99 });
  });

  it('takes a message with characters beyond U+FFFF (an emoji), as SQS does', async () => {
    await t.send([anOrder().with({ user_id: 'u-emoji', shipping_address: '1 Main St \u{1F3E0}' }).json()]);
    await eventually(async () => (await globalStats()).total_orders === 1);
    expect((await t.get<UserStats>('/users/u-emoji/stats')).body.order_count).toBe(1);
  });

  it('treats ids that differ only in case and whitespace as the same order', async () => {
    await t.send([
      anOrder().with({ order_id: 'ord-case', user_id: 'u-case' }).json(),
      anOrder().with({ order_id: ' ORD-CASE ', user_id: 'U-CASE ' }).json(),
    ]);
    await eventually(async () => (await globalStats()).duplicates === 1);
    expect((await t.get<UserStats>('/users/U-CASE/stats')).body.order_count).toBe(1);
  });

  it('does not apply an order_id reused with other content, and records the conflict', async () => {
    await t.send([anOrder().with({ order_id: 'ord-c', user_id: 'u-first' }).json()]);
    await eventually(async () => (await globalStats()).total_orders === 1);
    await t.send([anOrder().with({ order_id: 'ord-c', user_id: 'u-second' }).json()]);
    await eventually(async () => (await globalStats()).conflicts === 1);

    expect((await t.get('/users/u-second/stats')).status).toBe(404);
    const status = await t.get<{ outcome: string; user_id: string; last_conflict: unknown }>('/orders/ord-c');
    expect(status.body).toMatchObject({ outcome: 'accepted', user_id: 'U-FIRST' });
    expect(status.body.last_conflict).not.toBeNull();
    const rejected = await t.get<{ items: { kind: string; order_id: string }[] }>('/orders/rejected');
    expect(rejected.body.items).toEqual([expect.objectContaining({ kind: 'conflict', order_id: 'ORD-C' })]);
  });

  it('acknowledges invalid messages and lists them with their reasons and raw body', async () => {
    await t.send(['not json at all', anOrder().with({ order_id: 'ord-bad' }).withValue(10).json()]);
    await eventually(async () => (await globalStats()).rejected === 2);
    await t.drained();

    const rejected = await t.get<{
      items: { order_id: string | null; reasons: { code: string }[]; raw_body: string }[];
    }>('/orders/rejected');
    expect(rejected.body.items.map((i) => [i.order_id, i.reasons.map((r) => r.code)])).toEqual(
      expect.arrayContaining([
        [null, ['not_json']],
        ['ORD-BAD', ['value_mismatch']],
      ]),
    );
    expect(rejected.body.items.find((i) => i.order_id === null)?.raw_body).toBe('not json at all');
    expect((await t.get<{ outcome: string }>('/orders/ord-bad')).body.outcome).toBe('rejected');
  });

  it('pages the rejected list newest first with a cursor', async () => {
    // One at a time, so that the order they were recorded in is known.
    for (const [i, body] of ['bad-1', 'bad-2', 'bad-3'].entries()) {
      await t.send([body]);
      await eventually(async () => (await globalStats()).rejected === i + 1);
    }
    const first = await t.get<{ items: { raw_body: string }[]; next_cursor: string }>('/orders/rejected?limit=2');
    const second = await t.get<{ items: { raw_body: string }[]; next_cursor: string | null }>(
      `/orders/rejected?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(first.body.items.map((i) => i.raw_body)).toEqual(['bad-3', 'bad-2']);
    expect(second.body.items.map((i) => i.raw_body)).toEqual(['bad-1']);
    expect(second.body.next_cursor).toBeNull();
  });

  it('publishes an OpenAPI document with every route and Swagger UI', async () => {
    const doc = await t.get<{ paths: Record<string, unknown> }>('/docs-json');
    expect(Object.keys(doc.body.paths).sort()).toEqual([
      '/admin/dead-letters',
      '/admin/dead-letters/redrive',
      '/health/live',
      '/health/ready',
      '/metrics',
      '/orders/flagged',
      '/orders/rejected',
      '/orders/rejected/{order_id}/reprocess',
      '/orders/{order_id}',
      '/quality-guard',
      '/stats/global',
      '/stats/range',
      '/stats/top-users',
      '/users/{user_id}/stats',
    ]);
    const ui = await fetch(`${t.baseUrl.replace('[::1]', '127.0.0.1')}/docs`);
    expect([ui.status, await ui.text()]).toEqual([200, expect.stringContaining('swagger-ui')]);
  });

  it('ranks a user whose orders add up to 0.00 last by spend, as it lists them by orders', async () => {
    const free = anOrder()
      .with({ user_id: 'u-free', order_timestamp: '2026-02-02T10:00:00Z' })
      .withItems({ product_id: 'p-free', quantity: 1, price_per_unit: 0 })
      .withValue(0)
      .json();
    await t.send([free, anOrder().with({ user_id: 'u-paid', order_timestamp: '2026-02-02T11:00:00Z' }).json()]);
    await eventually(async () => (await globalStats()).total_orders === 2);
    for (const range of ['', '&from=2026-02-02&to=2026-02-02']) {
      const top = await t.get<{ users: { user_id: string; total_spend: number }[] }>(
        `/stats/top-users?by=spend&limit=5${range}`,
      );
      expect(top.body.users.map((u) => [u.user_id, u.total_spend])).toEqual([
        ['U-PAID', 99.99],
        ['U-FREE', 0],
      ]);
    }
  });

  it('routes case-sensitively: /orders/REJECTED is the order with that id, not the list', async () => {
    expect((await t.get('/orders/REJECTED')).status).toBe(404);
    expect((await t.get('/orders/rejected')).status).toBe(200);
  });

  it.each(['constructor', 'toString', '__proto__'])(
    'refuses the unknown query parameter %s with a 400',
    async (name) => {
      const res = await t.get<{ parameter: string }>(`/stats/top-users?${name}=1`);
      expect(res).toMatchObject({ status: 400, body: { parameter: name } });
    },
  );

  it('answers a ranged top-N with live figures even while its ranking is cached', async () => {
    const on = (day: string): string =>
      anOrder()
        .with({ user_id: 'u-live', order_timestamp: `${day}T10:00:00Z` })
        .json();
    await t.send([on('2026-01-01'), on('2026-01-02')]);
    await eventually(async () => (await globalStats()).total_orders === 2);
    const path = '/stats/top-users?from=2026-01-01&to=2026-01-02';
    expect((await t.get<{ users: unknown[] }>(path)).body.users).toEqual([
      { rank: 1, user_id: 'U-LIVE', order_count: 2, total_spend: 199.98 },
    ]);
    await t.send([on('2026-01-02')]);
    await eventually(async () => (await globalStats()).total_orders === 3);
    expect((await t.get<{ users: unknown[] }>(path)).body.users).toEqual([
      { rank: 1, user_id: 'U-LIVE', order_count: 3, total_spend: 299.97 },
    ]);
  });
});

describe('the consumers of an app that has not started yet', () => {
  it('receive nothing until the API listens, then everything', async () => {
    let notVisibleBeforeListen: string | undefined;
    const t = await startTestApp({}, undefined, async ({ app, queueUrl, sqs }) => {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [1, 2, 3].map((i) => ({
            Id: String(i),
            MessageBody: anOrder().with({ user_id: 'u-early' }).json(),
          })),
        }),
      );
      await app.init(); // the consumers exist and ask to receive
      const gate = app.get(ConsumptionGate);
      await eventually(() => gate.waitingForStart > 0);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      notVisibleBeforeListen = Attributes?.ApproximateNumberOfMessagesNotVisible;
    });
    try {
      expect(notVisibleBeforeListen).toBe('0');
      await eventually(
        async () => (await t.get<{ order_count: number }>('/users/u-early/stats')).body.order_count === 3,
      );
    } finally {
      await t.close();
    }
  });
});
