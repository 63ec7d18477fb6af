import { toApplied } from './order-aggregator';

describe("toApplied (what APPLY_LUA's answer means)", () => {
  it('reads 1 as applied now and 0 as applied before', () => {
    expect([toApplied(1), toApplied(0)]).toEqual(['accepted', 'duplicate']);
  });

  it('refuses any other answer rather than acknowledge the message as a duplicate', () => {
    expect(() => toApplied(2)).toThrow('unexpected apply answer: 2');
  });
});
