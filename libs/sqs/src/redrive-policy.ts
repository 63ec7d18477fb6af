import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
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
export const REDRIVE_POLICY_REREAD_MS = 60_000;

/**
 * Whether a message may be given back for a planned redelivery (the quality guard's
 * deferral) without SQS dead-lettering it on that redelivery: only when its receives so far
 * are below the queue's maxReceiveCount, or the queue has no redrive policy.
 *
 * The embedded emulator's queue is made by the app with SQS_MAX_RECEIVE_COUNT. The policy of
 * any other queue (SQS_QUEUE_URL) is the queue's own, whatever SQS_MAX_RECEIVE_COUNT says: it
 * is read at start-up and then once a minute on a timer, so a batch never waits for it and
 * a change is seen within a minute or so, busy or idle. While the count is not known (the
 * queue has not answered yet, or its policy does not say), the answer is no: a suspicious
 * order then waits for the model in its batch, which costs time, never a message. A read
 * that fails after one succeeded keeps what it read.
 */
@Injectable()
export class ReceiveLimit implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReceiveLimit.name);
  /** The queue's maxReceiveCount; null: no redrive policy (nothing is dead-lettered); undefined: not known. */
  private limit: number | null | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reported: string | undefined;

  constructor(
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = target.embedded ? config.sqs.maxReceiveCount : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.target.embedded) return;
    await this.read();
    this.timer = setInterval(() => void this.read(), REDRIVE_POLICY_REREAD_MS).unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** True when a message received `receiveCount` times so far can be received once more without being dead-lettered. */
  allowsAnotherReceive(receiveCount: number): boolean {
    return this.limit === null || (this.limit !== undefined && receiveCount < this.limit);
  }

  /** Never rejects (a read gives up after 2 s, well within the interval). */
  private async read(): Promise<void> {
    try {
      const policy = await readRedrivePolicy(this.target);
      this.limit = policy === undefined ? null : policy.maxReceiveCount;
      this.report(
        policy === undefined
          ? 'the orders queue has no redrive policy: nothing is dead-lettered'
          : policy.maxReceiveCount === undefined
            ? "the orders queue's redrive policy does not say after how many receives it dead-letters: " +
              'suspicious orders wait for the model in their batch (no deferral)'
            : `the orders queue dead-letters a message after ${policy.maxReceiveCount} ${policy.maxReceiveCount === 1 ? 'receive' : 'receives'}` +
              (policy.maxReceiveCount > 1 ? '' : ': suspicious orders wait for the model in their batch (no deferral)'),
        'log',
      );
    } catch (error) {
      this.report(
        `cannot read the orders queue's redrive policy (${describe(error)}): ` +
          (this.limit !== undefined
            ? 'the last one read still holds'
            : 'until it can be read, suspicious orders wait for the model in their batch (no deferral)'),
        'warn',
      );
    }
  }

  /** Logs a finding when it changes, not on every read; nothing once the app shuts down. */
  private report(message: string, level: 'log' | 'warn'): void {
    if (message === this.reported || this.stopped) return;
    this.reported = message;
    this.logger[level](message);
  }
}

/** An SDK error as an operator can act on it: its name, the HTTP status when there was one, its message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const named = error.message && error.message !== error.name ? `${error.name}: ${error.message}` : error.name;
  return status === undefined ? named : `${named}, HTTP ${status}`;
}
