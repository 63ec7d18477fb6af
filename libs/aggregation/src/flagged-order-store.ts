import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { centsToAmount, type Violation } from '@order-pipeline/orders';
import { RedisService, type ScriptRunner } from '@order-pipeline/redis';
import { newestFirstPage } from './newest-first-page';
import { KeySchema, orderBucketOf } from './key-schema';
import { parseClaim } from './order-aggregator';
import { RECORD_FLAGGED_LUA } from './lua/flagged-scripts';

/**
 * Why an accepted order is on the list: `model`: the model said `flag`, or allowed an order
 * whose text reads like instructions to a model, or answered for a resent copy of an order
 * listed as `rules`; `sample`: the model flagged or rejected an order of the monitoring
 * sample; `rules`: suspicious, and no model verdict was available (offline mode, model
 * unavailable under the fail-open policy).
 */
export type FlagSource = 'model' | 'sample' | 'rules';

export interface FlaggedOrderRecord {
  readonly orderId: string;
  readonly userId: string;
  readonly contentHash: string;
  readonly valueCents: number;
  readonly orderTimestampMs: number;
  readonly source: FlagSource;
  /** True when a model verdict stands behind the entry; false for rules-only entries. */
  readonly checked: boolean;
  /** The model's reason (`ai:<code>`) first when there is one, then the rules' flags. */
  readonly reasons: readonly Violation[];
  readonly flaggedAtMs: number;
}

/** What recording did to the list. */
export type ListingChange = 'listed' | 'revised' | 'unchanged';

export interface FlaggedPage {
  readonly items: readonly FlaggedOrderRecord[];
  readonly nextCursor: string | null;
}

/**
 * The quality guard's list of orders it let through but wants a person to look at. Keyed
 * by order_id, so an order is listed exactly once however often its message is delivered
 * (a model's later verdict may replace an unchecked listing); bounded to
 * QUALITY_GUARD_FLAGGED_MAX entries (the oldest go first).
 */
@Injectable()
export class FlaggedOrderStore {
  private readonly keys: KeySchema;
  private readonly recordScript: ScriptRunner<number>;
  private readonly maxEntries: number;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
    this.recordScript = redis.defineScript(RECORD_FLAGGED_LUA, 4);
    this.maxEntries = config.qualityGuard.flaggedMaxEntries;
  }

  /**
   * Lists the order once: 'listed' when it was new. A model-checked record replaces an
   * unchecked listing of the same content ('revised'); anything else leaves the list as it is.
   */
  async record(record: FlaggedOrderRecord): Promise<ListingChange> {
    // An order id already claimed by other content: this message will be a conflict, never
    // accepted, and listing it would show its value for the order that was. (Two contents
    // handled at the same moment can still both get here before either claim.)
    const claimed = await this.claimedContent(record.orderId);
    if (claimed !== undefined && claimed !== record.contentHash) return 'unchanged';
    return this.store(record, true);
  }

  /**
   * Replaces the listing of an order accepted unchecked (the model could not answer then)
   * with the model's later verdict on the same content; lists nothing new. 'revised' when it did.
   * Only for an order that counts: its id claimed by this content. A listing whose order was
   * never claimed (its batch failed and is retried) or lost its id to other content stays.
   */
  async revise(record: FlaggedOrderRecord): Promise<ListingChange> {
    if ((await this.claimedContent(record.orderId)) !== record.contentHash) return 'unchanged';
    return this.store(record, false);
  }

  /** The content hash that holds the order id's claim, if any. */
  private async claimedContent(orderId: string): Promise<string | undefined> {
    const claim = await this.redis.client.hget(this.keys.claims(orderBucketOf(orderId)), orderId);
    return claim === null ? undefined : parseClaim(claim).contentHash;
  }

  private async store(record: FlaggedOrderRecord, mayAdd: boolean): Promise<ListingChange> {
    const k = this.keys.flagged();
    const stored = await this.recordScript(
      [k.records, k.index, k.counts, k.sequence],
      [
        record.orderId,
        JSON.stringify(record),
        this.maxEntries,
        mayAdd ? '1' : '0',
        record.checked ? '1' : '0',
        record.contentHash,
      ],
    );
    return stored === 1 ? 'listed' : stored === 2 ? 'revised' : 'unchanged';
  }

  /** Newest first. The cursor is opaque to clients: the sequence number to continue below. */
  async list(limit: number, cursor?: number): Promise<FlaggedPage> {
    return this.redis.bounded(
      newestFirstPage<FlaggedOrderRecord>(this.redis.client, this.keys.flagged(), limit, cursor),
    );
  }

  /** Orders ever listed, and how many of them the size bound has dropped since. */
  async counts(): Promise<{ total: number; dropped: number }> {
    const counts = await this.redis.bounded(this.redis.client.hgetall(this.keys.flagged().counts));
    return { total: Number(counts.total ?? 0), dropped: Number(counts.dropped ?? 0) };
  }
}

export interface FlaggedOrderView {
  order_id: string;
  user_id: string;
  order_value: number;
  order_timestamp: string;
  source: FlagSource;
  checked: boolean;
  reasons: { code: string; message: string }[];
  flagged_at: string;
}

export interface FlaggedOrdersView {
  items: FlaggedOrderView[];
  next_cursor: string | null;
  /** Orders ever listed (the list itself keeps the newest QUALITY_GUARD_FLAGGED_MAX). */
  total: number;
}

/** GET /orders/flagged: the flagged list, newest first. */
@Injectable()
export class FlaggedOrdersQuery {
  constructor(private readonly store: FlaggedOrderStore) {}

  async list(limit: number, cursor?: number): Promise<FlaggedOrdersView> {
    const [page, counts] = await Promise.all([this.store.list(limit, cursor), this.store.counts()]);
    return {
      items: page.items.map((r) => ({
        order_id: r.orderId,
        user_id: r.userId,
        order_value: centsToAmount(r.valueCents),
        order_timestamp: new Date(r.orderTimestampMs).toISOString(),
        source: r.source,
        checked: r.checked,
        reasons: [...r.reasons],
        flagged_at: new Date(r.flaggedAtMs).toISOString(),
      })),
      next_cursor: page.nextCursor,
      total: counts.total,
    };
  }
}
