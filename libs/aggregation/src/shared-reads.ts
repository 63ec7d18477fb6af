/** A read in flight for one key, and the read queued to start when it ends. */
interface Slot<T> {
  inFlight: Promise<T> | undefined;
  queued: Promise<T> | undefined;
}

/**
 * Shares a read among identical requests (same key) that arrive while one is in flight,
 * without ever answering a request from a read that began before the request arrived.
 * A request that finds a read in flight joins the one queued behind it, which starts
 * when the current one ends; so under load there is at most one read running and one
 * waiting per key, however many requests ask. Sharing adds no staleness: an answer is as
 * fresh as a read of the request's own would be. It is not a cache (nothing is kept once
 * the reads have ended). A failed read fails the requests that shared it, and only those.
 *
 * Why: the global, top-N and range answers each cost 16 to 33 Redis reads, and clients
 * that poll the same figures (monitors, dashboards, scripts) ask the same question many
 * times a second; docs/PERFORMANCE.md has the figures.
 */
export class SharedReads<T> {
  private readonly slots = new Map<string, Slot<T>>();

  run(key: string, read: () => Promise<T>): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { inFlight: undefined, queued: undefined };
      this.slots.set(key, slot);
    }
    if (slot.queued) return slot.queued;
    if (!slot.inFlight) return this.start(key, slot, read);
    const current = slot.inFlight;
    const queued = current.then(noop, noop).then(() => {
      // From here on a new request must not join this read: it has begun.
      slot.queued = undefined;
      return this.start(key, slot, read);
    });
    slot.queued = queued;
    return queued;
  }

  /** How many keys have a read running or waiting (for tests). */
  get size(): number {
    return this.slots.size;
  }

  private start(key: string, slot: Slot<T>, read: () => Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = read();
    } catch (error) {
      result = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    slot.inFlight = result;
    const settle = (): void => {
      if (slot.inFlight === result) slot.inFlight = undefined;
      if (!slot.inFlight && !slot.queued && this.slots.get(key) === slot) this.slots.delete(key);
    };
    result.then(settle, settle);
    return result;
  }
}

const noop = (): void => undefined;
