import { applyDecorators, Param, type PipeTransform } from '@nestjs/common';
import { ApiParam, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ID_PATTERN, MAX_ID_LENGTH, idLength, normaliseId } from '@order-pipeline/orders';
import { ParameterException } from './parameter-exception';

// The request pipe keeps the DTO of each query that passed and answers the same query again
// with a shallow copy (StrictQueryValidationPipe, http-errors.ts). So a query DTO holds only
// strings and numbers, and its transforms and checks read nothing but the query: no clock
// (a "not in the future" rule belongs in the handler, as parseRange's checks do).

/**
 * A whole-number query parameter from min to max, written in digits only: Number() would also
 * take "0x10", "1e1", "+5", "5.0" or " 5", and a parameter is refused unless written plainly.
 */
export function WholeNumberParam(name: string, min: number, max: number): PropertyDecorator {
  const message = `${name} must be a whole number from ${min} to ${max}`;
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value,
    ),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A missing date is told so (as the optional ranges do), not called malformed. */
const DATE_MESSAGE =
  (p: string) =>
  ({ value }: { value: unknown }): string =>
    value === undefined ? `${p} is required (YYYY-MM-DD)` : `${p} must be a date as YYYY-MM-DD`;

export class OptionalRangeQueryDto {
  @ApiPropertyOptional({
    description: 'First day, inclusive (UTC), YYYY-MM-DD. Give with `to`.',
    example: '2026-01-01',
    format: 'date',
  })
  @IsOptional()
  @Matches(DATE, { message: DATE_MESSAGE('from') })
  from?: string;

  @ApiPropertyOptional({
    description: 'Last day, inclusive (UTC), YYYY-MM-DD. Give with `from`.',
    example: '2026-03-31',
    format: 'date',
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

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @WholeNumberParam('limit', 1, 100)
  limit = 10;
}

export class RangeQueryDto {
  @ApiProperty({ description: 'First day, inclusive (UTC), YYYY-MM-DD.', example: '2026-01-01', format: 'date' })
  @Matches(DATE, { message: DATE_MESSAGE('from') })
  from!: string;

  @ApiProperty({ description: 'Last day, inclusive (UTC), YYYY-MM-DD.', example: '2026-03-31', format: 'date' })
  @Matches(DATE, { message: DATE_MESSAGE('to') })
  to!: string;

  @ApiPropertyOptional({ enum: ['day', 'month'], default: 'day' })
  @IsOptional()
  @IsIn(['day', 'month'], { message: 'granularity must be one of: day, month' })
  granularity: 'day' | 'month' = 'day';
}

export class RejectedQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @WholeNumberParam('limit', 1, 500)
  limit = 50;

  @ApiPropertyOptional({ description: 'next_cursor from the previous page.' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,15}$/, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

/**
 * A path id (user_id, order_id), read as an id in a message is (normaliseId: trimmed, NFC,
 * upper case), then at most 64 characters, all letters, digits or . _ - # / @ +; otherwise
 * a 400 naming it. So an id written decomposed (NFD) in the URL finds the order or user
 * that a message wrote composed, and the other way round.
 *
 * A pipe of its own rather than a path DTO through class-transformer and class-validator:
 * the user endpoint is the hottest read, and that round cost it about a fifth of its
 * throughput for one string check.
 */
export class PathIdPipe implements PipeTransform<unknown, string> {
  constructor(private readonly name: 'user_id' | 'order_id') {}

  transform(value: unknown): string {
    const id = typeof value === 'string' ? normaliseId(value) : '';
    if (id === '') throw new ParameterException(this.name, `${this.name} must not be empty or blank`);
    if (idLength(id) > MAX_ID_LENGTH) {
      throw new ParameterException(this.name, `${this.name} must be at most ${MAX_ID_LENGTH} characters`);
    }
    if (!ID_PATTERN.test(id)) {
      throw new ParameterException(this.name, `${this.name} may contain letters, digits and . _ - # / @ + only`);
    }
    return id;
  }
}

/** The path id `name`, checked by PathIdPipe. */
export const PathId = (name: 'user_id' | 'order_id'): ParameterDecorator => Param(name, new PathIdPipe(name));

/** Swagger's description of a path id (the pipe has no schema of its own to give). */
export const ApiPathId = (name: 'user_id' | 'order_id'): MethodDecorator =>
  ApiParam({
    name,
    // No `pattern`: the rule needs Unicode classes (\p{L}), which Swagger UI's check, a RegExp
    // without the u flag, would read as literal characters and refuse every id.
    schema: { type: 'string', maxLength: MAX_ID_LENGTH },
    description: 'Matched after trimming and upper-casing: letters, digits and . _ - # / @ + only.',
  });
