import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { NotFoundError, UnavailableError } from '@order-pipeline/aggregation';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { QUEUE_TARGET, type QueueTarget } from './queue-target';
import type { QueueDepth } from './queue-health';
import { REDRIVE_POLICY_REREAD_MS, readRedrivePolicy } from './redrive-policy';

/**
 * Message attribute that carries a message's first SQS MessageId when it is sent again
 * (redrive). The consumer processes the message under that id, so the rejected-orders store
 * (keyed by message id) records a redriven message once, as it would the original.
 */
export const ORIGINAL_MESSAGE_ID = 'op-original-message-id';

/** The original message id a received message stands for: the attribute when it is plain, else its own id. */
export function originalMessageId(message: Message): string | undefined {
  const carried = message.MessageAttributes?.[ORIGINAL_MESSAGE_ID]?.StringValue;
  return carried !== undefined && /^[A-Za-z0-9-]{1,128}$/.test(carried) ? carried : message.MessageId;
}

export interface DeadLetter {
  /** SQS message id in the dead-letter queue. */
  readonly message_id: string;
  /** The id the pipeline knows the message by (its first message id). */
  readonly original_message_id: string;
  /** When it was first sent (ISO-8601), if SQS says. */
  readonly sent_at: string | null;
  /** Receives so far (this peek counts as one). */
  readonly receive_count: number;
  /** The body, cut to REJECTED_BODY_MAX_BYTES bytes. */
  readonly body: string;
  readonly body_truncated: boolean;
  readonly body_bytes: number;
}

export interface DeadLetterPeek {
  readonly queue_url: string;
  /** ApproximateNumberOfMessages of the dead-letter queue (visible messages). */
  readonly approximate_depth: number;
  readonly items: readonly DeadLetter[];
}

export interface RedriveResult {
  /** Sent to the main queue and deleted from the dead-letter queue. */
  readonly moved: number;
  /** Could not be sent; still in the dead-letter queue (visible again after 30 s). */
  readonly failed: number;
  /** Sent, but their delete failed: they come back in the dead-letter queue; moving them again is harmless. */
  readonly not_deleted: number;
  /** ApproximateNumberOfMessages of the dead-letter queue afterwards. */
  readonly remaining: number;
}

/**
 * Every message a dead-letter queue holds, visible or not. Nothing consumes it but a peek or
 * a redrive, and a peek (VisibilityTimeout 0) may leave messages counted as in flight until
 * the next receive (the embedded emulator does): counting only the visible ones made the
 * queue look empty as soon as an operator had looked at it.
 */
export function messagesIn(depth: QueueDepth): number {
  return depth.visible + depth.in_flight + depth.delayed;
}

/** How long messages being redriven stay invisible in the dead-letter queue. */
const REDRIVE_VISIBILITY_SECONDS = 30;
/**
 * Each SQS call an admin request makes: a queue that stops answering gives a 503 within
 * seconds, not after the client's own bound (the long-poll wait + 10 s, three tries). A call
 * cut after SQS did it is safe: a copy sent but not deleted is redriven twice, which the
 * exactly-once path absorbs.
 */
const ADMIN_CALL_MS = 5_000;
const adminCall = (): { abortSignal: AbortSignal } => ({ abortSignal: AbortSignal.timeout(ADMIN_CALL_MS) });

/**
 * The dead-letter queue of the orders queue, found through the orders queue's
 * RedrivePolicy (so it is the one SQS actually uses, embedded emulator or real queue).
 * Peeking receives with VisibilityTimeout 0 and deletes nothing; redriving sends each
 * message to the orders queue (with its original message id) and only then deletes it
 * from the dead-letter queue.
 */
@Injectable()
export class DeadLetterQueue {
  private readonly logger = new Logger(DeadLetterQueue.name);
  private resolved: { arn: string; url: string | undefined; at: number } | undefined;

  constructor(
    @Inject(QUEUE_TARGET) private readonly target: QueueTarget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The dead-letter queue URL, or undefined when the orders queue has no redrive policy.
   * The policy is read again once it is a minute old (an operator may point it elsewhere);
   * the URL is looked up again only when the target changed.
   */
  async url(timeoutMs = 2_000): Promise<string | undefined> {
    if (this.resolved !== undefined && Date.now() - this.resolved.at < REDRIVE_POLICY_REREAD_MS) {
      return this.resolved.url;
    }
    const policy = await readRedrivePolicy(this.target, timeoutMs);
    const arn = policy?.deadLetterTargetArn ?? '';
    // arn:aws:sqs:<region>:<account>:<name>
    const [, , , , account, name] = arn.split(':');
    let url: string | undefined;
    if (name && arn === this.resolved?.arn) url = this.resolved.url;
    else if (name) {
      const found = await this.target.client.send(
        new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      url = found.QueueUrl;
    }
    this.resolved = { arn, url, at: Date.now() };
    return url;
  }

  async depth(timeoutMs = 2_000): Promise<QueueDepth | undefined> {
    const url = await this.url(timeoutMs);
    if (url === undefined) return undefined;
    const res = await this.target.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    const count = (
      name:
        'ApproximateNumberOfMessages' | 'ApproximateNumberOfMessagesNotVisible' | 'ApproximateNumberOfMessagesDelayed',
    ): number => Number(res.Attributes?.[name] ?? 0);
    return {
      visible: count('ApproximateNumberOfMessages'),
      in_flight: count('ApproximateNumberOfMessagesNotVisible'),
      delayed: count('ApproximateNumberOfMessagesDelayed'),
    };
  }

  /** Up to `limit` (1-10) messages, left where they are (received with VisibilityTimeout 0, not deleted). */
  peek(limit: number): Promise<DeadLetterPeek> {
    return this.onQueue('peek at the dead-letter queue', () => this.peekOnce(limit));
  }

  private async peekOnce(limit: number): Promise<DeadLetterPeek> {
    const url = await this.required();
    // Counted before the receive: the peeked messages are visible again at once on SQS, but
    // an emulator may count them as in flight until its next receive.
    const depth = await this.depth();
    const res = await this.target.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, Math.max(1, limit)),
        VisibilityTimeout: 0,
        WaitTimeSeconds: 0,
        MessageAttributeNames: [ORIGINAL_MESSAGE_ID],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
      adminCall(),
    );
    return {
      queue_url: url,
      approximate_depth: depth === undefined ? 0 : messagesIn(depth),
      items: (res.Messages ?? []).map((m) => this.describe(m)),
    };
  }

  /**
   * Moves up to `limit` messages back to the orders queue, 10 at a time: send (keeping the
   * original message id), then delete what was sent. A message is never deleted before its
   * copy is on the orders queue; if a delete fails the message may be moved twice, which the
   * exactly-once path absorbs (a duplicate, or the same rejection record).
   */
  redrive(limit: number): Promise<RedriveResult> {
    return this.onQueue('redrive dead letters', () => this.redriveOnce(limit));
  }

  private async redriveOnce(limit: number): Promise<RedriveResult> {
    const url = await this.required();
    const fifo = this.target.queueUrl.endsWith('.fifo');
    let moved = 0;
    let failed = 0;
    let notDeleted = 0;
    while (moved + failed + notDeleted < limit) {
      const res = await this.target.client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(10, limit - moved - failed - notDeleted),
          VisibilityTimeout: REDRIVE_VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
        adminCall(),
      );
      const messages = res.Messages ?? [];
      if (messages.length === 0) break;
      const sent = await this.target.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.target.queueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? '',
            MessageAttributes: {
              ...copyAttributes(m),
              [ORIGINAL_MESSAGE_ID]: { DataType: 'String', StringValue: originalMessageId(m) ?? '' },
            },
            // A FIFO queue needs a group (the message's own) and a deduplication id: a fresh
            // one, since the message's first id would have SQS drop a copy redriven within
            // its five-minute deduplication window.
            ...(fifo
              ? {
                  MessageGroupId: m.Attributes?.MessageGroupId ?? 'orders',
                  MessageDeduplicationId: `${m.MessageId ?? i}-${Date.now()}`,
                }
              : {}),
          })),
        }),
        adminCall(),
      );
      const refused = sent.Failed?.[0];
      if (refused) {
        this.logger.warn(
          `redrive: ${sent.Failed?.length} of ${messages.length} messages could not be sent to the orders queue ` +
            `(${refused.Code ?? 'error'}${refused.Message ? `: ${refused.Message}` : ''}); they stay in the dead-letter queue`,
        );
      }
      const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
      const toDelete = messages.filter((_, i) => ok.has(String(i)));
      failed += messages.length - toDelete.length;
      if (toDelete.length > 0) {
        const deleted = await this.target.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
          adminCall(),
        );
        const undeleted = deleted.Failed?.length ?? 0;
        notDeleted += undeleted;
        moved += toDelete.length - undeleted;
      }
    }
    const depth = await this.depth();
    return { moved, failed, not_deleted: notDeleted, remaining: depth === undefined ? 0 : messagesIn(depth) };
  }

  private async required(): Promise<string> {
    const url = await this.url();
    if (url === undefined) {
      throw new NotFoundError(
        'dead-letter queue',
        `the orders queue has no dead-letter queue (no RedrivePolicy on ${this.target.queueUrl})`,
      );
    }
    return url;
  }

  /**
   * A call to SQS whose failure (the SDK's service errors, refused or timed-out connections)
   * is the queue's, not the request's: UnavailableError (a 503 that says so) rather than a
   * 500, or the Redis 503 that a refused connection would otherwise look like. The cause is
   * logged; the answer names only its kind. Our own errors and programming errors pass.
   */
  private async onQueue<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof NotFoundError || !(error instanceof Error) || error instanceof TypeError) throw error;
      this.logger.warn(`could not ${what}: ${error.name}: ${error.message}`);
      throw new UnavailableError(`the SQS queue did not answer (${error.name}); retry later`);
    }
  }

  private describe(m: Message): DeadLetter {
    const body = m.Body ?? '';
    const bytes = Buffer.byteLength(body, 'utf8');
    const max = this.config.rejectedBodyMaxBytes;
    const cut =
      bytes <= max
        ? body
        : Buffer.from(body, 'utf8')
            .subarray(0, max)
            .toString('utf8')
            .replace(/\uFFFD$/, '');
    const sent = Number(m.Attributes?.SentTimestamp);
    return {
      message_id: m.MessageId ?? '',
      original_message_id: originalMessageId(m) ?? '',
      sent_at: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
      receive_count: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
      body: cut,
      body_truncated: bytes > max,
      body_bytes: bytes,
    };
  }
}

/** The message attributes of a received message, in the shape SendMessage takes. */
function copyAttributes(m: Message): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    if (!value.DataType) continue;
    out[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    };
  }
  return out;
}
