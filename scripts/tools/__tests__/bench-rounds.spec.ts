import { median, pairedMedians, timeRounds, type PairedRound } from '../bench/stats.ts';

const run = (rps: number, p50 = 1, p99 = 10) => ({ rps, p50, p99 });

describe('median', () => {
  it('is the middle value of an odd count, in any order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });

  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 10])).toBe(3.5);
  });
});

describe('rounds of the API benchmark', () => {
  const timedInOrder = async (count: number) => {
    const order: string[] = [];
    const rounds = await timeRounds(
      count,
      (side) => {
        order.push(side);
        return Promise.resolve({ ...run(order.length), failures: 0 });
      },
      () => 'unexpected',
    );
    return { order, rounds };
  };

  it('alternate which side goes first, starting with the app', async () => {
    const { order } = await timedInOrder(3);
    expect(order).toEqual(['app', 'bare', 'bare', 'app', 'app', 'bare']);
  });

  it('keep each run with its own side, whichever went first', async () => {
    const { rounds } = await timedInOrder(2);
    expect(rounds.map((r) => [r.app.rps, r.bare.rps])).toEqual([
      [1, 2],
      [4, 3],
    ]);
  });

  it('end the run at the first round with a failed request, saying what failed', async () => {
    let runs = 0;
    const timing = timeRounds(
      3,
      (side) => {
        runs++;
        return Promise.resolve({ ...run(100), failures: side === 'bare' && runs > 2 ? 7 : 0 });
      },
      ({ bare }) => `${bare.failures} failed on the bare server`,
    );
    await expect(timing).rejects.toThrow('7 failed on the bare server');
    expect(runs).toBe(4);
  });

  it('give the median of the rounds’ own ratios, not the ratio of the medians', () => {
    // Round ratios 50%, 50%, 25%: median 50%. The medians of the sides, 5,000 and 12,000,
    // would give 42%.
    const m = pairedMedians([
      { app: run(5_000), bare: run(10_000) },
      { app: run(6_000), bare: run(12_000) },
      { app: run(3_000), bare: run(12_000) },
    ]);
    expect(m.ratios).toEqual([0.5, 0.5, 0.25]);
    expect(m.ratio).toBe(0.5);
    expect(m.app.rps / m.bare.rps).toBeCloseTo(5_000 / 12_000);
  });

  it('give each side’s median req/s, p50 and p99, field by field', () => {
    const rounds: PairedRound[] = [
      { app: run(100, 2, 30), bare: run(200, 1, 9) },
      { app: run(300, 4, 10), bare: run(100, 3, 7) },
      { app: run(200, 3, 20), bare: run(300, 2, 8) },
    ];
    const m = pairedMedians(rounds);
    expect(m.app).toEqual({ rps: 200, p50: 3, p99: 20 });
    expect(m.bare).toEqual({ rps: 200, p50: 2, p99: 8 });
  });
});
