import { ConfigError, loadConfig } from '@order-pipeline/config';

/** The guard's section of the configuration (libs/config reads it; the guard relies on it). */
describe('quality guard configuration', () => {
  it('defaults to a small fast model, fail-open, bounded cost', () => {
    expect(loadConfig({}).qualityGuard).toMatchObject({
      enabled: true,
      apiKey: undefined,
      model: 'claude-haiku-4-5',
      onUnavailable: 'fail-open',
      sampleRate: 0.01,
      maxRetries: 2,
      batchSize: 20,
      collectWindowMs: 20,
      maxCallsPerMinute: 60,
      maxTokensPerMinute: 200_000,
    });
  });

  it.each([
    ['fail-open', 'fail-open'],
    ['hold', 'hold'],
    ['allow', 'fail-open'], // the old name
    ['HOLD', 'hold'],
  ])('reads QUALITY_GUARD_ON_UNAVAILABLE=%s as %s', (value, policy) => {
    expect(loadConfig({ QUALITY_GUARD_ON_UNAVAILABLE: value }).qualityGuard.onUnavailable).toBe(policy);
  });

  it.each([
    ['QUALITY_GUARD_ON_UNAVAILABLE', 'reject'],
    ['QUALITY_GUARD_BATCH_SIZE', '0'],
    ['QUALITY_GUARD_MAX_TOKENS_PER_MINUTE', 'lots'],
    ['QUALITY_GUARD_COLLECT_WINDOW_MS', '5000'],
    ['QUALITY_GUARD_ENABLED', 'maybe'],
    ['ANTHROPIC_BASE_URL', 'ftp://example.test'],
  ])('refuses %s=%s with an error naming it', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(variable);
  });
});
