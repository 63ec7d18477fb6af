import { SharedReads } from './shared-reads';

/** A read the test finishes by hand: each call of `read` is one read, numbered from 1. */
function controlledReads(): {
  read: () => Promise<number>;
  started: () => number;
  finish: (n: number) => void;
  fail: (n: number, error: Error) => void;
} {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  return {
    read: () =>
      new Promise<number>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    started: () => pending.length,
    finish: (n) => pending[n - 1]?.resolve(n),
    fail: (n, error) => pending[n - 1]?.reject(error),
  };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SharedReads', () => {
  it('starts a read at once when none is in flight for the key', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const answer = reads.run('global', c.read);
    expect(c.started()).toBe(1);
    c.finish(1);
    await expect(answer).resolves.toBe(1);
  });

  it('answers the requests that arrive during a read from one read that starts after it', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const first = reads.run('global', c.read);
    const later = [reads.run('global', c.read), reads.run('global', c.read), reads.run('global', c.read)];
    expect(c.started()).toBe(1); // the later ones wait: the running read began before they arrived
    c.finish(1);
    await expect(first).resolves.toBe(1);
    await settled();
    expect(c.started()).toBe(2);
    c.finish(2);
    await expect(Promise.all(later)).resolves.toEqual([2, 2, 2]);
  });

  it('never answers a request from a read that began before the request arrived', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    void reads.run('global', c.read);
    const queued = reads.run('global', c.read);
    c.finish(1);
    await settled(); // read 2 has begun
    const arrivedDuringRead2 = reads.run('global', c.read);
    c.finish(2);
    await expect(queued).resolves.toBe(2);
    await settled();
    c.finish(3);
    await expect(arrivedDuringRead2).resolves.toBe(3);
  });

  it('does not share reads between keys', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const a = reads.run('top:spend:10', c.read);
    const b = reads.run('top:orders:10', c.read);
    expect(c.started()).toBe(2);
    c.finish(1);
    c.finish(2);
    await expect(Promise.all([a, b])).resolves.toEqual([1, 2]);
  });

  it('fails only the requests that shared a failed read; the next request reads again', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const first = reads.run('global', c.read);
    const shared = [reads.run('global', c.read), reads.run('global', c.read)];
    c.finish(1);
    await settled();
    c.fail(2, new Error('redis unavailable'));
    await expect(first).resolves.toBe(1);
    for (const answer of shared) await expect(answer).rejects.toThrow('redis unavailable');
    const after = reads.run('global', c.read);
    expect(c.started()).toBe(3);
    c.finish(3);
    await expect(after).resolves.toBe(3);
  });

  it('starts the queued read even when the running one fails: its requests get the fresh answer', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const first = reads.run('global', c.read);
    const queued = reads.run('global', c.read);
    c.fail(1, new Error('redis unavailable'));
    await expect(first).rejects.toThrow('redis unavailable');
    await settled();
    c.finish(2);
    await expect(queued).resolves.toBe(2);
  });

  it('fails the requests of a queued read that throws before returning a promise, and keeps nothing', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const first = reads.run('global', c.read);
    const queued = reads.run('global', () => {
      throw new Error('bad key');
    });
    c.finish(1);
    await expect(first).resolves.toBe(1);
    await expect(queued).rejects.toThrow('bad key');
    await settled();
    expect(reads.size).toBe(0);
  });

  it('turns a read that throws before returning a promise into a rejected answer', async () => {
    const reads = new SharedReads<number>();
    await expect(
      reads.run('global', () => {
        throw new Error('bad key');
      }),
    ).rejects.toThrow('bad key');
    expect(reads.size).toBe(0);
  });

  it('keeps nothing once the reads have ended', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const answers = [reads.run('global', c.read), reads.run('global', c.read), reads.run('range', c.read)];
    expect(reads.size).toBe(2);
    c.finish(1);
    c.finish(2);
    await settled();
    c.finish(3);
    await Promise.all(answers);
    await settled();
    expect(reads.size).toBe(0);
  });
});
