import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type {
  GlobalStatsView,
  OrderStatusView,
  RangeRow,
  RangeStatsView,
  RejectedOrderView,
  RejectedOrdersView,
  TopUserRow,
  TopUsersView,
  UserRangeStatsView,
  UserStatsView,
} from '@order-pipeline/aggregation';

/** OpenAPI shapes of the responses; the query services return objects of these shapes. */

export class UserStatsDto implements UserStatsView {
  @ApiProperty({ example: 'U-17' }) user_id!: string;
  @ApiProperty({ type: 'integer', example: 5 }) order_count!: number;
  @ApiProperty({ example: 499.95, description: 'Decimal with at most 2 places, exact.' }) total_spend!: number;
  @ApiProperty({ example: 99.99 }) average_order_value!: number;
  @ApiProperty({ example: '2026-01-03T10:15:00.000Z', nullable: true, type: String }) first_order_at!: string | null;
  @ApiProperty({ example: '2026-03-04T10:15:00.000Z', nullable: true, type: String }) last_order_at!: string | null;
}

export class UserRangeStatsDto implements UserRangeStatsView {
  @ApiProperty({ example: 'U-17' }) user_id!: string;
  @ApiProperty({ example: '2026-01-01' }) from!: string;
  @ApiProperty({ example: '2026-01-31' }) to!: string;
  @ApiProperty({ type: 'integer', example: 2 }) order_count!: number;
  @ApiProperty({ example: 199.98 }) total_spend!: number;
  @ApiProperty({ example: 99.99 }) average_order_value!: number;
}

export class GlobalStatsDto implements GlobalStatsView {
  @ApiProperty({ type: 'integer', example: 1940 }) total_orders!: number;
  @ApiProperty({ example: 187342.17 }) total_revenue!: number;
  @ApiProperty({ example: 96.57 }) average_order_value!: number;
  @ApiProperty({ type: 'integer', example: 150 }) total_users!: number;
  @ApiProperty({
    type: 'integer',
    example: 97,
    description: 'Messages for orders already applied (not counted again).',
  })
  duplicates!: number;
  @ApiProperty({
    type: 'integer',
    example: 58,
    description: 'Messages rejected (by the rules or by the quality guard), listed at /orders/rejected.',
  })
  rejected!: number;
  @ApiProperty({
    type: 'integer',
    example: 3,
    description: 'Messages reusing an order_id with other content (not applied).',
  })
  conflicts!: number;
}

export class TopUserRowDto implements TopUserRow {
  @ApiProperty({ type: 'integer', example: 1 }) rank!: number;
  @ApiProperty({ example: 'U-17' }) user_id!: string;
  @ApiProperty({ type: 'integer', example: 12 }) order_count!: number;
  @ApiProperty({ example: 1299.88 }) total_spend!: number;
}

export class TopUsersDto implements TopUsersView {
  @ApiProperty({ enum: ['spend', 'orders'] }) by!: 'spend' | 'orders';
  @ApiProperty({ nullable: true, type: String, example: '2026-01-01' }) from!: string | null;
  @ApiProperty({ nullable: true, type: String, example: '2026-03-31' }) to!: string | null;
  @ApiProperty({ type: 'integer', example: 10 }) limit!: number;
  @ApiProperty({ type: [TopUserRowDto], description: 'Ties are ordered by user_id.' }) users!: TopUserRowDto[];
}

export class RangeRowDto implements RangeRow {
  @ApiProperty({ example: '2026-01-05', description: 'YYYY-MM-DD for days, YYYY-MM for months.' }) period!: string;
  @ApiProperty({ type: 'integer', example: 31 }) orders!: number;
  @ApiProperty({ example: 3012.55 }) revenue!: number;
}

export class RangeTotalDto {
  @ApiProperty({ type: 'integer', example: 930 }) orders!: number;
  @ApiProperty({ example: 90123.4 }) revenue!: number;
}

export class RangeStatsDto implements RangeStatsView {
  @ApiProperty({ example: '2026-01-01' }) from!: string;
  @ApiProperty({ example: '2026-01-31' }) to!: string;
  @ApiProperty({ enum: ['day', 'month'] }) granularity!: 'day' | 'month';
  @ApiProperty({ type: [RangeRowDto], description: 'One row per period of the range, zero-filled.' })
  periods!: RangeRowDto[];
  @ApiProperty({ type: RangeTotalDto }) total!: RangeTotalDto;
}

export class ReasonDto {
  @ApiProperty({ example: 'missing_field:order_value' }) code!: string;
  @ApiProperty({ example: 'order_value should not be null or undefined' }) message!: string;
}

/** The shape of OrderStatusDto.last_conflict (documented inline there). */
export interface ConflictNoteDto {
  received_at: string;
  reasons: ReasonDto[];
}

export class OrderStatusDto implements OrderStatusView {
  @ApiProperty({ example: 'ORD-0001' }) order_id!: string;
  @ApiProperty({ enum: ['accepted', 'pending', 'rejected', 'conflict'] }) outcome!: OrderStatusView['outcome'];
  @ApiProperty({ nullable: true, type: String }) user_id!: string | null;
  @ApiProperty({ nullable: true, type: String }) first_seen_at!: string | null;
  @ApiProperty({ type: [ReasonDto] }) reasons!: ReasonDto[];
  // Inline rather than a reference: OpenAPI 3.0's `nullable` does not reach through the
  // `allOf` a nullable reference becomes, so validators and generated clients refused null.
  @ApiProperty({
    type: 'object',
    nullable: true,
    // `required` below lists the object's own fields; without this Nest would also drop
    // last_conflict from OrderStatusDto's required list.
    selfRequired: true,
    description: 'The latest message that reused this order_id with other content; null when none did.',
    required: ['received_at', 'reasons'],
    properties: {
      received_at: { type: 'string', example: '2026-03-05T08:00:00.000Z' },
      reasons: { type: 'array', items: { $ref: getSchemaPath(ReasonDto) } },
    },
  })
  last_conflict!: ConflictNoteDto | null;
}

export class RejectedOrderDto implements RejectedOrderView {
  @ApiProperty({ description: 'SQS message id.' }) id!: string;
  @ApiProperty({ enum: ['rejected', 'conflict'] }) kind!: 'rejected' | 'conflict';
  @ApiProperty({ nullable: true, type: String }) order_id!: string | null;
  @ApiProperty({ nullable: true, type: String }) user_id!: string | null;
  @ApiProperty({ type: [ReasonDto] }) reasons!: ReasonDto[];
  @ApiProperty() received_at!: string;
  @ApiProperty({ description: 'The message body as received, cut to REJECTED_BODY_MAX_BYTES.' }) raw_body!: string;
  @ApiProperty() raw_truncated!: boolean;
}

export class RejectedOrdersDto implements RejectedOrdersView {
  @ApiProperty({ type: [RejectedOrderDto] }) items!: RejectedOrderDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null at the end.' })
  next_cursor!: string | null;
}

export class ErrorDto {
  @ApiProperty({ type: 'integer', example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({ example: 'limit must be a whole number from 1 to 100' }) message!: string;
  @ApiPropertyOptional({ example: 'limit', description: 'The parameter at fault, for a 400.' }) parameter?: string;
}
