import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  FlaggedOrderStore,
  OrderHistoryQuery,
  type FlaggedOrderRecord,
  type FlagSource,
  type History,
} from '@order-pipeline/aggregation';
import { APP_CONFIG, Clock, SystemClock, type AppConfig } from '@order-pipeline/config';
import type { Order } from '@order-pipeline/orders';
import { RedisService } from '@order-pipeline/redis';
import { CallBudget } from './call-budget';
import { CircuitBreaker, type BreakerState } from './circuit-breaker';
import {
  ClaudeReviewer,
  ModelAnswerError,
  SYSTEM_PROMPT,
  delimitedOrders,
  type ModelVerdict,
  type ReviewItem,
} from './claude-reviewer';
import { flagsFor, sampled, type Flag } from './guard-rules';
import { ReviewBatcher, type Answer, type UnavailableReason } from './review-batcher';
import { VerdictCache, verdictKey } from './verdict-cache';

export interface Verdict {
  /**
   * `hold`: the model was needed but unavailable under the hold policy; retry later.
   * `defer`: the model is reviewing the order in the background; retry after
   * QUALITY_GUARD_DEFER_SECONDS, when the cached verdict decides at once.
   */
  readonly decision: 'allow' | 'reject' | 'hold' | 'defer';
  /** For a reject: `ai:<code>` first, then the rules' flags. For an allowed order: its flags. */
  readonly reasons: readonly Flag[];
  /** True when a rule flagged the order. */
  readonly suspicious: boolean;
  /** False when a flagged order was allowed without a model's verdict (offline or fail-open). */
  readonly checked: boolean;
  /** True when the order was put on the flagged list (GET /orders/flagged). */
  readonly flagged?: boolean;
  /** For `defer`: when to look at the order again (seconds). */
  readonly retryAfterSeconds?: number;
}

/**
 * Running totals since start. The first seven names are the original ones (kept for
 * /metrics); `flagged` counts orders the *rules* found suspicious.
 */
export interface GuardCounters {
  flagged: number;
  reviewed: number;
  rejected: number;
  unchecked: number;
  held: number;
  modelCalls: number;
  modelFailures: number;
  /** Unflagged orders picked for the monitoring sample. */
  sampled: number;
  /** Orders answered from the Redis verdict cache (no call). */
  cacheHits: number;
  modelRetries: number;
  refusals: number;
  truncated: number;
  malformedAnswers: number;
  /** Orders a call's answer left out (each is unchecked). */
  missingVerdicts: number;
  /** Suspicious orders sent back to the queue while the model reviews them in the background. */
  deferred: number;
  /** Answer entries dropped by validation. */
  invalidVerdicts: number;
  /** Orders (suspicious or sampled) not reviewed because a per-minute budget was used up. */
  overBudget: number;
  /** Calls not made because the breaker was open. */
  breakerRejected: number;
  breakerOpened: number;
  verdictsAllow: number;
  verdictsFlag: number;
  verdictsReject: number;
  inputTokens: number;
  outputTokens: number;
  /** Time spent in model calls, retries included (ms); the mean is this over modelCalls. */
  modelLatencyMsTotal: number;
  /** Orders put on the flagged list by this instance (first listing only). */
  flaggedListed: number;
  /** Unchecked listings this instance replaced with the model's later verdict on a resent copy. */
  flaggedRevised: number;
  /** Sample orders dropped because too many were waiting. */
  sampleDropped: number;
}

export type GuardMode = 'model' | 'offline' | 'off';

/** For /health/ready: how the guard works right now. */
export interface GuardStatus {
  readonly mode: GuardMode;
  readonly model: string | null;
  readonly breaker: BreakerState;
  readonly on_unavailable: 'fail-open' | 'hold';
  /** False while the breaker is open (the configured policy decides meanwhile); readiness reports it as degraded. */
  readonly healthy: boolean;
}

/** For /quality-guard and the metrics: status, counters and budget use. */
export interface GuardSnapshot extends GuardStatus {
  readonly counters: Readonly<GuardCounters>;
  readonly latency_ms: { readonly mean: number; readonly max: number };
  readonly budget: {
    readonly calls_last_minute: number;
    readonly max_calls_per_minute: number;
    readonly tokens_last_minute: number;
    readonly max_tokens_per_minute: number;
  };
}

/** The sample waits for company this long; nobody waits for it. */
const SAMPLE_WINDOW_MS = 1_000;
const MAX_WAITING_SAMPLES = 1_000;
/** The global average is re-read at most this often. */
const GLOBAL_REFRESH_MS = 60_000;
/** A rough count of tokens per character of the prompt, for the budget check before a call. */
const CHARS_PER_TOKEN = 3;
/** A verdict's usual size in output tokens (order id, decision, code, a short explanation). */
const OUTPUT_TOKENS_PER_ORDER = 60;
const SHUTDOWN_WAIT_MS = 5_000;

const CLEAN: Verdict = { decision: 'allow', reasons: [], suspicious: false, checked: true };

/**
 * The AI quality guard, between validation and aggregation. Deterministic rules flag
 * suspicious valid orders (never reject: what breaks a hard rule never gets here). With
 * ANTHROPIC_API_KEY, the flagged orders go to Claude (several per call, collected across
 * concurrent batches for a short window) and a small sample of the others goes too, in
 * the background, for monitoring. A model verdict may flag (accept and list) or reject a
 * flagged order. Around the model: a timeout, bounded retries, a circuit breaker, per-minute
 * call and token budgets and a Redis verdict cache by content hash. When no verdict can be
 * had, QUALITY_GUARD_ON_UNAVAILABLE decides: fail-open (accept, list, count as unchecked) or
 * hold (retry later). Without a key only the rules run (offline mode).
 */
@Injectable()
export class QualityGuard implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(QualityGuard.name);
  private readonly reviewer: ClaudeReviewer | undefined;
  private readonly batcher: ReviewBatcher;
  private readonly cache: VerdictCache;
  private shutdownStartedMs: number | undefined;
  private readonly breaker: CircuitBreaker;
  /** QUALITY_GUARD_DEFER_SECONDS 0: a suspicious order always makes its batch wait. */
  private readonly canDefer: boolean;
  private readonly budget: CallBudget;
  private readonly background = new Set<Promise<void>>();
  private globalFigures: { value: History; readAt: number } | undefined;
  private slowestCallMs = 0;
  readonly counters: GuardCounters = {
    flagged: 0,
    reviewed: 0,
    rejected: 0,
    unchecked: 0,
    held: 0,
    modelCalls: 0,
    modelFailures: 0,
    sampled: 0,
    cacheHits: 0,
    modelRetries: 0,
    refusals: 0,
    truncated: 0,
    malformedAnswers: 0,
    missingVerdicts: 0,
    deferred: 0,
    invalidVerdicts: 0,
    overBudget: 0,
    breakerRejected: 0,
    breakerOpened: 0,
    verdictsAllow: 0,
    verdictsFlag: 0,
    verdictsReject: 0,
    inputTokens: 0,
    outputTokens: 0,
    modelLatencyMsTotal: 0,
    flaggedListed: 0,
    flaggedRevised: 0,
    sampleDropped: 0,
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    redis: RedisService,
    private readonly history: OrderHistoryQuery,
    private readonly flaggedStore: FlaggedOrderStore,
    private readonly clock: Clock = new SystemClock(),
  ) {
    const g = config.qualityGuard;
    this.reviewer =
      g.enabled && g.apiKey
        ? new ClaudeReviewer({
            apiKey: g.apiKey,
            model: g.model,
            baseUrl: g.baseUrl,
            timeoutMs: g.timeoutMs,
            maxRetries: g.maxRetries,
            onRetry: () => void (this.counters.modelRetries += 1),
          })
        : undefined;
    this.cache = new VerdictCache(redis, g.cacheTtlSeconds);
    this.breaker = new CircuitBreaker(g.breakerFailures, g.breakerOpenMs);
    this.canDefer = g.deferSeconds > 0;
    this.budget = new CallBudget(g.maxCallsPerMinute, g.maxTokensPerMinute);
    this.batcher = new ReviewBatcher(
      {
        batchSize: g.batchSize,
        windowMs: g.collectWindowMs,
        backgroundWindowMs: SAMPLE_WINDOW_MS,
        maxBackground: MAX_WAITING_SAMPLES,
      },
      (items, nowMs, background) => this.consult(items, nowMs, background),
    );
  }

  onModuleInit(): void {
    const g = this.config.qualityGuard;
    if (!g.enabled) {
      this.logger.warn('quality guard: switched off (QUALITY_GUARD_ENABLED=false); every valid order is allowed');
    } else if (this.reviewer) {
      this.logger.log(
        `quality guard: ${g.model} reviews flagged orders (batches of up to ${g.batchSize}, ${g.collectWindowMs} ms window, ` +
          `timeout ${g.timeoutMs} ms, ${g.maxRetries} retries, ${g.maxCallsPerMinute} calls and ${g.maxTokensPerMinute} tokens/min, ` +
          `sample ${g.sampleRate}, when unavailable: ${g.onUnavailable})`,
      );
    } else {
      this.logger.warn(
        'quality guard: offline mode (no ANTHROPIC_API_KEY): heuristics only; flagged orders are accepted, listed and counted as unchecked' +
          // Nothing is ever waited for offline, so there is nothing to hold: say so rather than let it look in force.
          (g.onUnavailable === 'hold' ? '; QUALITY_GUARD_ON_UNAVAILABLE=hold has no effect without a model' : ''),
      );
    }
  }

  /** The shutdown has begun (Nest calls this before any beforeApplicationShutdown). */
  onModuleDestroy(): void {
    this.shutdownStartedMs = Date.now();
  }

  /**
   * Lets the model calls in flight (and the waiting sample) finish before Redis closes: at most
   * SHUTDOWN_WAIT_MS, and never past SHUTDOWN_GRACE_SECONDS from the start of the shutdown,
   * which the batches have already had to themselves. A call cut off here answers nobody who
   * still waits: its batch is left for redelivery.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const graceLeftMs = this.config.shutdownGraceSeconds * 1000 - (Date.now() - (this.shutdownStartedMs ?? Date.now()));
    const waitMs = Math.max(0, Math.min(SHUTDOWN_WAIT_MS, graceLeftMs));
    await Promise.race([this.settled(), new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
  }

  /** Resolves when no call, sample review or background write is pending (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.background.size > 0) {
      await this.batcher.drain();
      await Promise.all([...this.background]);
    }
    await this.batcher.drain();
  }

  status(nowMs = this.clock.now()): GuardStatus {
    const g = this.config.qualityGuard;
    const breaker = this.breaker.stateAt(nowMs);
    return {
      mode: !g.enabled ? 'off' : this.reviewer ? 'model' : 'offline',
      model: this.reviewer ? g.model : null,
      breaker,
      on_unavailable: g.onUnavailable,
      healthy: breaker !== 'open',
    };
  }

  snapshot(nowMs = this.clock.now()): GuardSnapshot {
    const g = this.config.qualityGuard;
    const used = this.budget.usage(nowMs);
    const calls = this.counters.modelCalls;
    return {
      ...this.status(nowMs),
      counters: { ...this.counters },
      latency_ms: {
        mean: calls === 0 ? 0 : Math.round(this.counters.modelLatencyMsTotal / calls),
        max: Math.round(this.slowestCallMs),
      },
      budget: {
        calls_last_minute: used.calls,
        max_calls_per_minute: g.maxCallsPerMinute,
        tokens_last_minute: used.tokens,
        max_tokens_per_minute: g.maxTokensPerMinute,
      },
    };
  }

  /**
   * Whether a review can keep an order out (reject, defer or hold it). Only the model can:
   * without one (offline) or with the guard off, every order is allowed, a suspicious one
   * listed as flagged, so the caller need not wait for the review before claiming.
   */
  get canRefuse(): boolean {
    return this.config.qualityGuard.enabled && this.reviewer !== undefined;
  }

  /**
   * One verdict per order, in order. Throws only when Redis fails (the caller retries the
   * batch); every model problem ends in the configured policy instead. `mayDefer[i]` (the
   * first delivery of its message, on a queue whose redrive policy leaves room for one more
   * receive: the caller knows the queue) lets a suspicious order without a cached verdict be
   * deferred instead of waited for, so the consumer never holds a batch for the model's
   * latency; on its redelivery the verdict is cached, or (the call failed) the batch waits
   * and the unavailable policy applies. So a message is deferred at most once. `fresh[i]`
   * asks the model again even when a verdict is cached (an operator's reprocess: the cached
   * verdict may be the very thing being corrected); the new verdict replaces the cached one.
   * `standing[i]` is a verdict the model gave before (a reprocess of an order it rejected):
   * when no new verdict can be had and none is cached, it decides, as a cached one would,
   * offline too, so a model's rejection is never overturned for want of an answer.
   */
  async review(
    orders: readonly Order[],
    nowMs = this.clock.now(),
    mayDefer: readonly boolean[] = [],
    fresh: readonly boolean[] = [],
    standing: readonly (ModelVerdict | undefined)[] = [],
  ): Promise<Verdict[]> {
    const g = this.config.qualityGuard;
    if (!g.enabled || orders.length === 0) return orders.map(() => CLEAN);
    const [users, global] = await Promise.all([this.history.users(orders.map((o) => o.userId)), this.global()]);
    const flags = orders.map((order) =>
      flagsFor(order, {
        suspiciousOrderCents: g.suspiciousOrderCents,
        nowMs,
        user: users.get(order.userId),
        global,
      }),
    );
    const suspicious = flags.map((f) => f.length > 0);
    this.counters.flagged += suspicious.filter(Boolean).length;

    const answers: (Answer | undefined)[] = [];
    const deferred: boolean[] = [];
    if (this.reviewer) {
      const sample = orders.map((o, i) => !suspicious[i] && sampled(o, g.sampleRate));
      this.counters.sampled += sample.filter(Boolean).length;
      // A verdict answers what the model was shown: the content and its flags. The same order
      // with other flags (the user's history or the calendar has moved on) is asked again.
      const keys = orders.map((o, i) => verdictKey(o.contentHash, flags[i] ?? []));
      const asked = keys.filter((_, i) => suspicious[i] || sample[i]);
      const cached = await this.cache.getMany(asked);
      // A fresh review asks the model; the cached verdict stands only if the model cannot answer.
      const stale = new Map<string, ModelVerdict>();
      keys.forEach((key, i) => {
        const hit = fresh[i] ? cached.get(key) : undefined;
        if (hit) stale.set(key, hit);
        if (fresh[i]) cached.delete(key);
      });
      this.counters.cacheHits += asked.filter((key) => cached.has(key)).length;
      const waits: Promise<void>[] = [];
      orders.forEach((order, i) => {
        const key = keys[i] ?? '';
        const item = { order, flags: flags[i] ?? [] };
        const hit = cached.get(key);
        if (sample[i]) {
          const answer = hit ? Promise.resolve<Answer>({ verdict: hit }) : this.batcher.submit(item, nowMs, true);
          this.track(answer.then((a) => this.afterSample(item, a, nowMs)));
        } else if (suspicious[i]) {
          if (hit) answers[i] = { verdict: hit };
          // Deferring buys nothing when no call can go out (breaker open, or half-open with its
          // probe in flight; call budget used up): the redelivery would find no verdict either,
          // one receive later.
          else if (mayDefer[i] && this.canDefer && this.breaker.mayCall(nowMs) && this.budget.allows(nowMs, 0, false)) {
            deferred[i] = true;
            this.track(this.batcher.submit(item, nowMs, false).then(() => undefined));
          } else
            waits.push(
              this.batcher.submit(item, nowMs, false).then((a) => {
                const kept = 'unavailable' in a ? stale.get(key) : undefined;
                answers[i] = kept ? { verdict: kept } : a;
              }),
            );
        }
      });
      await Promise.all(waits);
    }
    standing.forEach((verdict, i) => {
      const answer = answers[i];
      if (verdict && suspicious[i] && !deferred[i] && (answer === undefined || 'unavailable' in answer)) {
        answers[i] = { verdict };
      }
    });

    const verdicts = orders.map((order, i): Verdict => {
      if (!deferred[i]) return this.decide(flags[i] ?? [], answers[i]);
      this.counters.deferred += 1;
      return {
        decision: 'defer',
        reasons: flags[i] ?? [],
        suspicious: true,
        checked: false,
        retryAfterSeconds: g.deferSeconds,
      };
    });
    await Promise.all(
      verdicts.map(async (v, i) => {
        const order = orders[i];
        if (!order) return;
        if (v.flagged) await this.list(order, v.checked ? 'model' : 'rules', v.checked, v.reasons, nowMs);
        else if (v.checked) await this.reviseListing(order, v, answers[i], nowMs);
      }),
    );
    return verdicts;
  }

  private decide(flags: readonly Flag[], answer: Answer | undefined): Verdict {
    // Unflagged orders are always allowed: the sample is for monitoring only.
    if (flags.length === 0) return CLEAN;
    if (answer && 'verdict' in answer) {
      const { decision, code, explanation } = answer.verdict;
      this.counters.reviewed += 1;
      if (decision === 'allow') {
        // Text that reads like instructions to a model is listed for a person even when the
        // model allows it: a successful injection is exactly an "allow". The listing says so.
        if (!flags.some((f) => f.code === 'flag:instruction_text')) {
          return { decision: 'allow', reasons: flags, suspicious: true, checked: true };
        }
        const why = {
          code: `ai:${code}`,
          message: 'the model allowed it; listed because its text reads like instructions to a model',
        };
        return { decision: 'allow', reasons: [why, ...flags], suspicious: true, checked: true, flagged: true };
      }
      const reasons = [
        { code: `ai:${code}`, message: explanation || `the quality guard's model said ${decision}` },
        ...flags,
      ];
      if (decision === 'reject') {
        this.counters.rejected += 1;
        return { decision: 'reject', reasons, suspicious: true, checked: true };
      }
      return { decision: 'allow', reasons, suspicious: true, checked: true, flagged: true };
    }
    // No verdict: offline, breaker open, over budget, a failed call or an answer that left it out.
    if (this.reviewer && this.config.qualityGuard.onUnavailable === 'hold') {
      this.counters.held += 1;
      return { decision: 'hold', reasons: flags, suspicious: true, checked: false };
    }
    this.counters.unchecked += 1;
    return { decision: 'allow', reasons: flags, suspicious: true, checked: false, flagged: true };
  }

  /** A sample order is already accepted: a model flag or reject only puts it on the list. */
  private async afterSample(item: ReviewItem, answer: Answer, nowMs: number): Promise<void> {
    if (!('verdict' in answer)) {
      if (answer.unavailable === 'queue_full') this.counters.sampleDropped += 1;
      return;
    }
    const { decision, code, explanation } = answer.verdict;
    if (decision === 'allow') return;
    const reason = { code: `ai:${code}`, message: explanation || `the quality guard's model said ${decision}` };
    await this.list(item.order, 'sample', true, [reason], nowMs);
  }

  /**
   * The model has answered for an order that may have been accepted unchecked before, when it
   * could not answer (this message is a resent copy, counted as a duplicate): that listing
   * now says what the model said. A reject cannot take back a counted order; it shows here.
   */
  private async reviseListing(
    order: Order,
    verdict: Verdict,
    answer: Answer | undefined,
    nowMs: number,
  ): Promise<void> {
    if (!answer || !('verdict' in answer)) return;
    const reasons =
      verdict.decision === 'reject'
        ? verdict.reasons
        : [
            { code: `ai:${answer.verdict.code}`, message: 'the model allowed it when it came again' },
            ...verdict.reasons,
          ];
    // The order's fate is decided; a listing not brought up to date is no reason to retry it.
    await this.list(order, 'model', true, reasons, nowMs, false).catch((error: unknown) =>
      this.logger.warn(
        `quality guard: listing of ${order.orderId} not revised (${error instanceof Error ? error.message : String(error)})`,
      ),
    );
  }

  private async list(
    order: Order,
    source: FlagSource,
    checked: boolean,
    reasons: readonly Flag[],
    nowMs: number,
    mayAdd = true,
  ): Promise<void> {
    const record: FlaggedOrderRecord = {
      orderId: order.orderId,
      userId: order.userId,
      contentHash: order.contentHash,
      valueCents: order.valueCents,
      orderTimestampMs: order.timestampMs,
      source,
      checked,
      reasons,
      flaggedAtMs: nowMs,
    };
    const change = await (mayAdd ? this.flaggedStore.record(record) : this.flaggedStore.revise(record));
    if (change === 'listed') this.counters.flaggedListed += 1;
    if (change === 'revised') this.counters.flaggedRevised += 1;
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) =>
        this.logger.warn(
          `quality guard: sample review not recorded (${error instanceof Error ? error.message : String(error)})`,
        ),
      )
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private async global(): Promise<History> {
    const now = performance.now();
    if (!this.globalFigures || now - this.globalFigures.readAt > GLOBAL_REFRESH_MS) {
      this.globalFigures = { value: await this.history.global(), readAt: now };
    }
    return this.globalFigures.value;
  }

  /** One model call for the items; every item gets an answer (a verdict or why not). */
  private async consult(
    items: readonly ReviewItem[],
    nowMs: number,
    background: boolean,
  ): Promise<Map<string, Answer>> {
    const unavailable = (reason: UnavailableReason): Map<string, Answer> =>
      new Map(items.map((i) => [i.order.orderId, { unavailable: reason }]));
    const reviewer = this.reviewer;
    if (!reviewer) return unavailable('model_error');
    // Input from the prompt's length, output at a typical verdict's size per order: held
    // against the token budget until the answer says what the call really used.
    const estimate =
      Math.ceil((SYSTEM_PROMPT.length + delimitedOrders(items).length) / CHARS_PER_TOKEN) +
      OUTPUT_TOKENS_PER_ORDER * items.length;
    // A call that could never fit the budget, even in an idle minute, goes as two smaller ones
    // rather than being refused for good (long orders, a small QUALITY_GUARD_MAX_TOKENS_PER_MINUTE).
    if (estimate > this.budget.capacity(background) && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      const [first, second] = await Promise.all([
        this.consult(items.slice(0, half), nowMs, background),
        this.consult(items.slice(half), nowMs, background),
      ]);
      return new Map([...first, ...second]);
    }
    if (!this.breaker.tryAcquire(nowMs)) {
      this.counters.breakerRejected += 1;
      return unavailable('breaker_open');
    }
    if (!this.budget.allows(nowMs, estimate, background)) {
      this.breaker.release();
      this.counters.overBudget += items.length;
      return unavailable('over_budget');
    }
    this.budget.recordCall(nowMs);
    const reservation = this.budget.reserveTokens(nowMs, estimate);
    this.counters.modelCalls += 1;
    const started = performance.now();
    try {
      const answer = await reviewer.review(items);
      this.spent(reservation, answer.inputTokens, answer.outputTokens, started);
      this.breaker.succeeded();
      this.counters.invalidVerdicts += answer.invalid;
      const result = new Map<string, Answer>();
      const writes: Promise<void>[] = [];
      for (const { order, flags } of items) {
        const verdict = answer.verdicts.get(order.orderId);
        if (!verdict) {
          this.counters.missingVerdicts += 1;
          result.set(order.orderId, { unavailable: 'missing' });
          continue;
        }
        this.countVerdict(verdict);
        result.set(order.orderId, { verdict });
        writes.push(this.cache.put(verdictKey(order.contentHash, flags), verdict));
      }
      // A verdict that could not be cached is still good for this batch.
      await Promise.all(writes).catch((error: unknown) =>
        this.logger.warn(
          `quality guard: verdicts not cached (${error instanceof Error ? error.message : String(error)})`,
        ),
      );
      return result;
    } catch (error) {
      if (error instanceof ModelAnswerError) {
        this.spent(reservation, error.usage.inputTokens, error.usage.outputTokens, started);
        this.logger.warn(`quality guard: unusable answer for ${items.length} orders (${error.message})`);
        if (error.kind === 'malformed' || error.kind === 'stop_reason') {
          this.counters.malformedAnswers += 1;
          this.failed(nowMs);
          return unavailable('malformed');
        }
        // The service answered: a refusal or a cut-off answer says nothing about its health.
        this.breaker.succeeded();
        if (error.kind === 'refusal') this.counters.refusals += 1;
        else this.counters.truncated += 1;
        return unavailable(error.kind);
      }
      this.spent(reservation, 0, 0, started);
      this.counters.modelFailures += 1;
      this.failed(nowMs);
      this.logger.warn(`quality guard: model unavailable (${error instanceof Error ? error.message : String(error)})`);
      return unavailable('model_error');
    }
  }

  private failed(nowMs: number): void {
    if (this.breaker.failed(nowMs)) {
      this.counters.breakerOpened += 1;
      this.logger.warn(
        `quality guard: circuit breaker open for ${this.config.qualityGuard.breakerOpenMs} ms after repeated model failures`,
      );
    }
  }

  private spent(reservation: { settle(actual: number): void }, input: number, output: number, started: number): void {
    const millis = performance.now() - started;
    this.counters.modelLatencyMsTotal += millis;
    this.slowestCallMs = Math.max(this.slowestCallMs, millis);
    this.counters.inputTokens += input;
    this.counters.outputTokens += output;
    reservation.settle(input + output);
  }

  private countVerdict(verdict: ModelVerdict): void {
    if (verdict.decision === 'allow') this.counters.verdictsAllow += 1;
    else if (verdict.decision === 'flag') this.counters.verdictsFlag += 1;
    else this.counters.verdictsReject += 1;
  }
}
