import { coveringPeriods, InvalidQueryError, monthSlices, needsExpiredDays, parseDay, parseRange } from './date-range';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);

describe('coveringPeriods', () => {
  it('covers whole months with month keys and the ragged ends with day keys', () => {
    expect(coveringPeriods({ fromMs: day('2026-01-30'), toMs: day('2026-04-02') })).toEqual([
      'd:20260130',
      'd:20260131',
      'm:202602',
      'm:202603',
      'd:20260401',
      'd:20260402',
    ]);
  });

  it('uses one month key for exactly one calendar month', () => {
    expect(coveringPeriods({ fromMs: day('2024-02-01'), toMs: day('2024-02-29') })).toEqual(['m:202402']);
  });

  it('needs at most 12 month keys and 60 day keys for any one-year range', () => {
    const worst = { months: 0, days: 0 };
    // Every start day of a leap year and the year after, each to the day before its anniversary.
    for (let from = day('2024-01-01'); from < day('2026-01-01'); from += 86_400_000) {
      const start = new Date(from);
      const to = Date.UTC(start.getUTCFullYear() + 1, start.getUTCMonth(), start.getUTCDate()) - 86_400_000;
      const periods = coveringPeriods({ fromMs: from, toMs: to });
      worst.months = Math.max(worst.months, periods.filter((p) => p.startsWith('m:')).length);
      worst.days = Math.max(worst.days, periods.filter((p) => p.startsWith('d:')).length);
    }
    expect(worst.months).toBeLessThanOrEqual(12);
    expect(worst.days).toBeLessThanOrEqual(60);
  });

  it('covers a range starting mid-month with the 11 whole months between its ends', () => {
    const periods = coveringPeriods({ fromMs: day('2025-03-17'), toMs: day('2026-03-16') });
    expect(periods.filter((p) => p.startsWith('m:'))).toHaveLength(11);
    expect(periods.filter((p) => p.startsWith('d:'))).toHaveLength(15 + 16);
  });
});

describe('monthSlices', () => {
  it('slices the years 0000-0099 by their own months', () => {
    const slices = monthSlices({
      fromMs: Date.parse('0001-01-01T00:00:00Z'),
      toMs: Date.parse('0001-03-31T00:00:00Z'),
    });
    expect(slices.map((s) => s.month)).toEqual(['000101', '000102', '000103']);
  });

  it('spans a year boundary', () => {
    expect(monthSlices({ fromMs: day('2025-12-31'), toMs: day('2026-01-01') }).map((s) => s.month)).toEqual([
      '202512',
      '202601',
    ]);
  });
});

describe('parseRange', () => {
  it.each([
    ['2026-02-30', '2026-03-01', 'from'],
    ['2026-03-01', '03/01/2026', 'to'],
    ['2026-03-02', '2026-03-01', 'from'],
    ['2020-01-01', '2026-01-01', 'to'],
  ])('refuses from=%s to=%s naming %s', (from, to, parameter) => {
    try {
      parseRange(from, to, 366);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidQueryError);
      expect((error as InvalidQueryError).parameter).toBe(parameter);
    }
  });

  it.each([
    ['2026-02-30', 'from is not a real date (got "2026-02-30")'],
    ['2026-3-1', 'from must be a date as YYYY-MM-DD (got "2026-3-1")'],
  ])('tells a date that does not exist (%s) from one written wrongly', (from, message) => {
    expect(() => parseRange(from, '2026-03-31', 400)).toThrow(message);
  });

  it('accepts a single day', () => {
    expect(parseRange('2026-03-01', '2026-03-01', 1)).toEqual({ fromMs: day('2026-03-01'), toMs: day('2026-03-01') });
  });
});

describe('parseDay', () => {
  it('reads the years 0000-0099 as written, not as 1900-1999', () => {
    expect([parseDay('0001-01-01'), parseDay('0099-12-31')]).toEqual([
      Date.parse('0001-01-01T00:00:00Z'),
      Date.parse('0099-12-31T00:00:00Z'),
    ]);
  });

  it('refuses a leap day in a common year', () => {
    expect(parseDay('2025-02-29')).toBeUndefined();
  });
});

describe('needsExpiredDays', () => {
  const now = day('2026-11-25');
  it('is false for whole old months', () => {
    expect(needsExpiredDays({ fromMs: day('2020-01-01'), toMs: day('2020-12-31') }, 30, now)).toBe(false);
  });
  it('is true for old day-level periods', () => {
    expect(needsExpiredDays({ fromMs: day('2020-01-05'), toMs: day('2020-12-31') }, 30, now)).toBe(true);
  });
});
