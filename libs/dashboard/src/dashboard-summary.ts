import { Injectable } from '@nestjs/common';
import {
  FlaggedOrdersQuery,
  RangeStatsQuery,
  RejectedOrdersQuery,
  StatsQuery,
  TopUsersQuery,
  type FlaggedOrderView,
  type GlobalStatsView,
  type RangeStatsView,
  type RejectedOrderView,
  type TopUserRow,
} from '@order-pipeline/aggregation';
import { Clock, SystemClock } from '@order-pipeline/config';
import { QueueHealth, type QueueDepth } from '@order-pipeline/sqs';
import { chartWindow, lookbackMonths } from './chart-window';

/** Rows in the top-users, recent-rejected and recent-flagged lists. */
export const LIST_LENGTH = 10;
/** A summary is reused for this long, so many open dashboards cost Redis one read a second. */
export const SUMMARY_TTL_MS = 1_000;
/** Characters of a rejected message's raw body shown when it has no order id. */
const RAW_PREVIEW_CHARS = 120;

export type RecentRejected = Pick<RejectedOrderView, 'kind' | 'order_id' | 'user_id' | 'reasons' | 'received_at'> & {
  /** The start of the raw body, for a message that has no order id (not JSON, say). */
  raw_preview: string | null;
};

/** Everything the dashboard shows, in one answer: the page polls this alone. */
export interface DashboardSummary {
  generated_at: string;
  totals: GlobalStatsView;
  top_users: TopUserRow[];
  daily_revenue: RangeStatsView;
  recent_rejected: RecentRejected[];
  /** Orders the quality guard let through but flagged, newest first; `flagged_total` counts all ever listed. */
  recent_flagged: FlaggedOrderView[];
  flagged_total: number;
  /** null with queue_error when the queue did not answer (Redis figures are still shown). */
  queue: QueueDepth | null;
  queue_error: string | null;
}

/**
 * Composes the existing read queries and the queue's attributes. A Redis failure fails
 * the whole summary (the exception filter answers 503); a queue failure only blanks the
 * queue figures.
 */
@Injectable()
export class DashboardSummaryQuery {
  private cached: { atMs: number; summary: Promise<DashboardSummary> } | undefined;

  constructor(
    private readonly stats: StatsQuery,
    private readonly top: TopUsersQuery,
    private readonly ranges: RangeStatsQuery,
    private readonly rejected: RejectedOrdersQuery,
    private readonly flagged: FlaggedOrdersQuery,
    private readonly queue: QueueHealth,
    private readonly clock: Clock = new SystemClock(),
  ) {}

  summary(nowMs = this.clock.now()): Promise<DashboardSummary> {
    if (this.cached && nowMs - this.cached.atMs < SUMMARY_TTL_MS) return this.cached.summary;
    const summary = this.compose(nowMs);
    const entry = { atMs: nowMs, summary };
    this.cached = entry;
    // A failure is not reused: the next poll tries again.
    summary.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return summary;
  }

  private async compose(nowMs: number): Promise<DashboardSummary> {
    const queue = this.queue.depth().then(
      (depth) => ({ depth, error: null }),
      (error: unknown) => ({ depth: null, error: `the queue did not answer: ${describe(error)}` }),
    );
    const [top, totals, months, rejected, flagged] = await Promise.all([
      this.top.top('spend', LIST_LENGTH, undefined),
      this.stats.global(),
      this.ranges.series(lookbackMonths(nowMs), 'month'),
      this.rejected.list(LIST_LENGTH),
      this.flagged.list(LIST_LENGTH),
    ]);
    const daily = await this.ranges.series(chartWindow(months.periods, nowMs), 'day');
    const { depth, error } = await queue;
    return {
      generated_at: new Date(nowMs).toISOString(),
      totals,
      top_users: top.users,
      daily_revenue: daily,
      recent_rejected: rejected.items.map((r) => ({
        kind: r.kind,
        order_id: r.order_id,
        user_id: r.user_id,
        reasons: r.reasons,
        received_at: r.received_at,
        raw_preview: r.order_id === null ? r.raw_body.slice(0, RAW_PREVIEW_CHARS) : null,
      })),
      recent_flagged: flagged.items,
      flagged_total: flagged.total,
      queue: depth,
      queue_error: error,
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
