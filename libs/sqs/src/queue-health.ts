import { Inject, Injectable } from '@nestjs/common';
import { GetQueueAttributesCommand, type QueueAttributeName } from '@aws-sdk/client-sqs';
import { QUEUE_TARGET, queueAnswers, type QueueTarget } from './queue-target';

/** Messages on the orders queue, from its approximate SQS attributes. */
export interface QueueDepth {
  /** Waiting to be received. */
  readonly visible: number;
  /** Received and not yet deleted (being processed, or waiting out a retry backoff). */
  readonly in_flight: number;
  /** Sent with a delay that has not passed yet. */
  readonly delayed: number;
}

@Injectable()
export class QueueHealth {
  constructor(@Inject(QUEUE_TARGET) private readonly target: QueueTarget) {}

  isHealthy(): Promise<boolean> {
    return queueAnswers(this.target);
  }

  /** One GetQueueAttributes call; rejects when the queue does not answer within the timeout. */
  async depth(timeoutMs = 2_000): Promise<QueueDepth> {
    const res = await this.target.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.target.queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    const count = (name: QueueAttributeName): number => Number(res.Attributes?.[name] ?? 0);
    return {
      visible: count('ApproximateNumberOfMessages'),
      in_flight: count('ApproximateNumberOfMessagesNotVisible'),
      delayed: count('ApproximateNumberOfMessagesDelayed'),
    };
  }
}
