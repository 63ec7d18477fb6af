import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { MetricsRegistry } from '@order-pipeline/observability';
import { QualityGuard } from '@order-pipeline/quality-guard';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { Outcome, OutcomeKind } from './outcome';

/**
 * The outcome labels: the kinds, with `deferred` apart from `retry`. A deferred message (a
 * suspicious order back on the queue while the model reviews it) is a planned wait that
 * every such order takes; counted as `retry`, an alert on failures would fire for each one.
 */
type OutcomeLabel = OutcomeKind | 'deferred';
const OUTCOMES: readonly OutcomeLabel[] = ['accepted', 'duplicate', 'conflict', 'rejected', 'retry', 'deferred'];
const labelOf = (o: Pick<Outcome, 'kind' | 'retryAfterSeconds'>): OutcomeLabel =>
  o.kind === 'retry' && o.retryAfterSeconds !== undefined ? 'deferred' : o.kind;

/** Distinct reason labels kept; more fall into `other` so a flood of odd input cannot blow up the series. */
const MAX_REASON_LABELS = 200;

/**
 * What ProcessingService reports about every batch, turned into Prometheus metrics on the
 * app's registry and into log lines: one line per batch at info (counts per outcome and the
 * duration), one per message at debug (ids, outcome, reason codes; never the body).
 *
 * The quality guard's figures are read at scrape time: every numeric field of its
 * `counters` becomes `order_pipeline_quality_guard_total{event}`, and every number or
 * boolean of its `snapshot()` (nested keys joined with `.`;
 * its `counters` skipped) becomes `order_pipeline_quality_guard{field}`; text values (a breaker state) become
 * `order_pipeline_quality_guard_info{field,value} 1`.
 */
@Injectable()
export class PipelineMetrics {
  private readonly logger = new Logger('Pipeline');
  private readonly debug: boolean;
  private readonly messages: Counter<'outcome'>;
  private readonly reasons: Counter<'outcome' | 'reason'>;
  private readonly batches: Counter;
  private readonly batchSeconds: Histogram;
  private readonly batchSize: Histogram;
  private readonly inFlight: Gauge;
  private readonly reasonLabels = new Set<string>();

  constructor(
    private readonly guard: QualityGuard,
    registry: MetricsRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.debug = config.logLevel === 'debug';
    this.messages = registry.counter({
      name: 'order_pipeline_messages_total',
      help: 'Messages by outcome (accepted, duplicate, conflict, rejected; retry: left on the queue after a failure; deferred: a suspicious order back on the queue while the model reviews it).',
      labelNames: ['outcome'],
    });
    for (const outcome of OUTCOMES) this.messages.inc({ outcome }, 0);
    this.reasons = registry.counter({
      name: 'order_pipeline_message_reasons_total',
      help: 'Reason codes of rejected and conflicting messages (a message counts once per code; item indexes shown as []).',
      labelNames: ['outcome', 'reason'],
    });
    this.batches = registry.counter({ name: 'order_pipeline_batches_total', help: 'Batches handled.' });
    this.batchSeconds = registry.histogram({
      name: 'order_pipeline_batch_duration_seconds',
      help: 'Time to take a batch from parse to final outcomes (messages of a batch are processed together).',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.batchSize = registry.histogram({
      name: 'order_pipeline_batch_size',
      help: 'Messages per batch.',
      buckets: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    });
    this.inFlight = registry.gauge({
      name: 'order_pipeline_messages_in_flight',
      help: 'Messages being processed right now (received, no outcome yet).',
    });
    this.registerGuardMetrics(registry);
  }

  /** A batch of `size` messages starts; recordBatch ends it. */
  batchStarted(size: number): void {
    this.inFlight.inc(size);
  }

  /**
   * A batch (announced by batchStarted) ended with these outcomes, in message order, after
   * `millis`. Plain kinds are accepted too (no reasons, no per-message lines).
   */
  recordBatch(outcomes: readonly (Outcome | OutcomeKind)[], millis: number): void {
    this.inFlight.dec(outcomes.length);
    this.batches.inc();
    this.batchSeconds.observe(millis / 1000);
    this.batchSize.observe(outcomes.length);
    const counts: Record<OutcomeLabel, number> = {
      accepted: 0,
      duplicate: 0,
      conflict: 0,
      rejected: 0,
      retry: 0,
      deferred: 0,
    };
    for (const o of outcomes) {
      const outcome: Pick<Outcome, 'kind' | 'reasons' | 'retryAfterSeconds'> = typeof o === 'string' ? { kind: o } : o;
      counts[labelOf(outcome)] += 1;
      for (const reason of new Set((outcome.reasons ?? []).map((r) => this.reasonLabel(r.code)))) {
        this.reasons.inc({ outcome: outcome.kind, reason });
      }
      if (this.debug && typeof o !== 'string') {
        this.logger.debug({
          msg: 'message',
          messageId: o.messageId,
          orderId: o.orderId,
          outcome: o.kind,
          reasons: o.reasons?.map((r) => r.code),
          error: o.error,
        });
      }
    }
    for (const outcome of OUTCOMES) if (counts[outcome] > 0) this.messages.inc({ outcome }, counts[outcome]);
    this.logger.log({ msg: 'batch', messages: outcomes.length, ...counts, durationMs: Math.round(millis * 10) / 10 });
  }

  /** `items[3].quantity` and `items[12].quantity` are one label; unknown labels beyond the cap are `other`. */
  private reasonLabel(code: string): string {
    const label = code.replace(/\[\d+\]/g, '[]').slice(0, 100);
    if (this.reasonLabels.has(label)) return label;
    if (this.reasonLabels.size >= MAX_REASON_LABELS) return 'other';
    this.reasonLabels.add(label);
    return label;
  }

  private registerGuardMetrics(registry: MetricsRegistry): void {
    const guard = this.guard;
    registry.counter({
      name: 'order_pipeline_quality_guard_total',
      help: 'Quality guard counters (flagged by the rules; reviewed, rejected, allowed unchecked or held by the model step; model calls and failures; and any counter the guard adds).',
      labelNames: ['event'],
      collect() {
        this.reset();
        for (const [event, value] of numericFields(guard.counters)) this.inc({ event }, Math.max(0, value));
      },
    });
    // Every field of the guard's snapshot (new ones show up by themselves), but its counters,
    // exposed above.
    const snapshot = (): [string, unknown][] =>
      flatten(guard.snapshot(), '').filter(([field]) => !field.startsWith('counters.'));
    registry.gauge({
      name: 'order_pipeline_quality_guard',
      help: 'Quality guard state read at scrape time (numbers and booleans of its snapshot/status; nested keys joined with ".").',
      labelNames: ['field'],
      collect() {
        this.reset();
        for (const [field, value] of snapshot()) {
          if (typeof value === 'number' && Number.isFinite(value)) this.set({ field }, value);
          else if (typeof value === 'boolean') this.set({ field }, value ? 1 : 0);
        }
      },
    });
    registry.gauge({
      name: 'order_pipeline_quality_guard_info',
      help: 'Quality guard text state read at scrape time (e.g. the circuit breaker state), as value labels set to 1.',
      labelNames: ['field', 'value'],
      collect() {
        this.reset();
        for (const [field, value] of snapshot()) {
          if (typeof value === 'string' && value.length <= 64) this.set({ field, value }, 1);
        }
      },
    });
  }
}

function numericFields(value: unknown): [string, number][] {
  return flatten(value, '').filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
}

/** Leaves of a plain object, nested keys joined with '.', at most 4 levels deep; arrays are skipped. */
function flatten(value: unknown, prefix: string, depth = 0): [string, unknown][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || depth > 4) return [];
  const out: [string, unknown][] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = `${prefix}${key}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v, `${name}.`, depth + 1));
    else out.push([name, v]);
  }
  return out;
}
