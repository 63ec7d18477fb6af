/** The fields of an order message the service reads (the fuzz specs build bodies from them too). */
export const ORDER_FIELDS = [
  'order_id',
  'user_id',
  'order_timestamp',
  'order_value',
  'items',
  'shipping_address',
  'payment_method',
] as const;

/** The fields of one item it reads. */
export const ITEM_FIELDS = ['product_id', 'quantity', 'price_per_unit'] as const;
