import type { Cents } from './money';

export interface OrderItem {
  readonly productId: string;
  readonly quantity: number;
  readonly priceCents: Cents;
}

/** A valid, normalised order: ids trimmed and upper-cased, money in cents, time in UTC ms. */
export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly timestampMs: number;
  readonly valueCents: Cents;
  readonly items: readonly OrderItem[];
  readonly shippingAddress: string;
  readonly paymentMethod: string;
  /** Hash of the normalised content: equal for a duplicate, different for a conflict. */
  readonly contentHash: string;
}

/** One broken rule. `code` is stable (e.g. "missing_field:order_value"); `message` is for people. */
export interface Violation {
  readonly code: string;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly order: Order }
  | {
      readonly ok: false;
      readonly violations: readonly Violation[];
      /** The normalised ids, when they were readable: a rejected order can still be looked up. */
      readonly orderId?: string;
      readonly userId?: string;
    };
