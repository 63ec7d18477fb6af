import { MAX_BODY_BYTES, MAX_BODY_DEPTH, parseOrderMessage } from './order-parser';
import { anOrder } from '../test/order-builder';

function codes(body: string): readonly string[] {
  const result = parseOrderMessage(body);
  return result.ok ? [] : result.violations.map((v) => v.code);
}

describe('parseOrderMessage', () => {
  it('accepts 2 x 20.00 + 59.99 = 99.99 exactly', () => {
    const result = parseOrderMessage(
      anOrder()
        .withItems(
          { product_id: 'p1', quantity: 2, price_per_unit: 20.0 },
          { product_id: 'p2', quantity: 1, price_per_unit: 59.99 },
        )
        .withValue(99.99)
        .json(),
    );
    expect(result.ok && result.order.valueCents).toBe(9999);
  });

  it('normalises ids and payment method: trimmed and upper-cased', () => {
    const result = parseOrderMessage(
      anOrder().with({ order_id: '  ord-1 ', user_id: ' u-7', payment_method: ' paypal ' }).json(),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.violations));
    expect([result.order.orderId, result.order.userId, result.order.paymentMethod]).toEqual(['ORD-1', 'U-7', 'PAYPAL']);
  });

  it('gives the same content hash to orders that differ only in case and whitespace', () => {
    const a = parseOrderMessage(anOrder().with({ order_id: 'o-1', user_id: 'u-1' }).json());
    const b = parseOrderMessage(anOrder().with({ order_id: ' O-1 ', user_id: 'U-1 ' }).json());
    expect(a.ok && b.ok && a.order.contentHash === b.order.contentHash).toBe(true);
  });

  it('gives a different content hash when the user differs', () => {
    const a = parseOrderMessage(anOrder().with({ user_id: 'u-1' }).json());
    const b = parseOrderMessage(anOrder().with({ user_id: 'u-2' }).json());
    expect(a.ok && b.ok && a.order.contentHash !== b.order.contentHash).toBe(true);
  });

  it.each([
    ['not JSON', 'order #1, 99.99', ['not_json']],
    ['a JSON array', '[1,2]', ['not_object']],
    ['a JSON string', '"hello"', ['not_object']],
    ['missing order_value', anOrder().without('order_value').json(), ['missing_field:order_value']],
    ['missing user_id', anOrder().without('user_id').json(), ['missing_field:user_id']],
    ['order_value off by a cent', anOrder().withValue(99.98).json(), ['value_mismatch']],
    [
      'three decimals in a price',
      anOrder().withItems({ product_id: 'p', quantity: 1, price_per_unit: 1.005 }).withValue(1.01).json(),
      ['invalid_money:items[0].price_per_unit'],
    ],
    [
      'a negative price',
      anOrder().withItems({ product_id: 'p', quantity: 1, price_per_unit: -1 }).withValue(1).json(),
      ['invalid_money:items[0].price_per_unit'],
    ],
    [
      'a zero quantity',
      anOrder().withItems({ product_id: 'p', quantity: 0, price_per_unit: 1 }).withValue(0).json(),
      ['invalid_quantity:items[0].quantity'],
    ],
    [
      'a fractional quantity',
      anOrder().withItems({ product_id: 'p', quantity: 1.5, price_per_unit: 2 }).withValue(3).json(),
      ['invalid_quantity:items[0].quantity'],
    ],
    [
      'a quantity as text',
      anOrder().withItems({ product_id: 'p', quantity: '2', price_per_unit: 2 }).withValue(4).json(),
      ['invalid_quantity:items[0].quantity'],
    ],
    ['no items', anOrder().withItems().withValue(0).json(), ['empty:items']],
    ['items not a list', anOrder().with({ items: 'p1 x2' }).json(), ['invalid_type:items']],
    [
      'an item without product_id',
      anOrder().withItems({ quantity: 1, price_per_unit: 1 }).withValue(1).json(),
      ['missing_field:items[0].product_id'],
    ],
    ['a user_id that is a number', anOrder().with({ user_id: 17 }).json(), ['invalid_type:user_id']],
    ['a user_id with a colon', anOrder().with({ user_id: 'u:1' }).json(), ['invalid_format:user_id']],
    [
      'an order_id over 64 characters',
      anOrder()
        .with({ order_id: 'X'.repeat(65) })
        .json(),
      ['too_long:order_id'],
    ],
    ['a timestamp that is not a date', anOrder().with({ order_timestamp: 'yesterday' }).json(), ['invalid_timestamp']],
    ['February 30th', anOrder().with({ order_timestamp: '2026-02-30T10:00:00Z' }).json(), ['invalid_timestamp']],
  ])('rejects %s', (_name, body, expected) => {
    expect(codes(body)).toEqual(expected);
  });

  it('reports every broken rule, not only the first', () => {
    expect(codes(anOrder().without('order_id').with({ order_timestamp: 'soon' }).json())).toEqual([
      'missing_field:order_id',
      'invalid_timestamp',
    ]);
  });

  it('keeps the normalised ids of a rejected order so it can be looked up', () => {
    const result = parseOrderMessage(anOrder().with({ order_id: 'ord-9', user_id: ' u-3 ' }).withValue(1).json());
    expect(!result.ok && [result.orderId, result.userId]).toEqual(['ORD-9', 'U-3']);
  });

  it('ignores unknown fields such as constructor and extra', () => {
    const body = anOrder().json().replace(/^\{/, '{"constructor":{"x":1},"extra":1,');
    expect(parseOrderMessage(body).ok).toBe(true);
  });

  it('never reads a field through a "__proto__" key (no prototype pollution)', () => {
    // Were "__proto__" copied onto the DTO, order_id would resolve through the prototype.
    const body = anOrder().without('order_id').json().replace(/^\{/, '{"__proto__":{"order_id":"SNEAKY"},');
    expect(codes(body)).toEqual(['missing_field:order_id']);
  });

  it('accepts prices given as decimal strings', () => {
    const result = parseOrderMessage(
      anOrder().withItems({ product_id: 'p', quantity: 3, price_per_unit: '0.10' }).withValue('0.30').json(),
    );
    expect(result.ok && result.order.valueCents).toBe(30);
  });

  it('reads the timestamp in UTC, honouring an explicit offset', () => {
    const result = parseOrderMessage(anOrder().with({ order_timestamp: '2026-03-01T01:30:00+02:00' }).json());
    expect(result.ok && new Date(result.order.timestampMs).toISOString()).toBe('2026-02-28T23:30:00.000Z');
  });

  it.each([
    ['a nested empty array', [[]]],
    ['an item wrapped in an array', [[{ product_id: 'p', quantity: 1, price_per_unit: 1 }]]],
    ['a number', [7]],
    ['null', [null]],
  ])('rejects an item that is %s as invalid_type, without throwing', (_name, items) => {
    expect(codes(anOrder().with({ items, order_value: 1 }).json())).toEqual(['invalid_type:items[0]']);
  });

  it('rejects a body nested too deeply to be an order, without throwing', () => {
    const deep = '['.repeat(6000) + ']'.repeat(6000);
    const body = anOrder()
      .json()
      .replace(/"items":\[/, `"items":[${deep},`);
    expect(() => parseOrderMessage(body)).not.toThrow();
    expect(codes(body)).toEqual(['invalid_value:body']);
  });

  it('refuses a body over MAX_BODY_BYTES as body_too_large, keeping its ids', () => {
    const body = anOrder()
      .with({ order_id: 'o-big', user_id: 'u-big', note: 'x'.repeat(MAX_BODY_BYTES) })
      .json();
    expect(parseOrderMessage(body)).toEqual({
      ok: false,
      violations: [{ code: 'body_too_large', message: `message body is over ${MAX_BODY_BYTES} bytes` }],
      orderId: 'O-BIG',
      userId: 'U-BIG',
    });
  });

  it('refuses a body over MAX_BODY_BYTES that is not JSON as body_too_large', () => {
    expect(codes('x'.repeat(MAX_BODY_BYTES + 1))).toEqual(['body_too_large']);
  });

  /** An order with an extra field nested `depth` levels deep (the order itself is level 1). */
  const withExtraNesting = (depth: number, orderValue = '99.99'): string =>
    anOrder()
      .with({ order_id: 'o-deep', user_id: 'u-deep' })
      .json()
      .replace('"order_value":99.99', `"order_value":${orderValue}`)
      .replace(/^\{/, `{"meta":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)},`);

  it.each([['99.99'], ['99.990'], ['9.999e1']])(
    'refuses a body nested past MAX_BODY_DEPTH in an unknown field alike whatever the amount (%s), keeping its ids',
    (orderValue) => {
      const result = parseOrderMessage(withExtraNesting(MAX_BODY_DEPTH + 1, orderValue));
      expect(result).toEqual({
        ok: false,
        violations: [
          { code: 'invalid_value:body', message: `message body is nested more than ${MAX_BODY_DEPTH} levels deep` },
        ],
        orderId: 'O-DEEP',
        userId: 'U-DEEP',
      });
    },
  );

  it('reads an order whose unknown field is nested exactly MAX_BODY_DEPTH deep', () => {
    const body = withExtraNesting(MAX_BODY_DEPTH).replace(/"price_per_unit":20/, '"price_per_unit":20.000');
    expect(parseOrderMessage(body)).toMatchObject({ ok: true, order: { orderId: 'O-DEEP', valueCents: 9999 } });
  });

  it('does not count brackets inside strings as nesting, after an escaped quote too', () => {
    const body = anOrder()
      .with({ note: '"' + '['.repeat(MAX_BODY_DEPTH + 10) + ']'.repeat(MAX_BODY_DEPTH + 10) })
      .json();
    expect(parseOrderMessage(body).ok).toBe(true);
  });

  it.each([
    ['99.990', 9999],
    ['20.0', 2000],
  ])('reads the JSON number %s as written: trailing zeros are fine', (text, cents) => {
    const body = anOrder().json().replace('"order_value":99.99', `"order_value":${text}`);
    const result = parseOrderMessage(
      body.replace(/"items":\[[^\]]*\]/, `"items":[{"product_id":"p","quantity":1,"price_per_unit":${text}}]`),
    );
    expect(result.ok && result.order.valueCents).toBe(cents);
  });

  it.each([['9.999e1'], ['10.0000000000000001'], ['1.005']])('refuses the JSON number %s as written', (text) => {
    const body = anOrder().json().replace('"order_value":99.99', `"order_value":${text}`);
    expect(codes(body)).toContain('invalid_money:order_value');
  });

  /** The default order with one item of `quantity` (as JSON text) at 20.00 and the matching value. */
  const withQuantity = (quantity: string, valueCents: number): string =>
    anOrder()
      .json()
      .replace('"order_value":99.99', `"order_value":${valueCents / 100}`)
      .replace(/"items":\[[^\]]*\]/, `"items":[{"product_id":"p","quantity":${quantity},"price_per_unit":20}]`);

  it.each([
    ['2', 2],
    ['2.0', 2],
    ['2.000', 2],
    ['1000000', 1_000_000],
  ])('reads the quantity %s as written: a whole number', (text, quantity) => {
    const result = parseOrderMessage(withQuantity(text, quantity * 2000));
    expect(result.ok && result.order.items[0]?.quantity).toBe(quantity);
  });

  it.each([
    ['1e2', 100],
    ['2.0000000000000001', 2],
    ['1.0e0', 1],
    ['-0', 0],
  ])('refuses the quantity %s as written, though JSON.parse reads a whole number', (text, read) => {
    expect(codes(withQuantity(text, read * 2000))).toEqual(['invalid_quantity:items[0].quantity']);
  });

  it.each([['{"constructor":null}'], ['{"constructor":{"pad":"x"}}'], ['{"constructor":"Object"}'], ['{}']])(
    'refuses the object %s where items belong as invalid_type:items',
    (items) => {
      const body = anOrder()
        .json()
        .replace(/"items":\[[^\]]*\]/, `"items":${items}`);
      expect(codes(body)).toEqual(['invalid_type:items']);
    },
  );

  it('reads a body that starts with a byte order mark like the same body without one', () => {
    const body = anOrder().json();
    expect(parseOrderMessage(`\uFEFF${body}`)).toEqual(parseOrderMessage(body));
  });

  it('upper-cases Unicode ids after NFC normalisation', () => {
    const result = parseOrderMessage(anOrder().with({ user_id: 'caf\u0065\u0301-1' }).json());
    expect(result.ok && result.order.userId).toBe('CAFÉ-1');
  });

  it('refuses an id that is no longer a valid id once upper-cased', () => {
    expect(codes(anOrder().with({ user_id: '\u0390' }).json())).toEqual(['invalid_format:user_id']);
  });

  it.each([
    ['a combining mark', '\u01f0', 'invalid_format:items[0].product_id'],
    ['over 64 characters', '\u00df'.repeat(64), 'too_long:items[0].product_id'],
  ])('refuses a product_id that upper-cases to %s', (_name, productId, code) => {
    const body = anOrder().withItems({ product_id: productId, quantity: 1, price_per_unit: 1 }).withValue(1).json();
    expect(codes(body)).toEqual([code]);
  });

  it('says an order without items must have one', () => {
    const result = parseOrderMessage(anOrder().withItems().withValue(0).json());
    expect(result.ok ? [] : result.violations).toEqual([
      { code: 'empty:items', message: 'items must contain at least one item' },
    ]);
  });

  it('calls an id that upper-cases to over 64 characters too long, as the API does', () => {
    const result = parseOrderMessage(
      anOrder()
        .with({ user_id: '\u00df'.repeat(40) })
        .json(),
    );
    expect(result.ok ? [] : result.violations).toEqual([
      { code: 'too_long:user_id', message: 'user_id is over 64 characters once upper-cased' },
    ]);
  });

  it('counts an id in characters: forty letters outside the BMP are not too long', () => {
    const result = parseOrderMessage(
      anOrder()
        .with({ user_id: '\u{1D400}'.repeat(40) })
        .json(),
    );
    expect(result.ok && result.order.userId).toBe('\u{1D400}'.repeat(40));
  });

  it("gives an id written twice both codes: the repeat's and the last value's own", () => {
    // JSON.parse keeps the last user_id: forty ß, eighty letters once upper-cased.
    const body = anOrder()
      .with({ user_id: '\u00df'.repeat(40) })
      .json()
      .replace('{', '{"user_id":"u-1",');
    expect(codes(body)).toEqual(['too_long:user_id', 'duplicate_key:user_id']);
  });

  it.each([
    ['true', 'invalid_type'],
    ['{}', 'invalid_type'],
    ['[99.99]', 'invalid_type'],
    ['""', 'empty'],
    ['"  "', 'empty'],
  ])('names what is wrong with an order_value of %s (%s)', (json, kind) => {
    expect(codes(anOrder().json().replace('"order_value":99.99', `"order_value":${json}`))).toEqual([
      `${kind}:order_value`,
    ]);
  });

  it('calls an item price of "" empty', () => {
    const body = anOrder().withItems({ product_id: 'p', quantity: 1, price_per_unit: '' }).withValue(1).json();
    expect(codes(body)).toEqual(['empty:items[0].price_per_unit']);
  });

  it.each([
    ['an offset beyond +14:00', '2026-03-01T10:00:00+14:59'],
    ['a UTC instant past year 9999', '9999-12-31T23:00:00-14:00'],
    ['a UTC instant before 1970', '1970-01-01T00:30:00+01:00'],
  ])('refuses %s', (_name, ts) => {
    expect(codes(anOrder().with({ order_timestamp: ts }).json())).toEqual(['invalid_timestamp']);
  });

  it.each([
    ['1969-12-31T21:00:00.000-05:00', Date.UTC(1970, 0, 1, 2)],
    ['1969-12-31 23:00-04', Date.UTC(1970, 0, 1, 3)],
    ['9999-12-31T23:00:00+02:00', Date.UTC(9999, 11, 31, 21)],
  ])('accepts %s, whose UTC instant lies in 1970..9999 whatever its local date', (ts, ms) => {
    const result = parseOrderMessage(anOrder().with({ order_timestamp: ts }).json());
    expect(result.ok && result.order.timestampMs).toBe(ms);
  });

  it('truncates a fraction of seconds of any length to milliseconds', () => {
    const result = parseOrderMessage(anOrder().with({ order_timestamp: '2026-10-04T10:00:00.1239999999999Z' }).json());
    expect(result.ok && result.order.timestampMs).toBe(Date.UTC(2026, 9, 4, 10, 0, 0, 123));
  });
});
