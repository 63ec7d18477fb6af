import type { Order } from '@order-pipeline/orders';

export interface Flag {
  readonly code: string;
  readonly message: string;
}

const DAY_MS = 86_400_000;
const BULK_QUANTITY = 1000;

/**
 * The deterministic first line: what makes a *valid* order suspicious. Rules flag, they
 * never reject: an order that breaks a hard rule never reaches the guard at all.
 */
export function flagsFor(order: Order, suspiciousOrderCents: number, nowMs: number): Flag[] {
  const flags: Flag[] = [];
  if (order.valueCents >= suspiciousOrderCents) {
    flags.push({ code: 'flag:high_value', message: 'order value is at or above the review threshold' });
  }
  if (order.items.some((i) => i.quantity > BULK_QUANTITY)) {
    flags.push({ code: 'flag:bulk_quantity', message: `an item has a quantity over ${BULK_QUANTITY}` });
  }
  if (order.timestampMs > nowMs + DAY_MS) {
    flags.push({ code: 'flag:future_timestamp', message: 'order_timestamp is more than a day in the future' });
  }
  return flags;
}

/** A stable pseudo-random draw per order content: the same order is sampled on every delivery. */
export function sampled(order: Order, rate: number): boolean {
  if (rate <= 0) return false;
  return parseInt(order.contentHash.slice(0, 8), 16) / 0x1_0000_0000 < rate;
}
