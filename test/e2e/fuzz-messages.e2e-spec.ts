import fc from 'fast-check';
import { ProcessingService, type InboundMessage } from '@order-pipeline/processing';
import { FUZZ_SEED, hostileBody } from '../../libs/orders/test/hostile-input';
import { startTestApp, type GlobalStats, type TestApp } from '../support/test-app';

const FINAL = ['accepted', 'duplicate', 'conflict', 'rejected'];

/**
 * Hostile message bodies through the real ProcessingService and a real Redis (the same
 * service the SQS handler calls): malformed, huge, deeply nested, wrongly typed,
 * prototype-polluting and not UTF-8. Nothing may throw, and every message must end in
 * exactly one final outcome that Redis records once.
 */
describe('hostile message bodies', () => {
  let t: TestApp;
  let processing: ProcessingService;
  let sent = 0;

  beforeAll(async () => {
    t = await startTestApp({ REJECTED_BODY_MAX_BYTES: '1024' });
    processing = t.app.get(ProcessingService);
  });

  afterAll(async () => {
    await t.close();
  });

  it('each end in exactly one final outcome, and nothing throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileBody, { minLength: 1, maxLength: 10 }), async (batch) => {
        const messages: InboundMessage[] = batch.map(({ body }) => ({ id: `fuzz-${++sent}`, body, receiveCount: 1 }));
        const outcomes = await processing.processBatch(messages);
        expect(outcomes.map((o) => o.messageId)).toEqual(messages.map((m) => m.id));
        for (const o of outcomes) expect(FINAL).toContain(o.kind);
        for (const o of outcomes.filter((x) => x.kind === 'rejected')) expect(o.reasons?.length).toBeGreaterThan(0);
      }),
      { seed: FUZZ_SEED, numRuns: 100 },
    );
    // Redis counted every message once: accepted + duplicates + rejected + conflicts.
    const g = (await t.get<GlobalStats>('/stats/global')).body;
    expect(g.total_orders + g.duplicates + g.rejected + g.conflicts).toBe(sent);
  }, 120_000);

  it('cannot pollute any prototype', async () => {
    const order = (extra: string): string =>
      `{${extra}"order_id":"P-${++sent}","user_id":"U-P","order_timestamp":"2026-01-02T03:04:05Z","order_value":5,` +
      `"items":[{"product_id":"P-1","quantity":1,"price_per_unit":5}],"shipping_address":"1 St","payment_method":"card"}`;
    const bodies = [
      order('"__proto__":{"polluted":true},'),
      order('"constructor":{"prototype":{"polluted":true}},'),
      '{"__proto__":{"polluted":true}}',
      '[{"__proto__":{"polluted":true}}]',
    ];
    const outcomes = await processing.processBatch(
      bodies.map((body) => ({ id: `p-${++sent}`, body, receiveCount: 1 })),
    );
    const probe: Record<string, unknown> = {};
    expect({
      kinds: outcomes.map((o) => o.kind),
      probe: probe.polluted,
      own: Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'),
    }).toEqual({ kinds: ['accepted', 'accepted', 'rejected', 'rejected'], probe: undefined, own: false });
  });

  it('keep what is stored bounded: raw bodies are capped, oversized ones refused as body_too_large', async () => {
    const bodies = ['x'.repeat(300 * 1024), `{"order_id":"CAP","shipping_address":"${'a'.repeat(5000)}"}`];
    const outcomes = await processing.processBatch(
      bodies.map((body) => ({ id: `cap-${++sent}`, body, receiveCount: 1 })),
    );
    expect(outcomes[0]?.reasons?.map((r) => r.code)).toEqual(['body_too_large']);
    const { body } = await t.get<{ items: { raw_body: string; raw_truncated: boolean }[] }>(
      '/orders/rejected?limit=500',
    );
    const largest = Math.max(...body.items.map((i) => Buffer.byteLength(i.raw_body, 'utf8')));
    expect(largest).toBeLessThanOrEqual(1024);
    expect(body.items.some((i) => i.raw_truncated)).toBe(true);
  });
});
