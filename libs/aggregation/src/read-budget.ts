import { BusyError } from './request-errors';

interface Waiter {
  readonly weight: number;
  start(): void;
}

/**
 * A weighted semaphore for the reads whose cost grows with the request: at most `capacity`
 * units (Redis hash fields) are read at once; a read that does not fit waits, first come
 * first served, and at most `maxWaiting` reads wait, beyond which a read is refused at once
 * (BusyError). A read whose turn has not come within `maxWaitMs` is refused too: while
 * Redis stalls, reads in flight hold their turns until their command timeout, and on a
 * Cluster (whose client stays ready) the reads queued behind them would otherwise get
 * their 503 one pair at a time, the last after minutes. A read heavier than the whole
 * capacity runs alone.
 *
 * Why: a long day-level range reads 16 hashes × thousands of fields. Redis runs one command
 * at a time and Node holds every returned field until the sums are made, so a burst of such
 * requests (distinct ranges share no read) stalled Redis for the whole process and grew its
 * memory by gigabytes (a security review, 200 concurrent 10-year ranges). Bounded, the same
 * burst costs queueing time on those requests only.
 */
export class ReadBudget {
  private inUse = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly capacity: number,
    private readonly maxWaiting: number,
    private readonly maxWaitMs: number,
  ) {}

  async run<T>(weight: number, read: () => Promise<T>): Promise<T> {
    const taken = Math.min(weight, this.capacity);
    if (this.waiting.length > 0 || this.inUse + taken > this.capacity) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new BusyError(`too many long reads at once (${this.maxWaiting} waiting); retry in a moment`);
      }
      await this.turn(taken);
    } else {
      this.inUse += taken;
    }
    try {
      return await read();
    } finally {
      this.inUse -= taken;
      this.startWaiting();
    }
  }

  /** Resolves when the read may start (its weight is then in use), or refuses it after maxWaitMs. */
  private turn(weight: number): Promise<void> {
    return new Promise<void>((start, refuse) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        refuse(new BusyError(`no turn for this long read within ${this.maxWaitMs} ms; retry in a moment`));
        this.startWaiting(); // the reads behind it may fit now
      }, this.maxWaitMs);
      const waiter: Waiter = {
        weight,
        start: () => {
          clearTimeout(timer);
          start();
        },
      };
      this.waiting.push(waiter);
    });
  }

  /** Starts waiting reads in order while the first of them fits. */
  private startWaiting(): void {
    for (let next = this.waiting[0]; next && this.inUse + next.weight <= this.capacity; next = this.waiting[0]) {
      this.waiting.shift();
      this.inUse += next.weight;
      next.start();
    }
  }
}
