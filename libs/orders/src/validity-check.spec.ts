import fc from 'fast-check';
import { IsString, MaxLength, ValidateIf, ValidateNested, validateSync } from 'class-validator';
import { FUZZ_SEED } from '../test/hostile-input';
import { MAX_ID_LENGTH, MAX_ITEMS, MAX_TEXT_LENGTH, OrderEventDto, OrderItemDto } from './order-event.dto';
import { validityCheck } from './validity-check';

const findsNothing = (object: object): boolean => validateSync(object, { forbidUnknownValues: false }).length === 0;

/** Text of about `limit` characters, some of them astral (one character, two UTF-16 units) or variation selectors. */
const textNear = (limit: number): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.integer({ min: Math.max(0, limit - 2), max: limit + 1 }),
      fc.constantFrom('A', '9', '\u{1D400}', '\u00E9', 'x\uFE0F', ' ', ':', '{'),
      fc.constantFrom('A', '-', '\u{1D400}'),
    )
    .map(([n, odd, fill]) => (n === 0 ? '' : odd + fill.repeat(n - 1)));

const wrongType = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);

/** A field: well-formed seven times in eight, else at or just past a rule's edge, or of another type. */
const field = (wellFormed: fc.Arbitrary<unknown>, edge: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 14, arbitrary: wellFormed }, { weight: 1, arbitrary: edge }, { weight: 1, arbitrary: wrongType });
const id = field(
  fc.oneof(
    fc.stringMatching(/^[A-Z0-9][A-Z0-9._#@+/-]{0,20}$/),
    fc
      .array(fc.constantFrom('A', '9', '\u00E9', '\u4E2D', '\u{1D400}', '-', '.'), { minLength: 1, maxLength: 20 })
      .map((chars) => chars.join('')),
  ),
  fc.oneof(textNear(MAX_ID_LENGTH), fc.constantFrom('', 'a b', 'a:b', '{x}')),
);
const text = (limit: number) => field(fc.string({ minLength: 1, maxLength: 30 }), textNear(limit));
const anything = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 6 }), wrongType);

const item = fc.oneof(
  { weight: 20, arbitrary: fc.record({ product_id: id, quantity: anything, price_per_unit: anything }) },
  { weight: 1, arbitrary: fc.constantFrom(null, 7, 'item', [] as unknown[]) },
);
const items = field(
  fc.array(item, { minLength: 1, maxLength: 3 }),
  fc.oneof(
    fc.constant([]),
    fc
      .constantFrom(MAX_ITEMS, MAX_ITEMS + 1)
      .map((n) => Array.from({ length: n }, (_, i) => ({ product_id: `P${i}`, quantity: 1, price_per_unit: 1 }))),
  ),
);

/** The DTO as the parser builds it: class instances for the order and for each object item. */
const dto = fc
  .record(
    {
      order_id: id,
      user_id: id,
      order_timestamp: text(40),
      order_value: anything,
      items,
      shipping_address: text(MAX_TEXT_LENGTH),
      payment_method: text(40),
    },
    { requiredKeys: ['order_id', 'user_id', 'items'] },
  )
  .map((fields) => {
    const order = Object.assign(new OrderEventDto(), fields);
    if (Array.isArray(fields.items)) {
      order.items = fields.items.map((i: unknown) =>
        typeof i === 'object' && i !== null && !Array.isArray(i) ? Object.assign(new OrderItemDto(), i) : i,
      ) as OrderItemDto[];
    }
    return order;
  });

describe('validityCheck', () => {
  const isValid = validityCheck(OrderEventDto);

  it('answers exactly as validateSync does for orders at and around every rule edge', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(dto, (order) => {
        const expected = findsNothing(order);
        seen[expected ? 'valid' : 'invalid'] += 1;
        expect(isValid(order)).toBe(expected);
      }),
      { seed: FUZZ_SEED, numRuns: 3000 },
    );
    // Both answers must be common, or the agreement above says little.
    expect(Math.min(seen.valid, seen.invalid)).toBeGreaterThan(300);
  });

  it('leaves a nested object whose own "constructor" key is no class to class-validator', () => {
    class Holder {
      @ValidateNested()
      inner: unknown = { constructor: 'not a class' };
    }
    expect([validityCheck(Holder)(new Holder()), findsNothing(new Holder())]).toEqual([false, true]);
  });

  it('counts an astral character as one, as class-validator does', () => {
    const order = Object.assign(new OrderEventDto(), {
      order_id: '\u{1D400}'.repeat(MAX_ID_LENGTH),
      user_id: 'U-1',
      order_timestamp: '2026-01-02T03:04:05Z',
      order_value: 1,
      items: [Object.assign(new OrderItemDto(), { product_id: 'P-1', quantity: 1, price_per_unit: 1 })],
      shipping_address: '1 Main St',
      payment_method: 'CARD',
    });
    expect([isValid(order), findsNothing(order)]).toEqual([true, true]);
    order.order_id += '\u{1D400}';
    expect([isValid(order), findsNothing(order)]).toEqual([false, false]);
  });

  it('leaves a class with a decorator it does not model to class-validator', () => {
    class Conditional {
      @ValidateIf(() => true)
      @IsString()
      name: unknown = 'fine';
    }
    const check = validityCheck(Conditional);
    expect([check(new Conditional()), findsNothing(new Conditional())]).toEqual([false, true]);
  });

  it('leaves a constraint applied to each element to class-validator', () => {
    class Tags {
      @IsString({ each: true })
      tags: unknown = ['a', 'b'];
    }
    expect([validityCheck(Tags)(new Tags()), findsNothing(new Tags())]).toEqual([false, true]);
  });

  it('checks a class nested in itself without looping', () => {
    class Node {
      @MaxLength(3)
      name = 'abc';

      @ValidateNested()
      next: Node | undefined;
    }
    const check = validityCheck(Node);
    const head = new Node();
    head.next = new Node();
    expect([check(head), findsNothing(head)]).toEqual([true, true]);
    head.next.name = 'abcd';
    expect([check(head), findsNothing(head)]).toEqual([false, false]);
  });
});
