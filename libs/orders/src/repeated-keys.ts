/**
 * A field the service reads, written twice in one object: `{"order_value":999.00, …,
 * "order_value":30.00}`. JSON.parse keeps the last, other parsers the first (RFC 8259 leaves
 * it open), so a message like that means different orders to different readers; it is
 * refused rather than read one way (docs/DESIGN.md, reason `duplicate_key`). Keys the
 * service does not read may repeat: they are ignored either way.
 */

import { ITEM_FIELDS, ORDER_FIELDS } from './message-fields';

const ORDER_KEY_SET: ReadonlySet<string> = new Set(ORDER_FIELDS);
const ITEM_KEY_SET: ReadonlySet<string> = new Set(ITEM_FIELDS);
/** Any known name in quotes: as a key, or (rarely) as a value. */
const QUOTED_NAME = new RegExp(`"(${[...ORDER_FIELDS, ...ITEM_FIELDS].join('|')})"`, 'g');

/**
 * The paths of the known fields written more than once in their object (`order_value`,
 * `items[2].quantity`), each once, in the order met; empty for nearly every message. `text`
 * must be JSON that parsed into an object, and `items` that object's `items` as parsed.
 */
export function repeatedKnownKeys(text: string, items: unknown): string[] {
  return mayRepeatKnownKey(text, items) ? scanRepeatedKeys(text) : [];
}

/** How many of the parsed items hold `key` (JSON.parse keeps one of a repeated key). */
function holding(items: unknown, key: string): number {
  if (!Array.isArray(items)) return 0;
  let n = 0;
  for (const item of items as unknown[]) if (typeof item === 'object' && item !== null && Object.hasOwn(item, key)) n++;
  return n;
}

/**
 * The quick test: no known key's quoted name occurs more often than the parsed message holds
 * it (once at the top; once per item that has it), and no `\u` escape could spell one
 * another way. A quoted name also found as a value (a payment method of "items") only sends
 * the message to the exact scan. One regular expression for all ten names: searched one by
 * one, they cost twice what JSON.parse itself does on an order.
 */
function mayRepeatKnownKey(text: string, items: unknown): boolean {
  if (text.includes('\\u')) return true;
  const orderNames: string[] = [];
  let products = 0;
  let quantities = 0;
  let prices = 0;
  QUOTED_NAME.lastIndex = 0;
  for (let match = QUOTED_NAME.exec(text); match !== null; match = QUOTED_NAME.exec(text)) {
    const name = match[1];
    if (name === 'product_id') products++;
    else if (name === 'quantity') quantities++;
    else if (name === 'price_per_unit') prices++;
    else if (orderNames.includes(name)) return true;
    else orderNames.push(name);
  }
  return (
    (products > 0 && products > holding(items, 'product_id')) ||
    (quantities > 0 && quantities > holding(items, 'quantity')) ||
    (prices > 0 && prices > holding(items, 'price_per_unit'))
  );
}

/** Where a value sits: the order, its items array, one item, or anywhere else. */
type Place = 'order' | 'items' | 'item' | 'other';

/** The exact scan: walks the JSON text, noting each object's keys where they are read. */
function scanRepeatedKeys(text: string): string[] {
  const found = new Set<string>();
  // What the items hold comes from the last `items` key only: the array JSON.parse keeps.
  let inItems = new Set<string>();
  let i = 0;
  const skipSpace = (): void => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  const readString = (): string => {
    const start = i++;
    for (let c = text.charCodeAt(i); c !== 0x22; c = text.charCodeAt(i)) i += c === 0x5c ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (place: Place, path: string): void => {
    skipSpace();
    const c = text[i];
    if (c === '{') {
      i++;
      const known = place === 'order' ? ORDER_KEY_SET : place === 'item' ? ITEM_KEY_SET : undefined;
      const seen = new Set<string>();
      skipSpace();
      if (text[i] === '}') return void i++;
      for (;;) {
        skipSpace();
        const key = readString();
        skipSpace();
        i++; // ':'
        if (known?.has(key) === true) {
          if (seen.has(key)) (place === 'item' ? inItems : found).add(path === '' ? key : `${path}.${key}`);
          seen.add(key);
          if (place === 'order' && key === 'items') inItems = new Set();
        }
        readValue(place === 'order' && key === 'items' ? 'items' : 'other', path === '' ? key : `${path}.${key}`);
        skipSpace();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        readValue(place === 'items' ? 'item' : 'other', `${path}[${n}]`);
        skipSpace();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') return void readString();
    // A number, true, false or null: up to the next delimiter.
    while (i < text.length && !',]} \t\n\r'.includes(text[i] ?? '')) i++;
  };
  readValue('order', '');
  return [...found, ...inItems];
}
