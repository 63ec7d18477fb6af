import type { Cluster, Redis } from 'ioredis';

/** One page of JSON records, newest first, and the cursor of the next (null on the last page). */
export interface NewestFirstPage<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/**
 * Reads a page of a store kept as a time-scored index (sorted set of ids) beside a hash of
 * JSON records, newest first. The cursor is the score of the last item returned; the next
 * page starts below it. Ids whose record is gone (trimmed meanwhile) are skipped.
 */
export async function newestFirstPage<T>(
  client: Redis | Cluster,
  keys: { readonly index: string; readonly records: string },
  limit: number,
  cursor?: number,
): Promise<NewestFirstPage<T>> {
  const max = cursor === undefined ? '+inf' : `(${cursor}`;
  const ids = await client.zrevrangebyscore(keys.index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1);
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < ids.length; i += 2) pairs.push([ids[i] ?? '', Number(ids[i + 1])]);
  const page = pairs.slice(0, limit);
  const records = page.length > 0 ? await client.hmget(keys.records, ...page.map(([id]) => id)) : [];
  const items = records.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as T);
  const last = page.at(-1);
  return { items, nextCursor: pairs.length > limit && last ? String(last[1]) : null };
}
