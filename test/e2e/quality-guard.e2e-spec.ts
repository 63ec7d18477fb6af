import { anOrder } from '../../libs/orders/test/order-builder';
import { FakeMessagesApi } from '../../libs/quality-guard/test/fake-messages-api';
import { eventually, startTestApp, type TestApp } from '../support/test-app';

describe('the AI quality guard in the running pipeline', () => {
  const api = new FakeMessagesApi();
  let t: TestApp;

  beforeAll(async () => {
    const baseUrl = await api.start();
    api.reply = (r) => ({
      verdicts: r.orders.map((o) =>
        o.user_id === 'U-FRAUD'
          ? { order_id: o.order_id, decision: 'reject', code: 'fraud_suspected', explanation: 'card testing pattern' }
          : { order_id: o.order_id, decision: 'allow', code: 'none', explanation: 'fine' },
      ),
    });
    t = await startTestApp({
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: baseUrl,
      QUALITY_GUARD_SUSPICIOUS_CENTS: '5000', // 50.00: every 99.99 test order is flagged
    });
  });

  afterAll(async () => {
    await t.close();
    await api.stop();
  });

  it('rejects a flagged order the model rejects, with its reason code, and applies the one it allows', async () => {
    await t.send([
      anOrder().with({ order_id: 'ord-fraud', user_id: 'u-fraud' }).json(),
      anOrder().with({ order_id: 'ord-fine', user_id: 'u-fine' }).json(),
    ]);
    await eventually(
      async () => (await t.get<{ rejected: number; total_orders: number }>('/stats/global')).body.total_orders === 1,
    );
    await eventually(async () => (await t.get<{ rejected: number }>('/stats/global')).body.rejected === 1);

    const status = await t.get<{ outcome: string; reasons: { code: string }[] }>('/orders/ord-fraud');
    expect(status.body.outcome).toBe('rejected');
    expect(status.body.reasons.map((r) => r.code)).toEqual(['ai:fraud_suspected', 'flag:high_value']);
    expect((await t.get('/users/u-fine/stats')).status).toBe(200);
    expect(await t.metrics()).toMatch(/order_pipeline_quality_guard_total\{event="rejected"\} 1/);
  });
});
