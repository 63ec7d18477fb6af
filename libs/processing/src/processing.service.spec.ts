import type { OrderAggregator, RejectedOrderRecord, RejectedOrderStore } from '@order-pipeline/aggregation';
import type { Order } from '@order-pipeline/orders';
import type { QualityGuard, Verdict } from '@order-pipeline/quality-guard';
import { anOrder } from '../../orders/test/order-builder';
import type { InboundMessage } from './outcome';
import type { PipelineMetrics } from './pipeline-metrics';
import { ProcessingService } from './processing.service';

/** Small fakes of the collaborators: behaviour chosen per user id, calls recorded. */
class FakeAggregator {
  applied = new Set<string>();
  claimed: string[] = [];
  claimRoundTrips = 0;
  claimRoundTripFails = false;
  /** While set, claim round trips answer only once it resolves. */
  claimGate: Promise<void> | undefined;
  private readonly claims = new Map<string, string>();
  claim(order: Order) {
    this.claimed.push(order.orderId);
    if (order.userId === 'U-REDIS-DOWN') return Promise.reject(new Error('Connection is closed.'));
    if (order.userId === 'U-TAKEN') {
      return Promise.resolve({
        status: 'conflict' as const,
        claim: { contentHash: 'x', userId: 'U-OWNER', firstSeenMs: Date.parse('2026-03-04T10:15:00Z') },
      });
    }
    // As CLAIM_LUA: the first claim of an id is new, the same content again is same.
    const stored = this.claims.get(order.orderId) ?? order.contentHash;
    const status = this.claims.has(order.orderId) ? (stored === order.contentHash ? 'same' : 'conflict') : 'new';
    this.claims.set(order.orderId, stored);
    return Promise.resolve({
      status,
      claim: { contentHash: stored, userId: order.userId, firstSeenMs: 1 },
    });
  }
  apply(order: Order) {
    const seen = this.applied.has(order.orderId);
    this.applied.add(order.orderId);
    return Promise.resolve(seen ? ('duplicate' as const) : ('accepted' as const));
  }
  async claimAll(orders: readonly Order[]) {
    this.claimRoundTrips += 1;
    if (this.claimRoundTripFails) throw new Error('Connection is closed.');
    const answers = Promise.all(orders.map((o) => settle(this.claim(o))));
    await this.claimGate;
    return answers;
  }
  applyAll(orders: readonly Order[]) {
    return Promise.all(orders.map((o) => settle(this.apply(o))));
  }
  existingClaims(orders: readonly Order[]) {
    return Promise.resolve(
      orders.map((o) => {
        const contentHash = this.claims.get(o.orderId);
        return contentHash === undefined ? undefined : { contentHash, userId: 'U-FIRST', firstSeenMs: 1 };
      }),
    );
  }
}
/** The batch calls answer one settled result per order, as OrderAggregator's do. */
const settle = <P extends Promise<unknown>>(p: P) =>
  p.then(
    (value) => ({ ok: true as const, value: value as Awaited<P> }),
    (error: Error) => ({ ok: false as const, error }),
  );
class FakeStore {
  records: RejectedOrderRecord[] = [];
  failing = false;
  capBody(body: string) {
    return { rawBody: body, rawTruncated: false };
  }
  record(record: RejectedOrderRecord) {
    if (this.failing) return Promise.reject(new Error('Connection is closed.'));
    this.records.push(record);
    return Promise.resolve(true);
  }
}
class FakeGuard {
  /** This fake can reject and hold, as the guard can with a model. */
  readonly canRefuse: boolean = true;
  /** While set, every order is rejected (the model changed its mind). */
  rejectAll = false;
  /** The mayDefer argument of every review, in call order. */
  mayDefer: (readonly boolean[])[] = [];
  /** While set, the review answers no verdict at all (a guard that broke its contract). */
  silent = false;
  review(orders: readonly Order[], _nowMs?: number, mayDefer: readonly boolean[] = []): Promise<Verdict[]> {
    this.mayDefer.push(mayDefer);
    if (this.silent) return Promise.resolve([]);
    return Promise.resolve(
      orders.map((o) => {
        if (o.userId === 'U-HELD') return { decision: 'hold', reasons: [], suspicious: true, checked: false };
        if (o.userId === 'U-FRAUD' || this.rejectAll) {
          return {
            decision: 'reject',
            reasons: [{ code: 'ai:fraud_suspected', message: 'x' }],
            suspicious: true,
            checked: true,
          };
        }
        return { decision: 'allow', reasons: [], suspicious: false, checked: true };
      }),
    );
  }
}

const message = (id: string, body: string): InboundMessage => ({ id, body, receiveCount: 1 });
const forUser = (id: string, user: string): InboundMessage =>
  message(
    id,
    anOrder()
      .with({ order_id: `o-${id}`, user_id: user })
      .json(),
  );

describe('ProcessingService', () => {
  let store: FakeStore;
  let guard: FakeGuard;
  let service: ProcessingService;

  beforeEach(() => {
    store = new FakeStore();
    guard = new FakeGuard();
    const metrics = { batchStarted: () => undefined, recordBatch: () => undefined } as unknown as PipelineMetrics;
    service = new ProcessingService(
      new FakeAggregator() as unknown as OrderAggregator,
      store as unknown as RejectedOrderStore,
      guard as unknown as QualityGuard,
      metrics,
    );
  });

  it('makes an order the model refuses a conflict when its id is claimed by other content, not a rejection', async () => {
    await service.processBatch([forUser('1', 'u-1')]);
    const reused = message('2', anOrder().with({ order_id: 'o-1', user_id: 'u-fraud' }).json());
    const [outcome] = await service.processBatch([reused]);
    expect([outcome?.kind, store.records.map((r) => r.kind)]).toEqual(['conflict', ['conflict']]);
  });

  it('counts a resend of an accepted order as a duplicate even when the model now refuses it', async () => {
    await service.processBatch([forUser('1', 'u-1')]);
    guard.rejectAll = true;
    const [outcome] = await service.processBatch([forUser('1', 'u-1')]);
    expect([outcome?.kind, store.records]).toEqual(['duplicate', []]);
  });

  it('gives every message of a mixed batch exactly one outcome, in order', async () => {
    const batch = [
      forUser('1', 'u-1'),
      message('2', 'not json'),
      forUser('3', 'u-taken'),
      forUser('4', 'u-redis-down'),
      forUser('5', 'u-held'),
      forUser('6', 'u-fraud'),
    ];
    const outcomes = await service.processBatch(batch);
    expect(outcomes.map((o) => [o.messageId, o.kind])).toEqual([
      ['1', 'accepted'],
      ['2', 'rejected'],
      ['3', 'conflict'],
      ['4', 'retry'],
      ['5', 'retry'],
      ['6', 'rejected'],
    ]);
  });

  it('stores rejected and conflicting messages with their reasons before calling them final', async () => {
    await service.processBatch([message('2', 'not json'), forUser('3', 'u-taken'), forUser('6', 'u-fraud')]);
    expect(store.records.map((r) => [r.id, r.kind, r.reasons.map((x) => x.code)])).toEqual([
      ['2', 'rejected', ['not_json']],
      ['6', 'rejected', ['ai:fraud_suspected']],
      ['3', 'conflict', ['conflict:order_id_reused']],
    ]);
  });

  it('says in a conflict when and for whom the order_id was first seen', async () => {
    await service.processBatch([forUser('3', 'u-taken')]);
    expect(store.records[0]?.reasons[0]?.message).toMatch(
      /^order_id \S+ was first seen at 2026-03-04T10:15:00.000Z with other content, for user U-OWNER; this message is not applied$/,
    );
  });

  it('leaves a rejection for retry when it cannot be stored: nothing is acknowledged unrecorded', async () => {
    store.failing = true;
    const [outcome] = await service.processBatch([message('2', '{"order_id": 1}')]);
    expect(outcome).toMatchObject({ kind: 'retry', error: 'Connection is closed.' });
  });

  it('gives each of two messages that carry one id its own outcome', async () => {
    const outcomes = await service.processBatch([
      forUser('same', 'u-1'),
      message('same', 'not json'),
      forUser('same', 'u-redis-down'),
    ]);
    expect(outcomes.map((o) => [o.messageId, o.kind])).toEqual([
      ['same', 'accepted'],
      ['same', 'rejected'],
      ['same', 'retry'],
    ]);
  });

  it('lets the guard defer only first deliveries of messages the queue can deliver again', async () => {
    await service.processBatch([
      forUser('1', 'u-1'),
      { ...forUser('2', 'u-2'), receiveCount: 2 },
      { ...forUser('3', 'u-3'), redeliverable: false },
      { ...forUser('4', 'u-4'), redeliverable: true },
    ]);
    expect(guard.mayDefer).toEqual([[true, false, false, true]]);
  });

  it('leaves an order the guard gave no verdict for to be retried, never accepted', async () => {
    guard.silent = true;
    const [outcome] = await service.processBatch([forUser('1', 'u-1')]);
    expect([outcome?.kind, outcome?.error]).toEqual(['retry', 'the quality guard gave no verdict for this order']);
  });

  it('counts the second copy of an order in one batch as a duplicate', async () => {
    const body = anOrder().json();
    const outcomes = await service.processBatch([message('a', body), message('b', body)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['accepted', 'duplicate']);
  });
});

describe('ProcessingService: when the claims go out', () => {
  const ALLOW: Verdict = { decision: 'allow', reasons: [], suspicious: false, checked: false };

  /** A guard whose reviews wait until the test lets them answer (or fail). */
  class HeldGuard {
    reviewing = 0;
    private answers: (() => void)[] = [];
    private failures: ((error: Error) => void)[] = [];
    constructor(readonly canRefuse: boolean) {}
    review(orders: readonly Order[]): Promise<Verdict[]> {
      this.reviewing += 1;
      return new Promise((resolve, reject) => {
        this.answers.push(() =>
          resolve(orders.map((o) => (o.userId === 'U-FRAUD' ? { ...ALLOW, decision: 'reject' } : ALLOW))),
        );
        this.failures.push(reject);
      });
    }
    answer(): void {
      for (const answer of this.answers.splice(0)) answer();
    }
    fail(): void {
      for (const fail of this.failures.splice(0)) fail(new Error('Connection is closed.'));
    }
  }

  const serviceWith = (guard: HeldGuard, aggregator: FakeAggregator): ProcessingService =>
    new ProcessingService(
      aggregator as unknown as OrderAggregator,
      new FakeStore() as unknown as RejectedOrderStore,
      guard as unknown as QualityGuard,
      { batchStarted: () => undefined, recordBatch: () => undefined } as unknown as PipelineMetrics,
    );

  it('claims the orders while a guard that cannot refuse any reviews them', async () => {
    const guard = new HeldGuard(false);
    const aggregator = new FakeAggregator();
    const run = serviceWith(guard, aggregator).processBatch([forUser('1', 'u-1'), forUser('2', 'u-2')]);
    expect(guard.reviewing).toBe(1);
    expect(aggregator.claimed).toEqual(['O-1', 'O-2']);
    expect(aggregator.applied.size).toBe(0);
    guard.answer();
    expect((await run).map((o) => o.kind)).toEqual(['accepted', 'accepted']);
    expect(aggregator.claimed).toEqual(['O-1', 'O-2']);
  });

  it("claims only after the review when a message carries a model's standing rejection, though the guard cannot refuse", async () => {
    const guard = new HeldGuard(false);
    const aggregator = new FakeAggregator();
    const standingVerdict = { decision: 'reject', code: 'fraud_suspected', explanation: '' } as const;
    const run = serviceWith(guard, aggregator).processBatch([
      forUser('1', 'u-1'),
      { ...forUser('2', 'u-fraud'), standingVerdict },
    ]);
    expect(guard.reviewing).toBe(1);
    expect(aggregator.claimed).toEqual([]);
    guard.answer();
    expect((await run).map((o) => o.kind)).toEqual(['accepted', 'rejected']);
    expect(aggregator.claimed).toEqual(['O-1']);
  });

  it('claims only after the review, and only the allowed orders, when the guard can refuse', async () => {
    const guard = new HeldGuard(true);
    const aggregator = new FakeAggregator();
    const run = serviceWith(guard, aggregator).processBatch([forUser('1', 'u-1'), forUser('2', 'u-fraud')]);
    expect(guard.reviewing).toBe(1);
    expect(aggregator.claimed).toEqual([]);
    guard.answer();
    expect((await run).map((o) => o.kind)).toEqual(['accepted', 'rejected']);
    expect(aggregator.claimed).toEqual(['O-1']);
  });

  it('retries the batch when the review fails after its orders were claimed, and counts them once later', async () => {
    const guard = new HeldGuard(false);
    const aggregator = new FakeAggregator();
    const service = serviceWith(guard, aggregator);
    const batch = [forUser('1', 'u-1')];
    const first = service.processBatch(batch);
    guard.fail();
    expect(await first).toEqual([{ messageId: '1', kind: 'retry', error: 'Connection is closed.' }]);
    expect(aggregator.claimed).toEqual(['O-1']);
    expect(aggregator.applied.size).toBe(0);
    const again = service.processBatch(batch); // the redelivery finds its own claim: same
    guard.answer();
    expect((await again).map((o) => o.kind)).toEqual(['accepted']);
    expect(aggregator.claimed).toEqual(['O-1', 'O-1']);
    expect([...aggregator.applied]).toEqual(['O-1']);
  });

  it('does not finish a batch whose review failed before the claims made beside it answer', async () => {
    const guard = new HeldGuard(false);
    const aggregator = new FakeAggregator();
    let answerClaims = (): void => undefined;
    aggregator.claimGate = new Promise<void>((resolve) => (answerClaims = resolve));
    let finished = false;
    const run = serviceWith(guard, aggregator)
      .processBatch([forUser('1', 'u-1')])
      .finally(() => (finished = true));
    guard.fail();
    await new Promise(setImmediate); // every promise step the failed review starts has run
    expect(finished).toBe(false);
    answerClaims();
    expect(await run).toEqual([{ messageId: '1', kind: 'retry', error: 'Connection is closed.' }]);
  });

  it('retries the allowed orders when the claims made beside the review fail', async () => {
    const guard = new HeldGuard(false);
    const aggregator = new FakeAggregator();
    aggregator.claimRoundTripFails = true;
    const run = serviceWith(guard, aggregator).processBatch([forUser('1', 'u-1')]);
    expect(aggregator.claimRoundTrips).toBe(1); // sent before the review answered
    guard.answer();
    expect(await run).toEqual([{ messageId: '1', kind: 'retry', error: 'Connection is closed.' }]);
    expect(aggregator.applied.size).toBe(0);
    expect(aggregator.claimRoundTrips).toBe(1);
  });
});
