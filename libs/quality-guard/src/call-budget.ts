const MINUTE_MS = 60_000;

/**
 * Per-minute budgets of model calls and tokens (input + output) over a sliding minute.
 * Background work (the monitoring sample) may use only half of each, so it can never
 * starve the reviews that a batch is waiting for.
 */
export class CallBudget {
  private readonly calls: number[] = [];
  private readonly tokens: { at: number; n: number }[] = [];

  constructor(
    private readonly maxCalls: number,
    private readonly maxTokens: number,
  ) {}

  /** Would a call estimated at `estimatedTokens` input tokens fit now? */
  allows(nowMs: number, estimatedTokens: number, background: boolean): boolean {
    const used = this.usage(nowMs);
    const share = background ? 0.5 : 1;
    return used.calls < this.maxCalls * share && used.tokens + estimatedTokens <= this.maxTokens * share;
  }

  /** The most tokens one call may be estimated at, with nothing else used in the minute. */
  capacity(background: boolean): number {
    return this.maxTokens * (background ? 0.5 : 1);
  }

  recordCall(nowMs: number): void {
    this.calls.push(nowMs);
  }

  recordTokens(nowMs: number, n: number): void {
    if (n > 0) this.tokens.push({ at: nowMs, n });
  }

  /**
   * Holds `estimate` tokens for a call that has started, so calls started together see each
   * other's before any has answered; `settle` puts the call's real count in its place.
   */
  reserveTokens(nowMs: number, estimate: number): { settle(actual: number): void } {
    const entry = { at: nowMs, n: Math.max(0, estimate) };
    this.tokens.push(entry);
    return {
      settle: (actual) => {
        entry.n = Math.max(0, actual);
      },
    };
  }

  usage(nowMs: number): { calls: number; tokens: number } {
    const since = nowMs - MINUTE_MS;
    while (this.calls.length > 0 && (this.calls[0] ?? 0) <= since) this.calls.shift();
    while (this.tokens.length > 0 && (this.tokens[0]?.at ?? 0) <= since) this.tokens.shift();
    return { calls: this.calls.length, tokens: this.tokens.reduce((sum, t) => sum + t.n, 0) };
  }
}
