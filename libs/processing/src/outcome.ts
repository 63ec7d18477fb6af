import type { ModelVerdict } from '@order-pipeline/quality-guard';
import type { Violation } from '@order-pipeline/orders';

/** One message as the queue delivered it. */
export interface InboundMessage {
  /** SQS MessageId: stable across redeliveries. */
  readonly id: string;
  readonly body: string;
  /** ApproximateReceiveCount (1 on the first delivery). */
  readonly receiveCount: number;
  /**
   * False when the queue would dead-letter the message on its next receive (its receives
   * have reached the redrive policy's maxReceiveCount), or when that count is not known:
   * then it is never given back for a planned redelivery (the quality guard's deferral).
   * Absent: it may be.
   */
  readonly redeliverable?: boolean;
  /** Ask the quality guard's model again even when its verdict is cached (a reprocess). */
  readonly freshReview?: boolean;
  /**
   * A model's rejection of this order that stands unless the model now says otherwise (a
   * reprocess of an order the model rejected): with no new verdict to be had, and none
   * cached, it decides, and never the unavailable policy.
   */
  readonly standingVerdict?: ModelVerdict;
}

export type OutcomeKind = 'accepted' | 'duplicate' | 'conflict' | 'rejected' | 'retry';

/** Every message ends in exactly one outcome; all but `retry` are final and acknowledged. */
export interface Outcome {
  readonly messageId: string;
  readonly kind: OutcomeKind;
  readonly orderId?: string;
  readonly reasons?: readonly Violation[];
  /** For `retry`: what went wrong (a transient failure such as Redis being away). */
  readonly error?: string;
  /**
   * For `retry`: when the message should come back, if not after the failure backoff. Set
   * for an order deferred while the quality guard's model reviews it: a planned wait, not
   * a failure.
   */
  readonly retryAfterSeconds?: number;
}

export const isFinal = (outcome: Outcome): boolean => outcome.kind !== 'retry';
