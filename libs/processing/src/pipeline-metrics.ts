import { Injectable } from '@nestjs/common';
import type { OutcomeKind } from './outcome';

/** In-process counters, exposed in Prometheus text format at GET /metrics. */
@Injectable()
export class PipelineMetrics {
  private readonly outcomes: Record<OutcomeKind, number> = {
    accepted: 0,
    duplicate: 0,
    conflict: 0,
    rejected: 0,
    retry: 0,
  };
  private batches = 0;
  private batchMillis = 0;
  private flagged = 0;

  recordBatch(kinds: readonly OutcomeKind[], millis: number): void {
    this.batches += 1;
    this.batchMillis += millis;
    for (const kind of kinds) this.outcomes[kind] += 1;
  }

  recordFlagged(count: number): void {
    this.flagged += count;
  }

  render(): string {
    const lines = [
      '# HELP order_pipeline_messages_total Messages by final outcome (retry: left on the queue for redelivery).',
      '# TYPE order_pipeline_messages_total counter',
      ...Object.entries(this.outcomes).map(([k, v]) => `order_pipeline_messages_total{outcome="${k}"} ${v}`),
      '# HELP order_pipeline_batches_total Batches handled.',
      '# TYPE order_pipeline_batches_total counter',
      `order_pipeline_batches_total ${this.batches}`,
      '# HELP order_pipeline_batch_seconds_total Time spent handling batches.',
      '# TYPE order_pipeline_batch_seconds_total counter',
      `order_pipeline_batch_seconds_total ${(this.batchMillis / 1000).toFixed(3)}`,
      '# HELP order_pipeline_flagged_orders_total Accepted orders the quality guard flagged as suspicious.',
      '# TYPE order_pipeline_flagged_orders_total counter',
      `order_pipeline_flagged_orders_total ${this.flagged}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
