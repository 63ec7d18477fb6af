// Latency summaries and the plain-text table.

export interface LatencySummary {
  readonly runs: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of an ascending list (p in (0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    runs: sorted.length,
    p50: round3(percentile(sorted, 50)),
    p95: round3(percentile(sorted, 95)),
    p99: round3(percentile(sorted, 99)),
    max: round3(sorted.at(-1) ?? Number.NaN),
    mean: round3(sorted.length === 0 ? Number.NaN : sum / sorted.length),
  };
}

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Left-aligned first and last columns, right-aligned others, columns separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === header.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

export function fmtInt(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

/**
 * Redis-side time (µs) from INFO commandstats since the last CONFIG RESETSTAT. Commands a
 * script calls are counted both on their own and inside EVALSHA/EVAL, so when scripts ran
 * only the script lines count; INFO and CONFIG (the measuring itself) never do.
 */
export function serverMicros(commandstats: string): number {
  const usec = new Map<string, number>();
  for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) {
    usec.set(m[1] ?? '', Number(m[2]));
  }
  const scripts = ['evalsha', 'eval'].filter((c) => usec.has(c));
  if (scripts.length > 0) return scripts.reduce((a, c) => a + (usec.get(c) ?? 0), 0);
  let total = 0;
  for (const [command, us] of usec) if (command !== 'info' && command !== 'config') total += us;
  return total;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const at = (i: number): number => sorted[i] ?? Number.NaN;
  return sorted.length % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}

/** What one timed run of an HTTP server gave: requests per second and latency (ms). */
export interface RunFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

/** One round of an A/B comparison: the app and the baseline timed back to back. */
export interface PairedRound<T extends RunFigures = RunFigures> {
  readonly app: T;
  readonly bare: T;
}

/**
 * `count` rounds of the app and the baseline, timed back to back by `time`, the app first in
 * rounds 1, 3, … and the baseline first in rounds 2, 4, …, so that a machine slowing down or
 * speeding up during the rounds favours neither side. A round with a failed request ends the
 * run (`failed` says what to report): a figure over errors means nothing.
 */
export async function timeRounds<T extends RunFigures & { readonly failures: number }>(
  count: number,
  time: (side: 'app' | 'bare') => Promise<T>,
  failed: (round: PairedRound<T>) => string,
): Promise<PairedRound<T>[]> {
  const rounds: PairedRound<T>[] = [];
  for (let r = 0; r < count; r++) {
    let app: T;
    let bare: T;
    if (r % 2 === 0) {
      app = await time('app');
      bare = await time('bare');
    } else {
      bare = await time('bare');
      app = await time('app');
    }
    if (app.failures > 0 || bare.failures > 0) throw new Error(failed({ app, bare }));
    rounds.push({ app, bare });
  }
  return rounds;
}

/**
 * Rounds summed up by medians: each side's req/s, p50 and p99, and the median of the rounds'
 * own req/s ratios. A round's two runs were timed back to back, so a busy moment of this
 * machine moves both sides of its ratio; the median drops the round it spoiled most.
 */
export function pairedMedians(rounds: readonly PairedRound[]): {
  app: RunFigures;
  bare: RunFigures;
  ratio: number;
  ratios: number[];
} {
  const side = (pick: (r: PairedRound) => RunFigures): RunFigures => ({
    rps: median(rounds.map((r) => pick(r).rps)),
    p50: median(rounds.map((r) => pick(r).p50)),
    p99: median(rounds.map((r) => pick(r).p99)),
  });
  const ratios = rounds.map((r) => r.app.rps / r.bare.rps);
  return { app: side((r) => r.app), bare: side((r) => r.bare), ratio: median(ratios), ratios };
}
