/**
 * The number a hash value stands for, as Number(text) reads it (a missing field is 0).
 * HINCRBY writes integer text, whose digits are read straight from the bytes; anything
 * else, or more digits than a double holds exactly, goes through Number.
 */
export function numberOf(value: Buffer | null | undefined): number {
  if (value == null) return 0;
  const length = value.length;
  let i = value[0] === 0x2d ? 1 : 0;
  if (length - i < 1 || length - i > 15) return Number(value.toString());
  let n = 0;
  for (; i < length; i++) {
    const digit = (value[i] ?? 0) - 0x30;
    if (digit < 0 || digit > 9) return Number(value.toString());
    n = n * 10 + digit;
  }
  return value[0] === 0x2d ? -n : n;
}
