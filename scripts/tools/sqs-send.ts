// Batching, size checks and retries for sending message bodies to SQS. The actual API call is
// injected, so this module has no AWS dependency and can be tested without a queue.

export const MAX_MESSAGE_BYTES = 256 * 1024; // SQS's classic limit for one message and for one batch request
export const MAX_BATCH_ENTRIES = 10;

export type Outgoing = { index: number; body: string; bytes: number };
export type Failure = { index: number; reason: string };
export type BatchEntry = { Id: string; MessageBody: string };
export type BatchOutcome = { successfulIds: string[]; failed: { id: string; reason: string }[] };
export type SendBatchFn = (entries: BatchEntry[]) => Promise<BatchOutcome>;

// Characters SQS accepts in a message body (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF).
const FORBIDDEN_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Why a body cannot be sent at all, or null when it can. */
export function checkBody(body: string, bytes: number): string | null {
  if (bytes > MAX_MESSAGE_BYTES)
    return `message is ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte (256 KiB) SQS limit; not sent`;
  if (body.length === 0) return 'message is empty; not sent';
  const bad = FORBIDDEN_CHARS.exec(body);
  if (bad)
    return `message contains a character SQS rejects (U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}); not sent`;
  return null;
}

/** Groups sendable bodies into batches of at most 10 entries and 256 KiB in total; the rest are rejected. */
export function planBatches(bodies: readonly string[]): { batches: Outgoing[][]; rejected: Failure[] } {
  const batches: Outgoing[][] = [];
  const rejected: Failure[] = [];
  let current: Outgoing[] = [];
  let currentBytes = 0;
  bodies.forEach((body, index) => {
    const bytes = Buffer.byteLength(body, 'utf8');
    const reason = checkBody(body, bytes);
    if (reason) {
      rejected.push({ index, reason });
      return;
    }
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && currentBytes + bytes > MAX_MESSAGE_BYTES)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push({ index, body, bytes });
    currentBytes += bytes;
  });
  if (current.length > 0) batches.push(current);
  return { batches, rejected };
}

export type SendOptions = {
  concurrency: number;
  /** Retries after the first attempt, per entry (default 3). */
  retries?: number;
  /** Delay before retry number `attempt` (1-based), in ms. Default: 200ms, 400ms, 800ms (+ jitter). */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (done: number, failed: number) => void;
  /**
   * When a request still throws after all retries (endpoint down, DNS, credentials), stop
   * starting new batches and report their messages as failed rather than retrying each of
   * them (default true).
   */
  stopOnRequestFailure?: boolean;
};

const defaultBackoff = (attempt: number) => 200 * 2 ** (attempt - 1) + Math.floor(Math.random() * 100);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends the batches with up to `concurrency` requests in flight. Entries reported in Failed[] and
 * whole batches whose request throws are retried (only the entries still pending) up to
 * `retries` times with backoff. Returns how many were sent and why the others failed.
 */
export async function sendBatches(
  batches: readonly Outgoing[][],
  send: SendBatchFn,
  options: SendOptions,
): Promise<{ sent: number; failures: Failure[] }> {
  const retries = options.retries ?? 3;
  const backoff = options.backoffMs ?? defaultBackoff;
  const sleep = options.sleep ?? defaultSleep;
  const stopOnRequestFailure = options.stopOnRequestFailure ?? true;
  let sent = 0;
  const failures: Failure[] = [];
  let next = 0;
  let fatal: string | undefined;

  const runBatch = async (batch: Outgoing[]) => {
    let pending = batch;
    const reasons = new Map<number, string>();
    let lastThrew = false;
    for (let attempt = 0; attempt <= retries && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt));
      const byId = new Map(pending.map((o) => [`m${o.index}`, o]));
      try {
        const outcome = await send(pending.map((o) => ({ Id: `m${o.index}`, MessageBody: o.body })));
        const ok = new Set(outcome.successfulIds);
        for (const f of outcome.failed) {
          const o = byId.get(f.id);
          if (o) reasons.set(o.index, f.reason);
        }
        const still: Outgoing[] = [];
        for (const o of pending) {
          if (ok.has(`m${o.index}`)) sent += 1;
          else {
            if (!reasons.has(o.index))
              reasons.set(o.index, 'no result for this entry in the SendMessageBatch response');
            still.push(o);
          }
        }
        pending = still;
        lastThrew = false;
      } catch (e) {
        const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        for (const o of pending) reasons.set(o.index, reason);
        lastThrew = true;
      }
      options.onProgress?.(sent, failures.length);
    }
    for (const o of pending) failures.push({ index: o.index, reason: reasons.get(o.index) ?? 'unknown error' });
    if (lastThrew && pending.length > 0 && stopOnRequestFailure && fatal === undefined) {
      fatal = reasons.get(pending[0].index);
    }
    options.onProgress?.(sent, failures.length);
  };

  const worker = async () => {
    while (next < batches.length && fatal === undefined) {
      const batch = batches[next++];
      await runBatch(batch);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency, batches.length)) }, worker);
  await Promise.all(workers);
  for (; next < batches.length; next++) {
    for (const o of batches[next])
      failures.push({ index: o.index, reason: `not sent: an earlier request kept failing (${fatal})` });
  }
  failures.sort((a, b) => a.index - b.index);
  return { sent, failures };
}
