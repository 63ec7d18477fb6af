import { APPLY_LUA } from '../../../libs/aggregation/src/lua/scripts.ts';
import { applyVariants, without } from '../bench/apply-variants.ts';

const calls = (lua: string, command: string): number => lua.split(`redis.call('${command}'`).length - 1;

describe('the apply-script variants of ./scripts/bench apply', () => {
  const variants = new Map(applyVariants(APPLY_LUA));
  const variant = (prefix: string): string =>
    [...variants].find(([name]) => name.startsWith(prefix))?.[1] ?? 'no such variant';

  it('measures the whole script as the app sends it', () => {
    expect(variant('the whole')).toBe(APPLY_LUA);
  });

  it('takes out exactly the part each variant names and keeps the rest', () => {
    const whole = { EXPIREAT: calls(APPLY_LUA, 'EXPIREAT'), ZINCRBY: calls(APPLY_LUA, 'ZINCRBY') };
    expect(whole).toEqual({ EXPIREAT: 3, ZINCRBY: 6 });
    const noExpiry = variant('without the 3 EXPIREATs');
    expect([calls(noExpiry, 'EXPIREAT'), calls(noExpiry, 'ZINCRBY'), calls(noExpiry, 'HINCRBY')]).toEqual([
      0,
      6,
      calls(APPLY_LUA, 'HINCRBY'),
    ]);
    const noTop = variant('without the 6 top-N');
    expect([calls(noTop, 'ZINCRBY'), calls(noTop, 'EXPIREAT')]).toEqual([0, 1]);
    const noDayTop = variant('without the day-level');
    expect([calls(noDayTop, 'ZINCRBY'), calls(noDayTop, 'EXPIREAT')]).toEqual([4, 1]);
    expect(noDayTop).not.toMatch(/KEYS\[1[23]\]/);
  });

  it('refuses a script whose parts no longer match what the benchmark takes out', () => {
    expect(() => without(APPLY_LUA, /redis\.call\('EXPIREAT'/, 2, 'EXPIREAT')).toThrow(
      'APPLY_LUA has 3 lines of EXPIREAT, this benchmark expects 2',
    );
  });
});
