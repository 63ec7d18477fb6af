import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import type { Order } from '@order-pipeline/orders';
import { RedisService, type ScriptAnswer, type ScriptCall, type ScriptRunner } from '@order-pipeline/redis';
import { KeySchema, dayOf, orderBucketOf, userBucketOf } from './key-schema';
import { APPLY_LUA, CLAIM_LUA } from './lua/scripts';

const DAY_MS = 86_400_000;

export interface ClaimRecord {
  readonly contentHash: string;
  readonly userId: string;
  readonly firstSeenMs: number;
}

export interface ClaimResult {
  readonly status: 'new' | 'same' | 'conflict';
  readonly claim: ClaimRecord;
}

export function parseClaim(stored: string): ClaimRecord {
  const [contentHash = '', userId = '', firstSeen = '0'] = stored.split('|');
  return { contentHash, userId, firstSeenMs: Number(firstSeen) };
}

/**
 * Folds accepted orders into Redis exactly once, in two atomic steps (see
 * docs/DESIGN.md): claim the order id in its slot, then apply marker + increments in
 * the user's slot. A crash between the steps is harmless: the redelivery claims
 * "same" and the apply step runs exactly once.
 */
@Injectable()
export class OrderAggregator {
  private readonly keys: KeySchema;
  private readonly claimScript: ScriptRunner<[string, string]>;
  private readonly applyScript: ScriptRunner<number>;
  private readonly retentionDays: number;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
    this.claimScript = redis.defineScript(CLAIM_LUA, 1);
    this.applyScript = redis.defineScript(APPLY_LUA, 13);
    this.retentionDays = config.stats.retentionDays;
  }

  /**
   * Whether every slot the pipeline writes to answers a read (KeySchema.slotProbes), within
   * the command timeout on a Cluster: false while one master is stalled or down, although
   * the Cluster client as a whole stays ready.
   */
  everySlotAnswers(): Promise<boolean> {
    return this.redis.readAll(this.keys.slotProbes().map((key) => ['exists', key] as const)).then(
      () => true,
      () => false,
    );
  }

  /** Step 1: records order_id -> content hash if absent; "conflict" when it holds another. */
  async claim(order: Order, nowMs: number = Date.now()): Promise<ClaimResult> {
    const call = this.claimCall(order, nowMs);
    return toClaimResult(await this.claimScript(call.keys, call.args));
  }

  /** Step 2: applies the order unless this bucket already holds its applied-mark. */
  async apply(order: Order): Promise<'accepted' | 'duplicate'> {
    const call = this.applyCall(order);
    return toApplied(await this.applyScript(call.keys, call.args));
  }

  /**
   * The claim each order id already holds, or undefined, without claiming anything: for an
   * order about to be refused, to tell a resend of a claimed order (a duplicate) or a reuse
   * of its id (a conflict) from a new order. One read per order (their slots differ).
   */
  async existingClaims(orders: readonly Order[]): Promise<(ClaimRecord | undefined)[]> {
    const stored = await Promise.all(
      orders.map((o) => this.redis.client.hget(this.keys.claims(orderBucketOf(o.orderId)), o.orderId)),
    );
    return stored.map((s) => (s === null ? undefined : parseClaim(s)));
  }

  /**
   * Step 1 for many orders in one round trip (see RedisService.defineScript: one pipeline
   * on a single Redis). Each order is still claimed by its own atomic script; one answer
   * per order, in order, and a failure touches only its own order.
   */
  async claimAll(orders: readonly Order[], nowMs: number = Date.now()): Promise<Settled<ClaimResult>[]> {
    const answers = await this.claimScript.many(orders.map((o) => this.claimCall(o, nowMs)));
    return answers.map((a) => settle(a, toClaimResult));
  }

  /** Step 2 for many orders in one round trip; each order is applied by its own atomic script. */
  async applyAll(orders: readonly Order[]): Promise<Settled<'accepted' | 'duplicate'>[]> {
    const answers = await this.applyScript.many(orders.map((o) => this.applyCall(o)));
    return answers.map((a) => settle(a, toApplied));
  }

  /** The keys and arguments of CLAIM_LUA for an order (also used by the benchmark's baseline). */
  claimCall(order: Order, nowMs: number): ScriptCall {
    return {
      keys: [this.keys.claims(orderBucketOf(order.orderId))],
      args: [order.orderId, `${order.contentHash}|${order.userId}|${nowMs}`, order.contentHash],
    };
  }

  /** The keys and arguments of APPLY_LUA for an order (also used by the benchmark's baseline). */
  applyCall(order: Order): ScriptCall {
    const k = this.keys.bucket(userBucketOf(order.userId));
    const day = dayOf(order.timestampMs);
    const month = day.slice(0, 6);
    const dayStart = Math.floor(order.timestampMs / DAY_MS) * DAY_MS;
    const retained = this.retentionDays * DAY_MS;
    const dayExpireAt = Math.floor((dayStart + DAY_MS + retained) / 1000);
    const t = new Date(order.timestampMs);
    const monthEnd = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1);
    const monthExpireAt = Math.floor((monthEnd + retained) / 1000);
    return {
      keys: [
        k.applied,
        k.totals,
        k.days,
        k.months,
        k.user(order.userId),
        k.userMonths(order.userId),
        k.userDays(order.userId, month),
        k.top('spend'),
        k.top('orders'),
        k.top('spend', `m:${month}`),
        k.top('orders', `m:${month}`),
        k.top('spend', `d:${day}`),
        k.top('orders', `d:${day}`),
      ],
      args: [
        order.orderId,
        order.userId,
        order.valueCents,
        order.timestampMs,
        day,
        month,
        day.slice(6),
        dayExpireAt,
        monthExpireAt,
      ],
    };
  }
}

/** One order's answer of a batch call: its value, or the error that touched only it. */
export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

function settle<R, T>(answer: ScriptAnswer<R>, read: (raw: R) => T): Settled<T> {
  if (!answer.ok) return answer;
  try {
    return { ok: true, value: read(answer.value) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

function toClaimResult([status, stored]: [string, string]): ClaimResult {
  if (status !== 'new' && status !== 'same' && status !== 'conflict') {
    throw new Error(`unexpected claim answer: ${status}`);
  }
  return { status, claim: parseClaim(stored) };
}

/** APPLY_LUA answers 1 (applied now) or 0 (already applied); anything else is not acknowledged. */
export function toApplied(answer: number): 'accepted' | 'duplicate' {
  if (answer === 1) return 'accepted';
  if (answer === 0) return 'duplicate';
  throw new Error(`unexpected apply answer: ${String(answer)}`);
}
