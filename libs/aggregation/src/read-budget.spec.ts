import { ReadBudget } from './read-budget';
import { BusyError } from './request-errors';

/** A read that ends when the test says so, recording when it started. */
function heldRead(log: string[], name: string): { read: () => Promise<string>; finish: () => void } {
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    read: async () => {
      log.push(`start ${name}`);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReadBudget (long reads take turns)', () => {
  it('runs reads together while their weights fit, and the next one when room is made', async () => {
    const budget = new ReadBudget(10, 5, 60_000);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => heldRead(log, n));
    const answers = [budget.run(6, a.read), budget.run(4, b.read), budget.run(5, c.read)];
    await settle();
    expect(log).toEqual(['start a', 'start b']);

    a.finish();
    await settle();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    b.finish();
    c.finish();
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c']);
  });

  it('keeps first come, first served: a light read does not overtake a waiting heavy one', async () => {
    const budget = new ReadBudget(10, 5, 60_000);
    const log: string[] = [];
    const [a, heavy, light] = ['a', 'heavy', 'light'].map((n) => heldRead(log, n));
    const answers = [budget.run(6, a.read), budget.run(8, heavy.read), budget.run(1, light.read)];
    await settle();
    expect(log).toEqual(['start a']);
    a.finish();
    heavy.finish();
    light.finish();
    await Promise.all(answers);
    expect(log).toEqual(['start a', 'start heavy', 'start light']);
  });

  it('runs a read heavier than the whole budget, alone', async () => {
    const budget = new ReadBudget(10, 5, 60_000);
    const log: string[] = [];
    const [huge, small] = ['huge', 'small'].map((n) => heldRead(log, n));
    const answers = [budget.run(50, huge.read), budget.run(1, small.read)];
    await settle();
    expect(log).toEqual(['start huge']);
    huge.finish();
    small.finish();
    expect(await Promise.all(answers)).toEqual(['huge', 'small']);
  });

  it('refuses a read at once when as many wait as it queues', async () => {
    const budget = new ReadBudget(10, 1, 60_000);
    const log: string[] = [];
    const [a, b] = ['a', 'b'].map((n) => heldRead(log, n));
    const answers = [budget.run(10, a.read), budget.run(10, b.read)];
    await expect(budget.run(1, () => Promise.resolve('c'))).rejects.toThrow(BusyError);
    a.finish();
    b.finish();
    await Promise.all(answers);
  });

  it('refuses a read whose turn has not come within maxWaitMs, and lets the ones behind it through', async () => {
    jest.useFakeTimers();
    try {
      const budget = new ReadBudget(10, 5, 1_000);
      const log: string[] = [];
      const [a, heavy, light] = ['a', 'heavy', 'light'].map((n) => heldRead(log, n));
      const running = budget.run(6, a.read);
      const refused = budget.run(8, heavy.read);
      const outcome = refused.catch((error: unknown) => error);
      jest.advanceTimersByTime(500);
      const behind = budget.run(4, light.read); // fits beside a, but waits behind heavy
      await Promise.resolve();
      expect(log).toEqual(['start a']);

      jest.advanceTimersByTime(500);
      expect(await outcome).toBeInstanceOf(BusyError);
      await Promise.resolve();
      expect(log).toEqual(['start a', 'start light']);
      a.finish();
      light.finish();
      expect(await Promise.all([running, behind])).toEqual(['a', 'light']);
      expect(log).not.toContain('start heavy');
    } finally {
      jest.useRealTimers();
    }
  });

  it('gives the budget back when a read fails', async () => {
    const budget = new ReadBudget(10, 5, 60_000);
    await expect(budget.run(10, () => Promise.reject(new Error('redis down')))).rejects.toThrow('redis down');
    await expect(budget.run(10, () => Promise.resolve('next'))).resolves.toBe('next');
  });
});
