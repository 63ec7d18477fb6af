/**
 * Money is integer cents everywhere inside the service. Decimal text is parsed
 * straight into cents (no float arithmetic) and rendered back only at the API edge.
 */
export type Cents = number & { readonly __brand: 'Cents' };

/** Largest amount a single order may carry; totals are exact below 10^15 cents (docs/DESIGN.md). */
export const MAX_ORDER_CENTS = 100_000_000_000; // 1,000,000,000.00

/**
 * Digits (leading zeros aside, at most 15), and at most two decimals that count (more
 * decimals only as trailing zeros).
 */
const DECIMAL = /^0*(\d{1,15})(?:\.(\d{1,2})0*)?$/;

/**
 * Parses decimal text (or a number, through its shortest round-trip text) with at most
 * two decimals that count into cents; no binary float error reaches a sum. The order
 * parser hands JSON numbers over as the text they were written with. Exponents, signs
 * and anything else give undefined.
 */
export function parseCents(value: unknown): Cents | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return undefined;
  }
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? (cents as Cents) : undefined;
}

/** Cents as a JSON number with at most two decimals (12345 -> 123.45, 12340 -> 123.4). Exact for |cents| < 10^15 (15 digits, what a double renders back). */
export function centsToAmount(value: number): number {
  return Number(formatCents(value));
}

/** Cents as decimal text with two places (12345 -> "123.45", -5 -> "-0.05"). */
export function formatCents(value: number): string {
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  const units = Math.trunc(abs / 100);
  const rest = abs - units * 100;
  return `${sign}${units}.${String(rest).padStart(2, '0')}`;
}
