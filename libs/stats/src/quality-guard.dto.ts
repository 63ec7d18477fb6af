import { ApiProperty } from '@nestjs/swagger';
import type { FlaggedOrderView, FlaggedOrdersView } from '@order-pipeline/aggregation';
import type { GuardSnapshot } from '@order-pipeline/quality-guard';
import { ReasonDto } from './response.dto';

/** OpenAPI shapes of GET /orders/flagged and GET /quality-guard. */

export class FlaggedOrderDto implements FlaggedOrderView {
  @ApiProperty({ example: 'ORD-0042' }) order_id!: string;
  @ApiProperty({ example: 'U-17' }) user_id!: string;
  @ApiProperty({ example: 12999.0, description: 'Decimal with 2 places, exact.' }) order_value!: number;
  @ApiProperty({ example: '2026-03-04T10:15:00.000Z' }) order_timestamp!: string;
  @ApiProperty({
    enum: ['model', 'sample', 'rules'],
    description:
      'model: the model said flag, or allowed an order whose text reads like instructions to a model (flag:instruction_text), or answered for a resent copy of an order listed as rules (then any verdict, reject included: the order is already counted); sample: the model flagged or rejected an order of the monitoring sample (already accepted); rules: the rules found it suspicious and no model verdict was available (offline mode or fail-open).',
  })
  source!: FlaggedOrderView['source'];
  @ApiProperty({ description: 'True when a model verdict stands behind the entry.' }) checked!: boolean;
  @ApiProperty({
    type: [ReasonDto],
    description: 'The model reason (ai:<code>) first when there is one, then the rule flags (flag:<name>).',
  })
  reasons!: ReasonDto[];
  @ApiProperty({ example: '2026-03-04T10:15:01.000Z' }) flagged_at!: string;
}

export class FlaggedOrdersDto implements FlaggedOrdersView {
  @ApiProperty({ type: [FlaggedOrderDto] }) items!: FlaggedOrderDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null at the end.' })
  next_cursor!: string | null;
  @ApiProperty({
    type: 'integer',
    example: 12,
    description: 'Orders ever listed; the list keeps the newest QUALITY_GUARD_FLAGGED_MAX.',
  })
  total!: number;
}

class GuardLatencyDto {
  @ApiProperty({ example: 640, description: 'Mean duration of a model call, retries included (ms).' }) mean!: number;
  @ApiProperty({ example: 1210 }) max!: number;
}

class GuardBudgetDto {
  @ApiProperty({ type: 'integer', example: 3 }) calls_last_minute!: number;
  @ApiProperty({ type: 'integer', example: 60 }) max_calls_per_minute!: number;
  @ApiProperty({ type: 'integer', example: 5400 }) tokens_last_minute!: number;
  @ApiProperty({ type: 'integer', example: 200000 }) max_tokens_per_minute!: number;
}

export class QualityGuardDto implements GuardSnapshot {
  @ApiProperty({ enum: ['model', 'offline', 'off'], description: 'offline: no ANTHROPIC_API_KEY, heuristics only.' })
  mode!: GuardSnapshot['mode'];
  @ApiProperty({ nullable: true, type: String, example: 'claude-haiku-4-5' }) model!: string | null;
  @ApiProperty({ enum: ['closed', 'open', 'half-open'] }) breaker!: GuardSnapshot['breaker'];
  @ApiProperty({
    enum: ['fail-open', 'hold'],
    description:
      'QUALITY_GUARD_ON_UNAVAILABLE; it applies only with a model (mode "model"): offline, flagged orders are accepted.',
  })
  on_unavailable!: GuardSnapshot['on_unavailable'];
  @ApiProperty({ description: 'False while the circuit breaker is open.' }) healthy!: boolean;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description:
      'Totals since start: flagged (by the rules), reviewed, rejected, unchecked, held, modelCalls, modelFailures, sampled, cacheHits, modelRetries, refusals, truncated, malformedAnswers, missingVerdicts, invalidVerdicts, overBudget, breakerRejected, breakerOpened, verdictsAllow/Flag/Reject, inputTokens, outputTokens, modelLatencyMsTotal, flaggedListed, flaggedRevised, sampleDropped.',
    example: {
      flagged: 12,
      reviewed: 11,
      rejected: 2,
      unchecked: 1,
      modelCalls: 5,
      inputTokens: 5400,
      outputTokens: 700,
    },
  })
  counters!: GuardSnapshot['counters'];
  @ApiProperty({ type: GuardLatencyDto }) latency_ms!: GuardLatencyDto;
  @ApiProperty({ type: GuardBudgetDto }) budget!: GuardBudgetDto;
}
