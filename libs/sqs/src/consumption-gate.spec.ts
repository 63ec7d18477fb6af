import type { RedisService } from '@order-pipeline/redis';
import { ConsumptionGate } from './consumption-gate';

/** The one thing the gate reads from Redis: whether the connection is ready. */
const fakeRedis = (ready: boolean): { ready: boolean } => ({ ready });
/** A gate of an app that has started (its HTTP server listens). */
const opened = (gate: ConsumptionGate): ConsumptionGate => {
  gate.open();
  return gate;
};

describe('ConsumptionGate', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const settled = (promise: Promise<void>): (() => boolean) => {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    return () => done;
  };

  it('holds every receive until the app has started, then lets them go', async () => {
    const gate = new ConsumptionGate(fakeRedis(true) as unknown as RedisService);
    const done = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(60_000);
    expect(done()).toBe(false);
    gate.open();
    await jest.advanceTimersByTimeAsync(0);
    expect(done()).toBe(true);
  });

  it('ends a receive still waiting for the start when the app closes instead', async () => {
    const gate = new ConsumptionGate(fakeRedis(true) as unknown as RedisService);
    const receive = gate.beforeReceive();
    gate.close();
    await expect(receive).rejects.toThrow('shutting down: no further receives');
  });

  it('lets a receive go at once while Redis is ready', async () => {
    const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
    await expect(gate.beforeReceive()).resolves.toBeUndefined();
  });

  it('holds a receive while Redis is away and lets it go when Redis is back', async () => {
    const redis = fakeRedis(false);
    const gate = opened(new ConsumptionGate(redis as unknown as RedisService));
    const done = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(5_000);
    expect([done(), gate.isPaused]).toEqual([false, true]);
    redis.ready = true;
    await jest.advanceTimersByTimeAsync(300);
    expect([done(), gate.isPaused]).toEqual([true, false]);
  });

  it('pauses after batches that made no progress, doubling from 0.5 s', async () => {
    const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
    gate.batchFailed();
    gate.batchFailed(); // second in a row: 1 s
    const done = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(900);
    expect(done()).toBe(false);
    await jest.advanceTimersByTimeAsync(400);
    expect(done()).toBe(true);
  });

  it('lifts the pause as soon as a batch makes progress', async () => {
    const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
    gate.batchFailed();
    gate.batchProgressed();
    await expect(gate.beforeReceive()).resolves.toBeUndefined();
  });

  it('forgets the failures of an outage once Redis is back', async () => {
    const redis = fakeRedis(false);
    const gate = opened(new ConsumptionGate(redis as unknown as RedisService));
    const held = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(300);
    for (let i = 0; i < 8; i += 1) gate.batchFailed(); // a 30 s pause
    redis.ready = true;
    await jest.advanceTimersByTimeAsync(300);
    expect(held()).toBe(true);
  });

  it('pauses after failed receives, 250 ms doubling, until a receive answers', async () => {
    const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
    const refused = new Error('SQS receive message failed: connect ECONNREFUSED 127.0.0.1:4999');
    gate.receiveFailed(refused);
    gate.receiveFailed(refused);
    gate.receiveFailed(refused); // third in a row: 1 s
    const done = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(900);
    expect([done(), gate.isPaused]).toEqual([false, true]);
    await jest.advanceTimersByTimeAsync(400);
    expect(done()).toBe(true);
    gate.receiveSucceeded();
    gate.receiveFailed(refused); // a new run starts again at 250 ms
    const next = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(300);
    expect(next()).toBe(true);
  });

  it('never pauses the receives for more than 10 s however long SQS is away', async () => {
    const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
    for (let i = 0; i < 40; i += 1) gate.receiveFailed(new Error('SQS receive message failed: timeout'));
    const done = settled(gate.beforeReceive());
    await jest.advanceTimersByTimeAsync(10_300);
    expect(done()).toBe(true);
  });

  it('refuses every receive once the app shuts down, even one already held', async () => {
    const gate = new ConsumptionGate(fakeRedis(false) as unknown as RedisService);
    const held = gate.beforeReceive();
    gate.close();
    await expect(held).rejects.toThrow(/shutting down/);
    await expect(gate.beforeReceive()).rejects.toThrow(/shutting down/);
  });

  describe('after a batch failed in part while Redis looked ready (suspectRedis)', () => {
    /** A probe of every part of Redis that answers as told, counting its calls. */
    const probe = (): { answers: (() => Promise<boolean>) & { calls: number }; all: boolean } => {
      const state = {
        all: false,
        answers: Object.assign(
          async (): Promise<boolean> => {
            state.answers.calls += 1;
            await new Promise((resolve) => setTimeout(resolve, 100));
            return state.all;
          },
          { calls: 0 },
        ),
      };
      return state;
    };

    it('holds the receives until every part of Redis answers, then lets them go', async () => {
      const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
      const redis = probe();
      gate.suspectRedis(redis.answers);
      const done = settled(gate.beforeReceive());
      await jest.advanceTimersByTimeAsync(5_000);
      expect([done(), gate.isPaused]).toEqual([false, true]);
      redis.all = true;
      await jest.advanceTimersByTimeAsync(500);
      expect([done(), gate.isPaused]).toEqual([true, false]);
      // Answered once: the next receive does not probe again.
      const calls = redis.answers.calls;
      await gate.beforeReceive();
      expect(redis.answers.calls).toBe(calls);
    });

    it('lets the receive go after one probe when the failure was not Redis', async () => {
      const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
      const redis = probe();
      redis.all = true;
      gate.suspectRedis(redis.answers);
      const done = settled(gate.beforeReceive());
      await jest.advanceTimersByTimeAsync(100);
      expect([done(), gate.isPaused, redis.answers.calls]).toEqual([true, false, 1]);
    });

    it('sends one probe at a time, whatever the number of consumers waiting', async () => {
      const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
      const redis = probe();
      gate.suspectRedis(redis.answers);
      const receives = [gate.beforeReceive(), gate.beforeReceive(), gate.beforeReceive()].map(settled);
      await jest.advanceTimersByTimeAsync(50);
      expect(redis.answers.calls).toBe(1);
      redis.all = true;
      await jest.advanceTimersByTimeAsync(1_000);
      expect(receives.map((done) => done())).toEqual([true, true, true]);
    });

    it('lets no receive go when the app closes while a probe is out', async () => {
      const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
      const redis = probe();
      redis.all = true;
      gate.suspectRedis(redis.answers);
      const refused = expect(gate.beforeReceive()).rejects.toThrow(/shutting down/);
      gate.close();
      await jest.advanceTimersByTimeAsync(100);
      await refused;
    });

    it('counts a probe that fails as part of Redis away', async () => {
      const gate = opened(new ConsumptionGate(fakeRedis(true) as unknown as RedisService));
      gate.suspectRedis(() => Promise.reject(new Error('Command timed out')));
      const done = settled(gate.beforeReceive());
      await jest.advanceTimersByTimeAsync(2_000);
      expect([done(), gate.isPaused]).toEqual([false, true]);
      gate.close();
    });
  });
});
