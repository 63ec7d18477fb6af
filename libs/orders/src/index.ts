export { parseOrderMessage, MAX_BODY_BYTES } from './order-parser';
export { normaliseId } from './ids';
export { parseOrderTimestamp } from './timestamp';
export { parseCents, centsToAmount, formatCents, MAX_ORDER_CENTS } from './money';
export type { Cents } from './money';
export { OrderEventDto, OrderItemDto, ID_PATTERN, MAX_ID_LENGTH, MAX_ITEMS } from './order-event.dto';
export type { Order, OrderItem, ParseResult, Violation } from './order';
