import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import type { Order } from '@order-pipeline/orders';

export interface Verdict {
  readonly decision: 'allow' | 'reject';
  /** Reason codes for a reject, or why an allowed order was flagged. */
  readonly reasons: readonly { code: string; message: string }[];
  /** True when a rule found the order suspicious. */
  readonly suspicious: boolean;
  /** False when a suspicious order was allowed without a model's review. */
  readonly checked: boolean;
}

const DAY_MS = 86_400_000;

/**
 * The quality guard's deterministic first line. Rules only *flag* orders (large value,
 * bulk quantities, timestamps from the future); they never reject a valid order on
 * their own. The model review of flagged orders (Claude, through @anthropic-ai/sdk) is
 * not wired yet: flagged orders are allowed and marked unchecked (fail-open), and the
 * guard says so at start-up.
 */
@Injectable()
export class QualityGuard implements OnModuleInit {
  private readonly logger = new Logger(QualityGuard.name);

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  onModuleInit(): void {
    this.logger.log('quality guard: offline heuristics only; flagged orders are allowed and marked unchecked');
  }

  async review(orders: readonly Order[], nowMs = Date.now()): Promise<Verdict[]> {
    return Promise.resolve(orders.map((order) => this.heuristics(order, nowMs)));
  }

  private heuristics(order: Order, nowMs: number): Verdict {
    const flags: { code: string; message: string }[] = [];
    if (order.valueCents >= this.config.qualityGuard.suspiciousOrderCents) {
      flags.push({ code: 'flag:high_value', message: 'order value is at or above the review threshold' });
    }
    if (order.items.some((i) => i.quantity > 1000)) {
      flags.push({ code: 'flag:bulk_quantity', message: 'an item has a quantity over 1000' });
    }
    if (order.timestampMs > nowMs + DAY_MS) {
      flags.push({ code: 'flag:future_timestamp', message: 'order_timestamp is more than a day in the future' });
    }
    return { decision: 'allow', reasons: flags, suspicious: flags.length > 0, checked: flags.length === 0 };
  }
}
