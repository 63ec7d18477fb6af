import { KeySchema } from '@order-pipeline/aggregation';
import type { RedisService } from '@order-pipeline/redis';
import { DECISIONS, VERDICT_CODES, type ModelVerdict } from './claude-reviewer';
import type { Flag } from './guard-rules';

/**
 * What a verdict is for: the order's content and the flags the model was shown with it
 * (`<hash>:high_value+old_timestamp`, `<hash>:-` for none). The same content with other flags
 * (the user's history grew, the order aged past two years, an unflagged sample became
 * suspicious) is another question.
 */
export function verdictKey(contentHash: string, flags: readonly Flag[]): string {
  const codes = flags.map((f) => f.code.replace(/^flag:/, '')).sort();
  return `${contentHash}:${codes.length > 0 ? codes.join('+') : '-'}`;
}

/**
 * Model verdicts by verdictKey (content and flags), in Redis with a TTL: a redelivered
 * message, a duplicate, or the same order on another instance never pays for a second call. The keys
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

  async getMany(verdictKeys: readonly string[]): Promise<Map<string, ModelVerdict>> {
    const unique = [...new Set(verdictKeys)];
    const found = new Map<string, ModelVerdict>();
    if (unique.length === 0) return found;
    const values = await this.redis.client.mget(...unique.map((k) => this.keys.guardVerdict(k)));
    unique.forEach((key, i) => {
      const verdict = parse(values[i] ?? null);
      if (verdict) found.set(key, verdict);
    });
    return found;
  }

  async put(verdictKey: string, verdict: ModelVerdict): Promise<void> {
    await this.redis.client.set(this.keys.guardVerdict(verdictKey), JSON.stringify(verdict), 'EX', this.ttlSeconds);
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
