// The benchmark's order stream: deterministic (seeded), skewed towards a few heavy buyers,
// spread over the last `days` UTC days ending yesterday, with integer-cent amounts. Beside
// the message bodies it keeps its own model of the totals (per user, per day) so the
// benchmark can check the service's answers without asking the service.

import { mulberry32 } from '../prng.ts';

export const DAY_MS = 86_400_000;

export interface StreamShape {
  readonly seed: number;
  readonly users: number;
  readonly orders: number;
  readonly days: number;
  /** Midnight UTC of "today": the data ends the day before. */
  readonly todayStartMs: number;
}

export interface GeneratedOrder {
  readonly body: string;
  readonly userIndex: number;
  readonly dayIndex: number;
  readonly cents: number;
}

/**
 * User i is drawn as floor(users * r^SKEW): with SKEW 2.5 the top 1% of users place about
 * 16% of the orders, user 0 about 1%, and the least active still about 0.4 x the mean.
 */
const SKEW = 2.5;
const PAYMENT_METHODS = ['CARD', 'PAYPAL', 'BANK_TRANSFER', 'GIFT_CARD'] as const;

export function userIdOf(index: number, users: number): string {
  return `U-${String(index).padStart(Math.max(6, String(users - 1).length), '0')}`;
}

export function centsText(cents: number): string {
  return `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export class OrderStream {
  private readonly rng: () => number;
  private readonly firstDayMs: number;
  private readonly orderIdWidth: number;
  private readonly shape: StreamShape;
  private produced = 0;

  constructor(shape: StreamShape) {
    this.shape = shape;
    this.rng = mulberry32(shape.seed);
    this.firstDayMs = shape.todayStartMs - shape.days * DAY_MS;
    this.orderIdWidth = Math.max(7, String(shape.orders - 1).length);
  }

  get firstDay(): number {
    return this.firstDayMs;
  }

  next(): GeneratedOrder {
    const { users, days, seed } = this.shape;
    const rng = this.rng;
    const i = this.produced++;
    const userIndex = Math.min(users - 1, Math.floor(users * rng() ** SKEW));
    const dayIndex = Math.min(days - 1, Math.floor(rng() * days));
    const timestampMs = this.firstDayMs + dayIndex * DAY_MS + Math.floor(rng() * 86_400) * 1000;
    const itemCount = 1 + Math.floor(rng() * rng() * 4); // mostly 1-2 items
    const items: { product_id: string; quantity: number; price_per_unit: number }[] = [];
    let cents = 0;
    for (let j = 0; j < itemCount; j++) {
      const quantity = 1 + Math.floor(rng() * rng() * 4);
      const price = Math.min(250_000, Math.max(99, Math.round(Math.exp(Math.log(1_500) + 0.9 * normal(rng)))));
      cents += quantity * price;
      items.push({
        product_id: `P-${String(Math.floor(rng() * 5_000)).padStart(4, '0')}`,
        quantity,
        price_per_unit: price / 100,
      });
    }
    const body = JSON.stringify({
      order_id: `B${seed}-${String(i).padStart(this.orderIdWidth, '0')}`,
      user_id: userIdOf(userIndex, users),
      order_timestamp: new Date(timestampMs).toISOString(),
      order_value: centsText(cents),
      items,
      shipping_address: `${1 + (userIndex % 900)} Bench Street, City ${userIndex % 97}`,
      payment_method: PAYMENT_METHODS[userIndex % PAYMENT_METHODS.length],
    });
    return { body, userIndex, dayIndex, cents };
  }
}

/** Box-Muller: one standard normal draw. */
function normal(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface ModelUser {
  readonly userId: string;
  readonly orders: number;
  readonly spendCents: number;
}

/** What the service must report, kept from the generator's side (integer cents, exact). */
export class ExpectedModel {
  readonly userOrders: Uint32Array;
  readonly userSpend: Float64Array;
  /** Day index of the user's latest order, -1 for none. */
  readonly userLastDay: Int32Array;
  readonly dayOrders: Float64Array;
  readonly dayRevenue: Float64Array;
  totalOrders = 0;
  totalRevenue = 0;
  private readonly users: number;

  constructor(users: number, days: number) {
    this.users = users;
    this.userOrders = new Uint32Array(users);
    this.userSpend = new Float64Array(users);
    this.userLastDay = new Int32Array(users).fill(-1);
    this.dayOrders = new Float64Array(days);
    this.dayRevenue = new Float64Array(days);
  }

  add(o: GeneratedOrder): void {
    this.userOrders[o.userIndex] = (this.userOrders[o.userIndex] ?? 0) + 1;
    this.userSpend[o.userIndex] = (this.userSpend[o.userIndex] ?? 0) + o.cents;
    if (o.dayIndex > (this.userLastDay[o.userIndex] ?? -1)) this.userLastDay[o.userIndex] = o.dayIndex;
    this.dayOrders[o.dayIndex] = (this.dayOrders[o.dayIndex] ?? 0) + 1;
    this.dayRevenue[o.dayIndex] = (this.dayRevenue[o.dayIndex] ?? 0) + o.cents;
    this.totalOrders += 1;
    this.totalRevenue += o.cents;
  }

  /** Users with at least one order on day `fromIndex` or later. */
  usersActiveSince(fromIndex: number): number {
    return this.userLastDay.reduce((n, d) => n + (d >= fromIndex ? 1 : 0), 0);
  }

  activeUsers(): number {
    return this.userOrders.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  }

  /** Top `limit` by spend, ties broken by user id ascending (as the service does). */
  topBySpend(limit: number): ModelUser[] {
    const all: ModelUser[] = [];
    for (let i = 0; i < this.users; i++) {
      const orders = this.userOrders[i] ?? 0;
      if (orders > 0) all.push({ userId: userIdOf(i, this.users), orders, spendCents: this.userSpend[i] ?? 0 });
    }
    all.sort((a, b) => b.spendCents - a.spendCents || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    return all.slice(0, limit);
  }

  /** Orders and revenue (cents) of days [fromIndex, toIndex] of the stream. */
  daySpan(fromIndex: number, toIndex: number): { orders: number; revenueCents: number } {
    let orders = 0;
    let revenueCents = 0;
    for (let d = Math.max(0, fromIndex); d <= Math.min(this.dayOrders.length - 1, toIndex); d++) {
      orders += this.dayOrders[d] ?? 0;
      revenueCents += this.dayRevenue[d] ?? 0;
    }
    return { orders, revenueCents };
  }

  /** `count` distinct users that have orders, spread over the id space (deterministic). */
  sampleActiveUsers(count: number): string[] {
    const out: string[] = [];
    const step = 7_919; // prime: walks every index when users is not a multiple of it
    for (let k = 0, i = 0; out.length < count && k < this.users; k++, i = (i + step) % this.users) {
      if ((this.userOrders[i] ?? 0) > 0) out.push(userIdOf(i, this.users));
    }
    return out;
  }
}
