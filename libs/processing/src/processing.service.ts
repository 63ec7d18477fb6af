import { Injectable, Logger } from '@nestjs/common';
import {
  OrderAggregator,
  RejectedOrderStore,
  type ClaimRecord,
  type ClaimResult,
  type RejectedOrderRecord,
  type Settled,
} from '@order-pipeline/aggregation';
import { parseOrderMessage, type Order, type Violation } from '@order-pipeline/orders';
import { QualityGuard } from '@order-pipeline/quality-guard';
import type { InboundMessage, Outcome } from './outcome';
import { PipelineMetrics } from './pipeline-metrics';

type Pending = { readonly message: InboundMessage; readonly order: Order };
/** The claims of a batch's orders, by order, or the error of their round trip. */
type Claims = { readonly of: Map<Pending, Settled<ClaimResult> | undefined> } | { readonly error: unknown };

/**
 * parse -> validate/normalise -> quality guard -> claim -> apply, for a batch of
 * messages. Returns one outcome per message, in order. Never throws: a failure that
 * may pass (Redis away) becomes `retry` for the messages it touched, so they stay on
 * the queue; a permanent problem is stored (rejected/conflict) before it is final.
 */
@Injectable()
export class ProcessingService {
  private readonly logger = new Logger(ProcessingService.name);

  constructor(
    private readonly aggregator: OrderAggregator,
    private readonly rejected: RejectedOrderStore,
    private readonly guard: QualityGuard,
    private readonly metrics: PipelineMetrics,
  ) {}

  /** Whether every part of Redis the pipeline writes to answers (OrderAggregator.everySlotAnswers). */
  redisAnswersEverywhere(): Promise<boolean> {
    return this.aggregator.everySlotAnswers();
  }

  async processBatch(messages: readonly InboundMessage[]): Promise<Outcome[]> {
    const started = performance.now();
    this.metrics.batchStarted(messages.length);
    // By message, not by id: two messages of a batch may carry one id (copies of one redriven
    // message, or a producer that sets the redrive attribute), and each gets its own outcome.
    const outcomes = new Map<InboundMessage, Outcome>();
    const pending: Pending[] = [];
    const rejections: Promise<void>[] = [];

    for (const message of messages) {
      const parsed = parseSafely(message.body);
      if (parsed.ok) pending.push({ message, order: parsed.order });
      else
        rejections.push(
          this.reject(message, parsed.violations, parsed.orderId ?? null, parsed.userId ?? null, outcomes),
        );
    }

    // A guard that cannot refuse an order (no model) is not waited for: the claims go out
    // with its history read, one round trip fewer (docs/DESIGN.md). A claim made for a
    // message that then retries (its review failed) finds itself again on the redelivery. A
    // model's standing rejection (a reprocess) can refuse even then: its batch claims after.
    const mayRefuse = this.guard.canRefuse || pending.some((p) => p.message.standingVerdict !== undefined);
    const early = mayRefuse || pending.length === 0 ? undefined : this.claim(pending);
    const allowed = await this.review(pending, outcomes, rejections);
    await Promise.all([...rejections, this.aggregate(allowed, outcomes, early)]);

    const result = messages.map(
      (m) => outcomes.get(m) ?? { messageId: m.id, kind: 'retry' as const, error: 'no outcome was reached' },
    );
    const millis = performance.now() - started;
    this.metrics.recordBatch(result, millis); // logs the batch (info) and each message (debug)
    return result;
  }

  private async review(
    pending: Pending[],
    outcomes: Map<InboundMessage, Outcome>,
    rejections: Promise<void>[],
  ): Promise<Pending[]> {
    if (pending.length === 0) return [];
    try {
      const verdicts = await this.guard.review(
        pending.map((p) => p.order),
        undefined,
        pending.map((p) => p.message.receiveCount <= 1 && p.message.redeliverable !== false),
        pending.map((p) => p.message.freshReview === true),
        pending.map((p) => p.message.standingVerdict),
      );
      // An order the model refuses may be a resend of an order already claimed (a duplicate,
      // e.g. accepted while the guard was offline) or a reuse of a claimed id (a conflict):
      // the claim decides those, as it does for every other order. Refusals are rare, so the
      // extra read costs nothing on the common path.
      const refused = pending.filter((_, i) => verdicts[i]?.decision === 'reject');
      const claims = refused.length > 0 ? await this.aggregator.existingClaims(refused.map((p) => p.order)) : [];
      const claimed = new Map(refused.map((p, i) => [p, claims[i]]));
      const allowed: Pending[] = [];
      pending.forEach((p, i) => {
        const verdict = verdicts[i];
        const claim = claimed.get(p);
        if (verdict?.decision === 'reject' && claim !== undefined) {
          if (claim.contentHash === p.order.contentHash) allowed.push(p);
          else rejections.push(this.conflict(p, claim, outcomes));
        } else if (verdict?.decision === 'reject') {
          rejections.push(this.reject(p.message, verdict.reasons, p.order.orderId, p.order.userId, outcomes));
        } else if (verdict?.decision === 'defer') {
          outcomes.set(p.message, {
            messageId: p.message.id,
            kind: 'retry',
            error: 'deferred while the quality guard reviews it',
            retryAfterSeconds: verdict.retryAfterSeconds ?? 0,
          });
        } else if (verdict?.decision === 'hold') {
          outcomes.set(p.message, retry(p.message, new Error('quality guard unavailable; held for retry')));
        } else if (verdict === undefined) {
          // The guard answers one verdict per order; a missing one is not an allow.
          outcomes.set(p.message, retry(p.message, new Error('the quality guard gave no verdict for this order')));
        } else {
          allowed.push(p);
        }
      });
      return allowed;
    } catch (error) {
      for (const p of pending) outcomes.set(p.message, retry(p.message, error));
      return [];
    }
  }

  /**
   * Claims every allowed order of the batch in one round trip (or takes the claims made
   * beside the review, `early`), then applies the claimed ones in one more (docs/DESIGN.md):
   * each order is still claimed and applied by its own atomic script, and a failure makes
   * only the orders it touched `retry`.
   */
  private async aggregate(
    allowed: readonly Pending[],
    outcomes: Map<InboundMessage, Outcome>,
    early?: Promise<Claims>,
  ): Promise<void> {
    // Early claims are awaited even when nothing is left to apply: no write outlives its batch.
    const claims = early ? await early : allowed.length > 0 ? await this.claim(allowed) : undefined;
    if (claims === undefined || allowed.length === 0) return;
    if ('error' in claims) {
      for (const p of allowed) outcomes.set(p.message, retry(p.message, claims.error));
      return;
    }
    const toApply: Pending[] = [];
    const conflicts: Promise<void>[] = [];
    allowed.forEach((p) => {
      const claimed = claims.of.get(p);
      if (!claimed?.ok) outcomes.set(p.message, retry(p.message, claimed?.error ?? 'no claim answer'));
      else if (claimed.value.status === 'conflict') conflicts.push(this.conflict(p, claimed.value.claim, outcomes));
      else toApply.push(p);
    });
    await Promise.all([...conflicts, this.applyClaimed(toApply, outcomes)]);
  }

  /** One claim per order in one round trip; never throws (a failed round trip is `error`). */
  private async claim(items: readonly Pending[]): Promise<Claims> {
    try {
      const answers = await this.aggregator.claimAll(items.map((p) => p.order));
      return { of: new Map(items.map((p, i) => [p, answers[i]])) };
    } catch (error) {
      return { error };
    }
  }

  private async applyClaimed(claimed: readonly Pending[], outcomes: Map<InboundMessage, Outcome>): Promise<void> {
    if (claimed.length === 0) return;
    try {
      const applied = await this.aggregator.applyAll(claimed.map((p) => p.order));
      claimed.forEach(({ message, order }, i) => {
        const answer = applied[i];
        outcomes.set(
          message,
          answer?.ok
            ? { messageId: message.id, kind: answer.value, orderId: order.orderId }
            : retry(message, answer?.error ?? 'no apply answer'),
        );
      });
    } catch (error) {
      for (const p of claimed) outcomes.set(p.message, retry(p.message, error));
    }
  }

  private async conflict(
    { message, order }: Pending,
    existing: ClaimRecord,
    outcomes: Map<InboundMessage, Outcome>,
  ): Promise<void> {
    try {
      const reasons = [
        {
          code: 'conflict:order_id_reused',
          message: `order_id ${order.orderId} was first seen${seenAt(existing.firstSeenMs)} with other content, for user ${existing.userId}; this message is not applied`,
        },
      ];
      await this.store(message, 'conflict', reasons, order.orderId, order.userId, {
        userId: existing.userId,
        firstSeenMs: existing.firstSeenMs,
      });
      outcomes.set(message, { messageId: message.id, kind: 'conflict', orderId: order.orderId, reasons });
    } catch (error) {
      outcomes.set(message, retry(message, error));
    }
  }

  private async reject(
    message: InboundMessage,
    reasons: readonly Violation[],
    orderId: string | null,
    userId: string | null,
    outcomes: Map<InboundMessage, Outcome>,
  ): Promise<void> {
    try {
      await this.store(message, 'rejected', reasons, orderId, userId);
      outcomes.set(message, { messageId: message.id, kind: 'rejected', reasons, ...(orderId ? { orderId } : {}) });
    } catch (error) {
      outcomes.set(message, retry(message, error));
    }
  }

  private async store(
    message: InboundMessage,
    kind: RejectedOrderRecord['kind'],
    reasons: readonly Violation[],
    orderId: string | null,
    userId: string | null,
    existing?: RejectedOrderRecord['existing'],
  ): Promise<void> {
    await this.rejected.record({
      id: message.id,
      kind,
      orderId,
      userId,
      reasons,
      receivedAtMs: Date.now(),
      ...this.rejected.capBody(message.body),
      ...(existing ? { existing } : {}),
    });
  }
}

/** The parser is pure, so anything it throws would throw again: a permanent rejection. */
function parseSafely(body: string): ReturnType<typeof parseOrderMessage> {
  try {
    return parseOrderMessage(body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      violations: [{ code: 'invalid_value:body', message: `message body could not be read: ${detail}` }],
    };
  }
}

function retry(message: InboundMessage, error: unknown): Outcome {
  return { messageId: message.id, kind: 'retry', error: error instanceof Error ? error.message : String(error) };
}

/** " at <ISO instant>" for a claim's first-seen time, or nothing when the claim has none. */
function seenAt(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? ` at ${new Date(ms).toISOString()}` : '';
}
