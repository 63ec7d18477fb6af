import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import type { ReprocessResult } from '@order-pipeline/processing';
import type { DeadLetter, DeadLetterPeek, RedriveResult } from '@order-pipeline/sqs';
import { WholeNumberParam } from './query.dto';

export class DeadLetterQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 10,
    default: 10,
    description: 'Messages to peek at (one SQS receive).',
  })
  @IsOptional()
  @WholeNumberParam('limit', 1, 10)
  limit = 10;
}

export class RedriveQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Most messages to move in this call.',
  })
  @IsOptional()
  @WholeNumberParam('limit', 1, 1000)
  limit = 100;
}

export class DeadLetterDto implements DeadLetter {
  @ApiProperty({ description: 'SQS message id in the dead-letter queue.' }) message_id!: string;
  @ApiProperty({ description: 'The id the pipeline knows the message by (its first SQS message id).' })
  original_message_id!: string;
  @ApiProperty({ nullable: true, type: String, example: '2026-03-01T10:15:00.000Z' }) sent_at!: string | null;
  @ApiProperty({ type: 'integer', example: 6, description: 'Receives so far; this peek counts as one.' })
  receive_count!: number;
  @ApiProperty({ description: 'The body, cut to REJECTED_BODY_MAX_BYTES bytes.' }) body!: string;
  @ApiProperty() body_truncated!: boolean;
  @ApiProperty({ type: 'integer', example: 312 }) body_bytes!: number;
}

export class DeadLetterPeekDto implements DeadLetterPeek {
  @ApiProperty() queue_url!: string;
  @ApiProperty({
    type: 'integer',
    example: 3,
    description: 'Messages in the dead-letter queue, visible or not (approximate).',
  })
  approximate_depth!: number;
  @ApiProperty({ type: [DeadLetterDto] }) items!: DeadLetterDto[];
}

export class RedriveResultDto implements RedriveResult {
  @ApiProperty({
    type: 'integer',
    example: 3,
    description: 'Sent to the orders queue and deleted from the dead-letter queue.',
  })
  moved!: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'Could not be sent; still in the dead-letter queue.' })
  failed!: number;
  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'Sent, but the delete failed: they reappear; moving them again is harmless.',
  })
  not_deleted!: number;
  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'Messages left in the dead-letter queue, visible or not (approximate).',
  })
  remaining!: number;
}

export class ReprocessResultDto implements ReprocessResult {
  @ApiProperty({ example: 'ORD-0042' }) order_id!: string;
  @ApiProperty({ description: 'SQS message id of the stored record; the reprocess runs under it.' })
  message_id!: string;
  @ApiProperty({ enum: ['rejected', 'conflict'] }) previous_kind!: 'rejected' | 'conflict';
  @ApiProperty({ type: [String], example: ['value_mismatch'] }) previous_reasons!: string[];
  @ApiProperty({
    enum: ['accepted', 'duplicate', 'conflict', 'rejected'],
    description: 'accepted: applied now; duplicate: it was already applied; rejected/conflict: still refused.',
  })
  outcome!: ReprocessResult['outcome'];
  @ApiProperty({ type: [String], description: 'Reason codes when still refused.' }) reasons!: string[];
  @ApiProperty({ description: 'True when the record left the rejected store (the order is applied).' })
  resolved!: boolean;
}
