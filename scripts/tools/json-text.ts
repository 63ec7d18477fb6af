// JSON text with control over how numbers are written (e.g. 20.00 rather than 20), and a
// readable layout for the expected-aggregates files.

/** A number written into the JSON text verbatim (e.g. "20.00", "19.999", "-5.00"). */
export class RawNumber {
  readonly text: string;
  constructor(text: string) {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`not a plain decimal number: ${text}`);
    this.text = text;
  }
  toNumber(): number {
    return Number(this.text);
  }
}

/** Text that is deliberately not JSON; only meaningful as a spreadsheet cell (e.g. an items cell). */
export class RawText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export type DocValue = string | number | boolean | null | RawNumber | RawText | DocValue[] | DocObject;
export type DocObject = { [key: string]: DocValue };

/** Compact JSON (no spaces, like the seed message), writing RawNumber text verbatim. */
export function serializeDoc(value: DocValue): string {
  if (value instanceof RawNumber) return value.text;
  if (value instanceof RawText) return JSON.stringify(value.text);
  if (Array.isArray(value)) return `[${value.map(serializeDoc).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const key of Object.keys(value)) parts.push(`${JSON.stringify(key)}:${serializeDoc(value[key])}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * JSON with the first `expandDepth` levels of objects spread over lines and anything deeper on
 * one line: {"users": {"U-1": {...one line...}}} stays readable and diffable.
 */
export function formatLayered(value: unknown, expandDepth: number, indent = ''): string {
  if (value === null || typeof value !== 'object' || expandDepth <= 0) return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + formatLayered(v, expandDepth - 1, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  const rec = value as Record<string, unknown>;
  const lines = keys.map((k) => `${inner}${JSON.stringify(k)}: ${formatLayered(rec[k], expandDepth - 1, inner)}`);
  return `{\n${lines.join(',\n')}\n${indent}}`;
}
