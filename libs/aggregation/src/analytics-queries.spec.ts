import { loadConfig } from '@order-pipeline/config';
import type { RedisService } from '@order-pipeline/redis';
import { RangeStatsQuery, TopUsersQuery, compareUtf8 } from './analytics-queries';
import { USER_BUCKETS } from './key-schema';

describe('compareUtf8', () => {
  const bytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

  it('orders ids as their UTF-8 bytes, as Redis orders equal scores', () => {
    // Units on both sides of the surrogates, pairs (above U+FFFF) and lone halves (U+FFFD in UTF-8).
    const alphabet = ['A', 'Z', 'a', '0', '-', 'é', 'ÿ', 'Ω', '中', '\uD7FF', '\uE000', '\uFF21', '\uFFFD', '\uFFFF'];
    alphabet.push('😀', '𝒜', '\uD800', '\uDBFF', '\uDC00', '\uDFFF');
    let seed = 20260425;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % n;
    };
    const word = (): string => Array.from({ length: next(5) }, () => alphabet[next(alphabet.length)]).join('');
    const wrong: [string, string][] = [];
    for (let i = 0; i < 50_000; i++) {
      const a = word();
      const b = i % 3 === 0 ? a + word() : word();
      if (Math.sign(compareUtf8(a, b)) !== bytes(a, b) || Math.sign(compareUtf8(b, a)) !== bytes(b, a))
        wrong.push([a, b]);
    }
    expect(wrong).toEqual([]);
  });

  it('sorts a character above U+FFFF after one just below it, unlike UTF-16 order', () => {
    expect(compareUtf8('U-\uFF21', 'U-😀')).toBeLessThan(0);
    expect('U-\uFF21' < 'U-😀').toBe(false);
  });
});

/**
 * A stand-in for RedisService that counts reads and holds them until released, so a test
 * knows which requests were in flight together. The query classes' Redis use is what is
 * stubbed here, not ioredis: the e2e specs cover the real reads.
 */
function heldRedis(): { redis: RedisService; reads: () => number; release: () => void } {
  let reads = 0;
  let gate: { promise: Promise<void>; open: () => void } = opened();
  const held = async <T>(value: T): Promise<T> => {
    reads += 1;
    await gate.promise;
    return value;
  };
  const script = Object.assign((_keys: readonly string[], _args: readonly unknown[]) => held<string[]>([]), {
    many: () => Promise.resolve([]),
  });
  const redis = {
    keyPrefix: 't',
    defineScript: () => script,
    // An HMGET answers one value per field (nothing stored: null).
    readAll: (commands: readonly (readonly unknown[])[]) => held(commands.map((c) => c.slice(2).map(() => null))),
    bounded: <T>(read: Promise<T>) => read,
  } as unknown as RedisService;
  function opened(): { promise: Promise<void>; open: () => void } {
    let open = (): void => undefined;
    const promise = new Promise<void>((resolve) => (open = resolve));
    return { promise, open };
  }
  return {
    redis,
    reads: () => reads,
    release: () => {
      const current = gate;
      gate = opened();
      current.open();
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const DAY = 86_400_000;
const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', STATS_RETENTION_DAYS: '3650' });

describe('shared reads of the analytics queries', () => {
  it('top-N: requests that differ in measure, limit or range each get a read of their own', async () => {
    const r = heldRedis();
    const top = new TopUsersQuery(r.redis, config);
    const now = Date.UTC(2026, 5, 30);
    const range = { fromMs: Date.UTC(2026, 5, 1), toMs: Date.UTC(2026, 5, 10) };
    const other = { fromMs: Date.UTC(2026, 5, 1), toMs: Date.UTC(2026, 5, 11) };
    const answers = [
      top.top('spend', 10, undefined, now),
      top.top('orders', 10, undefined, now),
      top.top('spend', 3, undefined, now),
      top.top('spend', 10, range, now),
      top.top('spend', 10, other, now),
    ];
    await settle();
    expect(r.reads()).toBe(5 * USER_BUCKETS); // one script per bucket, per question
    r.release();
    await Promise.all(answers);
  });

  it('top-N: identical requests in flight together wait for one read that starts after the running one', async () => {
    const r = heldRedis();
    const top = new TopUsersQuery(r.redis, config);
    const first = top.top('spend', 10, undefined, DAY);
    const later = [top.top('spend', 10, undefined, DAY), top.top('spend', 10, undefined, DAY)];
    await settle();
    expect(r.reads()).toBe(USER_BUCKETS);
    r.release();
    await first;
    await settle();
    expect(r.reads()).toBe(2 * USER_BUCKETS);
    r.release();
    await Promise.all(later);
  });

  it('range: requests that differ in from, to or granularity each get a read of their own', async () => {
    const r = heldRedis();
    const ranges = new RangeStatsQuery(r.redis, config);
    const june = { fromMs: Date.UTC(2026, 5, 1), toMs: Date.UTC(2026, 5, 30) };
    const answers = [
      ranges.series(june, 'day'),
      ranges.series(june, 'month'),
      ranges.series({ ...june, fromMs: Date.UTC(2026, 5, 2) }, 'day'),
      ranges.series({ ...june, toMs: Date.UTC(2026, 5, 29) }, 'day'),
      ranges.series(june, 'day'),
    ];
    await settle();
    expect(r.reads()).toBe(4); // the fifth asks what the first asks, and waits behind it
    r.release();
    await Promise.all(answers.slice(0, 4));
    await settle();
    expect(r.reads()).toBe(5);
    r.release();
    await answers[4];
  });
});
