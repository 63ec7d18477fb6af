import { Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Message } from '@aws-sdk/client-sqs';
import { SqsService } from '@ssut/nestjs-sqs';
import { MetricsRegistry } from '@order-pipeline/observability';
import type { Histogram } from 'prom-client';
import { DeadLetterQueue, messagesIn } from './dead-letter-queue';
import { QueueHealth, type QueueDepth } from './queue-health';

interface QueuePoll {
  readonly main: QueueDepth | undefined;
  readonly deadLetter: QueueDepth | undefined;
  /** answered, failed (no answer in time), or none (the orders queue has no redrive policy). */
  readonly deadLetterState: 'answered' | 'failed' | 'none';
}

/** Scrapes that arrive together share one poll of the queue attributes. */
const POLL_REUSE_MS = 1_000;

/**
 * Queue metrics, polled from SQS at scrape time (GetQueueAttributes on the orders queue and
 * its dead-letter queue: ApproximateNumberOfMessages, ...NotVisible, ...Delayed).
 *
 * SQS has no queue attribute for the age of the oldest message (that is a CloudWatch
 * metric), so it is derived from what the consumers receive: every received message carries
 * its SentTimestamp. `order_pipeline_queue_oldest_message_age_seconds` is now minus the
 * SentTimestamp of the oldest message in the most recent receive (so it keeps growing while
 * nothing is received), and 0 while the queue has no visible message. It is an estimate: a
 * standard queue does not hand out messages strictly oldest first.
 */
@Injectable()
export class QueueMetrics implements OnModuleInit, OnApplicationBootstrap {
  private oldestSentMs: number | undefined;
  private lastReceiveMs = 0;
  private waitSeconds: Histogram | undefined;
  private poll: { at: number; result: Promise<QueuePoll> } | undefined;

  constructor(
    private readonly queue: QueueHealth,
    private readonly deadLetters: DeadLetterQueue,
    private readonly metrics: MetricsRegistry,
    private readonly sqs: SqsService,
  ) {}

  onModuleInit(): void {
    const polled = (): Promise<QueuePoll> => this.polled();
    this.metrics.gauge({
      name: 'order_pipeline_queue_messages',
      help: 'Messages on the orders queue and its dead-letter queue (SQS approximate attributes, polled at scrape time), by state: visible (waiting), in_flight (received, not deleted), delayed.',
      labelNames: ['queue', 'state'],
      async collect() {
        this.reset();
        const poll = await polled();
        const set = (queue: string, depth: QueueDepth | undefined): void => {
          if (!depth) return;
          this.set({ queue, state: 'visible' }, depth.visible);
          this.set({ queue, state: 'in_flight' }, depth.in_flight);
          this.set({ queue, state: 'delayed' }, depth.delayed);
        };
        set('orders', poll.main);
        set('dead_letter', poll.deadLetter);
      },
    });
    this.metrics.gauge({
      name: 'order_pipeline_queue_up',
      help: 'Whether the queue answered GetQueueAttributes at this scrape (1) or not (0); no dead_letter series when there is no dead-letter queue.',
      labelNames: ['queue'],
      async collect() {
        this.reset();
        const poll = await polled();
        this.set({ queue: 'orders' }, poll.main ? 1 : 0);
        if (poll.deadLetterState !== 'none')
          this.set({ queue: 'dead_letter' }, poll.deadLetterState === 'answered' ? 1 : 0);
      },
    });
    this.metrics.gauge({
      name: 'order_pipeline_dead_letter_messages',
      help: 'Messages in the dead-letter queue, visible or not (a peek leaves them in flight for a while); absent when there is none.',
      async collect() {
        // reset() alone leaves a gauge without labels at 0; remove() makes it absent.
        this.reset();
        this.remove();
        const poll = await polled();
        if (poll.deadLetter) this.set(messagesIn(poll.deadLetter));
      },
    });
    const oldest = (): number | undefined => this.oldestSentMs;
    this.metrics.gauge({
      name: 'order_pipeline_queue_oldest_message_age_seconds',
      help: 'Estimated age of the oldest waiting message: now minus the SentTimestamp of the oldest message of the latest receive; 0 when nothing is waiting; absent while the queue does not answer.',
      async collect() {
        this.reset();
        this.remove(); // absent, not 0, while the queue does not answer: an age alert must not clear
        const poll = await polled();
        if (!poll.main) return;
        const sent = oldest();
        this.set(poll.main.visible === 0 || sent === undefined ? 0 : Math.max(0, (Date.now() - sent) / 1000));
      },
    });
    this.waitSeconds = this.metrics.histogram({
      name: 'order_pipeline_message_queue_wait_seconds',
      help: 'Time from a message being sent to its receive by a consumer (SentTimestamp to receive; redeliveries included).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    });
  }

  /** The consumers exist now (SqsService.onModuleInit): watch what they receive. */
  onApplicationBootstrap(): void {
    for (const { instance } of this.sqs.consumers.values()) {
      instance.on('message_received', (message: Message) => this.received(message));
    }
  }

  private received(message: Message): void {
    const sent = Number(message.Attributes?.SentTimestamp);
    if (!Number.isFinite(sent) || sent <= 0) return;
    const now = Date.now();
    this.waitSeconds?.observe(Math.max(0, (now - sent) / 1000));
    // sqs-consumer emits the messages of one receive together: a gap starts a new receive.
    const newReceive = now - this.lastReceiveMs > 50 || this.oldestSentMs === undefined;
    this.oldestSentMs = newReceive ? sent : Math.min(this.oldestSentMs ?? sent, sent);
    this.lastReceiveMs = now;
  }

  private polled(): Promise<QueuePoll> {
    const now = Date.now();
    if (this.poll && now - this.poll.at < POLL_REUSE_MS) return this.poll.result;
    const result = (async (): Promise<QueuePoll> => {
      const [main, deadLetter] = await Promise.allSettled([this.queue.depth(), this.deadLetters.depth()]);
      return {
        main: main.status === 'fulfilled' ? main.value : undefined,
        deadLetter: deadLetter.status === 'fulfilled' ? deadLetter.value : undefined,
        deadLetterState:
          deadLetter.status === 'rejected' ? 'failed' : deadLetter.value === undefined ? 'none' : 'answered',
      };
    })();
    this.poll = { at: now, result };
    return result;
  }
}
