import { createHash } from 'node:crypto';
import { validateSync, type ValidationError } from 'class-validator';
import { OrderEventDto, OrderItemDto, ID_PATTERN, MAX_ID_LENGTH } from './order-event.dto';
import { MAX_ORDER_CENTS, parseCents, type Cents } from './money';
import type { Order, OrderItem, ParseResult, Violation } from './order';
import { parseOrderTimestamp } from './timestamp';

/** SQS's own limit; anything larger cannot be a real order message. */
export const MAX_BODY_BYTES = 256 * 1024;
const MAX_QUANTITY = 1_000_000;

const ORDER_FIELDS = [
  'order_id',
  'user_id',
  'order_timestamp',
  'order_value',
  'items',
  'shipping_address',
  'payment_method',
] as const;
const ITEM_FIELDS = ['product_id', 'quantity', 'price_per_unit'] as const;

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
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    return fail([{ code: 'body_too_large', message: `message body is over ${MAX_BODY_BYTES} bytes` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return fail([{ code: 'not_json', message: 'message body is not valid JSON' }]);
  }
  if (!isPlainObject(json)) {
    return fail([{ code: 'not_object', message: 'message body must be a JSON object' }]);
  }

  const dto = toDto(json);
  const violations = validateSync(dto, { forbidUnknownValues: false }).flatMap((e) => toViolations(e, ''));
  const orderId = readableId(dto.order_id);
  const userId = readableId(dto.user_id);

  const timestampMs = checkTimestamp(dto, violations);
  const valueCents = checkMoney(dto.order_value, 'order_value', violations);
  const items = Array.isArray(dto.items) ? dto.items.map((item, i) => checkItem(item, i, violations)) : [];

  if (violations.length === 0 && valueCents !== undefined && items.every((i) => i !== undefined)) {
    const sum = items.reduce((acc, i) => acc + BigInt(i.quantity) * BigInt(i.priceCents), 0n);
    if (sum !== BigInt(valueCents)) {
      violations.push({
        code: 'value_mismatch',
        message: `order_value is ${valueCents} cents but the items add up to ${sum} cents`,
      });
    }
  }
  if (violations.length > 0 || timestampMs === undefined || valueCents === undefined) {
    return fail(violations, orderId, userId);
  }
  return { ok: true, order: normalise(dto, timestampMs, valueCents, items as OrderItem[]) };
}

function fail(violations: Violation[], orderId?: string, userId?: string): ParseResult {
  return {
    ok: false,
    violations,
    ...(orderId === undefined ? {} : { orderId }),
    ...(userId === undefined ? {} : { userId }),
  };
}

/** An id normalised (upper case) when it is a well-formed string, else undefined. */
function readableId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && ID_PATTERN.test(value)
    ? value.toUpperCase()
    : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick<K extends string>(source: Record<string, unknown>, keys: readonly K[]): Record<K, unknown> {
  const out = Object.create(null) as Record<K, unknown>;
  for (const key of keys) {
    if (Object.hasOwn(source, key)) {
      const value = source[key];
      out[key] = typeof value === 'string' ? value.trim() : value;
    }
  }
  return out;
}

function toDto(json: Record<string, unknown>): OrderEventDto {
  const fields = pick(json, ORDER_FIELDS);
  const dto = Object.assign(new OrderEventDto(), fields);
  if (Array.isArray(fields.items)) {
    dto.items = fields.items.map((item: unknown) =>
      isPlainObject(item) ? Object.assign(new OrderItemDto(), pick(item, ITEM_FIELDS)) : (item as OrderItemDto),
    );
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
    if (
      typeof item.quantity === 'number' &&
      Number.isInteger(item.quantity) &&
      item.quantity >= 1 &&
      item.quantity <= MAX_QUANTITY
    ) {
      quantity = item.quantity;
    } else {
      violations.push({
        code: `invalid_quantity:${field}.quantity`,
        message: `${field}.quantity must be a whole number from 1 to ${MAX_QUANTITY}`,
      });
    }
  }
  const priceCents = checkMoney(item.price_per_unit, `${field}.price_per_unit`, violations);
  if (quantity === undefined || priceCents === undefined || typeof item.product_id !== 'string') return undefined;
  return { productId: item.product_id.toUpperCase(), quantity, priceCents };
}

function normalise(dto: OrderEventDto, timestampMs: number, valueCents: Cents, items: OrderItem[]): Order {
  const base = {
    orderId: dto.order_id.toUpperCase(),
    userId: dto.user_id.toUpperCase(),
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
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
