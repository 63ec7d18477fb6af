import Redis from 'ioredis';

// patches/ioredis@5.11.1.patch: ioredis 5.11 (and 6.1) defines a pipeline's `length` as an
// accessor on each instance, with a closure of its own. V8 then gives every pipeline a hidden
// class of its own, allocated in the old generation and pointing back at the pipeline, so
// every pipeline (the app sends one per batch step, and every auto-pipelined read is one)
// outlived the young-generation collections with its commands and replies, and major
// collections came about twenty times as often (docs/PERFORMANCE.md, "ioredis pipelines").
describe('ioredis pipelines (patched)', () => {
  const client = new Redis({ lazyConnect: true });
  afterAll(() => client.disconnect());

  it('have no length accessor of their own', () => {
    const pipeline = client.pipeline();

    expect(Object.getOwnPropertyDescriptor(pipeline, 'length')).toBeUndefined();
  });

  it('still count the commands queued on them', () => {
    const pipeline = client.pipeline().get('a').hget('b', 'c');

    expect(pipeline.length).toBe(2);
  });
});
