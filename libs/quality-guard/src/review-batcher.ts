import type { ModelVerdict, ReviewItem } from './claude-reviewer';
import { verdictKey } from './verdict-cache';

/** Why an order that should have been reviewed has no verdict. */
export type UnavailableReason =
  'breaker_open' | 'over_budget' | 'model_error' | 'refusal' | 'max_tokens' | 'malformed' | 'missing' | 'queue_full';

export type Answer = { readonly verdict: ModelVerdict } | { readonly unavailable: UnavailableReason };

/** Makes one model call for the items (all of them get an answer); `background` when no batch waits for it. */
export type Consult = (
  items: readonly ReviewItem[],
  nowMs: number,
  background: boolean,
) => Promise<Map<string, Answer>>;

export interface BatcherOptions {
  readonly batchSize: number;
  /** How long the first waiting order waits for company. */
  readonly windowMs: number;
  /** How long background (sample) orders wait for company: they only ride along or fill a call. */
  readonly backgroundWindowMs: number;
  /** Background orders beyond this many waiting are dropped (counted by the caller). */
  readonly maxBackground: number;
}

interface Entry {
  readonly item: ReviewItem;
  readonly nowMs: number;
  readonly background: boolean;
  readonly resolve: (answer: Answer) => void;
}

/**
 * Collects orders from concurrent batches into shared model calls. The first order a batch
 * waits for starts a short window (QUALITY_GUARD_COLLECT_WINDOW_MS); when it ends, or as soon
 * as a call is full, the waiting orders go out in one call, and background (sample) orders
 * fill the remaining room. Calls run concurrently; nothing here blocks the event loop or
 * other batches. The same question (content and flags, verdictKey) asked twice while in flight
 * shares one answer.
 */
export class ReviewBatcher {
  private readonly waiting: Entry[] = [];
  private readonly inFlight = new Map<string, Promise<Answer>>();
  private readonly calls = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;

  constructor(
    private readonly options: BatcherOptions,
    private readonly consult: Consult,
  ) {}

  submit(item: ReviewItem, nowMs: number, background: boolean): Promise<Answer> {
    const key = verdictKey(item.order.contentHash, item.flags);
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    if (background && this.waiting.filter((e) => e.background).length >= this.options.maxBackground) {
      return Promise.resolve({ unavailable: 'queue_full' });
    }
    const answer = new Promise<Answer>((resolve) => {
      this.waiting.push({ item, nowMs, background, resolve });
    });
    this.inFlight.set(key, answer);
    void answer.finally(() => this.inFlight.delete(key));
    this.schedule();
    return answer;
  }

  /** Sends everything that waits now and resolves when no call is left in flight. */
  async drain(): Promise<void> {
    while (this.waiting.length > 0 || this.calls.size > 0) {
      while (this.waiting.length > 0) this.flush();
      await Promise.all([...this.calls]);
    }
  }

  private schedule(): void {
    const foreground = this.waiting.filter((e) => !e.background).length;
    if (foreground >= this.options.batchSize || (foreground === 0 && this.waiting.length >= this.options.batchSize)) {
      this.flush();
      if (this.waiting.length > 0) this.schedule();
      return;
    }
    if (this.waiting.length === 0) return;
    const delay = foreground > 0 ? this.options.windowMs : this.options.backgroundWindowMs;
    const due = Date.now() + delay;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      this.flush();
      this.schedule();
    }, delay);
    // Background orders are monitoring only: they must not keep a process alive.
    if (foreground === 0) this.timer.unref();
  }

  /**
   * One call for up to batchSize waiting orders: those a batch waits for first. The model
   * answers by order_id, so one call never holds two contents of the same order_id (a
   * conflict): the second waits for the next call instead of sharing the first's verdict.
   */
  private flush(): void {
    if (this.waiting.length === 0) return;
    const ordered = [...this.waiting.filter((e) => !e.background), ...this.waiting.filter((e) => e.background)];
    const ids = new Set<string>();
    const taken: typeof ordered = [];
    for (const e of ordered) {
      if (taken.length === this.options.batchSize) break;
      if (ids.has(e.item.order.orderId)) continue;
      ids.add(e.item.order.orderId);
      taken.push(e);
    }
    const takenSet = new Set(taken);
    const rest = this.waiting.filter((e) => !takenSet.has(e));
    this.waiting.length = 0;
    this.waiting.push(...rest);
    const nowMs = Math.max(...taken.map((e) => e.nowMs));
    const background = taken.every((e) => e.background);
    const call = this.consult(
      taken.map((e) => e.item),
      nowMs,
      background,
    )
      .then(
        (answers) => {
          for (const e of taken) e.resolve(answers.get(e.item.order.orderId) ?? { unavailable: 'missing' });
        },
        () => {
          for (const e of taken) e.resolve({ unavailable: 'model_error' });
        },
      )
      .finally(() => this.calls.delete(call));
    this.calls.add(call);
  }
}
