import { Injectable, Logger, Module } from '@nestjs/common';
import { RedisService } from '@order-pipeline/redis';

/** Longest pause of the receives after batches that made no progress at all. */
const MAX_PAUSE_MS = 30_000;
const FIRST_PAUSE_MS = 500;
/** Pause of the receives after failed ReceiveMessage calls (SQS unreachable): 250 ms doubling to 10 s. */
const FIRST_RECEIVE_PAUSE_MS = 250;
const MAX_RECEIVE_PAUSE_MS = 10_000;

/**
 * Decides when the consumers may receive. sqs-consumer awaits `beforeReceive` before every
 * ReceiveMessage, so while Redis is away, or for a growing pause (0.5 s doubling to 30 s)
 * after batches whose messages all failed transiently, no message is received: nothing
 * spins, no receive count is spent, and consumption resumes by itself once Redis answers.
 * Failed receives themselves (SQS unreachable: sqs-consumer would poll again at once) pause
 * the receives too, 250 ms doubling to 10 s, with one warning per outage, not one per
 * attempt. When some messages of a batch failed while Redis looked ready (one master of a
 * Cluster stalled or down: the client as a whole stays ready), no receive goes out until a
 * probe finds that every part of Redis the pipeline writes to answers again (`suspectRedis`).
 * No receive goes out before `open` (the app serves HTTP: a start that fails, its
 * port taken, has received nothing it would leave in flight), and none starts after `close`.
 */
@Injectable()
export class ConsumptionGate {
  private readonly logger = new Logger(ConsumptionGate.name);
  private readonly closing = new AbortController();
  private failedBatches = 0;
  private pausedUntil = 0;
  private paused = false;
  private heldSteps = 0;
  private redisWasAway = false;
  private failedReceives = 0;
  private probe: (() => Promise<boolean>) | undefined;
  private probing: Promise<boolean> | undefined;
  private serving = false;
  private startWaiters = 0;
  private startServing!: () => void;
  private readonly served = new Promise<void>((resolve) => (this.startServing = resolve));

  constructor(private readonly redis: RedisService) {}

  /** Receives waiting for the app to start (open). */
  get waitingForStart(): number {
    return this.startWaiters;
  }

  /** The app has started (its HTTP server listens): receives may go out from now on. */
  open(): void {
    this.serving = true;
    this.startServing();
  }

  /** Aborts when the app begins to shut down. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  /** True while receives are held back. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** How many times a receive was held back (once per wait step of at most 250 ms). */
  get held(): number {
    return this.heldSteps;
  }

  /** sqs-consumer's preReceiveMessageCallback: resolves when a receive may go out. */
  async beforeReceive(): Promise<void> {
    if (!this.serving) {
      this.startWaiters += 1;
      await this.served;
      this.startWaiters -= 1;
    }
    while (!this.closing.signal.aborted) {
      // Redis back after an outage: the failures were its absence, not the messages.
      if (this.redis.ready && this.redisWasAway) this.batchProgressed();
      this.redisWasAway = !this.redis.ready;
      const partOfRedisAway = this.redis.ready && !(await this.probed());
      if (this.closing.signal.aborted) break; // closed while the probe was out
      const waitMs = this.pausedUntil - Date.now();
      const failingReceives = this.redis.ready && this.failedReceives > 0;
      if (this.redis.ready && !partOfRedisAway && waitMs <= 0) {
        // While receives fail, each retry is not news: receiveSucceeded says when they work.
        if (this.paused && !failingReceives) this.logger.log('consumption resumed');
        this.paused = false;
        return;
      }
      if (!this.paused) {
        if (!failingReceives) {
          const why = !this.redis.ready
            ? 'redis is not ready'
            : partOfRedisAway
              ? 'part of redis does not answer (a batch failed there)'
              : `${this.failedBatches} batches in a row failed`;
          this.logger.warn(`consumption paused: ${why}`);
        }
        this.paused = true;
      }
      this.heldSteps += 1;
      await sleep(Math.min(Math.max(waitMs, 50), 250), this.closing.signal);
    }
    // sqs-consumer reports this as a receive error and polls no more (it is stopped).
    throw new Error('shutting down: no further receives');
  }

  /**
   * A batch in which every message was left for retry while Redis looked ready (a poison
   * message, the guard's model away under `hold`, Redis refusing writes): pause the
   * receives, longer each time. Redis being away is handled by the readiness check alone.
   */
  batchFailed(): void {
    this.failedBatches += 1;
    const pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** Math.min(this.failedBatches - 1, 16));
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + pause);
  }

  /**
   * Some messages of a batch failed while Redis looked ready: part of it may be away (a
   * Cluster master stalled or down, its slots failing while the others answer). From now
   * on the receives wait until `answers` resolves true (one probe at a time, shared by the
   * consumers): the failed messages come back after their backoff with no receive spent
   * meanwhile, instead of failing on every receive until the dead-letter queue takes them.
   * A failure that was not Redis's costs one probe that answers at once.
   */
  suspectRedis(answers: () => Promise<boolean>): void {
    this.probe = answers;
  }

  /** True unless a suspected part of Redis still does not answer (suspectRedis). */
  private async probed(): Promise<boolean> {
    const probe = this.probe;
    if (probe === undefined) return true;
    this.probing ??= probe()
      .catch(() => false)
      .finally(() => (this.probing = undefined));
    const answers = await this.probing;
    if (answers && this.probe === probe) this.probe = undefined;
    return answers;
  }

  /**
   * A ReceiveMessage failed (sqs-consumer's 'error' event): SQS is unreachable, refuses or
   * throttles. Pause the receives, longer each time in a row; the first failure of a run is
   * logged, later ones only at debug level.
   */
  receiveFailed(error: Error): void {
    if (this.closing.signal.aborted) return;
    this.failedReceives += 1;
    const steps = Math.min(this.failedReceives - 1, 16);
    const pause = Math.min(MAX_RECEIVE_PAUSE_MS, FIRST_RECEIVE_PAUSE_MS * 2 ** steps);
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + pause);
    if (this.failedReceives === 1) {
      this.logger.warn(`consumption paused: ${error.message}; receiving again after a growing pause (at most 10 s)`);
    } else {
      this.logger.debug(`${error.message} (${this.failedReceives} in a row)`);
    }
  }

  /** A ReceiveMessage answered (sqs-consumer's postReceiveMessageCallback). */
  receiveSucceeded(): void {
    if (this.failedReceives === 0) return;
    this.logger.log(`receives work again after ${this.failedReceives} failed`);
    this.failedReceives = 0;
  }

  /** A batch in which some message reached a final outcome: no pause. */
  batchProgressed(): void {
    this.failedBatches = 0;
    this.pausedUntil = 0;
  }

  close(): void {
    this.closing.abort();
    // A receive still waiting for the start ends now (its loop sees the close).
    this.startServing();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One gate shared by the consumers' options (SqsModule) and the batch handler. */
@Module({ providers: [ConsumptionGate], exports: [ConsumptionGate] })
export class ConsumptionGateModule {}
