import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type GlobalStats, type TestApp } from './test-app';

/**
 * Data from ./scripts/generate-orders (which shares no code with the service) and the
 * exact answers it computed, for specs that compare the API with them.
 */
const DAY_MS = 86_400_000;

/** The part of ./scripts/generate-orders' expected file these specs read (money in cents). */
export interface Expected {
  messages: { total: number; valid_unique: number; duplicates: number; invalid: number; conflicts: number };
  global: { total_orders: number; total_revenue_cents: number };
  users: Record<
    string,
    { order_count: number; total_spend_cents: number; first_order_at: string; last_order_at: string }
  >;
  days: Record<string, { orders: number; revenue_cents: number }>;
  months: Record<string, { orders: number; revenue_cents: number }>;
  user_days: Record<string, Record<string, { orders: number; spend_cents: number }>>;
}

/** Runs the generator CLI (it shares no code with the service) and reads what it wrote. */
export function generateOrders(args: string[]): { lines: string[]; expected: Expected } {
  const dir = mkdtempSync(join(tmpdir(), 'op-gen-'));
  const out = join(dir, 'orders.ndjson');
  const cli = join(__dirname, '..', '..', 'scripts', 'tools', 'generate-orders.ts');
  try {
    // Bounded: a synchronous child blocks the worker, so jest's own timeout could not end it.
    execFileSync(process.execPath, [cli, ...args, '--out', out], { stdio: 'pipe', timeout: 60_000 });
    return {
      lines: readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== ''),
      expected: JSON.parse(readFileSync(out.replace(/\.ndjson$/, '.expected.json'), 'utf8')) as Expected,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The order id a line carries, normalised, when it is JSON with a string order_id. */
function orderIdOf(line: string): string | undefined {
  try {
    const id = (JSON.parse(line) as { order_id?: unknown }).order_id;
    return typeof id === 'string' ? id.trim().toUpperCase() : undefined;
  } catch {
    return undefined;
  }
}

export interface Row {
  rank: number;
  user_id: string;
  order_count: number;
  total_spend: number;
}

export const amount = (cents: number): number => Number((cents / 100).toFixed(2));
export const isoDays = (from: string, to: string): string[] => {
  const days: string[] = [];
  for (let d = Date.parse(`${from}T00:00:00Z`); d <= Date.parse(`${to}T00:00:00Z`); d += DAY_MS) {
    days.push(new Date(d).toISOString().slice(0, 10));
  }
  return days;
};

/** Per-user totals within [from, to] from the generator's per-user-per-day answers. */
export function expectedUsersIn(
  expected: Expected,
  from: string,
  to: string,
): Map<string, { orders: number; cents: number }> {
  const days = new Set(isoDays(from, to));
  const out = new Map<string, { orders: number; cents: number }>();
  for (const [user, byDay] of Object.entries(expected.user_days)) {
    for (const [day, v] of Object.entries(byDay)) {
      if (!days.has(day)) continue;
      const acc = out.get(user) ?? { orders: 0, cents: 0 };
      out.set(user, { orders: acc.orders + v.orders, cents: acc.cents + v.spend_cents });
    }
  }
  return out;
}

export function expectedTop(
  totals: Map<string, { orders: number; cents: number }>,
  by: 'spend' | 'orders',
  limit: number,
): Row[] {
  const key = (v: { orders: number; cents: number }): number => (by === 'spend' ? v.cents : v.orders);
  return [...totals.entries()]
    .filter(([, v]) => key(v) > 0)
    .sort(([ua, a], [ub, b]) => key(b) - key(a) || (ua < ub ? -1 : ua > ub ? 1 : 0))
    .slice(0, limit)
    .map(([user_id, v], i) => ({ rank: i + 1, user_id, order_count: v.orders, total_spend: amount(v.cents) }));
}

/**
 * Sends the generated lines and waits until each has an outcome. SQS does not keep order,
 * and for a reused order_id the first content seen wins: every later occurrence of an
 * order_id (duplicates, conflicts) goes only after the first occurrences are processed.
 * Both waits share one deadline, `budgetMs`; the drain after them gets what is left, at least
 * 5 s, so the caller's hook limit must cover `budgetMs` + 5 s. A count that overshoots (a
 * message counted twice) fails at once, saying so, instead of ending in a timeout.
 */
export async function sendGenerated(
  t: TestApp,
  lines: readonly string[],
  total: number,
  budgetMs = 110_000,
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  const processed = async (count: number): Promise<void> => {
    let outcomes = 0;
    await eventually(
      async () => {
        const g = (await t.get<GlobalStats>('/stats/global')).body;
        outcomes = g.total_orders + g.duplicates + g.rejected + g.conflicts;
        return outcomes >= count;
      },
      Math.max(0, deadline - Date.now()),
      200,
    );
    if (outcomes > count) throw new Error(`${outcomes} outcomes counted for ${count} messages sent: one counted twice`);
  };
  const seen = new Set<string>();
  const firsts: string[] = [];
  const repeats: string[] = [];
  for (const line of lines) {
    const id = orderIdOf(line);
    if (id !== undefined && seen.has(id)) repeats.push(line);
    else firsts.push(line);
    if (id !== undefined) seen.add(id);
  }
  await t.send(firsts);
  await processed(firsts.length);
  await t.send(repeats);
  await processed(total);
  // Every message acknowledged: nothing is still on its way to a second count.
  await t.drained(Math.max(5_000, deadline - Date.now()));
}
