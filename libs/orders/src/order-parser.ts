import { hash } from 'node:crypto';
import { validateSync, type ValidationError } from 'class-validator';
import { OrderEventDto, OrderItemDto, ID_PATTERN, MAX_ID_LENGTH } from './order-event.dto';
import { MAX_ORDER_CENTS, parseCents, type Cents } from './money';
import type { Order, OrderItem, ParseResult, Violation } from './order';
import { parseOrderTimestamp } from './timestamp';
import { idLength, normaliseId } from './ids';
import { ITEM_FIELDS, ORDER_FIELDS } from './message-fields';
import { repeatedKnownKeys } from './repeated-keys';
import { validityCheck } from './validity-check';

/** Largest body read as an order: SQS's limit until 2025, far above any real order. */
export const MAX_BODY_BYTES = 256 * 1024;
/** SQS's limit today: a larger body cannot arrive, and one up to it is read for its ids only. */
const SQS_MAX_BODY_BYTES = 1024 * 1024;
/**
 * Deepest nesting of objects and arrays a body may have, in any field, known or not. An order
 * needs 3 (the order, its items, an item). The limit makes the answer the same whichever way
 * the body is read: JSON.parse alone reads any depth, but its reviver (readJson's other
 * path) recurses, and runs out of stack about 2,300 levels down with Node's default stack.
 */
export const MAX_BODY_DEPTH = 1000;
const MAX_QUANTITY = 1_000_000;

/** True when validateSync would find nothing; else validateSync runs and lists what is wrong. */
const passesDtoRules = validityCheck(OrderEventDto);

/** class-validator constraint -> reason kind, most telling first (missing before wrong type before too long). */
const CONSTRAINT_CODES: ReadonlyArray<readonly [string, string]> = [
  ['isDefined', 'missing_field'],
  ['isString', 'invalid_type'],
  ['isArray', 'invalid_type'],
  ['nestedValidation', 'invalid_type'],
  ['minLength', 'empty'],
  ['arrayMinSize', 'empty'],
  ['maxLength', 'too_long'],
  ['arrayMaxSize', 'too_many'],
  ['matches', 'invalid_format'],
];

/**
 * Parses one raw message body into a normalised Order, or the list of every rule it
 * breaks. Pure and synchronous. Only the known fields are copied out of the parsed
 * JSON (own properties only), so unknown keys such as "__proto__" are never read.
 */
export function parseOrderMessage(body: string): ParseResult {
  return parseWith(body, readJson, passesDtoRules);
}

/**
 * The reference parseOrderMessage must agree with (tests): the money reviver on every body,
 * and validateSync on every order (no validityCheck first).
 */
export function parseOrderMessageAsWritten(body: string): ParseResult {
  return parseWith(
    body,
    (text) => JSON.parse(text, keepMoneyText),
    () => false,
  );
}

function parseWith(
  body: string,
  readBody: (body: string) => unknown,
  knownValid: (dto: OrderEventDto) => boolean,
): ParseResult {
  // A leading byte order mark is ignored, as RFC 8259 allows (some tools write one).
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    const tooLarge = [{ code: 'body_too_large', message: `message body is over ${MAX_BODY_BYTES} bytes` }];
    return bytes <= SQS_MAX_BODY_BYTES ? failWithIds(tooLarge, text, tooLarge) : fail(tooLarge);
  }
  if (nestedDeeperThan(text, MAX_BODY_DEPTH)) return tooDeep(text);
  let json: unknown;
  try {
    json = readBody(text);
  } catch (error) {
    // The reviver's recursion, which MAX_BODY_DEPTH keeps well clear of.
    if (error instanceof RangeError) return tooDeep(text);
    return fail(NOT_JSON);
  }
  if (!isPlainObject(json)) {
    return fail([{ code: 'not_object', message: 'message body must be a JSON object' }]);
  }

  const dto = toDto(json);
  const violations: Violation[] = knownValid(dto)
    ? []
    : validateSync(dto, { forbidUnknownValues: false }).flatMap((e) => toViolations(e, ''));
  const orderId = readableId(dto.order_id);
  const userId = readableId(dto.user_id);
  for (const [field, value] of [
    ['order_id', dto.order_id],
    ['user_id', dto.user_id],
  ] as const) {
    if (
      typeof value === 'string' &&
      readableId(value) === undefined &&
      !violations.some((v) => v.code.endsWith(`:${field}`))
    ) {
      violations.push(idViolation(field, value));
    }
  }

  const timestampMs = checkTimestamp(dto, violations);
  const valueCents = checkMoney(dto.order_value, 'order_value', violations);
  const items = Array.isArray(dto.items) ? dto.items.map((item, i) => checkItem(item, i, violations)) : [];
  // After the fields' own checks, which look for an earlier code on their field.
  for (const path of repeatedKnownKeys(text, json.items)) {
    violations.push({ code: `duplicate_key:${path}`, message: `${path} is written more than once` });
  }

  if (violations.length === 0 && valueCents !== undefined && items.every((i) => i !== undefined)) {
    const sum = items.reduce((acc, i) => acc + BigInt(i.quantity) * BigInt(i.priceCents), 0n);
    if (sum !== BigInt(valueCents)) {
      violations.push({
        code: 'value_mismatch',
        message: `order_value is ${valueCents} cents but the items add up to ${sum} cents`,
      });
    }
  }
  const complete = items.filter((i): i is OrderItem => i !== undefined);
  if (
    violations.length > 0 ||
    timestampMs === undefined ||
    valueCents === undefined ||
    complete.length !== items.length
  ) {
    if (violations.length === 0) violations.push({ code: 'invalid_value:items', message: 'items could not be read' });
    return fail(violations, orderId, userId);
  }
  return { ok: true, order: normalise(dto, timestampMs, valueCents, complete) };
}

const NOT_JSON: Violation[] = [{ code: 'not_json', message: 'message body is not valid JSON' }];

/** The refusal of a body nested deeper than MAX_BODY_DEPTH, or too deeply for the reviver. */
function tooDeep(text: string): ParseResult {
  return failWithIds(
    [{ code: 'invalid_value:body', message: `message body is nested more than ${MAX_BODY_DEPTH} levels deep` }],
    text,
    NOT_JSON,
  );
}

/**
 * A refusal of a body that is not read as an order (too large, too deep), with the ids its
 * record is kept under when the body has them: JSON.parse alone reads it (it does not
 * recurse), and nothing else of it is looked at. A body that is not JSON gets `unparsable`.
 */
function failWithIds(violations: Violation[], text: string, unparsable: Violation[]): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail(unparsable);
  }
  if (!isPlainObject(json)) return fail(violations);
  const own = (key: string): unknown => (Object.hasOwn(json, key) ? json[key] : undefined);
  return fail(violations, readableId(own('order_id')), readableId(own('user_id')));
}

/**
 * Whether the text opens more than `limit` objects or arrays inside one another (brackets in
 * strings do not count). One pass without recursion. JSON that deep is at least twice as
 * long as that (every bracket is closed), so a shorter body, which is almost every order,
 * is not scanned: the scan costs about half of JSON.parse.
 */
function nestedDeeperThan(text: string, limit: number): boolean {
  if (text.length < 2 * (limit + 1)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // A backslash escapes the next character; a quote ends the string.
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

const MONEY_FIELDS = new Set(['order_value', 'price_per_unit']);

/**
 * A quantity's JSON number token as written (from the reviver). Unlike money, a quantity must
 * be a JSON number, so its text is kept apart from a JSON string: "2" is refused, 2 is not.
 */
class QuantityText {
  constructor(readonly text: string) {}
}

/** A whole number as written: digits, and at most zeros after a decimal point (2.0 is 2). */
const WHOLE_NUMBER_TEXT = /^\d+(?:\.0*)?$/;

/**
 * A JSON number token that is negative, has an exponent or has three or more decimals. Only
 * such a token can be judged differently as written than through its shortest round-trip
 * text (-0 reads as 0, 9.999e1 as 99.99, 10.0000000000000001 as 10); every other number
 * token is an integer, or has one or two decimals, and within MAX_ORDER_CENTS its value
 * prints back as written but for trailing zeros, which parseCents treats alike. Number
 * tokens follow ":", "," or "[" and are followed by ",", "}" or "]" (JSON whitespace
 * between); a match inside a string only sends the body the slow way. The closing
 * delimiter keeps ISO timestamps with milliseconds ("T10:00:00.000Z", as JavaScript's
 * toISOString writes them) on the fast path.
 */
const UNUSUAL_NUMBER = /[:,[]\s*(?:-\d[\d.eE+-]*|\d+(?:\.\d+)?[eE][+-]?\d+|\d+\.\d{3,})\s*[,}\]]/;

/**
 * JSON.parse with the money reviver only when the body holds a number token whose text
 * matters (UNUSUAL_NUMBER): the reviver's source-text access costs several times the parse
 * itself, and the common order has only plain amounts such as 12.5 or 99.99. The order read
 * from the body is the same either way (order-parser.fuzz.spec.ts checks the two paths
 * against each other); a body deeper than the reviver can recurse never gets here
 * (MAX_BODY_DEPTH).
 */
function readJson(body: string): unknown {
  return UNUSUAL_NUMBER.test(body) ? JSON.parse(body, keepMoneyText) : JSON.parse(body);
}

/**
 * JSON.parse reviver: a money field given as a JSON number keeps the text it was written
 * with (Node's JSON.parse source access), so 99.990, 9.999e1 and 10.0000000000000001 are
 * judged as written, exactly like the same text in a JSON string. A quantity keeps its text
 * too (QuantityText), so 1e2 and 2.0000000000000001 are not read as 100 and 2.
 */
function keepMoneyText(this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || typeof context?.source !== 'string') return value;
  if (MONEY_FIELDS.has(key)) return context.source;
  return key === 'quantity' ? new QuantityText(context.source) : value;
}

function fail(violations: Violation[], orderId?: string, userId?: string): ParseResult {
  return {
    ok: false,
    violations,
    ...(orderId === undefined ? {} : { orderId }),
    ...(userId === undefined ? {} : { userId }),
  };
}

/**
 * Why an id that passed the DTO's checks is not one once normalised: upper-casing can
 * lengthen it ("ß" becomes "SS") or give characters outside the pattern.
 */
function idViolation(field: string, value: string): Violation {
  return idLength(normaliseId(value)) > MAX_ID_LENGTH
    ? { code: `too_long:${field}`, message: `${field} is over ${MAX_ID_LENGTH} characters once upper-cased` }
    : { code: `invalid_format:${field}`, message: `${field} is not a valid id once upper-cased` };
}

/** An id normalised (NFC, upper case) when the result is a well-formed id, else undefined. */
function readableId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = normaliseId(value);
  return id.length >= 1 && idLength(id) <= MAX_ID_LENGTH && ID_PATTERN.test(id) ? id : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Copies the known fields that `source` owns into `target` (strings trimmed and NFC-normalised). */
function pick<T extends object>(target: T, source: Record<string, unknown>, keys: readonly string[]): T {
  const out = target as Record<string, unknown>;
  for (const key of keys) {
    if (Object.hasOwn(source, key)) {
      const value = source[key];
      out[key] = typeof value === 'string' ? value.trim().normalize('NFC') : value;
    }
  }
  return target;
}

function toDto(json: Record<string, unknown>): OrderEventDto {
  const dto = pick(new OrderEventDto(), json, ORDER_FIELDS);
  const items: unknown = dto.items;
  if (Array.isArray(items)) {
    // Anything but an object (a nested array too) becomes null: reported as invalid_type:items[i]
    // by nested validation, which would otherwise recurse into it.
    dto.items = items.map((item: unknown) =>
      isPlainObject(item) ? pick(new OrderItemDto(), item, ITEM_FIELDS) : (null as unknown as OrderItemDto),
    );
  } else if (isPlainObject(items)) {
    // An object where the array belongs is invalid_type:items; its keys are never read (nested
    // validation would look up its own "constructor" key, and null there throws).
    dto.items = {} as OrderItemDto[];
  }
  return dto;
}

function toViolations(error: ValidationError, parent: string): Violation[] {
  const field = /^\d+$/.test(error.property)
    ? `${parent}[${error.property}]`
    : parent
      ? `${parent}.${error.property}`
      : error.property;
  const constraints = error.constraints ?? {};
  const known = CONSTRAINT_CODES.find(([name]) => name in constraints);
  const [name, kind] = known ?? [Object.keys(constraints)[0], 'invalid_value'];
  const mine: Violation[] =
    name !== undefined ? [{ code: `${kind}:${field}`, message: constraints[name] ?? kind }] : [];
  if (mine.length > 0) return mine;
  return (error.children ?? []).flatMap((child) => toViolations(child, field));
}

function checkTimestamp(dto: OrderEventDto, violations: Violation[]): number | undefined {
  if (typeof dto.order_timestamp !== 'string' || dto.order_timestamp === '') return undefined;
  const ms = parseOrderTimestamp(dto.order_timestamp);
  if (ms === undefined) {
    violations.push({
      code: 'invalid_timestamp',
      message: 'order_timestamp must be an ISO-8601 date-time such as 2026-03-04T10:15:00Z',
    });
  }
  return ms;
}

function checkMoney(value: unknown, field: string, violations: Violation[]): Cents | undefined {
  if (value === undefined || value === null) return undefined; // reported as missing_field
  // An amount is a JSON number or a decimal string; the reason names what else it was.
  if (typeof value !== 'number' && typeof value !== 'string') {
    violations.push({ code: `invalid_type:${field}`, message: `${field} must be a number or a decimal string` });
    return undefined;
  }
  if (typeof value === 'string' && value.trim() === '') {
    violations.push({ code: `empty:${field}`, message: `${field} must not be empty` });
    return undefined;
  }
  const parsed = parseCents(value);
  if (parsed === undefined || parsed > MAX_ORDER_CENTS) {
    violations.push({
      code: `invalid_money:${field}`,
      message: `${field} must be a non-negative amount with at most 2 decimals (at most ${MAX_ORDER_CENTS / 100})`,
    });
    return undefined;
  }
  return parsed;
}

function checkItem(item: OrderItemDto, index: number, violations: Violation[]): OrderItem | undefined {
  if (!(item instanceof OrderItemDto)) return undefined; // reported by nested validation
  const field = `items[${index}]`;
  let quantity: number | undefined;
  if (item.quantity !== undefined && item.quantity !== null) {
    quantity = readQuantity(item.quantity);
    if (quantity === undefined) {
      violations.push({
        code: `invalid_quantity:${field}.quantity`,
        message: `${field}.quantity must be a whole number from 1 to ${MAX_QUANTITY}, written as a JSON number without exponent`,
      });
    }
  }
  const priceCents = checkMoney(item.price_per_unit, `${field}.price_per_unit`, violations);
  if (typeof item.product_id !== 'string') return undefined; // reported by validation
  const productId = readableId(item.product_id);
  if (productId === undefined) {
    if (!violations.some((v) => v.code.endsWith(`:${field}.product_id`))) {
      violations.push(idViolation(`${field}.product_id`, item.product_id));
    }
    return undefined;
  }
  if (quantity === undefined || priceCents === undefined) return undefined;
  return { productId, quantity, priceCents };
}

/** A quantity read from a JSON number (its text, when the reviver kept it), or undefined. */
function readQuantity(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (value instanceof QuantityText && WHOLE_NUMBER_TEXT.test(value.text)) n = Number(value.text);
  else return undefined;
  return Number.isInteger(n) && n >= 1 && n <= MAX_QUANTITY ? n : undefined;
}

function normalise(dto: OrderEventDto, timestampMs: number, valueCents: Cents, items: OrderItem[]): Order {
  const base = {
    orderId: normaliseId(dto.order_id),
    userId: normaliseId(dto.user_id),
    timestampMs,
    valueCents,
    items,
    shippingAddress: dto.shipping_address,
    paymentMethod: dto.payment_method.toUpperCase(),
  };
  return { ...base, contentHash: contentHash(base) };
}

function contentHash(order: Omit<Order, 'contentHash'>): string {
  const canonical = JSON.stringify([
    order.orderId,
    order.userId,
    order.timestampMs,
    order.valueCents,
    order.items.map((i) => [i.productId, i.quantity, i.priceCents]),
    order.shippingAddress,
    order.paymentMethod,
  ]);
  return hash('sha256', canonical, 'hex').slice(0, 32); // one-shot: half the cost of createHash()
}
