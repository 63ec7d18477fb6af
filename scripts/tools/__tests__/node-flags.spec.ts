import { appNodeFlags } from '../../../test/support/node-flags.ts';

describe("the app's node flags", () => {
  it('are the same in ./scripts/start, the Dockerfile and pnpm start:prod', () => {
    const { start, dockerfile, startProd } = appNodeFlags();
    expect(start).toContain('--no-allocation-site-pretenuring');
    expect(dockerfile).toEqual(start);
    expect(startProd).toEqual(start);
  });
});
