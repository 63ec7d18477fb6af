export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Closed: calls go out. After `threshold` failures in a row it opens: no calls for
 * `openMs`. Then it is half-open: exactly one call (the probe) may go out; its success
 * closes the breaker, its failure opens it again for another `openMs`.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  /** How many times it has opened. */
  opened = 0;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
  ) {}

  /** May a call go out now? In half-open, true once (the probe) until it is settled. */
  tryAcquire(nowMs: number): boolean {
    if (this.state === 'open') {
      if (nowMs < this.openUntil) return false;
      this.state = 'half-open';
      this.probing = false;
    }
    if (this.state === 'half-open') {
      if (this.probing) return false;
      this.probing = true;
    }
    return true;
  }

  /** The probe slot was taken but no call went out (e.g. over budget): give it back. */
  release(): void {
    this.probing = false;
  }

  succeeded(): void {
    this.state = 'closed';
    this.failures = 0;
    this.probing = false;
  }

  /** True when this failure opened the breaker. */
  failed(nowMs: number): boolean {
    this.failures += 1;
    if (this.state === 'half-open' || (this.state === 'closed' && this.failures >= this.threshold)) {
      this.state = 'open';
      this.openUntil = nowMs + this.openMs;
      this.probing = false;
      this.opened += 1;
      return true;
    }
    return false;
  }

  /** Whether a call could go out now: closed, or half-open with no probe in flight. */
  mayCall(nowMs: number): boolean {
    const state = this.stateAt(nowMs);
    return state === 'closed' || (state === 'half-open' && !this.probing);
  }

  stateAt(nowMs: number): BreakerState {
    return this.state === 'open' && nowMs >= this.openUntil ? 'half-open' : this.state;
  }
}
