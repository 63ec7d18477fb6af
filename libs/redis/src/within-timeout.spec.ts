import { withinTimeout } from './redis.service';

describe('withinTimeout (one deadline for a Cluster read)', () => {
  afterEach(() => jest.useRealTimers());

  it('gives the answer that comes in time', async () => {
    await expect(withinTimeout(Promise.resolve(['1', '2']), 1_000)).resolves.toEqual(['1', '2']);
  });

  it('fails as a command timeout once the time is up, whatever the read does later', async () => {
    jest.useFakeTimers();
    let fail = (_error: Error): void => undefined;
    const read = new Promise<string>((_, reject) => (fail = reject));
    const answer = withinTimeout(read, 1_000).catch((error: unknown) => error);

    jest.advanceTimersByTime(1_000);
    fail(new Error('MOVED 3999 127.0.0.1:7001')); // too late: not what the caller sees

    expect(await answer).toEqual(new Error('Command timed out'));
  });

  it('passes on the read’s own error when it comes first', async () => {
    await expect(withinTimeout(Promise.reject(new Error('CLUSTERDOWN')), 1_000)).rejects.toThrow('CLUSTERDOWN');
  });
});
