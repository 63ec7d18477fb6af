import { appNodeFlags } from '../../../test/support/node-flags.ts';

describe("the app's node flags", () => {
  it('are the same in ./scripts/start, the Dockerfile, pnpm start:prod and the README', () => {
    const { start, dockerfile, startProd, readme } = appNodeFlags();
    expect(start).toContain('--no-allocation-site-pretenuring');
    expect(dockerfile).toEqual(start);
    expect(startProd).toEqual(start);
    expect(readme).toEqual(start);
  });
});
