// CLI: ./scripts/generate-orders --help
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { parseArgs, intOption, rateOption, UsageError } from './args.ts';
import { generate, OUTPUT_FORMATS, planCounts, checkOptions } from './generator.ts';
import type { GeneratorOptions, OutputFormat } from './generator.ts';
import { expectedPathFor, renderMessages } from './writers.ts';
import { formatLayered } from './json-text.ts';
import { SUPPORTED_EXTENSIONS, formatFromPath, readMessages } from './readers.ts';
import { compareAggregates, replayMessages } from './reference.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

const USAGE = `Usage: ./scripts/generate-orders [options]

Writes a deterministic stream of order messages and, beside it, the aggregates the service
must end up with (<name>.expected.json; for csv/json/xlsx <name>.<ext>.expected.json).

Options:
  --seed N              PRNG seed (default 1); same arguments → byte-identical files
  --count N             total messages, all kinds included (default 1000, at most 300000)
  --users N             number of distinct users, skewed: a few heavy buyers (default 100)
  --from YYYY-MM-DD     first UTC day (default 2026-01-01; 1970-01-01 or later)
  --to YYYY-MM-DD       last UTC day, inclusive (default 2026-03-31; 9999-12-30 or earlier)
  --duplicate-rate R    share of re-sent earlier orders, same content (default 0.05)
  --invalid-rate R      share of invalid orders (default 0.03)
  --conflict-rate R     share of re-used order_ids with different content (default 0)
  --order-prefix P      order ids are P0001, P0002, ... (default ORD-; letters, digits and
                        . _ - # / @ + only, as the service's ids)
  --out PATH            orders file (default data/generated/orders.<format>)
  --format F            ndjson | json | csv | xlsx (default: from --out's extension, else
                        ndjson); --out must have an extension ./scripts/populate reads
                        (.ndjson .jsonl .json .csv .xlsx) that agrees with it
  --expected PATH       where to write the expected aggregates (default: beside --out)
  -h, --help            this help

Notes:
  Money in the expected file is integer cents; days and months are the UTC ones of each
  order's own timestamp; only the first-seen valid message of an order_id counts.
  Invalid kinds: value_mismatch, missing_field, bad_quantity, price_3dp, negative_price,
  bad_timestamp, not_json, empty_items, too_many_items. In ndjson a not_json message is a raw
  text line; in csv/xlsx it is an items cell whose text is not JSON; json (an array) has no
  not_json messages at all. After writing, the file is read back and replayed through a
  reference validator; the run fails if that does not reproduce the expected aggregates.

Exit status: 0 written, 1 the self-check failed, 2 a usage error (nothing written).
`;

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

/** Path for the record in the expected file: relative to the repository when inside it, no machine paths. */
function label(abs: string): string {
  const rel = relative(ROOT, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? toPosix(rel) : basename(abs);
}

async function main(argv: string[]): Promise<number> {
  const { options: o, positionals } = parseArgs(argv, {
    help: 'boolean',
    seed: 'string',
    count: 'string',
    users: 'string',
    from: 'string',
    to: 'string',
    'duplicate-rate': 'string',
    'invalid-rate': 'string',
    'conflict-rate': 'string',
    'order-prefix': 'string',
    out: 'string',
    format: 'string',
    expected: 'string',
  });
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (typeof o.format === 'string' && !(OUTPUT_FORMATS as readonly string[]).includes(o.format))
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  // ./scripts/populate reads a file by its extension: the file must be one it reads back as
  // what was written.
  const fromName = typeof o.out === 'string' ? formatFromPath(o.out) : null;
  if (typeof o.out === 'string' && fromName === null)
    throw new UsageError(
      `--out ${o.out}: ./scripts/populate reads a file by its extension; use one of ${SUPPORTED_EXTENSIONS.join(', ')}`,
    );
  if (typeof o.format === 'string' && fromName !== null && fromName !== o.format)
    throw new UsageError(
      `--out ${String(o.out)} is read as ${fromName} by ./scripts/populate, but --format is ${o.format}: name the file for its format, or leave --format out`,
    );
  const format: OutputFormat = (o.format as OutputFormat | undefined) ?? fromName ?? 'ndjson';
  const out = typeof o.out === 'string' ? resolve(o.out) : resolve(ROOT, 'data', 'generated', `orders.${format}`);
  const expectedPath = typeof o.expected === 'string' ? resolve(o.expected) : expectedPathFor(out, format);
  if (expectedPath === out) throw new UsageError('--expected is the same file as --out');
  for (const [name, path] of [
    ['--out', out],
    ['--expected', expectedPath],
  ] as const) {
    if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${name} ${path} is a directory`);
  }

  const opts: GeneratorOptions = {
    seed: intOption(o.seed, 'seed', 1),
    count: intOption(o.count, 'count', 1000),
    users: intOption(o.users, 'users', 100),
    from: typeof o.from === 'string' ? o.from : '2026-01-01',
    to: typeof o.to === 'string' ? o.to : '2026-03-31',
    duplicateRate: rateOption(o['duplicate-rate'], 'duplicate-rate', 0.05),
    invalidRate: rateOption(o['invalid-rate'], 'invalid-rate', 0.03),
    conflictRate: rateOption(o['conflict-rate'], 'conflict-rate', 0),
    orderPrefix: typeof o['order-prefix'] === 'string' ? o['order-prefix'] : 'ORD-',
    format,
  };
  try {
    checkOptions(opts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const info = {
    seed: opts.seed,
    count: opts.count,
    users: opts.users,
    from: opts.from,
    to: opts.to,
    duplicate_rate: opts.duplicateRate,
    invalid_rate: opts.invalidRate,
    conflict_rate: opts.conflictRate,
    order_prefix: opts.orderPrefix ?? 'ORD-',
    format,
    out: label(out),
  };
  const { messages, expected } = generate(opts, info);
  const bytes = await renderMessages(format, messages);

  // Self-check: read the bytes back the way populate does and replay them through the reference rules.
  const replayed = replayMessages(await readMessages(format, bytes));
  const diffs = compareAggregates(replayed, expected);
  if (diffs.length > 0) {
    process.stderr.write(
      `internal error: the generated file does not replay to the expected aggregates:\n  ${diffs.join('\n  ')}\n`,
    );
    return 1;
  }

  mkdirSync(dirname(out), { recursive: true });
  mkdirSync(dirname(expectedPath), { recursive: true });
  writeFileSync(out, bytes);
  writeFileSync(expectedPath, formatLayered(expected, 2) + '\n');
  const plan = planCounts(opts);
  process.stdout.write(
    `wrote ${label(out)}: ${opts.count} messages (${plan.valid} valid, ${plan.duplicates} duplicates, ${plan.invalid} invalid, ${plan.conflicts} conflicts), ` +
      `${expected.global.total_orders} orders from ${Object.keys(expected.users).length} users, revenue ${expected.global.total_revenue_cents} cents\n` +
      `wrote ${label(expectedPath)} (self-check: replaying the file reproduces it)\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`generate-orders: ${e.message}\n(see ./scripts/generate-orders --help)\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`generate-orders: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
