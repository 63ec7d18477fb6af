import { Injectable, Logger } from '@nestjs/common';
import {
  ConflictError,
  NotFoundError,
  RejectedOrderStore,
  UnavailableError,
  UnprocessableError,
} from '@order-pipeline/aggregation';
import { normaliseId } from '@order-pipeline/orders';
import { isVerdictCode, type ModelVerdict } from '@order-pipeline/quality-guard';
import type { OutcomeKind } from './outcome';
import { ProcessingService } from './processing.service';

export interface ReprocessResult {
  readonly order_id: string;
  /** The SQS message id of the stored record; the reprocess runs under the same id. */
  readonly message_id: string;
  /** What the record was: rejected or conflict. */
  readonly previous_kind: 'rejected' | 'conflict';
  readonly previous_reasons: readonly string[];
  /** The outcome now: accepted (applied now), duplicate (already applied), rejected or conflict (still). */
  readonly outcome: Exclude<OutcomeKind, 'retry'>;
  readonly reasons: readonly string[];
  /** True when the record left the rejected store (the order is now applied). */
  readonly resolved: boolean;
}

/** Longest a reprocess may hold its order's lease: past the model's timeouts and retries. */
const REPROCESS_LEASE_MS = 120_000;

/**
 * Runs a stored rejected (or conflicting) message through ProcessingService again, e.g.
 * after a rule was fixed. It is the same path as a message from the queue, under the same
 * message id: claim and apply make a second application impossible (a duplicate at most),
 * and a message rejected again is not stored or counted twice. When the order is applied
 * now (accepted or already applied), the record leaves the rejected store, so the rejected
 * count goes down by one as the order count goes up by one.
 */
@Injectable()
export class RejectionReprocessor {
  private readonly logger = new Logger(RejectionReprocessor.name);

  constructor(
    private readonly rejected: RejectedOrderStore,
    private readonly processing: ProcessingService,
  ) {}

  async reprocess(orderIdText: string): Promise<ReprocessResult> {
    const orderId = normaliseId(orderIdText);
    // One reprocess of an order at a time, across instances: a second one at once would run
    // the same message again and count it as a duplicate delivery that was never sent.
    const lease = await this.rejected.leaseReprocess(orderId, REPROCESS_LEASE_MS);
    if (lease === undefined) {
      const leftMs = await this.rejected.reprocessLeaseLeftMs(orderId);
      throw new ConflictError(
        `a reprocess of order ${orderId} is already running; ask again once it has answered (at most ${Math.ceil(leftMs / 1000)} s)`,
      );
    }
    try {
      return await this.reprocessLeased(orderId);
    } finally {
      await this.rejected.releaseReprocess(orderId, lease).catch(() => undefined); // the lease expires anyway
    }
  }

  private async reprocessLeased(orderId: string): Promise<ReprocessResult> {
    const record = await this.rejected.latestForOrder(orderId);
    if (!record)
      throw new NotFoundError('rejected order', `no rejected or conflicting message is stored for order ${orderId}`);
    if (record.rawTruncated) {
      throw new UnprocessableError(
        `the stored body of order ${orderId} was cut to REJECTED_BODY_MAX_BYTES, so it cannot be processed again; send the order again instead`,
      );
    }
    // Not redeliverable: the operator waits for the answer, so the quality guard must decide
    // now (waiting for its model) rather than defer the order to a redelivery that never comes.
    // A fresh review: a cached verdict (kept for days) may be the rejection being reconsidered.
    // A model's rejection is reconsidered only by the model: if it cannot answer now (and its
    // verdict is no longer cached), the rejection stands, whatever QUALITY_GUARD_ON_UNAVAILABLE.
    const [outcome] = await this.processing.processBatch([
      {
        id: record.id,
        body: record.rawBody,
        receiveCount: 1,
        redeliverable: false,
        freshReview: true,
        standingVerdict: record.kind === 'rejected' ? modelRejection(record.reasons) : undefined,
      },
    ]);
    if (!outcome || outcome.kind === 'retry') {
      throw new UnavailableError(
        `order ${orderId} could not be processed now (${outcome?.error ?? 'no outcome'}); try again shortly`,
      );
    }
    const applied = outcome.kind === 'accepted' || outcome.kind === 'duplicate';
    const resolved = applied ? await this.rejected.resolve(record.id, outcome.kind) : false;
    this.logger.log({ msg: 'reprocessed', orderId, messageId: record.id, outcome: outcome.kind, resolved });
    return {
      order_id: orderId,
      message_id: record.id,
      previous_kind: record.kind,
      previous_reasons: record.reasons.map((r) => r.code),
      outcome: outcome.kind,
      reasons: (outcome.reasons ?? []).map((r) => r.code),
      resolved,
    };
  }
}

/** The model's rejection among a stored record's reasons (`ai:<code>`, its explanation), if any. */
function modelRejection(reasons: readonly { code: string; message: string }[]): ModelVerdict | undefined {
  for (const { code, message } of reasons) {
    const verdict = code.startsWith('ai:') ? code.slice(3) : undefined;
    if (verdict !== undefined && verdict !== 'none' && isVerdictCode(verdict)) {
      return { decision: 'reject', code: verdict, explanation: message };
    }
  }
  return undefined;
}
