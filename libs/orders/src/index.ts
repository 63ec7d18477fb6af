export { parseOrderMessage } from './order-parser';
export { idLength, normaliseId } from './ids';
export { centsToAmount, formatCents } from './money';
export type { Cents } from './money';
export { OrderItemDto, ID_PATTERN, MAX_ID_LENGTH, MAX_ITEMS } from './order-event.dto';
export type { Order, OrderItem, ParseResult, Violation } from './order';
