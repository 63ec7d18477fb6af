import fc from 'fast-check';
import { FUZZ_SEED, hostileBody } from '../test/hostile-input';
import { anOrder } from '../test/order-builder';
import { ORDER_FIELDS } from './message-fields';
import { parseOrderMessage, parseOrderMessageAsWritten } from './order-parser';

/** Every reason code of docs/DESIGN.md, with its field path where it has one. */
const REASON = new RegExp(
  '^(not_json|not_object|body_too_large|invalid_timestamp|value_mismatch|' +
    '(missing_field|duplicate_key|invalid_type|empty|too_long|too_many|invalid_format|invalid_money|invalid_quantity|invalid_value):[a-z_]+(\\[\\d+\\](\\.[a-z_]+)?)?)$',
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

  it('refuses an order with a field it reads written twice, wherever and however the second is written', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ORDER_FIELDS), fc.boolean(), fc.boolean(), (key, first, escaped) => {
        const order = JSON.parse(anOrder().json()) as Record<string, unknown>;
        // The key once more, with its own value, at the start or the end; its name in a \u escape or not.
        const name = escaped ? `${key.slice(0, 2)}\\u00${key.charCodeAt(2).toString(16)}${key.slice(3)}` : key;
        const again = `"${name}":${JSON.stringify(order[key])}`;
        const body = JSON.stringify(order);
        const twice = first ? `{${again},${body.slice(1)}` : `${body.slice(0, -1)},${again}}`;
        const result = parseOrderMessage(twice);
        expect(result.ok ? [] : result.violations.map((v) => v.code)).toEqual([`duplicate_key:${key}`]);
      }),
      { seed: FUZZ_SEED, numRuns: 100 },
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

  describe('reading money without the reviver when no number needs it', () => {
    /** JSON number texts: plain amounts, trailing zeros, exponents, signs, long fractions, huge values. */
    const numberText = fc.oneof(
      fc.tuple(fc.nat({ max: 10_000_000 }), fc.nat({ max: 99 })).map(([u, c]) => `${u}.${String(c).padStart(2, '0')}`),
      fc.tuple(fc.nat({ max: 100_000 }), fc.nat({ max: 9 })).map(([u, c]) => `${u}.${c}`),
      fc.nat({ max: 1_000_000 }).map(String),
      fc.tuple(fc.nat({ max: 9_999 }), fc.stringMatching(/^\d{3,20}$/)).map(([u, f]) => `${u}.${f}`),
      fc
        .tuple(fc.stringMatching(/^\d{1,4}(\.\d{1,4})?$/), fc.constantFrom('e', 'E', 'e+', 'e-', 'E-'), fc.nat(25))
        .map(([m, e, x]) => `${m}${e}${x}`),
      fc.stringMatching(/^\d{12,25}(\.\d{1,2})?$/).filter((t) => !/^0\d/.test(t)),
      fc
        .tuple(fc.nat({ max: 9_999 }), fc.integer({ min: 1, max: 20 }), fc.nat(9))
        .map(([u, zeros, d]) => `${u}.${'0'.repeat(zeros)}${d}`),
      fc.constantFrom(
        '-0',
        '-0.00',
        '-5',
        '-12.50',
        '0',
        '0.0',
        '1e21',
        '1.005',
        '99.990',
        '9.999e1',
        '10.0000000000000001',
      ),
    );
    const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ');

    it('reads every order exactly as the always-reviver path does', () => {
      fc.assert(
        fc.property(numberText, numberText, numberText, space, space, space, (value, price, other, s1, s2, s3) => {
          const body = anOrder()
            .with({ order_timestamp: '2026-01-02T03:04:05.678Z' }) // digits in a string, not a token
            .json()
            .replace('"order_value":99.99', `"order_value":${s1}${value}${s3}`)
            .replace('"price_per_unit":20', `"price_per_unit":${s2}${price}${s3}`)
            .replace('"quantity":1', `"quantity":${other}${s3}`);
          expect(parseOrderMessage(body)).toEqual(parseOrderMessageAsWritten(body));
        }),
        { seed: FUZZ_SEED, numRuns: 2_000 },
      );
    });

    it('agrees with the always-reviver path on hostile bodies, deeply nested ones included', () => {
      fc.assert(
        fc.property(hostileBody, ({ body }) => {
          expect(parseOrderMessage(body)).toEqual(parseOrderMessageAsWritten(body));
        }),
        { seed: FUZZ_SEED, numRuns: 300 },
      );
    });
  });
});
