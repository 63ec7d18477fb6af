// CLI: ./scripts/populate --help
import { readFileSync, statSync } from 'node:fs';
import { SQSClient, GetQueueUrlCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { parseArgs, intOption, UsageError } from './args.ts';
import { formatFromPath, InputError, readMessagesAt, SUPPORTED_EXTENSIONS } from './readers.ts';
import { planBatches, sendBatches } from './sqs-send.ts';
import type { BatchEntry, BatchOutcome } from './sqs-send.ts';
import { describeTarget, resolveTarget } from './sqs-target.ts';

const USAGE = `Usage: ./scripts/populate <file> [--queue-url URL] [--concurrency 8] [--dry-run]

Sends every order in <file> to SQS, one message per order, unchanged in substance:
  .ndjson/.jsonl  one message per non-empty line, the raw line text (not-JSON lines are sent too)
  .json           an array; each element JSON.stringify'd, numbers as written
  .csv            RFC 4180, header row; one order object per row, the items column's JSON text
                  parsed into an array (kept as text when it does not parse), order_value a number;
                  numbers keep the text they are written with (never passed through a float)
  .xlsx           first visible worksheet, header row matched case-insensitively; dates → ISO-8601 UTC
Invalid orders are sent as well: the service is the one that rejects them.

Queue:
  --queue-url URL or SQS_QUEUE_URL    a queue; real AWS uses the default credential chain
  otherwise                           the local emulator: http://127.0.0.1:\${SQS_EMULATOR_PORT:-4566},
                                      queue \${SQS_QUEUE_NAME:-orders} (resolved with GetQueueUrl)
  SQS_ENDPOINT                        endpoint override for the SQS client
  AWS_REGION                          region (default: the queue URL's, else us-east-1)
  SQS_MESSAGE_GROUP_ID                a FIFO queue's (.fifo) message group (default orders); each
                                      message gets its own deduplication id, so duplicates arrive

Options:
  --concurrency N   SendMessageBatch requests (10 messages each) in flight (default 8)
  --dry-run         read and check the file, send nothing
  -h, --help        this help

Exit status: 0 all sent, 1 some messages failed (or the queue is unreachable), 2 usage or input error.
`;

function fmtSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function progressBar(total: number): { update: (done: number, failed: number) => void; finish: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  const draw = (done: number, failed: number) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((width * (done + failed)) / total);
    const pct = total === 0 ? 100 : Math.floor((100 * (done + failed)) / total);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} sent${failed ? `, ${failed} failed` : ''} (${pct}%)`,
    );
  };
  return {
    update(done, failed) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 80 && done + failed < total) return;
      last = now;
      draw(done, failed);
    },
    finish() {
      if (tty) process.stderr.write('\r\x1b[2K');
    },
  };
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    return `${code ?? e.name}: ${e.message}`;
  }
  return String(e);
}

async function main(argv: string[]): Promise<number> {
  const { options: o, positionals } = parseArgs(argv, {
    help: 'boolean',
    'queue-url': 'string',
    concurrency: 'string',
    'dry-run': 'boolean',
  });
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('missing <file>');
  if (positionals.length > 1) throw new UsageError(`one file at a time (got ${positionals.length})`);
  const file = positionals[0];
  const concurrency = intOption(o.concurrency, 'concurrency', 8);
  if (concurrency < 1 || concurrency > 100) throw new UsageError('--concurrency must be between 1 and 100');
  const format = formatFromPath(file);
  if (!format) throw new UsageError(`unknown file type: ${file} (expected ${SUPPORTED_EXTENSIONS.join(', ')})`);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UsageError(`not a file: ${file}`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`file not found: ${file}`);
  }
  const started = Date.now();
  let bodies: string[];
  let where: string[];
  try {
    ({ bodies, where } = await readMessagesAt(format, size === 0 ? new Uint8Array() : readFileSync(file)));
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  const { batches, rejected } = planBatches(bodies);
  const target = resolveTarget(process.env, typeof o['queue-url'] === 'string' ? o['queue-url'] : undefined);
  const reportFailures = (failures: { index: number; reason: string }[]) => {
    // Grouped by reason, each message named by its place in the file:
    // "3 failed (line 4, line 9, line 12): <reason>".
    const groups = new Map<string, string[]>();
    for (const f of failures) {
      const place = where[f.index] ?? `message ${f.index + 1}`;
      const list = groups.get(f.reason);
      if (list) list.push(place);
      else groups.set(f.reason, [place]);
    }
    let shown = 0;
    for (const [reason, places] of groups) {
      if (shown++ === 10) {
        process.stderr.write(`  ... and ${groups.size - 10} other reasons\n`);
        break;
      }
      const which = places.slice(0, 5).join(', ') + (places.length > 5 ? ', ...' : '');
      process.stderr.write(`  ${places.length} failed (${which}): ${reason}\n`);
    }
  };

  if (o['dry-run']) {
    reportFailures(rejected);
    process.stdout.write(
      `dry run: would send ${bodies.length - rejected.length} messages (${rejected.length} failed) from ${file} in ${batches.length} batches to ${describeTarget(target)}\n`,
    );
    return rejected.length > 0 ? 1 : 0;
  }

  const client = new SQSClient({
    region: target.region,
    endpoint: target.endpoint,
    credentials: target.emulator ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined,
    // An endpoint that stops answering fails the send (after the SDK's retries) instead of
    // holding the command for good: requestTimeout until the headers (the SDK only warns then
    // unless told to throw), socketTimeout while the body is read.
    requestHandler: {
      connectionTimeout: 10_000,
      requestTimeout: 30_000,
      socketTimeout: 30_000,
      throwOnRequestTimeout: true,
    },
  });
  try {
    let queueUrl = target.queueUrl;
    if (!queueUrl) {
      try {
        queueUrl = (await client.send(new GetQueueUrlCommand({ QueueName: target.queueName }))).QueueUrl;
      } catch (e) {
        const name = e instanceof Error ? e.name : '';
        if (/QueueDoesNotExist|NonExistentQueue/.test(name)) {
          process.stderr.write(
            `populate: queue "${target.queueName}" does not exist at ${target.endpoint} (create it, or set SQS_QUEUE_NAME or SQS_QUEUE_URL)\n`,
          );
        } else {
          process.stderr.write(
            `populate: cannot reach SQS at ${target.endpoint} (${errorText(e)}). Is the emulator running? Set SQS_EMULATOR_PORT, SQS_ENDPOINT or SQS_QUEUE_URL.\n`,
          );
        }
        return 1;
      }
      if (!queueUrl) {
        process.stderr.write(`populate: GetQueueUrl returned no URL for "${target.queueName}"\n`);
        return 1;
      }
    }
    const fifo = queueUrl.endsWith('.fifo');
    const runId = `${started.toString(36)}-${process.pid}`;
    const bar = progressBar(bodies.length);
    const send = async (entries: BatchEntry[]): Promise<BatchOutcome> => {
      const Entries: SendMessageBatchRequestEntry[] = entries.map((e) =>
        // FIFO queues need a group; an explicit deduplication id keeps SQS from dropping the
        // deliberate duplicates (content-based deduplication would).
        fifo
          ? {
              ...e,
              MessageGroupId: process.env.SQS_MESSAGE_GROUP_ID || 'orders',
              MessageDeduplicationId: `${runId}-${e.Id}`,
            }
          : e,
      );
      const res = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
      return {
        successfulIds: (res.Successful ?? []).map((s) => s.Id ?? ''),
        failed: (res.Failed ?? []).map((f) => ({
          id: f.Id ?? '',
          reason: `${f.Code ?? 'error'}${f.Message ? `: ${f.Message}` : ''}`,
        })),
      };
    };
    const { sent, failures } = await sendBatches(batches, send, {
      concurrency,
      onProgress: (done, failed) => bar.update(done, failed + rejected.length),
    });
    bar.finish();
    const allFailures = [...rejected, ...failures].sort((a, b) => a.index - b.index);
    reportFailures(allFailures);
    process.stdout.write(
      `sent ${sent} messages (${allFailures.length} failed) from ${file} in ${fmtSeconds(Date.now() - started)}\n`,
    );
    return allFailures.length > 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`populate: ${e.message}\n(see ./scripts/populate --help)\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`populate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
