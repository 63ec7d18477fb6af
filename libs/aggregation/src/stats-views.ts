/** What the read side answers. Money is a JSON number with at most two decimals (rendered from cents). */

export interface UserStatsView {
  user_id: string;
  order_count: number;
  total_spend: number;
  average_order_value: number;
  first_order_at: string | null;
  last_order_at: string | null;
}

export interface UserRangeStatsView {
  user_id: string;
  from: string;
  to: string;
  order_count: number;
  total_spend: number;
  average_order_value: number;
}

export interface GlobalStatsView {
  total_orders: number;
  total_revenue: number;
  average_order_value: number;
  total_users: number;
  duplicates: number;
  rejected: number;
  conflicts: number;
}

export interface TopUserRow {
  rank: number;
  user_id: string;
  order_count: number;
  total_spend: number;
}

export interface TopUsersView {
  by: 'spend' | 'orders';
  from: string | null;
  to: string | null;
  limit: number;
  users: TopUserRow[];
}

export interface RangeRow {
  period: string;
  orders: number;
  revenue: number;
}

export interface RangeStatsView {
  from: string;
  to: string;
  granularity: 'day' | 'month';
  periods: RangeRow[];
  total: { orders: number; revenue: number };
}

export type OrderOutcome = 'accepted' | 'pending' | 'rejected' | 'conflict';

export interface OrderStatusView {
  order_id: string;
  outcome: OrderOutcome;
  user_id: string | null;
  first_seen_at: string | null;
  reasons: { code: string; message: string }[];
  /** A later message that reused this order id with other content, when there was one. */
  last_conflict: { received_at: string; reasons: { code: string; message: string }[] } | null;
}

export interface RejectedOrderView {
  id: string;
  kind: 'rejected' | 'conflict';
  order_id: string | null;
  user_id: string | null;
  reasons: { code: string; message: string }[];
  received_at: string;
  raw_body: string;
  raw_truncated: boolean;
}

export interface RejectedOrdersView {
  items: RejectedOrderView[];
  next_cursor: string | null;
}
