import { createHash } from 'node:crypto';
import { generate, INVALID_KINDS, formatTimestamp } from '../generator.ts';
import type { GeneratorOptions, OutputFormat } from '../generator.ts';
import { expectedPathFor, renderMessages, renderNdjson } from '../writers.ts';
import { readMessages } from '../readers.ts';
import { compareAggregates, parseIsoTimestamp, replayMessages, validateOrder } from '../reference.ts';
import { centsToFixed2, centsToShort, decimalTextToCents, numberToCents } from '../money.ts';
import { createRng } from '../prng.ts';

const parseJson = (text: string) => JSON.parse(text) as Record<string, unknown>;

const base: GeneratorOptions = {
  seed: 42,
  count: 800,
  users: 60,
  from: '2026-01-01',
  to: '2026-03-31',
  duplicateRate: 0.05,
  invalidRate: 0.04,
  conflictRate: 0.01,
  format: 'ndjson',
};

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function bytesFor(opts: GeneratorOptions): Promise<Uint8Array> {
  return renderMessages(opts.format, generate(opts).messages);
}

describe('prng', () => {
  it('is deterministic per seed', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });
});

describe('money helpers', () => {
  it('formats and parses cents exactly', () => {
    expect(centsToFixed2(29997)).toBe('299.97');
    expect(centsToFixed2(5)).toBe('0.05');
    expect(centsToFixed2(-500)).toBe('-5.00');
    expect(centsToShort(2000)).toBe('20');
    expect(centsToShort(1250)).toBe('12.5');
    expect(decimalTextToCents('0.1')).toBe(10);
    expect(decimalTextToCents('19.999')).toBeNull();
    expect(numberToCents(99.99 * 3)).toBeNull(); // 299.96999999999997: float drift is not exact cents
    expect(numberToCents(299.97)).toBe(29997);
    expect(numberToCents(0.1 + 0.2)).toBeNull();
    expect(numberToCents(4.35)).toBe(435); // 4.35 * 100 = 434.99999999999994 in floats
    expect(numberToCents(1e-7)).toBeNull();
    expect(numberToCents(1e21)).toBeNull(); // not a safe integer number of cents
  });
});

describe('reference rules', () => {
  it('reads timestamps with Z, offsets and without zone (UTC)', () => {
    expect(parseIsoTimestamp('2026-03-04T10:15:00Z')).toBe(Date.UTC(2026, 2, 4, 10, 15));
    expect(parseIsoTimestamp('2026-03-01T01:30:00+02:00')).toBe(Date.UTC(2026, 1, 28, 23, 30));
    expect(parseIsoTimestamp('2026-02-28T20:00:00-05:00')).toBe(Date.UTC(2026, 2, 1, 1, 0));
    expect(parseIsoTimestamp('2026-03-04T10:15:00')).toBe(Date.UTC(2026, 2, 4, 10, 15));
    expect(parseIsoTimestamp('2026-02-30T10:15:00Z')).toBeNull();
    expect(parseIsoTimestamp('04/03/2026 10:15')).toBeNull();
  });
  it('accepts the seed message and checks the sum in cents', () => {
    const seed = parseJson(
      '{"order_id":"ORD-0001","user_id":"U-17","order_timestamp":"2026-03-04T10:15:00Z","order_value":99.99,"items":[{"product_id":"P-1","quantity":2,"price_per_unit":20.00},{"product_id":"P-2","quantity":1,"price_per_unit":59.99}],"shipping_address":"1 Main St, Springfield","payment_method":"credit_card"}',
    );
    expect(validateOrder(seed).ok).toBe(true);
    expect(validateOrder({ ...seed, order_value: 100 }).ok).toBe(false);
    const drift = { ...seed, order_value: 299.97, items: [{ product_id: 'p', quantity: 3, price_per_unit: 99.99 }] };
    expect(validateOrder(drift).ok).toBe(true);
  });
});

describe('generator determinism', () => {
  it.each<OutputFormat>(['ndjson', 'json', 'csv', 'xlsx'])(
    'same options → byte-identical %s output',
    async (format) => {
      const opts = { ...base, format };
      const a = await bytesFor(opts);
      const b = await bytesFor(opts);
      expect(sha(a)).toBe(sha(b));
      expect(JSON.stringify(generate(opts).expected)).toBe(JSON.stringify(generate(opts).expected));
      const other = await bytesFor({ ...opts, seed: 43 });
      expect(sha(other)).not.toBe(sha(a));
    },
  );

  it('gives the same orders (aggregates) for the same seed in every format', () => {
    const agg = (format: OutputFormat) => {
      const { expected } = generate({ ...base, format });
      return JSON.stringify([expected.messages, expected.global, expected.users, expected.days, expected.user_days]);
    };
    expect(agg('csv')).toBe(agg('ndjson'));
    expect(agg('xlsx')).toBe(agg('ndjson'));
    expect(agg('json')).toBe(agg('ndjson'));
  });
});

describe('expected aggregates', () => {
  it.each<OutputFormat>(['ndjson', 'json', 'csv', 'xlsx'])('equal a replay of the emitted %s file', async (format) => {
    const opts = { ...base, format };
    const { messages, expected } = generate(opts);
    const bytes = await renderMessages(format, messages);
    const replayed = replayMessages(await readMessages(format, bytes));
    expect(compareAggregates(replayed, expected)).toEqual([]);
    expect(replayed.messages).toEqual(expected.messages);
    expect(expected.messages.total).toBe(opts.count);
  });

  it('hold whichever copy of a conflicting or duplicated order is seen first', async () => {
    const { messages, expected } = generate(base);
    const bodies = await readMessages('ndjson', await renderMessages('ndjson', messages));
    const id = (body: string): string =>
      String((JSON.parse(body) as { order_id?: unknown }).order_id)
        .trim()
        .toUpperCase();
    // Every repeat moved in front of the first message with its order_id, as concurrent
    // consumers or a retry may deliver it.
    const reordered = [...bodies];
    messages.forEach((m, i) => {
      if (m.kind !== 'conflict' && m.kind !== 'duplicate') return;
      const first = reordered.findIndex((b) => b.startsWith('{') && id(b) === id(bodies[i] ?? ''));
      reordered.splice(reordered.indexOf(bodies[i] ?? ''), 1);
      reordered.splice(first, 0, bodies[i] ?? '');
    });
    expect(reordered).not.toEqual(bodies);
    const replayed = replayMessages(reordered);
    expect(compareAggregates(replayed, expected)).toEqual([]);
    expect(replayed.messages).toEqual(expected.messages);
  });

  it('has the requested mix of message kinds', () => {
    const { messages, expected } = generate(base);
    const count = (k: string) => messages.filter((m) => m.kind === k).length;
    expect(count('duplicate')).toBe(40);
    expect(count('invalid')).toBe(32);
    expect(count('conflict')).toBe(8);
    expect(count('valid')).toBe(720);
    expect(expected.messages).toEqual({ total: 800, valid_unique: 720, duplicates: 40, invalid: 32, conflicts: 8 });
    for (const kind of INVALID_KINDS) expect(expected.invalid_by_kind[kind]).toBeGreaterThan(0);
    expect(messages.some((m) => m.kind === 'duplicate' && m.identical)).toBe(true);
    expect(messages.some((m) => m.kind === 'duplicate' && !m.identical)).toBe(true);
  });

  it('places duplicates and conflicts after their original, and invalid orders use unused ids', () => {
    const { messages } = generate(base);
    const norm = (v: unknown) => String(v).trim().toUpperCase();
    const firstValid = new Map<string, number>();
    const invalidIds = new Set<string>();
    messages.forEach((m, i) => {
      const id = m.doc ? norm(m.doc.order_id) : null;
      if (m.kind === 'valid' && id) {
        expect(firstValid.has(id)).toBe(false);
        firstValid.set(id, i);
      }
      if ((m.kind === 'duplicate' || m.kind === 'conflict') && id) expect(firstValid.get(id)).toBeLessThan(i);
      if (m.kind === 'invalid' && id && m.doc?.order_id !== undefined) invalidIds.add(id);
    });
    for (const id of invalidIds) expect(firstValid.has(id)).toBe(false);
  });

  it('creates ties in order count and in spend', () => {
    const { expected } = generate(base);
    expect(expected.ties.order_count.length).toBeGreaterThanOrEqual(2);
    expect(expected.ties.total_spend_cents.length).toBeGreaterThanOrEqual(3);
    for (const group of expected.ties.order_count) {
      expect(new Set(group.map((u) => expected.users[u].order_count)).size).toBe(1);
    }
    for (const group of expected.ties.total_spend_cents) {
      expect(new Set(group.map((u) => expected.users[u].total_spend_cents)).size).toBe(1);
    }
    // The two users with most orders are tied, so a ranking needs the user_id tie-break.
    const byCount = Object.values(expected.users)
      .map((u) => u.order_count)
      .sort((a, b) => b - a);
    expect(byCount[0]).toBe(byCount[1]);
  });

  it('mixes timestamp forms, and some offsets fall on another UTC day than their local date', () => {
    const text = renderNdjson(generate(base).messages);
    const stamps = [...text.matchAll(/"order_timestamp":"([^"]*)"/g)].map((m) => m[1]);
    expect(stamps.some((s) => s.endsWith('Z'))).toBe(true);
    expect(stamps.some((s) => /[+-]\d\d:\d\d$/.test(s))).toBe(true);
    expect(stamps.some((s) => /T\d\d:\d\d:\d\d$/.test(s))).toBe(true);
    const crossing = stamps.filter(
      (s) =>
        /[+-]\d\d:\d\d$/.test(s) &&
        parseIsoTimestamp(s) !== null &&
        new Date(parseIsoTimestamp(s) as number).toISOString().slice(0, 10) !== s.slice(0, 10),
    );
    expect(crossing.length).toBeGreaterThan(0);
    expect(formatTimestamp(Date.UTC(2026, 0, 31, 23, 30), { kind: 'offset', minutes: 120 })).toBe(
      '2026-02-01T01:30:00+02:00',
    );
  });

  it('writes not-JSON lines in ndjson but none in json', () => {
    const ndjson = renderNdjson(generate(base).messages).trimEnd().split('\n');
    const notJson = ndjson.filter((l) => {
      try {
        parseJson(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson.length).toBeGreaterThan(0);
    const json = generate({ ...base, format: 'json' });
    expect(json.messages.some((m) => m.raw !== undefined)).toBe(false);
    expect(json.expected.invalid_by_kind.not_json).toBeUndefined();
  });

  it('names the expected file beside the orders file', () => {
    expect(expectedPathFor('data/sample-orders.ndjson', 'ndjson')).toBe('data/sample-orders.expected.json');
    expect(expectedPathFor('data/sample-orders.xlsx', 'xlsx')).toBe('data/sample-orders.xlsx.expected.json');
  });
});
