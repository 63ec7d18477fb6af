// Money as integer cents. Never multiply or add floats for money.

const MONEY_TEXT = /^(-?)(\d+)(?:\.(\d{1,2}))?$/;

/** Cents → "19.99" (always two decimals). */
export function centsToFixed2(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new Error(`not an integer number of cents: ${cents}`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100);
  const frac = abs % 100;
  return `${sign}${whole}.${frac < 10 ? '0' : ''}${frac}`;
}

/** Cents → the shortest decimal form JSON.stringify would give ("20", "19.9", "19.99"). */
export function centsToShort(cents: number): string {
  const fixed = centsToFixed2(cents);
  if (fixed.endsWith('.00')) return fixed.slice(0, -3);
  if (fixed.endsWith('0')) return fixed.slice(0, -1);
  return fixed;
}

/**
 * A decimal text with at most two decimals → cents, or null. Exact (string arithmetic, no floats).
 * "19.99" → 1999, "0.1" → 10, "-5" → -500, "19.999" → null.
 */
export function decimalTextToCents(text: string): number | null {
  const m = MONEY_TEXT.exec(text);
  if (!m) return null;
  const whole = Number(m[2]);
  const frac = m[3] === undefined ? 0 : Number(m[3].padEnd(2, '0'));
  const cents = whole * 100 + frac;
  if (!Number.isSafeInteger(cents)) return null;
  return m[1] === '-' ? -cents : cents;
}

/**
 * A JSON number (as parsed by JSON.parse) → cents, or null when it has more than two decimals
 * or is not finite. Uses the number's shortest round-trip decimal text, which is exactly the
 * text a JSON encoder would emit, so 299.97 → 29997 but 0.1 + 0.2 (0.30000000000000004) → null.
 */
export function numberToCents(value: number): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  let text = String(value);
  if (/e/i.test(text)) {
    // 1e-7 or 1e21: only integers written in exponent form can be whole cents.
    if (!Number.isInteger(value)) return null;
    text = BigInt(value).toString();
  }
  return decimalTextToCents(text);
}
