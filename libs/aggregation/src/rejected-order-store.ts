import { hash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import type { Violation } from '@order-pipeline/orders';
import { RedisService, type ReadCommand, type ScriptRunner } from '@order-pipeline/redis';
import { newestFirstPage } from './newest-first-page';
import { KeySchema } from './key-schema';
import { numberOf } from './integer-text';
import { RECORD_REJECTION_LUA, RESOLVE_REJECTION_LUA } from './lua/scripts';

/** Deletes KEYS[1] only while it holds ARGV[1] (a lease's token). */
const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type RejectionKind = 'rejected' | 'conflict';

/** RECORD_REJECTION_LUA's answer when the id holds the record of another body. */
const ID_HOLDS_ANOTHER_BODY = 2;

export interface RejectedOrderRecord {
  readonly id: string;
  readonly kind: RejectionKind;
  readonly orderId: string | null;
  readonly userId: string | null;
  readonly reasons: readonly Violation[];
  readonly receivedAtMs: number;
  /** The raw message body, cut to REJECTED_BODY_MAX_BYTES. */
  readonly rawBody: string;
  readonly rawTruncated: boolean;
  /** For a conflict: what the order id already stands for. */
  readonly existing?: { readonly userId: string; readonly firstSeenMs: number };
}

export interface RejectedPage {
  readonly items: readonly RejectedOrderRecord[];
  readonly nextCursor: string | null;
}

/**
 * Keeps every rejected and conflicting message with its reasons and (capped) raw body,
 * keyed by SQS message id so redeliveries are stored and counted once. Nothing is
 * trimmed: a rejected order is never lost.
 */
@Injectable()
export class RejectedOrderStore {
  private readonly keys: KeySchema;
  private readonly recordScript: ScriptRunner<number>;
  private readonly resolveScript: ScriptRunner<number>;
  private readonly maxBodyBytes: number;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
    this.recordScript = redis.defineScript(RECORD_REJECTION_LUA, 5);
    this.resolveScript = redis.defineScript(RESOLVE_REJECTION_LUA, 5);
    this.maxBodyBytes = config.rejectedBodyMaxBytes;
  }

  /** Cuts a body to the configured number of bytes without splitting a character. */
  capBody(body: string): { rawBody: string; rawTruncated: boolean } {
    const bytes = Buffer.from(body, 'utf8');
    if (bytes.length <= this.maxBodyBytes) return { rawBody: body, rawTruncated: false };
    const cut = bytes
      .subarray(0, this.maxBodyBytes)
      .toString('utf8')
      .replace(/\uFFFD$/, '');
    return { rawBody: cut, rawTruncated: true };
  }

  /**
   * Stores the record once; true when it was new. A message processed under an id that
   * already holds another body's record (a redriven message carries its first id in a
   * message attribute, and any sender can set that attribute) is stored under an id made
   * from its own body: it is not taken for the other message, and its redeliveries are
   * still stored once.
   */
  async record(record: RejectedOrderRecord): Promise<boolean> {
    const stored = await this.recordUnder(record);
    if (stored !== ID_HOLDS_ANOTHER_BODY) return stored === 1;
    const id = `${record.id}~${hash('sha256', record.rawBody, 'hex').slice(0, 16)}`;
    return (await this.recordUnder({ ...record, id })) === 1;
  }

  private recordUnder(record: RejectedOrderRecord): Promise<number> {
    const k = this.keys.rejected();
    return this.recordScript(
      [k.records, k.index, k.byOrder, k.counts, k.sequence],
      [record.id, JSON.stringify(record), record.kind, record.orderId ?? ''],
    );
  }

  /** Newest first. The cursor is opaque to clients: the sequence number to continue below. */
  async list(limit: number, cursor?: number): Promise<RejectedPage> {
    return this.redis.bounded(
      newestFirstPage<RejectedOrderRecord>(this.redis.client, this.keys.rejected(), limit, cursor),
    );
  }

  /**
   * Takes a record out of the store (list, by-order index and its count) because a reprocess
   * applied its order; it is kept in the resolved hash. True when this call resolved it.
   */
  async resolve(id: string, outcome: string, nowMs = Date.now()): Promise<boolean> {
    const k = this.keys.rejected();
    const resolution = JSON.stringify({ outcome, resolvedAtMs: nowMs });
    return (await this.resolveScript([k.records, k.index, k.byOrder, k.counts, k.resolved], [id, resolution])) === 1;
  }

  /**
   * Takes the lease of reprocessing `orderId` for `ttlMs` (so a process that dies holding it
   * frees it): true when this caller holds it now, false when another reprocess does.
   */
  /**
   * Takes the order's reprocess lease: its token when taken, undefined when another holds it.
   * When the SET fails (a command timeout while Redis stalls), it may still run once Redis
   * answers again; the lease is then given back, best effort (the release follows the SET on
   * the same connection; after a reconnect the two may cross, and the lease runs out by
   * itself), so a failed attempt does not hold the order for the lease's whole time.
   */
  async leaseReprocess(orderId: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    try {
      const taken = await this.redis.client.set(this.keys.rejected().reprocessing(orderId), token, 'PX', ttlMs, 'NX');
      return taken === 'OK' ? token : undefined;
    } catch (error) {
      await this.releaseReprocess(orderId, token).catch(() => undefined); // it expires anyway
      throw error;
    }
  }

  /** Gives the lease back if it is still this token's (an expired one may be another's now). */
  async releaseReprocess(orderId: string, token: string): Promise<void> {
    // EVAL, not a cached script's EVALSHA: after a timeout there is no second round trip for NOSCRIPT.
    await this.redis.client.eval(RELEASE_LEASE_LUA, 1, this.keys.rejected().reprocessing(orderId), token);
  }

  /** How long the order's reprocess lease still runs (ms; 0 when there is none). */
  async reprocessLeaseLeftMs(orderId: string): Promise<number> {
    return Math.max(0, await this.redis.client.pttl(this.keys.rejected().reprocessing(orderId)));
  }

  async latestForOrder(orderId: string): Promise<RejectedOrderRecord | undefined> {
    const k = this.keys.rejected();
    const id = await this.redis.client.hget(k.byOrder, orderId);
    if (id === null) return undefined;
    const record = await this.redis.client.hget(k.records, id);
    return record === null ? undefined : (JSON.parse(record) as RejectedOrderRecord);
  }

  /** The read of the counts of each kind, for a caller that batches it with others (RedisService.readAll). */
  get countsRead(): ReadCommand {
    return ['hmgetBuffer', this.keys.rejected().counts, 'rejected', 'conflict'];
  }

  /** The counts from the answer to countsRead. */
  countsFrom(answer: unknown): { rejected: number; conflicts: number } {
    const [rejected, conflicts] = answer as (Buffer | null)[];
    return { rejected: numberOf(rejected), conflicts: numberOf(conflicts) };
  }
}
