import { centsToAmount, formatCents, parseCents } from './money';

describe('parseCents', () => {
  it.each([
    [99.99, 9999],
    [20, 2000],
    [0.1, 10],
    [0.2, 20],
    ['59.99', 5999],
    [' 1.5 ', 150],
    [0, 0],
    ['0.07', 7],
    ['001.00', 100],
    ['0000000000000003.00', 300],
    ['0000000000000000000000000000', 0],
  ])('reads %p as %p cents', (input, expected) => {
    expect(parseCents(input)).toBe(expected);
  });

  it.each([
    [1.005],
    [-1],
    ['-0.01'],
    ['1e3'],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    ['abc'],
    [''],
    [null],
    [true],
    [[]],
  ])('refuses %p', (input) => {
    expect(parseCents(input)).toBeUndefined();
  });

  it('adds five orders of 99.99 to exactly 499.95', () => {
    const cents = Array.from({ length: 5 }, (): number => parseCents(99.99) ?? 0).reduce((a, b) => a + b, 0);
    expect(cents).toBe(49995);
    expect(centsToAmount(cents)).toBe(499.95);
  });

  // Past the bound a JSON number (a double) no longer renders every cent: 90071992547409.91
  // comes out as 90071992547409.9, which is why the docs name 10^15 cents.
  it.each([999_999_999_999_999, 123_456_789_012_345, 100_000_000_000_001, 1])(
    'renders %i cents, below the documented bound of 10^15, as JSON with every cent',
    (cents) => {
      expect(JSON.stringify(centsToAmount(cents))).toBe(formatCents(cents).replace(/\.?0+$/, ''));
    },
  );

  it('adds 0.10 and 0.20 to exactly 0.30, where floats drift', () => {
    expect(formatCents((parseCents(0.1) ?? 0) + (parseCents(0.2) ?? 0))).toBe('0.30');
  });
});

describe('formatCents', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [12345, '123.45'],
    [-5, '-0.05'],
    [100_000_000_000, '1000000000.00'],
  ])('renders %p as %p', (input, expected) => {
    expect(formatCents(input)).toBe(expected);
  });
});
