import { dayOf, fnv1a, KeySchema, monthOf, userBucketOf } from './key-schema';

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
    expect(tags.size).toBe(1);
  });

  it('buckets by the UTC day and month of the order timestamp', () => {
    const ms = Date.parse('2026-02-28T23:30:00Z');
    expect([dayOf(ms), monthOf(ms)]).toEqual(['20260228', '202602']);
  });
});
