// A reference implementation of the order rules and the aggregates, written independently of the
// service (apps/, libs/). The generator uses it to self-check its output; the tests use it to
// recompute the expected aggregates from an emitted file.

import { numberToCents } from './money.ts';

export const MAX_ITEMS = 100;

export type NormalizedItem = { product_id: string; quantity: number; price_cents: number };
export type NormalizedOrder = {
  order_id: string;
  user_id: string;
  order_timestamp_ms: number;
  order_value_cents: number;
  items: NormalizedItem[];
  shipping_address: string;
  payment_method: string;
};
export type ValidationResult = { ok: true; order: NormalizedOrder } | { ok: false; reason: string };

const ISO_TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO-8601 date-time → epoch ms (UTC). No zone = UTC. Calendar-checked (2026-02-30 is rejected). */
export function parseIsoTimestamp(text: string): number | null {
  const m = ISO_TS.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000 + 1e-9);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

function requiredString(raw: Record<string, unknown>, key: string): string | null {
  const v = raw[key];
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Applies the service's rules to one parsed message. */
export function validateOrder(raw: unknown): ValidationResult {
  if (!isPlainObject(raw)) return { ok: false, reason: 'not a JSON object' };
  const orderId = requiredString(raw, 'order_id');
  if (orderId === null) return { ok: false, reason: 'order_id missing or empty' };
  const userId = requiredString(raw, 'user_id');
  if (userId === null) return { ok: false, reason: 'user_id missing or empty' };
  const tsText = requiredString(raw, 'order_timestamp');
  if (tsText === null) return { ok: false, reason: 'order_timestamp missing or not a string' };
  const tsMs = parseIsoTimestamp(tsText);
  if (tsMs === null) return { ok: false, reason: `order_timestamp not ISO-8601: ${tsText}` };
  if (typeof raw.order_value !== 'number') return { ok: false, reason: 'order_value missing or not a number' };
  const valueCents = numberToCents(raw.order_value);
  if (valueCents === null || valueCents < 0)
    return { ok: false, reason: `order_value not exact non-negative cents: ${raw.order_value}` };
  const shipping = raw.shipping_address;
  if (typeof shipping !== 'string' || shipping.trim() === '') return { ok: false, reason: 'shipping_address missing' };
  const payment = requiredString(raw, 'payment_method');
  if (payment === null) return { ok: false, reason: 'payment_method missing' };
  const items = raw.items;
  if (!Array.isArray(items)) return { ok: false, reason: 'items missing or not an array' };
  if (items.length === 0) return { ok: false, reason: 'items empty' };
  if (items.length > MAX_ITEMS) return { ok: false, reason: `more than ${MAX_ITEMS} items` };
  const normItems: NormalizedItem[] = [];
  let sum = 0;
  for (const item of items) {
    if (!isPlainObject(item)) return { ok: false, reason: 'item not an object' };
    const productId = requiredString(item, 'product_id');
    if (productId === null) return { ok: false, reason: 'item product_id missing' };
    const q = item.quantity;
    if (typeof q !== 'number' || !Number.isSafeInteger(q) || q <= 0)
      return { ok: false, reason: `quantity not a positive integer: ${String(q)}` };
    if (typeof item.price_per_unit !== 'number') return { ok: false, reason: 'price_per_unit missing or not a number' };
    const price = numberToCents(item.price_per_unit);
    if (price === null || price < 0)
      return { ok: false, reason: `price_per_unit not exact non-negative cents: ${item.price_per_unit}` };
    sum += q * price;
    normItems.push({ product_id: productId.toUpperCase(), quantity: q, price_cents: price });
  }
  if (sum !== valueCents) return { ok: false, reason: `order_value ${valueCents}c != sum of items ${sum}c` };
  return {
    ok: true,
    order: {
      order_id: orderId.toUpperCase(),
      user_id: userId.toUpperCase(),
      order_timestamp_ms: tsMs,
      order_value_cents: valueCents,
      items: normItems,
      shipping_address: shipping.trim(),
      payment_method: payment.toUpperCase(),
    },
  };
}

/** Canonical content of a normalised order: equal strings = duplicate, different = conflict. */
export function contentKey(o: NormalizedOrder): string {
  return JSON.stringify([
    o.order_id,
    o.user_id,
    o.order_timestamp_ms,
    o.order_value_cents,
    o.items.map((i) => [i.product_id, i.quantity, i.price_cents]),
    o.shipping_address,
    o.payment_method,
  ]);
}

export type UserAgg = { order_count: number; total_spend_cents: number; first_order_at: string; last_order_at: string };
export type DayAgg = { orders: number; revenue_cents: number };
export type UserDayAgg = { orders: number; spend_cents: number };
export type Aggregates = {
  messages: { total: number; valid_unique: number; duplicates: number; invalid: number; conflicts: number };
  global: { total_orders: number; total_revenue_cents: number };
  users: Record<string, UserAgg>;
  days: Record<string, DayAgg>;
  months: Record<string, DayAgg>;
  user_days: Record<string, Record<string, UserDayAgg>>;
};

function sortKeys<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort()) out[k] = rec[k];
  return out;
}

/** Aggregates over first-seen valid orders. Days and months are the UTC ones of each order's instant. */
export function aggregateOrders(orders: readonly NormalizedOrder[]): Omit<Aggregates, 'messages'> {
  const users: Record<string, UserAgg> = {};
  const days: Record<string, DayAgg> = {};
  const months: Record<string, DayAgg> = {};
  const userDays: Record<string, Record<string, UserDayAgg>> = {};
  const firstMs: Record<string, number> = {};
  const lastMs: Record<string, number> = {};
  let revenue = 0;
  for (const o of orders) {
    const iso = new Date(o.order_timestamp_ms).toISOString();
    const day = iso.slice(0, 10);
    const month = iso.slice(0, 7);
    revenue += o.order_value_cents;
    const u = (users[o.user_id] ??= { order_count: 0, total_spend_cents: 0, first_order_at: '', last_order_at: '' });
    u.order_count += 1;
    u.total_spend_cents += o.order_value_cents;
    if (firstMs[o.user_id] === undefined || o.order_timestamp_ms < firstMs[o.user_id])
      firstMs[o.user_id] = o.order_timestamp_ms;
    if (lastMs[o.user_id] === undefined || o.order_timestamp_ms > lastMs[o.user_id])
      lastMs[o.user_id] = o.order_timestamp_ms;
    const d = (days[day] ??= { orders: 0, revenue_cents: 0 });
    d.orders += 1;
    d.revenue_cents += o.order_value_cents;
    const mo = (months[month] ??= { orders: 0, revenue_cents: 0 });
    mo.orders += 1;
    mo.revenue_cents += o.order_value_cents;
    const ud = ((userDays[o.user_id] ??= {})[day] ??= { orders: 0, spend_cents: 0 });
    ud.orders += 1;
    ud.spend_cents += o.order_value_cents;
  }
  for (const id of Object.keys(users)) {
    users[id].first_order_at = new Date(firstMs[id]).toISOString();
    users[id].last_order_at = new Date(lastMs[id]).toISOString();
  }
  const sortedUserDays: Record<string, Record<string, UserDayAgg>> = {};
  for (const id of Object.keys(userDays).sort()) sortedUserDays[id] = sortKeys(userDays[id]);
  return {
    global: { total_orders: orders.length, total_revenue_cents: revenue },
    users: sortKeys(users),
    days: sortKeys(days),
    months: sortKeys(months),
    user_days: sortedUserDays,
  };
}

/**
 * Replays message bodies in order (as the service would receive them): not-JSON and rule-breaking
 * messages are invalid; a repeated order_id with the same normalised content is a duplicate, with
 * different content a conflict (the first one seen wins).
 */
export function replayMessages(bodies: Iterable<string>): Aggregates {
  const seen = new Map<string, string>();
  const accepted: NormalizedOrder[] = [];
  const messages = { total: 0, valid_unique: 0, duplicates: 0, invalid: 0, conflicts: 0 };
  for (const body of bodies) {
    messages.total += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      messages.invalid += 1;
      continue;
    }
    const result = validateOrder(parsed);
    if (!result.ok) {
      messages.invalid += 1;
      continue;
    }
    const key = contentKey(result.order);
    const previous = seen.get(result.order.order_id);
    if (previous === undefined) {
      seen.set(result.order.order_id, key);
      accepted.push(result.order);
      messages.valid_unique += 1;
    } else if (previous === key) {
      messages.duplicates += 1;
    } else {
      messages.conflicts += 1;
    }
  }
  return { messages, ...aggregateOrders(accepted) };
}

/** Paths where two aggregate sets differ (empty when equal); compares the aggregate sections only. */
export function compareAggregates(
  actual: Omit<Aggregates, never>,
  expected: Omit<Aggregates, never>,
  limit = 20,
): string[] {
  const diffs: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (diffs.length >= limit) return;
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...keys].sort())
        walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    if (a !== b) diffs.push(`${path}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
  };
  for (const section of ['messages', 'global', 'users', 'days', 'months', 'user_days'] as const)
    walk(actual[section], expected[section], section);
  return diffs;
}
