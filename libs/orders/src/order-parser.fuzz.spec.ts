import fc from 'fast-check';
import { FUZZ_SEED, hostileBody } from '../test/hostile-input';
import { anOrder } from '../test/order-builder';
import { parseOrderMessage } from './order-parser';

/** Every reason code of docs/DESIGN.md, with its field path where it has one. */
const REASON = new RegExp(
  '^(not_json|not_object|body_too_large|invalid_timestamp|value_mismatch|' +
    '(missing_field|invalid_type|empty|too_long|too_many|invalid_format|invalid_money|invalid_quantity|invalid_value):[a-z_]+(\\[\\d+\\](\\.[a-z_]+)?)?)$',
);

describe('parseOrderMessage on hostile bodies (fast-check)', () => {
  it('never throws, and refuses with at least one documented reason code', () => {
    fc.assert(
      fc.property(hostileBody, ({ body }) => {
        const result = parseOrderMessage(body);
        if (!result.ok) {
          expect(result.violations.length).toBeGreaterThan(0);
          for (const v of result.violations) expect(v.code).toMatch(REASON);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 300 },
    );
  });

  it('reads an order the same however its ids, payment method and spacing are written', () => {
    const spelling = fc.constantFrom(
      (s: string) => s.toLowerCase(),
      (s: string) => s.toUpperCase(),
      (s: string) => `  ${s}\t`,
      (s: string) => s,
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,20}$/),
        fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,20}$/),
        spelling,
        spelling,
        (orderId, userId, a, b) => {
          const one = parseOrderMessage(
            anOrder()
              .with({ order_id: a(orderId), user_id: a(userId) })
              .json(),
          );
          const two = parseOrderMessage(
            anOrder()
              .with({ order_id: b(orderId), user_id: b(userId), payment_method: b('credit_card') })
              .json(),
          );
          expect([one.ok && one.order.contentHash, one.ok]).toEqual([two.ok && two.order.contentHash, true]);
        },
      ),
      { seed: FUZZ_SEED, numRuns: 200 },
    );
  });

  it('leaves every prototype untouched whatever keys a body carries', () => {
    fc.assert(
      fc.property(hostileBody, ({ body }) => {
        parseOrderMessage(body);
        expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
      }),
      { seed: FUZZ_SEED, numRuns: 300 },
    );
  });
});
