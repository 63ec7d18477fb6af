import { Injectable } from '@nestjs/common';
import { QualityGuard } from '@order-pipeline/quality-guard';
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

  constructor(private readonly guard: QualityGuard) {}

  recordBatch(kinds: readonly OutcomeKind[], millis: number): void {
    this.batches += 1;
    this.batchMillis += millis;
    for (const kind of kinds) this.outcomes[kind] += 1;
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
      '# HELP order_pipeline_quality_guard_total Quality guard decisions on valid orders (flagged by the rules; reviewed, rejected, allowed unchecked or held by the model step).',
      '# TYPE order_pipeline_quality_guard_total counter',
      ...Object.entries(this.guard.counters).map(([k, v]) => `order_pipeline_quality_guard_total{event="${k}"} ${v}`),
    ];
    return `${lines.join('\n')}\n`;
  }
}
