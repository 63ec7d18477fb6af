import { CallBudget } from './call-budget';

describe('CallBudget', () => {
  it('holds a started call’s estimate, so calls started together cannot overrun the token budget', () => {
    const budget = new CallBudget(100, 2_000);
    expect(budget.allows(0, 1_200, false)).toBe(true);
    budget.reserveTokens(0, 1_200);
    // Before the first call has answered, a second of the same size would pass 2,000.
    expect(budget.allows(10, 1_200, false)).toBe(false);
  });

  it('counts what the call really used once it answers', () => {
    const budget = new CallBudget(100, 2_000);
    const call = budget.reserveTokens(0, 1_200);
    call.settle(300);
    expect([budget.usage(10).tokens, budget.allows(10, 1_200, false)]).toEqual([300, true]);
  });

  it('frees the tokens a minute after the call started', () => {
    const budget = new CallBudget(100, 2_000);
    budget.reserveTokens(0, 1_900);
    expect([budget.allows(59_999, 500, false), budget.allows(60_000, 500, false)]).toEqual([false, true]);
  });
});
