import type { Order } from '@order-pipeline/orders';

/** One suspicion signal. `code` is stable (`flag:<name>`); `message` is for people. */
export interface Flag {
  readonly code: string;
  readonly message: string;
}

/** What the aggregates know: an order count and a sum in cents. */
export interface HistoryFigures {
  readonly orders: number;
  readonly cents: number;
}

export interface RuleContext {
  /** QUALITY_GUARD_SUSPICIOUS_CENTS: at or above it, any order is suspicious. */
  readonly suspiciousOrderCents: number;
  readonly nowMs: number;
  /** The user's figures before this order; absent for a user without orders. */
  readonly user?: HistoryFigures;
  /** Every accepted order so far. */
  readonly global?: HistoryFigures;
}

const DAY_MS = 86_400_000;
/** Clocks and time zones drift; a day ahead is not a mistake any more. */
const FUTURE_MS = DAY_MS;
/** Older than two years: a replay, a test fixture or a broken clock. */
const PAST_MS = 730 * DAY_MS;
const BULK_QUANTITY = 1000;
/** A value this many times the user's own average, once the user has a few orders. */
const USER_FACTOR = 10;
const USER_MIN_ORDERS = 3;
/** A value this many times the average of every order, once there are enough of them. */
const GLOBAL_FACTOR = 50;
const GLOBAL_MIN_ORDERS = 1000;

/** Text that addresses a model or a reviewer instead of describing an order. */
const INSTRUCTION_PATTERNS: readonly RegExp[] = [
  /\b(ignore|disregard|forget|override)\b[^\n]{0,40}\b(instructions?|prompts?|rules?|above|previous|prior|everything)\b/i,
  /\bsystem\s+prompt\b/i,
  /\byou\s+are\s+(now\s+)?(an?|the|my)\s/i,
  /\b(approve|allow|accept|whitelist)\b[^\n]{0,30}\b(this|these|the|all|every)\b[^\n]{0,20}\border/i,
  /<\/?\s*(orders?|system|instructions?|prompt)\b/i,
  /(^|\s)(assistant|system|user)\s*:/i,
  /\b(verdict|decision)\s*[:=]/i,
  /\b(verdict|decision)\s+(is|should\s+be|must\s+be)\b/i,
  /\b(to|for)\s+the\s+(reviewer|moderator)\b/i,
  // A command that ends a sentence ("…, reject it."), not a name ("Flag It Farm").
  /(^|[.!;:,]\s*)(please\s+)?(reject|decline|flag|approve)\s+(it|this|that|them)\s*([.!;]|$)/i,
];

/** Looks like a keyboard, a template or a script rather than a place. */
function junkAddress(address: string): string | undefined {
  const letters = address.match(/\p{L}/gu)?.length ?? 0;
  if (letters < 2) return 'has fewer than two letters';
  if (/(.)\1{5,}/u.test(address)) return 'repeats one character six times or more';
  if (/\p{Cc}/u.test(address)) return 'contains control characters';
  // Markup first: "<script>alert(1)</script>" is one long word too, but markup says more.
  if (/<\s*script|https?:\/\/|\{\{|\$\{/i.test(address)) return 'contains markup, a link or a template';
  if (!/\s/.test(address) && address.length > 20) return 'is one long word';
  return undefined;
}

function junkProductId(productId: string): boolean {
  return /(.)\1{5,}/u.test(productId) || productId.length > 40;
}

/**
 * The deterministic first line: what makes a *valid* order suspicious. Rules flag, they
 * never reject: an order that breaks a hard rule never reaches the guard at all.
 */
/** Whether one item by itself raises a flag: the items the model should see first. */
export function itemRaisesFlag(item: Order['items'][number]): boolean {
  return (
    item.quantity > BULK_QUANTITY ||
    junkProductId(item.productId) ||
    INSTRUCTION_PATTERNS.some((p) => p.test(item.productId))
  );
}

export function flagsFor(order: Order, ctx: RuleContext): Flag[] {
  const flags: Flag[] = [];
  if (order.valueCents >= ctx.suspiciousOrderCents) {
    flags.push({ code: 'flag:high_value', message: 'order value is at or above the review threshold' });
  }
  const user = ctx.user;
  if (user && user.orders >= USER_MIN_ORDERS && order.valueCents >= (USER_FACTOR * user.cents) / user.orders) {
    flags.push({
      code: 'flag:far_above_user_history',
      message: `order value is ${USER_FACTOR}x or more the user's average over ${user.orders} orders`,
    });
  }
  const global = ctx.global;
  if (
    global &&
    global.orders >= GLOBAL_MIN_ORDERS &&
    order.valueCents >= (GLOBAL_FACTOR * global.cents) / global.orders
  ) {
    flags.push({
      code: 'flag:far_above_global_average',
      message: `order value is ${GLOBAL_FACTOR}x or more the average order`,
    });
  }
  if (order.items.some((i) => i.quantity > BULK_QUANTITY)) {
    flags.push({ code: 'flag:bulk_quantity', message: `an item has a quantity over ${BULK_QUANTITY}` });
  }
  if (order.timestampMs > ctx.nowMs + FUTURE_MS) {
    flags.push({ code: 'flag:future_timestamp', message: 'order_timestamp is more than a day in the future' });
  }
  if (order.timestampMs < ctx.nowMs - PAST_MS) {
    flags.push({ code: 'flag:old_timestamp', message: 'order_timestamp is more than two years ago' });
  }
  const junk = junkAddress(order.shippingAddress);
  if (junk) flags.push({ code: 'flag:junk_address', message: `shipping_address ${junk}` });
  if (order.items.some((i) => junkProductId(i.productId))) {
    flags.push({
      code: 'flag:junk_product_id',
      message: 'a product_id repeats one character or is over 40 characters',
    });
  }
  const texts = [order.shippingAddress, order.paymentMethod, ...order.items.map((i) => i.productId)];
  if (texts.some((t) => INSTRUCTION_PATTERNS.some((p) => p.test(t)))) {
    flags.push({
      code: 'flag:instruction_text',
      message: 'order text reads like instructions to a reviewer or a model',
    });
  }
  return flags;
}

/** A stable pseudo-random draw per order content: the same order is sampled on every delivery. */
export function sampled(order: Order, rate: number): boolean {
  if (rate <= 0) return false;
  return parseInt(order.contentHash.slice(0, 8), 16) / 0x1_0000_0000 < rate;
}
