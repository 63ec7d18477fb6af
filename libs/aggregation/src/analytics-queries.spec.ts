import { compareUtf8 } from './analytics-queries';

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
