import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';

/** A queue to create when it is missing. */
export interface QueueSpec {
  readonly name: string;
  readonly attributes: Record<string, string>;
}

/** What the main thread asks of the emulator's thread (its workerData). */
export interface EmulatorRequest {
  readonly port: number;
  /** The address it listens on (SQS_EMULATOR_HOST). */
  readonly host: string;
  readonly dataDir: string;
  readonly queue: QueueSpec;
  readonly dlq: QueueSpec;
  readonly maxReceiveCount: number;
}

export type EmulatorToMain =
  | { type: 'ready'; port: number; queueUrl: string; attributes: Record<string, string> }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

export interface EmbeddedEmulator {
  readonly port: number;
  readonly queueUrl: string;
  /** The main queue's attributes, its RedrivePolicy to the dead-letter queue included. */
  readonly attributes: Record<string, string>;
  stop(): Promise<void>;
}

/** The compiled worker (dist/): the emulator only ever runs from the build. */
const WORKER = join(__dirname, 'embedded-emulator.worker.js');

/**
 * How long the emulator may take to start (its queues created, its backlog read from disk):
 * a thread that never says it is ready would otherwise hold the app's start-up with nothing
 * logged. It starts in well under a second here with thousands of messages kept; the bound
 * leaves room for a backlog of millions, and a line is logged while it waits.
 */
export const EMULATOR_READY_TIMEOUT_MS = 300_000;
const EMULATOR_SLOW_START_MS = 30_000;

/** For tests: another worker script, another bound. */
export interface EmulatorStart {
  readonly workerPath?: string;
  readonly readyTimeoutMs?: number;
}

/**
 * Starts fauxqs on a thread of its own (docs/DESIGN.md, the embedded emulator): in the
 * app's process, as before, but with a heap of its own, so the app's thread can run under a
 * tight heap limit while the emulator keeps any backlog in memory; its per-message work
 * also no longer takes turns with the pipeline and the API on one event loop. Resolves once
 * the queues exist; rejects with the thread's error when it cannot start (a port in use, an
 * unreadable data directory).
 */
export function startEmbeddedEmulator(
  request: EmulatorRequest,
  { workerPath = WORKER, readyTimeoutMs = EMULATOR_READY_TIMEOUT_MS }: EmulatorStart = {},
): Promise<EmbeddedEmulator> {
  if (!existsSync(workerPath)) {
    return Promise.reject(
      new Error(`the embedded SQS emulator runs from the build (${workerPath} is missing): run \`pnpm build\``),
    );
  }
  // Its own heap limit: the app's --max-old-space-size bounds the pipeline's thread, while the
  // emulator keeps its whole backlog in memory and must not run out with a large one.
  const worker = new Worker(workerPath, { workerData: request, resourceLimits: { maxOldGenerationSizeMb: 4096 } });
  let exited = false;
  worker.once('exit', () => (exited = true));
  // After start-up: the emulator failing is logged (the readiness check then sees the queue
  // gone), never an uncaught 'error' event that would end the whole process.
  const logger = new Logger('EmbeddedEmulator');
  worker.on('error', (error: Error) => logger.error(`the SQS emulator's thread failed: ${error.message}`));
  const next = (): Promise<EmulatorToMain> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: EmulatorToMain): void => {
        cleanup();
        resolve(message);
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`the SQS emulator's thread ended (exit code ${code})`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  let timer: NodeJS.Timeout | undefined;
  const tooLate = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the embedded SQS emulator did not start within ${readyTimeoutMs / 1000} s`)),
      readyTimeoutMs,
    );
  });
  const slow = setTimeout(
    () => logger.warn(`the SQS emulator has not started after ${EMULATOR_SLOW_START_MS / 1000} s; still waiting`),
    EMULATOR_SLOW_START_MS,
  );
  // Not awaited: a thread blocked in a native call cannot be ended, and the start-up must
  // fail all the same.
  const onFailure = (error: unknown): Promise<never> => {
    void worker.terminate();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  };
  const onFirst = async (first: EmulatorToMain): Promise<EmbeddedEmulator> => {
    if (first.type !== 'ready') {
      await worker.terminate();
      throw new Error(first.type === 'failed' ? first.message : 'the SQS emulator stopped while starting');
    }
    return {
      port: first.port,
      queueUrl: first.queueUrl,
      attributes: first.attributes,
      stop: async () => {
        if (exited) return;
        const answer = next();
        worker.postMessage('stop');
        // The emulator's own stop closes its server and its SQLite files; then the thread goes.
        await answer.catch(() => undefined);
        await worker.terminate();
      },
    };
  };
  return Promise.race([next(), tooLate])
    .finally(() => {
      clearTimeout(timer);
      clearTimeout(slow);
    })
    .then(onFirst, onFailure);
}
