import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import type { Order } from '@order-pipeline/orders';
import { ClaudeReviewer, type ModelVerdict } from './claude-reviewer';
import { flagsFor, sampled, type Flag } from './guard-rules';

export interface Verdict {
  /** `hold`: the model was needed but unavailable under the hold policy; retry later. */
  readonly decision: 'allow' | 'reject' | 'hold';
  /** Reason codes for a reject; for an allowed order, the flags it raised. */
  readonly reasons: readonly Flag[];
  /** True when a rule flagged the order. */
  readonly suspicious: boolean;
  /** False when a flagged order was allowed without a model's review (fail-open). */
  readonly checked: boolean;
}

export interface GuardCounters {
  flagged: number;
  reviewed: number;
  rejected: number;
  unchecked: number;
  held: number;
  modelCalls: number;
  modelFailures: number;
}

const CACHE_SIZE = 10_000;
const BREAKER_FAILURES = 3;
const BREAKER_OPEN_MS = 30_000;
const MINUTE_MS = 60_000;

/**
 * The AI quality guard. Deterministic rules flag suspicious valid orders; only those (and a
 * configurable sample, for monitoring only) are sent to Claude, several per call, with a
 * JSON-schema constrained verdict per order id. The model can reject a flagged order, never
 * overturn a rule. Around the model: a tight timeout with one retry (SDK), a circuit
 * breaker, a per-minute call budget and a verdict cache by content hash. When the model
 * cannot answer, QUALITY_GUARD_ON_UNAVAILABLE decides: allow (marked unchecked) or hold
 * (the message is retried later). Without ANTHROPIC_API_KEY only the rules run.
 */
@Injectable()
export class QualityGuard implements OnModuleInit {
  private readonly logger = new Logger(QualityGuard.name);
  private readonly reviewer: ClaudeReviewer | undefined;
  private readonly cache = new Map<string, ModelVerdict>();
  private readonly calls: number[] = [];
  private consecutiveFailures = 0;
  private openUntil = 0;
  readonly counters: GuardCounters = {
    flagged: 0,
    reviewed: 0,
    rejected: 0,
    unchecked: 0,
    held: 0,
    modelCalls: 0,
    modelFailures: 0,
  };

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const g = config.qualityGuard;
    this.reviewer = g.apiKey
      ? new ClaudeReviewer({ apiKey: g.apiKey, model: g.model, baseUrl: g.baseUrl, timeoutMs: g.timeoutMs })
      : undefined;
  }

  onModuleInit(): void {
    const g = this.config.qualityGuard;
    this.logger.log(
      this.reviewer
        ? `quality guard: ${g.model} reviews flagged orders (timeout ${g.timeoutMs} ms, ${g.maxCallsPerMinute} calls/min, when unavailable: ${g.onUnavailable})`
        : 'quality guard: no ANTHROPIC_API_KEY, offline heuristics only; flagged orders are allowed and marked unchecked',
    );
  }

  async review(orders: readonly Order[], nowMs = Date.now()): Promise<Verdict[]> {
    const g = this.config.qualityGuard;
    const flags = orders.map((o) => flagsFor(o, g.suspiciousOrderCents, nowMs));
    this.counters.flagged += flags.filter((f) => f.length > 0).length;
    const ask = orders.map((o, i) => (flags[i]?.length ?? 0) > 0 || sampled(o, g.sampleRate));
    const answers = new Map<string, ModelVerdict>();
    if (this.reviewer && ask.some(Boolean)) {
      const pending = orders
        .map((order, i) => ({ order, flags: flags[i] ?? [] }))
        .filter(({ order }, i) => ask[i] && !this.fromCache(order, answers));
      if (pending.length > 0) await this.consult(pending, answers, nowMs);
    }
    return orders.map((order, i) => this.decide(order, flags[i] ?? [], answers));
  }

  private fromCache(order: Order, answers: Map<string, ModelVerdict>): boolean {
    const cached = this.cache.get(order.contentHash);
    if (cached) answers.set(order.orderId, cached);
    return cached !== undefined;
  }

  /** One model call for the pending orders; orders it could not answer get no entry in `answers`. */
  private async consult(
    pending: { order: Order; flags: readonly Flag[] }[],
    answers: Map<string, ModelVerdict>,
    nowMs: number,
  ): Promise<void> {
    if (!this.reviewer || nowMs < this.openUntil || !this.withinBudget(nowMs)) return;
    this.calls.push(nowMs);
    this.counters.modelCalls += 1;
    try {
      const verdicts = await this.reviewer.review(pending);
      this.consecutiveFailures = 0;
      for (const { order } of pending) {
        const verdict = verdicts.get(order.orderId);
        if (!verdict) continue;
        answers.set(order.orderId, verdict);
        this.remember(order.contentHash, verdict);
      }
    } catch (error) {
      this.counters.modelFailures += 1;
      this.consecutiveFailures += 1;
      if (this.consecutiveFailures >= BREAKER_FAILURES) {
        this.openUntil = nowMs + BREAKER_OPEN_MS;
        this.logger.warn(
          `quality guard: ${this.consecutiveFailures} model failures in a row; pausing calls for ${BREAKER_OPEN_MS / 1000} s`,
        );
      }
      this.logger.warn(`quality guard: model unavailable (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  private withinBudget(nowMs: number): boolean {
    while (this.calls.length > 0 && (this.calls[0] ?? 0) <= nowMs - MINUTE_MS) this.calls.shift();
    return this.calls.length < this.config.qualityGuard.maxCallsPerMinute;
  }

  private remember(contentHash: string, verdict: ModelVerdict): void {
    if (this.cache.size >= CACHE_SIZE) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(contentHash, verdict);
  }

  private decide(order: Order, flags: readonly Flag[], answers: Map<string, ModelVerdict>): Verdict {
    const suspicious = flags.length > 0;
    // Unflagged orders (sampled or not) are always allowed: a sample is for monitoring only.
    if (!suspicious) return { decision: 'allow', reasons: [], suspicious, checked: true };
    const answer = answers.get(order.orderId);
    if (answer) {
      this.counters.reviewed += 1;
      if (answer.decision === 'reject') {
        this.counters.rejected += 1;
        const code = `quality_guard:${answer.code ?? 'other'}`;
        return {
          decision: 'reject',
          reasons: [{ code, message: answer.explanation || 'rejected by the quality guard' }, ...flags],
          suspicious,
          checked: true,
        };
      }
      return { decision: 'allow', reasons: flags, suspicious, checked: true };
    }
    // Flagged, no answer (no key, breaker open, over budget, failure, or the model skipped it).
    if (this.reviewer && this.config.qualityGuard.onUnavailable === 'hold') {
      this.counters.held += 1;
      return { decision: 'hold', reasons: flags, suspicious, checked: false };
    }
    this.counters.unchecked += 1;
    return { decision: 'allow', reasons: flags, suspicious, checked: false };
  }
}
