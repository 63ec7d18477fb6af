/**
 * ISO-8601 order timestamps. Accepted: a date (2026-03-04), or a date and time
 * with "T" or a space, optional seconds and a fraction of any length (truncated to
 * milliseconds), and an optional zone ("Z",
 * "+02:00", "+0200", "+02"). A timestamp without a zone is read as UTC: the seed
 * produced naive UTC times, and a server's local zone must never change a total.
 */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

const MIN_YEAR = 1970;
const MAX_YEAR = 9999;

export function parseOrderTimestamp(value: string): number | undefined {
  const m = ISO.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  // The range holds for the UTC instant (below); a local date may still read 1969.
  if (year < MIN_YEAR - 1 || month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetMinutes = parseOffset(m[8]);
  if (offsetMinutes === undefined) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  const utcYear = new Date(ms).getUTCFullYear();
  return utcYear >= MIN_YEAR && utcYear <= MAX_YEAR ? ms : undefined;
}

function parseOffset(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours * 60 + minutes > 14 * 60 || minutes > 59) return undefined; // zones span -14:00..+14:00
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
