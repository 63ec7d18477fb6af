import { KeySchema } from '@order-pipeline/aggregation';
import type { RedisService } from '@order-pipeline/redis';
import { DECISIONS, VERDICT_CODES, type ModelVerdict } from './claude-reviewer';

/**
 * Model verdicts by order content hash, in Redis with a TTL: a redelivered message, a
 * duplicate, or the same order on another instance never pays for a second call. The keys
 * share the `{guard}` hash tag, so a batch is one MGET on a Cluster too.
 */
export class VerdictCache {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: RedisService,
    private readonly ttlSeconds: number,
  ) {
    this.keys = new KeySchema(redis.keyPrefix);
  }

  async getMany(contentHashes: readonly string[]): Promise<Map<string, ModelVerdict>> {
    const hashes = [...new Set(contentHashes)];
    const found = new Map<string, ModelVerdict>();
    if (hashes.length === 0) return found;
    const values = await this.redis.client.mget(...hashes.map((h) => this.keys.guardVerdict(h)));
    hashes.forEach((hash, i) => {
      const verdict = parse(values[i] ?? null);
      if (verdict) found.set(hash, verdict);
    });
    return found;
  }

  async put(contentHash: string, verdict: ModelVerdict): Promise<void> {
    await this.redis.client.set(this.keys.guardVerdict(contentHash), JSON.stringify(verdict), 'EX', this.ttlSeconds);
  }
}

/** What Redis holds is re-validated: a damaged entry is a cache miss, never a verdict. */
function parse(text: string | null): ModelVerdict | undefined {
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const decision = DECISIONS.find((d) => d === v.decision);
    const code = VERDICT_CODES.find((c) => c === v.code);
    if (!decision || !code || typeof v.explanation !== 'string') return undefined;
    return { decision, code, explanation: v.explanation };
  } catch {
    return undefined;
  }
}
