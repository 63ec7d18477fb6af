import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';

/** Ids after trimming: letters, digits and . _ - # / @ + ; no ":" or "{}" (they shape Redis keys). */
export const ID_PATTERN = /^[\p{L}\p{N}._\-#/@+]+$/u;
export const MAX_ID_LENGTH = 64;
export const MAX_ITEMS = 100;
export const MAX_TEXT_LENGTH = 500;

/**
 * The shape of one line item as it arrives. Money and quantity are checked by the
 * order rules (exact cents), so here they only have to be present.
 */
export class OrderItemDto {
  @IsDefined()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_ID_LENGTH)
  @Matches(ID_PATTERN)
  product_id!: string;

  @IsDefined()
  quantity!: unknown;

  @IsDefined()
  price_per_unit!: unknown;
}

/** The order event as it arrives on the queue (the seed's JSON), strings already trimmed. */
export class OrderEventDto {
  @IsDefined()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_ID_LENGTH)
  @Matches(ID_PATTERN)
  order_id!: string;

  @IsDefined()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_ID_LENGTH)
  @Matches(ID_PATTERN)
  user_id!: string;

  @IsDefined()
  @IsString()
  @MinLength(1)
  @MaxLength(40)
  order_timestamp!: string;

  @IsDefined()
  order_value!: unknown;

  @IsDefined()
  @IsArray()
  @ArrayMinSize(1, { message: 'items must contain at least one item' })
  @ArrayMaxSize(MAX_ITEMS)
  @ValidateNested({ each: true })
  items!: OrderItemDto[];

  @IsDefined()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_TEXT_LENGTH)
  shipping_address!: string;

  @IsDefined()
  @IsString()
  @MinLength(1)
  @MaxLength(40)
  payment_method!: string;
}
