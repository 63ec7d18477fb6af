import { appFirst, median, pairedMedians, type PairedRound } from '../bench/stats.ts';

const run = (rps: number, p50 = 1, p99 = 10) => ({ rps, p50, p99 });

describe('median', () => {
  it('is the middle value of an odd count, in any order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });

  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 10])).toBe(3.5);
  });

  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
});

describe('paired rounds of the API benchmark', () => {
  it('alternate which side goes first, starting with the app', () => {
    expect([0, 1, 2, 3].map(appFirst)).toEqual([true, false, true, false]);
  });

  it('give the median of the rounds’ own ratios, not the ratio of the medians', () => {
    // Round ratios 50%, 40%, 60%: median 50%. Medians of the sides are 5,000 and 10,000
    // here too, but in the second set below they would give 5,000 / 12,000.
    const rounds: PairedRound[] = [
      { app: run(5_000), bare: run(10_000) },
      { app: run(4_000), bare: run(10_000) },
      { app: run(6_000), bare: run(10_000) },
    ];
    expect(pairedMedians(rounds).ratio).toBeCloseTo(0.5);
    const busy: PairedRound[] = [
      { app: run(5_000), bare: run(10_000) },
      { app: run(6_000), bare: run(12_000) },
      { app: run(3_000), bare: run(12_000) },
    ];
    const m = pairedMedians(busy);
    expect(m.ratios).toEqual([0.5, 0.5, 0.25]);
    expect(m.ratio).toBe(0.5);
    expect(m.app.rps / m.bare.rps).toBeCloseTo(5_000 / 12_000);
  });

  it('give each side’s median req/s, p50 and p99, field by field', () => {
    const m = pairedMedians([
      { app: run(100, 2, 30), bare: run(200, 1, 9) },
      { app: run(300, 4, 10), bare: run(100, 3, 7) },
      { app: run(200, 3, 20), bare: run(300, 2, 8) },
    ]);
    expect(m.app).toEqual({ rps: 200, p50: 3, p99: 20 });
    expect(m.bare).toEqual({ rps: 200, p50: 2, p99: 8 });
  });
});
