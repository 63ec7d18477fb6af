// The order generator's core: a seeded, side-effect-free function from options to a message
// stream plus the aggregates the service must end up with. The expected aggregates are computed
// here from the generator's own model (integer cents), not by re-reading the output.

import { createRng } from './prng.ts';
import type { Rng } from './prng.ts';
import { centsToFixed2, centsToShort } from './money.ts';
import { RawNumber, RawText } from './json-text.ts';
import type { DocObject, DocValue } from './json-text.ts';

export type OutputFormat = 'ndjson' | 'json' | 'csv' | 'xlsx';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['ndjson', 'json', 'csv', 'xlsx'];

export type GeneratorOptions = {
  seed: number;
  /** Total number of messages emitted (valid + duplicates + invalid + conflicts). */
  count: number;
  users: number;
  /** First UTC day, YYYY-MM-DD. */
  from: string;
  /** Last UTC day (inclusive), YYYY-MM-DD. */
  to: string;
  duplicateRate: number;
  invalidRate: number;
  conflictRate: number;
  /** Order ids are <prefix><number>; distinct prefixes keep data sets apart in one store. */
  orderPrefix?: string;
  format: OutputFormat;
};

export const INVALID_KINDS = [
  'value_mismatch',
  'missing_field',
  'bad_quantity',
  'price_3dp',
  'negative_price',
  'bad_timestamp',
  'not_json',
  'empty_items',
  'too_many_items',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export type MessageKind = 'valid' | 'duplicate' | 'invalid' | 'conflict';

/** One emitted message: an order document, or (NDJSON only) a raw text line that is not JSON. */
export type Message = {
  kind: MessageKind;
  invalidKind?: InvalidKind;
  /** For duplicates: whether the message is byte-identical to the original. */
  identical?: boolean;
  doc?: DocObject;
  raw?: string;
  /** xlsx only: write order_timestamp as a real date cell (same instant as the text). */
  xlsxDate: boolean;
};

export type UserExpected = {
  order_count: number;
  total_spend_cents: number;
  first_order_at: string;
  last_order_at: string;
};
export type DayExpected = { orders: number; revenue_cents: number };
export type UserDayExpected = { orders: number; spend_cents: number };

export type Expected = {
  generator: Record<string, string | number>;
  messages: { total: number; valid_unique: number; duplicates: number; invalid: number; conflicts: number };
  global: { total_orders: number; total_revenue_cents: number };
  users: Record<string, UserExpected>;
  days: Record<string, DayExpected>;
  months: Record<string, DayExpected>;
  user_days: Record<string, Record<string, UserDayExpected>>;
  /** Deliberate ties (normalised user ids, sorted): groups with equal order_count / total_spend_cents. */
  ties: { order_count: string[][]; total_spend_cents: string[][] };
  invalid_by_kind: Record<string, number>;
};

export type Generated = { messages: Message[]; expected: Expected };

// ---------------------------------------------------------------------------------------------
// Internal model

type Item = { productId: string; quantity: number; priceCents: number };
type TsForm = { kind: 'Z' } | { kind: 'offset'; minutes: number } | { kind: 'local' };
type IdStyle = 'plain' | 'lower' | 'pad' | 'lower-pad' | 'mixed';
type PaymentStyle = 'plain' | 'upper' | 'pad' | 'title';
type Variant = {
  orderId: IdStyle;
  userId: IdStyle;
  productId: IdStyle;
  payment: PaymentStyle;
  addressPad: boolean;
  money: 'fixed2' | 'short';
  keyOrder: string[] | null;
};
type Order = {
  user: number;
  tsMs: number;
  form: TsForm;
  items: Item[];
  address: string;
  payment: string;
  variant: Variant;
  xlsxDate: boolean;
  orderId: string;
  key: number;
};

const DAY_MS = 86_400_000;
/** The order document's fields, in the seed's order (also the spreadsheet's columns). */
export const ORDER_KEYS = [
  'order_id',
  'user_id',
  'order_timestamp',
  'order_value',
  'items',
  'shipping_address',
  'payment_method',
] as const;
const PAYMENTS = ['credit_card', 'paypal', 'debit_card', 'bank_transfer', 'apple_pay', 'gift_card'];
const PAYMENT_WEIGHTS = [45, 20, 15, 8, 8, 4];
const OFFSETS_MIN = [120, -300, 330, 540, -210, 60, -480, 345, 0, 180, -600, 780];
const STREETS = [
  'Main St',
  'Oak Ave',
  'Pine Rd',
  'Maple Dr',
  'Cedar Ln',
  'Elm St',
  'High St',
  'Station Rd',
  "O'Connell St",
  'Königstraße',
  '"Old Mill" Rd',
  'Rue de la Paix',
];
const CITIES = [
  'Springfield',
  'Shelbyville',
  'Riverton',
  'Lakeside',
  'Fairview',
  'Dublin',
  'München',
  'Bedford',
  'Paris',
  'Portland, OR',
];
const BAD_TIMESTAMPS: DocValue[] = [
  'not-a-timestamp',
  'yesterday',
  '2026-13-04T10:15:00Z',
  '2026-02-30T10:15:00Z',
  '2026-03-04T25:10:00Z',
  '04/03/2026 10:15',
  '',
  1772619300,
];

/** Fixed prices that expose float drift (0.10 + 0.20, 4.35 * 100, 99.99 * 3, ...). */
const FIXED_PRODUCTS: [string, number, number][] = [
  // [product_id, price cents, weight]
  ['P-1', 1999, 4],
  ['P-2', 5999, 2],
  ['P-3', 10, 3],
  ['P-4', 20, 3],
  ['P-5', 9999, 4],
  ['P-6', 30, 2],
  ['P-7', 70, 2],
  ['P-8', 115, 2],
  ['P-9', 435, 3],
  ['P-10', 29, 2],
  ['P-11', 57, 2],
  ['P-12', 113, 2],
  ['P-13', 820, 2],
  ['P-14', 3333, 2],
  ['P-15', 995, 2],
  ['P-16', 249, 2],
  ['P-17', 1250, 1],
  ['P-18', 123456, 0.4],
  ['P-19', 1, 1],
  ['P-20', 500, 1],
  ['P-21', 0, 0.3], // a free sample: price 0.00 is valid (non-negative)
];

type Catalog = { ids: string[]; prices: Map<string, number>; weights: number[] };

function buildCatalog(rng: Rng): Catalog {
  const ids: string[] = [];
  const prices = new Map<string, number>();
  const weights: number[] = [];
  for (const [id, cents, w] of FIXED_PRODUCTS) {
    ids.push(id);
    prices.set(id, cents);
    weights.push(w);
  }
  for (let n = FIXED_PRODUCTS.length + 1; n <= 60; n++) {
    const pattern = rng.int(0, 3);
    const cents =
      pattern === 0
        ? rng.int(1, 150) * 100 - 1
        : pattern === 1
          ? rng.int(1, 80) * 100 - 51
          : pattern === 2
            ? rng.int(1, 300) * 100
            : rng.int(1, 40_000);
    ids.push(`P-${n}`);
    prices.set(`P-${n}`, cents);
    weights.push(1);
  }
  return { ids, prices, weights };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function formatTimestamp(ms: number, form: TsForm): string {
  if (form.kind === 'Z') return `${new Date(ms).toISOString().slice(0, 19)}Z`;
  if (form.kind === 'local') return new Date(ms).toISOString().slice(0, 19);
  const local = new Date(ms + form.minutes * 60_000).toISOString().slice(0, 19);
  const abs = Math.abs(form.minutes);
  return `${local}${form.minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

function applyIdStyle(text: string, style: IdStyle): string {
  switch (style) {
    case 'plain':
      return text;
    case 'lower':
      return text.toLowerCase();
    case 'pad':
      return ` ${text}  `;
    case 'lower-pad':
      return `  ${text.toLowerCase()} `;
    case 'mixed':
      return [...text].map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c.toUpperCase())).join('');
  }
}

function applyPaymentStyle(text: string, style: PaymentStyle): string {
  switch (style) {
    case 'plain':
      return text;
    case 'upper':
      return text.toUpperCase();
    case 'pad':
      return ` ${text} `;
    case 'title':
      return text.replace(/(^|_)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
  }
}

function plainVariant(money: 'fixed2' | 'short'): Variant {
  return {
    orderId: 'plain',
    userId: 'plain',
    productId: 'plain',
    payment: 'plain',
    addressPad: false,
    money,
    keyOrder: null,
  };
}

/** A presentation that differs from the plain one but normalises to the same content. */
function cosmeticVariant(rng: Rng, allowKeyOrder: boolean): Variant {
  const idStyles: IdStyle[] = ['lower', 'pad', 'lower-pad', 'mixed'];
  const v = plainVariant(rng.chance(0.5) ? 'fixed2' : 'short');
  let changed = false;
  while (!changed) {
    if (rng.chance(0.5)) {
      v.orderId = rng.pick(idStyles);
      changed = true;
    }
    if (rng.chance(0.5)) {
      v.userId = rng.pick(idStyles);
      changed = true;
    }
    if (rng.chance(0.3)) {
      v.productId = rng.pick(idStyles);
      changed = true;
    }
    if (rng.chance(0.3)) {
      v.payment = rng.pick<PaymentStyle>(['upper', 'pad', 'title']);
      changed = true;
    }
    if (rng.chance(0.2)) {
      v.addressPad = true;
      changed = true;
    }
    // Drawn for every format so that the stream of random numbers does not depend on it
    // (spreadsheets have fixed columns: there, a key-order-only variant changes the id's case).
    const keyOrder = rng.chance(0.2) ? rng.shuffle(ORDER_KEYS) : null;
    if (keyOrder) {
      if (allowKeyOrder) v.keyOrder = keyOrder;
      else if (!changed) v.orderId = 'lower';
      changed = true;
    }
  }
  return v;
}

function orderValueCents(items: readonly Item[]): number {
  let sum = 0;
  for (const it of items) sum += it.quantity * it.priceCents;
  return sum;
}

function moneyText(cents: number, style: 'fixed2' | 'short'): RawNumber {
  return new RawNumber(style === 'fixed2' ? centsToFixed2(cents) : centsToShort(cents));
}

function reorder(doc: DocObject, keys: string[] | null): DocObject {
  if (!keys) return doc;
  const out: DocObject = {};
  for (const k of keys) if (k in doc) out[k] = doc[k];
  for (const k of Object.keys(doc)) if (!(k in out)) out[k] = doc[k];
  return out;
}

function renderDoc(o: Order, v: Variant): DocObject {
  const items: DocValue[] = o.items.map((it) => ({
    product_id: applyIdStyle(it.productId, v.productId),
    quantity: it.quantity,
    price_per_unit: moneyText(it.priceCents, v.money),
  }));
  return reorder(
    {
      order_id: applyIdStyle(o.orderId, v.orderId),
      user_id: applyIdStyle(`U-${o.user}`, v.userId),
      order_timestamp: formatTimestamp(o.tsMs, o.form),
      order_value: moneyText(orderValueCents(o.items), v.money),
      items,
      shipping_address: v.addressPad ? `  ${o.address} ` : o.address,
      payment_method: applyPaymentStyle(o.payment, v.payment),
    },
    v.keyOrder,
  );
}

// ---------------------------------------------------------------------------------------------

export function parseDay(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === text ? ms : null;
}

/** Message counts per kind for the options (rounded rates; the rest are valid originals). */
export function planCounts(o: Pick<GeneratorOptions, 'count' | 'duplicateRate' | 'invalidRate' | 'conflictRate'>) {
  const duplicates = Math.round(o.count * o.duplicateRate);
  const invalid = Math.round(o.count * o.invalidRate);
  const conflicts = Math.round(o.count * o.conflictRate);
  return { duplicates, invalid, conflicts, valid: o.count - duplicates - invalid - conflicts };
}

/**
 * Most messages one run writes: the whole file and its replay are built in memory, about
 * 5 KB a message at its peak (200,000 messages: 950 MB), well under Node's default heap
 * limit on a machine with 8 GB of memory (2 GB).
 */
export const MAX_COUNT = 300_000;

/** Digits of the number after the order prefix (at least 4). */
export function idWidth(plan: ReturnType<typeof planCounts>): number {
  return Math.max(4, String(plan.valid + plan.invalid).length);
}

/** Throws an Error with a user-facing message when the options are unusable. */
export function checkOptions(o: GeneratorOptions): void {
  if (!Number.isSafeInteger(o.seed)) throw new Error('--seed must be an integer');
  if (!Number.isSafeInteger(o.count) || o.count < 1 || o.count > MAX_COUNT) {
    throw new Error(`--count must be an integer from 1 to ${MAX_COUNT}`);
  }
  if (!Number.isSafeInteger(o.users) || o.users < 1) throw new Error('--users must be a positive integer');
  const from = parseDay(o.from);
  const to = parseDay(o.to);
  if (from === null) throw new Error(`--from must be a date YYYY-MM-DD, got ${o.from}`);
  if (to === null) throw new Error(`--to must be a date YYYY-MM-DD, got ${o.to}`);
  if (to < from) throw new Error('--to is before --from');
  // The service takes instants from 1970 on, written with a 4-digit year: with offsets up to
  // +13:00 an instant late on 9999-12-31 would be written in year 10000.
  if (from < (parseDay('1970-01-01') as number)) throw new Error('--from must be 1970-01-01 or later');
  if (to > (parseDay('9999-12-30') as number)) throw new Error('--to must be 9999-12-30 or earlier');
  // Order ids must be ids the service takes (docs/DESIGN.md): letters, digits and . _ - # / @ +,
  // at most 64 characters with the number the generator appends.
  const prefix = o.orderPrefix ?? 'ORD-';
  if (!/^[\p{L}\p{N}._#/@+-]*$/u.test(prefix)) {
    throw new Error(`--order-prefix may contain letters, digits and . _ - # / @ + only, got ${prefix}`);
  }
  const digits = idWidth(planCounts(o));
  if (prefix.length + digits > 64) {
    throw new Error(`--order-prefix is too long: with ${digits} digits after it, ids would pass 64 characters`);
  }
  for (const [name, rate] of [
    ['--duplicate-rate', o.duplicateRate],
    ['--invalid-rate', o.invalidRate],
    ['--conflict-rate', o.conflictRate],
  ] as const) {
    if (!(rate >= 0 && rate < 1)) throw new Error(`${name} must be a number in [0, 1)`);
  }
  if (!OUTPUT_FORMATS.includes(o.format)) throw new Error(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  const plan = planCounts(o);
  if (plan.valid < 1) throw new Error('the rates leave no valid orders; lower them or raise --count');
}

export function generate(options: GeneratorOptions, generatorInfo: Record<string, string | number> = {}): Generated {
  checkOptions(options);
  const root = createRng(options.seed);
  const plan = planCounts(options);
  const fromMs = parseDay(options.from) as number;
  const endMs = (parseDay(options.to) as number) + DAY_MS; // exclusive
  const spanSeconds = (endMs - fromMs) / 1000;

  const catalog = buildCatalog(root.fork('catalog'));

  // Users: a skewed (Zipf-like) weight per rank, ranks shuffled over the ids so heavy users are not U-1.
  const urng = root.fork('users');
  const userIds = Array.from({ length: options.users }, (_v, i) => i + 1);
  const ranked = urng.shuffle(userIds);
  const userWeights = new Map<number, number>();
  ranked.forEach((u, r) => userWeights.set(u, 1 / Math.pow(r + 4, 1.2)));
  const weightList = userIds.map((u) => userWeights.get(u) as number);
  const addresses = new Map<number, string>();
  for (const u of userIds) addresses.set(u, `${urng.int(1, 250)} ${urng.pick(STREETS)}, ${urng.pick(CITIES)}`);

  const pickForm = (rng: Rng): TsForm => {
    const r = rng.next();
    if (r < 0.7) return { kind: 'Z' };
    if (r < 0.85) return { kind: 'offset', minutes: rng.pick(OFFSETS_MIN) };
    return { kind: 'local' };
  };
  const makeItems = (rng: Rng): Item[] => {
    const lines = rng.weighted([1, 2, 3, 4, 5, 8], [35, 28, 17, 10, 7, 3]);
    const items: Item[] = [];
    const used = new Set<string>();
    while (items.length < lines) {
      const id = rng.weighted(catalog.ids, catalog.weights);
      if (used.has(id)) continue;
      used.add(id);
      const quantity = rng.weighted([1, 2, 3, 4, 5, 7, 10], [55, 20, 10, 5, 4, 3, 3]);
      items.push({ productId: id, quantity, priceCents: catalog.prices.get(id) as number });
    }
    return items;
  };
  const makeOrder = (rng: Rng): Order => {
    const user = rng.weighted(userIds, weightList);
    const form = pickForm(rng);
    return {
      user,
      tsMs: fromMs + rng.int(0, spanSeconds - 1) * 1000,
      form,
      items: makeItems(rng),
      address: addresses.get(user) as string,
      payment: rng.weighted(PAYMENTS, PAYMENT_WEIGHTS),
      variant: rng.chance(0.05)
        ? cosmeticVariant(rng, options.format === 'ndjson' || options.format === 'json')
        : plainVariant(rng.chance(0.8) ? 'fixed2' : 'short'),
      xlsxDate: form.kind === 'Z' && rng.chance(0.3),
      orderId: '',
      key: 0,
    };
  };

  // --- valid originals ---------------------------------------------------------------------
  const orng = root.fork('orders');
  const orders: Order[] = [];
  for (let i = 0; i < plan.valid; i++) orders.push(makeOrder(orng));

  const srng = root.fork('specials');
  // One order with exactly the maximum of 100 items.
  if (orders.length >= 300) {
    const big = srng.pick(orders);
    big.items = Array.from({ length: 100 }, (_v, k) => ({
      productId: `P-${1001 + k}`,
      quantity: 1 + (k % 3),
      priceCents: 10 + ((k * 37) % 990),
    }));
  }
  // Orders just around each UTC month boundary, written in a zone where the local date is the other month.
  if (orders.length >= 50) {
    const boundaries: number[] = [];
    const first = new Date(fromMs);
    for (let m = 1; ; m++) {
      const b = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + m, 1);
      if (b >= endMs) break;
      boundaries.push(b);
    }
    const pool = srng.shuffle(orders.filter((o) => o.items.length < 100));
    for (const b of boundaries) {
      if (pool.length < 3) break;
      const before = pool.pop() as Order; // last UTC minutes of the month, local time already next month
      before.tsMs = b - srng.int(1, 90) * 60_000;
      before.form = { kind: 'offset', minutes: srng.pick([120, 180, 330]) };
      before.xlsxDate = false;
      const after = pool.pop() as Order; // first UTC hours of the month, local time still previous month
      after.tsMs = b + srng.int(1, 180) * 60_000;
      after.form = { kind: 'offset', minutes: srng.pick([-300, -480, -600]) };
      after.xlsxDate = false;
      const noZone = pool.pop() as Order; // a zone-less timestamp one second before the boundary (= UTC)
      noZone.tsMs = b - 1000;
      noZone.form = { kind: 'local' };
      noZone.xlsxDate = false;
    }
  }

  // --- deliberate ties -----------------------------------------------------------------------
  const ties = makeTies(orders, root.fork('ties'), addresses);

  // --- emission order ------------------------------------------------------------------------
  const erng = root.fork('emission');
  orders.sort((a, b) => a.tsMs - b.tsMs || a.user - b.user);
  orders.forEach((o, i) => {
    const r = erng.next();
    if (r < 0.03)
      o.key = i + erng.int(2, 60) + erng.next() * 0.5; // late arrival
    else if (r < 0.13)
      o.key = i + erng.next() * 2; // small jitter: neighbours swap
    else o.key = i;
  });
  const maxKey = orders.length + 1;

  type Entry = {
    key: number;
    seq: number;
    kind: MessageKind;
    order?: Order;
    original?: Order;
    invalidKind?: InvalidKind;
  };
  const entries: Entry[] = orders.map((o, i) => ({ key: o.key, seq: i, kind: 'valid', order: o }));
  let seq = entries.length;
  const laterKey = (orig: Order) =>
    orig.key + 0.001 + (erng.chance(0.3) ? erng.next() * 5 : erng.next() * Math.max(1, maxKey - orig.key));

  // Invalid kinds: a shuffled round-robin so every kind appears once there are enough.
  const kinds = INVALID_KINDS.filter((k) => k !== 'not_json' || options.format !== 'json');
  const irng = root.fork('invalid');
  let kindCycle: InvalidKind[] = [];
  for (let i = 0; i < plan.invalid; i++) {
    if (kindCycle.length === 0) kindCycle = irng.shuffle(kinds);
    const kind = kindCycle.pop() as InvalidKind;
    entries.push({ key: irng.next() * maxKey, seq: seq++, kind: 'invalid', order: makeOrder(irng), invalidKind: kind });
  }
  const drng = root.fork('duplicates');
  const duplicated = new Set<Order>();
  for (let i = 0; i < plan.duplicates; i++) {
    const original = drng.pick(orders);
    duplicated.add(original);
    entries.push({ key: laterKey(original), seq: seq++, kind: 'duplicate', original });
  }
  // Conflicts take orders that have no duplicate: when a conflicting copy is seen first, the
  // original becomes a conflict, and so would a duplicate of it (other counts than expected).
  const crng = root.fork('conflicts');
  const undoubled = orders.filter((o) => !duplicated.has(o));
  for (let i = 0; i < plan.conflicts; i++) {
    const original = crng.pick(undoubled.length > 0 ? undoubled : orders);
    entries.push({
      key: laterKey(original),
      seq: seq++,
      kind: 'conflict',
      original,
      order: conflictingOrder(original, crng),
    });
  }
  entries.sort((a, b) => a.key - b.key || a.seq - b.seq);

  // Order ids in emission order, for valid originals and invalid messages alike (all distinct).
  const width = idWidth(plan);
  let nextId = 1;
  for (const e of entries) {
    if (e.kind === 'valid' || e.kind === 'invalid')
      (e.order as Order).orderId = `${options.orderPrefix ?? 'ORD-'}${String(nextId++).padStart(width, '0')}`;
  }

  // --- render ----------------------------------------------------------------------------------
  const rrng = root.fork('render');
  const messages: Message[] = [];
  const invalidByKind: Record<string, number> = {};
  for (const k of kinds) invalidByKind[k] = 0;
  const allowKeyOrder = options.format === 'ndjson' || options.format === 'json';
  for (const e of entries) {
    if (e.kind === 'valid') {
      const o = e.order as Order;
      messages.push({ kind: 'valid', doc: renderDoc(o, o.variant), xlsxDate: o.xlsxDate });
    } else if (e.kind === 'duplicate') {
      const o = e.original as Order;
      const identical = rrng.chance(0.5);
      const variant = identical ? o.variant : cosmeticVariant(rrng, allowKeyOrder);
      messages.push({ kind: 'duplicate', identical, doc: renderDoc(o, variant), xlsxDate: o.xlsxDate });
    } else if (e.kind === 'conflict') {
      const c = e.order as Order;
      c.orderId = (e.original as Order).orderId;
      messages.push({ kind: 'conflict', doc: renderDoc(c, c.variant), xlsxDate: c.xlsxDate });
    } else {
      const kind = e.invalidKind as InvalidKind;
      invalidByKind[kind] += 1;
      messages.push(renderInvalid(e.order as Order, kind, options.format, rrng));
    }
  }

  // --- expected aggregates (from the model, in integer cents) ----------------------------------
  const expected = expectedFromModel(orders, plan, options.count);
  const tieIds = {
    order_count: ties.orderCount.map((g) => g.map((u) => `U-${u}`).sort()),
    total_spend_cents: ties.spend.map((g) => g.map((u) => `U-${u}`).sort()),
  };
  for (const g of tieIds.order_count) {
    if (new Set(g.map((u) => expected.users[u].order_count)).size !== 1)
      throw new Error(`internal: order_count tie ${g.join(',')} not equal`);
  }
  for (const g of tieIds.total_spend_cents) {
    if (new Set(g.map((u) => expected.users[u].total_spend_cents)).size !== 1)
      throw new Error(`internal: spend tie ${g.join(',')} not equal`);
  }
  return {
    messages,
    expected: {
      generator: generatorInfo,
      ...expected,
      ties: tieIds,
      invalid_by_kind: invalidByKind,
    },
  };
}

function expectedFromModel(orders: readonly Order[], plan: ReturnType<typeof planCounts>, total: number) {
  const users: Record<string, UserExpected> = {};
  const days: Record<string, DayExpected> = {};
  const months: Record<string, DayExpected> = {};
  const userDays: Record<string, Record<string, UserDayExpected>> = {};
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  let revenue = 0;
  for (const o of orders) {
    const id = `U-${o.user}`;
    const cents = orderValueCents(o.items);
    const day = new Date(o.tsMs).toISOString().slice(0, 10);
    const month = day.slice(0, 7);
    revenue += cents;
    const u = (users[id] ??= { order_count: 0, total_spend_cents: 0, first_order_at: '', last_order_at: '' });
    u.order_count += 1;
    u.total_spend_cents += cents;
    first.set(id, Math.min(first.get(id) ?? Infinity, o.tsMs));
    last.set(id, Math.max(last.get(id) ?? -Infinity, o.tsMs));
    const d = (days[day] ??= { orders: 0, revenue_cents: 0 });
    d.orders += 1;
    d.revenue_cents += cents;
    const m = (months[month] ??= { orders: 0, revenue_cents: 0 });
    m.orders += 1;
    m.revenue_cents += cents;
    const ud = ((userDays[id] ??= {})[day] ??= { orders: 0, spend_cents: 0 });
    ud.orders += 1;
    ud.spend_cents += cents;
  }
  const sorted = <T>(rec: Record<string, T>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const k of Object.keys(rec).sort()) out[k] = rec[k];
    return out;
  };
  for (const id of Object.keys(users)) {
    users[id].first_order_at = new Date(first.get(id) as number).toISOString();
    users[id].last_order_at = new Date(last.get(id) as number).toISOString();
  }
  const userDaysSorted: Record<string, Record<string, UserDayExpected>> = {};
  for (const id of Object.keys(userDays).sort()) userDaysSorted[id] = sorted(userDays[id]);
  return {
    messages: {
      total,
      valid_unique: plan.valid,
      duplicates: plan.duplicates,
      invalid: plan.invalid,
      conflicts: plan.conflicts,
    },
    global: { total_orders: orders.length, total_revenue_cents: revenue },
    users: sorted(users),
    days: sorted(days),
    months: sorted(months),
    user_days: userDaysSorted,
  };
}

/**
 * Makes some users tie: the two users with the most orders get the same order count, two
 * mid-table users get the same count and the same spend, the next two top spenders the same
 * spend, and three users further down the same spend. Counts move by reassigning orders from other
 * users; spend rises by adding an item line to one of the user's orders (counts unchanged).
 */
function makeTies(
  orders: Order[],
  rng: Rng,
  addresses: Map<number, string>,
): { orderCount: number[][]; spend: number[][] } {
  const result = { orderCount: [] as number[][], spend: [] as number[][] };
  const byUser = () => {
    const m = new Map<number, Order[]>();
    for (const o of orders) {
      const list = m.get(o.user);
      if (list) list.push(o);
      else m.set(o.user, [o]);
    }
    return m;
  };
  const spendOf = (list: readonly Order[]) => list.reduce((s, o) => s + orderValueCents(o.items), 0);
  if (byUser().size < 12) return result;

  const raiseCount = (target: number, goal: number, protect: Set<number>): boolean => {
    for (;;) {
      const m = byUser();
      const have = (m.get(target) ?? []).length;
      if (have >= goal) return have === goal;
      const donors = [...m.entries()].filter(([u, list]) => !protect.has(u) && u !== target && list.length >= 2);
      if (donors.length === 0) return false;
      const [, list] = rng.weighted(
        donors,
        donors.map(([, l]) => l.length),
      );
      const moved = rng.pick(list);
      moved.user = target;
      moved.address = addresses.get(target) as string;
    }
  };
  let extraProduct = 0;
  const addSpend = (user: number, cents: number): boolean => {
    if (cents <= 0) return cents === 0;
    const candidates = (byUser().get(user) ?? []).filter((o) => o.items.length <= 98);
    if (candidates.length === 0) return false;
    const o = rng.pick(candidates);
    const q = Math.ceil(cents / 50_000);
    const price = Math.floor(cents / q);
    const rest = cents - q * price;
    o.items.push({ productId: `P-${901 + extraProduct++}`, quantity: q, priceCents: price });
    if (rest > 0) o.items.push({ productId: `P-${901 + extraProduct++}`, quantity: 1, priceCents: rest });
    return true;
  };
  const rankBy = (metric: (list: Order[]) => number, exclude: Set<number>) =>
    [...byUser().entries()]
      .filter(([u]) => !exclude.has(u))
      .sort((a, b) => metric(b[1]) - metric(a[1]) || a[0] - b[0])
      .map(([u]) => u);

  const protect = new Set<number>();
  // 1. the two users with the most orders: equal order counts.
  const [t1, t2] = rankBy((l) => l.length, protect);
  protect.add(t1).add(t2);
  if (raiseCount(t2, (byUser().get(t1) as Order[]).length, protect)) result.orderCount.push([t1, t2]);
  // 2. twins from the middle of the table: equal counts now, equal spend below.
  const middle = rankBy((l) => l.length, protect);
  const a = middle[Math.floor(middle.length / 2)];
  const b = middle[Math.floor(middle.length / 2) + 1];
  protect.add(a).add(b);
  const ca = (byUser().get(a) as Order[]).length;
  const cb = (byUser().get(b) as Order[]).length;
  const twinsCount = ca < cb ? raiseCount(a, cb, protect) : raiseCount(b, ca, protect);
  if (twinsCount) result.orderCount.push([a, b]);
  // 3. the two top spenders apart from the users above: equal spend (their counts differ).
  const [x, y] = rankBy(spendOf, protect);
  if (addSpend(y, spendOf(byUser().get(x) as Order[]) - spendOf(byUser().get(y) as Order[]))) result.spend.push([x, y]);
  // 4. three users ranked 5th-7th by spend among the rest: equal spend.
  const trio = rankBy(spendOf, new Set([a, b, x, y])).slice(4, 7);
  const top = spendOf(byUser().get(trio[0]) as Order[]);
  const trioOk = addSpend(trio[1], top - spendOf(byUser().get(trio[1]) as Order[]));
  if (addSpend(trio[2], top - spendOf(byUser().get(trio[2]) as Order[])) && trioOk) result.spend.push(trio);
  // 5. the twins: equal spend as well.
  const sa = spendOf(byUser().get(a) as Order[]);
  const sb = spendOf(byUser().get(b) as Order[]);
  const twinsSpend = sa < sb ? addSpend(a, sb - sa) : addSpend(b, sa - sb);
  if (twinsCount && twinsSpend) result.spend.push([a, b]);
  return result;
}

/**
 * A valid order with the same order_id as `original` but different content: another address,
 * payment method or product id, never another user, time or amount. Consumers run batches
 * concurrently (and retries reorder them), so either copy may be the one seen first and
 * applied; a change no figure depends on keeps the expected aggregates true whichever it is.
 */
function conflictingOrder(original: Order, rng: Rng): Order {
  const c: Order = {
    ...original,
    items: original.items.map((it) => ({ ...it })),
    variant: plainVariant(original.variant.money),
    xlsxDate: false,
  };
  if (rng.chance(0.3)) c.variant.orderId = rng.pick<IdStyle>(['lower', 'pad']);
  const change = rng.pick(['address', 'payment', 'product']);
  if (change === 'address') c.address = `${original.address} (apt ${rng.int(2, 40)})`;
  else if (change === 'payment') {
    do c.payment = rng.pick(PAYMENTS);
    while (c.payment === original.payment);
  } else {
    const item = c.items[rng.int(0, c.items.length - 1)];
    item.productId = `${item.productId}-B`;
  }
  return c;
}

function renderInvalid(order: Order, kind: InvalidKind, format: OutputFormat, rng: Rng): Message {
  const v = plainVariant(rng.chance(0.7) ? 'fixed2' : 'short');
  const doc = renderDoc(order, v);
  const items = order.items;
  const money = (cents: number) => moneyText(cents, v.money);
  const itemDocs = doc.items as DocObject[];
  const msg: Message = { kind: 'invalid', invalidKind: kind, doc, xlsxDate: false };
  switch (kind) {
    case 'value_mismatch': {
      const sum = orderValueCents(items);
      const delta = rng.pick([1, -1, 100, 1000, -10]);
      doc.order_value = money(sum + delta >= 0 ? sum + delta : sum - delta);
      break;
    }
    case 'missing_field':
      delete doc[rng.pick(['user_id', 'order_timestamp', 'order_value', 'items'])];
      break;
    case 'bad_quantity': {
      const k = rng.int(0, items.length - 1);
      const q = rng.pick([0, -1, 1.5, 2.25]);
      itemDocs[k].quantity = q;
      const sum = items.reduce((s, it, i) => s + Math.round((i === k ? q : it.quantity) * it.priceCents), 0);
      doc.order_value = money(Math.abs(sum));
      break;
    }
    case 'price_3dp': {
      const k = rng.int(0, items.length - 1);
      const digit = rng.int(1, 9);
      itemDocs[k].price_per_unit = new RawNumber(`${centsToFixed2(items[k].priceCents)}${digit}`);
      const milli = items.reduce((s, it, i) => s + it.quantity * (it.priceCents * 10 + (i === k ? digit : 0)), 0);
      doc.order_value = money(Math.round(milli / 10));
      break;
    }
    case 'negative_price': {
      const k = rng.int(0, items.length - 1);
      const neg = -(items[k].priceCents || 500);
      itemDocs[k].price_per_unit = new RawNumber(centsToFixed2(neg));
      const sum = items.reduce((s, it, i) => s + it.quantity * (i === k ? neg : it.priceCents), 0);
      doc.order_value = new RawNumber(centsToFixed2(sum));
      break;
    }
    case 'bad_timestamp':
      doc.order_timestamp = rng.pick(BAD_TIMESTAMPS);
      break;
    case 'empty_items':
      doc.items = [];
      doc.order_value = money(0);
      break;
    case 'too_many_items': {
      doc.items = Array.from({ length: 101 }, (_v, k) => ({
        product_id: `P-${1001 + k}`,
        quantity: 1,
        price_per_unit: money(100),
      }));
      doc.order_value = money(101 * 100);
      break;
    }
    case 'not_json': {
      if (format === 'ndjson') {
        const text = JSON.stringify({
          order_id: order.orderId,
          user_id: `U-${order.user}`,
          order_timestamp: formatTimestamp(order.tsMs, order.form),
        });
        const style = rng.int(0, 2);
        delete msg.doc;
        if (style === 0)
          msg.raw = text.slice(0, Math.max(12, Math.floor(text.length * 0.6))); // truncated JSON
        else if (style === 1)
          msg.raw = `${order.orderId},U-${order.user},${formatTimestamp(order.tsMs, order.form)},${centsToFixed2(orderValueCents(items))}`; // a CSV line
        else
          msg.raw = `order ${order.orderId} for U-${order.user}: ${items.map((it) => `${it.quantity}x ${it.productId}`).join(', ')}`;
      } else {
        // Spreadsheet formats: the items cell holds text that is not JSON.
        doc.items = new RawText(items.map((it) => `${it.productId} x${it.quantity}`).join('; '));
      }
      break;
    }
  }
  return msg;
}
