import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { QUEUE_TARGET, type QueueTarget } from './queue-target';

/** The orders queue's RedrivePolicy: where SQS moves a message, and after how many receives. */
export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  /** Undefined when the policy does not say (SQS requires it, so only a foreign server). */
  readonly maxReceiveCount: number | undefined;
}

/** The queue's RedrivePolicy, or undefined when it has none. Rejects when the queue does not answer. */
export async function readRedrivePolicy(target: QueueTarget, timeoutMs = 2_000): Promise<RedrivePolicy | undefined> {
  const attributes = await target.client.send(
    new GetQueueAttributesCommand({ QueueUrl: target.queueUrl, AttributeNames: ['RedrivePolicy'] }),
    { abortSignal: AbortSignal.timeout(timeoutMs) },
  );
  return parseRedrivePolicy(attributes.Attributes?.RedrivePolicy);
}

/** SQS writes maxReceiveCount as a number or as a string of digits, depending on who set it. */
export function parseRedrivePolicy(text: string | undefined): RedrivePolicy | undefined {
  if (!text) return undefined;
  const policy = JSON.parse(text) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  const count = Number(policy.maxReceiveCount);
  return {
    deadLetterTargetArn: typeof policy.deadLetterTargetArn === 'string' ? policy.deadLetterTargetArn : '',
    maxReceiveCount: Number.isInteger(count) && count >= 1 ? count : undefined,
  };
}

/** How often the policy of a queue the app does not own is read again (it may be changed). */
const REREAD_MS = 60_000;

/**
 * Whether a message on its first receive may be given back for a planned redelivery (the
 * quality guard's deferral) without SQS dead-lettering it on that redelivery: only when the
 * queue's redrive policy allows more than one receive, or the queue has none.
 *
 * The embedded emulator's queue is made by the app with SQS_MAX_RECEIVE_COUNT. The policy of
 * any other queue (SQS_QUEUE_URL) is the queue's own, whatever SQS_MAX_RECEIVE_COUNT says: it
 * is read at start-up and again at most once a minute in the background, so a batch never
 * waits for it. Until it has been read (the queue did not answer), the answer is no: a
 * suspicious order then waits for the model in its batch, which costs time, never a message.
 */
@Injectable()
export class ReceiveLimit implements OnApplicationBootstrap {
  private readonly logger = new Logger(ReceiveLimit.name);
  private allows: boolean;
  private known: boolean;
  private lastRead = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  private reported: string | undefined;

  constructor(
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.known = target.embedded;
    this.allows = target.embedded && config.sqs.maxReceiveCount > 1;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.target.embedded) await this.read();
  }

  /** True when one more receive of a first-delivered message cannot dead-letter it. */
  allowsRedelivery(): boolean {
    if (!this.target.embedded && this.reading === undefined && Date.now() - this.lastRead >= REREAD_MS) {
      void this.read();
    }
    return this.allows;
  }

  private read(): Promise<void> {
    this.lastRead = Date.now();
    this.reading = readRedrivePolicy(this.target)
      .then((policy) => {
        this.allows = policy?.maxReceiveCount === undefined || policy.maxReceiveCount > 1;
        this.known = true;
        this.report(
          policy === undefined
            ? 'the orders queue has no redrive policy: nothing is dead-lettered'
            : `the orders queue dead-letters a message after ${policy.maxReceiveCount ?? 'an unstated number of'} receives` +
                (this.allows ? '' : ': suspicious orders wait for the model in their batch (no deferral)'),
          'log',
        );
      })
      .catch((error: unknown) => {
        const why = error instanceof Error ? error.message : String(error);
        this.report(
          `cannot read the orders queue's redrive policy (${why}): ` +
            (this.known
              ? 'the last one read still holds'
              : 'until it can be read, suspicious orders wait for the model in their batch (no deferral)'),
          'warn',
        );
      })
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Logs a finding when it changes, not on every read. */
  private report(message: string, level: 'log' | 'warn'): void {
    if (message === this.reported) return;
    this.reported = message;
    this.logger[level](message);
  }
}
