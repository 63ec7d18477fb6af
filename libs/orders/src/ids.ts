/**
 * How every id (order, user, product) is compared: trimmed, Unicode NFC, upper case.
 * Upper-casing may merge ids that differ only in case folding ("straße" and "STRASSE"):
 * that is what case-insensitive ids mean. The result must still match ID_PATTERN.
 */
export function normaliseId(value: string): string {
  return value.trim().normalize('NFC').toUpperCase();
}

/**
 * An id's length in characters (Unicode code points), as the DTO's MaxLength counts it: a
 * letter outside the Basic Multilingual Plane is one character, not two UTF-16 units.
 */
export function idLength(id: string): number {
  let n = id.length;
  for (let i = 0; i < id.length - 1; i++) {
    const unit = id.charCodeAt(i);
    const next = id.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      n--;
      i++;
    }
  }
  return n;
}
