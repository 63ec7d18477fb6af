/**
 * How every id (order, user, product) is compared: trimmed, Unicode NFC, upper case.
 * Upper-casing may merge ids that differ only in case folding ("straße" and "STRASSE"):
 * that is what case-insensitive ids mean. The result must still match ID_PATTERN.
 */
export function normaliseId(value: string): string {
  return value.trim().normalize('NFC').toUpperCase();
}
