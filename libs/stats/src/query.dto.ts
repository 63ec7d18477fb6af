import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_MESSAGE = (p: string): string => `${p} must be a date as YYYY-MM-DD`;

export class OptionalRangeQueryDto {
  @ApiPropertyOptional({
    description: 'First day, inclusive (UTC), YYYY-MM-DD. Give with `to`.',
    example: '2026-01-01',
  })
  @IsOptional()
  @Matches(DATE, { message: DATE_MESSAGE('from') })
  from?: string;

  @ApiPropertyOptional({
    description: 'Last day, inclusive (UTC), YYYY-MM-DD. Give with `from`.',
    example: '2026-03-31',
  })
  @IsOptional()
  @Matches(DATE, { message: DATE_MESSAGE('to') })
  to?: string;
}

export class TopUsersQueryDto extends OptionalRangeQueryDto {
  @ApiPropertyOptional({
    enum: ['spend', 'orders'],
    default: 'spend',
    description: 'Rank by total spend or by order count.',
  })
  @IsOptional()
  @IsIn(['spend', 'orders'], { message: 'by must be one of: spend, orders' })
  by: 'spend' | 'orders' = 'spend';

  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number from 1 to 100' })
  @Min(1, { message: 'limit must be a whole number from 1 to 100' })
  @Max(100, { message: 'limit must be a whole number from 1 to 100' })
  limit = 10;
}

export class RangeQueryDto {
  @ApiProperty({ description: 'First day, inclusive (UTC), YYYY-MM-DD.', example: '2026-01-01' })
  @Matches(DATE, { message: DATE_MESSAGE('from') })
  from!: string;

  @ApiProperty({ description: 'Last day, inclusive (UTC), YYYY-MM-DD.', example: '2026-03-31' })
  @Matches(DATE, { message: DATE_MESSAGE('to') })
  to!: string;

  @ApiPropertyOptional({ enum: ['day', 'month'], default: 'day' })
  @IsOptional()
  @IsIn(['day', 'month'], { message: 'granularity must be one of: day, month' })
  granularity: 'day' | 'month' = 'day';
}

export class RejectedQueryDto {
  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number from 1 to 500' })
  @Min(1, { message: 'limit must be a whole number from 1 to 500' })
  @Max(500, { message: 'limit must be a whole number from 1 to 500' })
  limit = 50;

  @ApiPropertyOptional({ description: 'next_cursor from the previous page.' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,15}$/, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

const ID = /^[\p{L}\p{N}._\-#/@+]+$/u;

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class UserIdParamDto {
  @Transform(trim)
  @IsString()
  @MaxLength(64, { message: 'user_id must be at most 64 characters' })
  @Matches(ID, { message: 'user_id may contain letters, digits and . _ - # / @ + only' })
  user_id!: string;
}

export class OrderIdParamDto {
  @Transform(trim)
  @IsString()
  @MaxLength(64, { message: 'order_id must be at most 64 characters' })
  @Matches(ID, { message: 'order_id may contain letters, digits and . _ - # / @ + only' })
  order_id!: string;
}
