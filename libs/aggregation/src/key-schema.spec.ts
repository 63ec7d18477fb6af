import { dayOf, fnv1a, KeySchema, monthOf, userBucketOf, utcDate } from './key-schema';

describe('key schema', () => {
  it('hashes with FNV-1a 32 (stable across releases)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('puts every key of a user bucket under one hash tag', () => {
    const k = new KeySchema('op').bucket(userBucketOf('U-1'));
    const keys = [
      k.applied,
      k.totals,
      k.days,
      k.months,
      k.user('U-1'),
      k.userDays('U-1', '202603'),
      k.top('spend', 'd:20260304'),
    ];
    const tags = new Set(keys.map((key) => /\{[^}]*\}/.exec(key)?.[0]));
    expect([...tags]).toEqual([`{u${userBucketOf('U-1')}}`]);
  });

  it('buckets by the UTC day and month of the order timestamp', () => {
    const ms = Date.parse('2026-02-28T23:30:00Z');
    expect([dayOf(ms), monthOf(ms)]).toEqual(['20260228', '202602']);
  });

  it('writes every UTC date as toISOString does, at any time of the day', () => {
    const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
    const day = 86_400_000;
    const instants: number[] = [];
    // Every day from 1899 to 2201 at a varying time of day, and the edges of four-digit years.
    for (let ms = Date.UTC(1899, 0, 1), i = 0; ms < Date.UTC(2201, 0, 1); ms += day, i++) {
      instants.push(ms, ms + ((i * 7_919_993) % day));
    }
    for (const year of [-1, 0, 999, 1000, 9999, 10000, 275759]) {
      instants.push(Date.UTC(year, 0, 1), Date.UTC(year, 11, 31, 23, 59, 59, 999), Date.UTC(year, 0, 1) - 1);
    }
    instants.push(-0, -1, 8.64e15, -8.64e15);
    const wrong = instants.filter((ms) => utcDate(ms, '-') !== iso(ms) || dayOf(ms) !== iso(ms).replaceAll('-', ''));
    expect(wrong.map((ms) => [ms, iso(ms), utcDate(ms, '-'), dayOf(ms)])).toEqual([]);
  });

  it('refuses an invalid time as toISOString does', () => {
    expect(() => dayOf(Number.NaN)).toThrow(RangeError);
    expect(() => utcDate(8.64e15 + 1, '-')).toThrow(RangeError);
  });
});
