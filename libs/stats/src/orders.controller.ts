import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  OrderStatusQuery,
  RejectedOrdersQuery,
  type OrderStatusView,
  type RejectedOrdersView,
} from '@order-pipeline/aggregation';
import { OrderIdParamDto, RejectedQueryDto } from './query.dto';
import { ErrorDto, OrderStatusDto, RejectedOrdersDto } from './response.dto';

@ApiTags('orders')
@ApiBadRequestResponse({ type: ErrorDto })
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly status: OrderStatusQuery,
    private readonly rejected: RejectedOrdersQuery,
  ) {}

  @Get('rejected')
  @ApiOperation({ summary: 'Rejected and conflicting messages, newest first, with reason codes and the raw body' })
  @ApiOkResponse({ type: RejectedOrdersDto })
  list(@Query() q: RejectedQueryDto): Promise<RejectedOrdersView> {
    return this.rejected.list(q.limit, q.cursor === undefined ? undefined : Number(q.cursor));
  }

  @Get(':order_id')
  @ApiOperation({ summary: 'What became of an order: accepted, pending, rejected or conflict' })
  @ApiOkResponse({ type: OrderStatusDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param() { order_id }: OrderIdParamDto): Promise<OrderStatusView> {
    return this.status.status(order_id);
  }
}
