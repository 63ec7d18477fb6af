import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  FlaggedOrdersQuery,
  OrderStatusQuery,
  RejectedOrdersQuery,
  type FlaggedOrdersView,
  type OrderStatusView,
  type RejectedOrdersView,
} from '@order-pipeline/aggregation';
import { ApiPathId, PathId, RejectedQueryDto } from './query.dto';
import { FlaggedOrdersDto } from './quality-guard.dto';
import { ErrorDto, OrderStatusDto, RejectedOrdersDto } from './response.dto';
import { ReadRoute } from './api-keys';

@ApiTags('orders')
@ApiBadRequestResponse({ type: ErrorDto })
@ReadRoute()
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly status: OrderStatusQuery,
    private readonly rejected: RejectedOrdersQuery,
    private readonly flagged: FlaggedOrdersQuery,
  ) {}

  @Get('rejected')
  @ApiOperation({ summary: 'Rejected and conflicting messages, newest first, with reason codes and the raw body' })
  @ApiOkResponse({ type: RejectedOrdersDto })
  list(@Query() q: RejectedQueryDto): Promise<RejectedOrdersView> {
    return this.rejected.list(q.limit, q.cursor === undefined ? undefined : Number(q.cursor));
  }

  @Get('flagged')
  @ApiOperation({
    summary: 'Orders the AI quality guard accepted but flagged for a person to look at, newest first',
    description:
      "Listed once per order_id: the model said flag (or allowed an order whose text reads like instructions to a model), the model flagged or rejected an order of the monitoring sample, or the rules found the order suspicious and no model verdict was available (offline mode, fail-open). Such a rules listing is replaced by the model's verdict on a resent copy of the counted order, whatever it says. Orders the model rejects before they are counted are in /orders/rejected with reason ai:<code>.",
  })
  @ApiOkResponse({ type: FlaggedOrdersDto })
  listFlagged(@Query() q: RejectedQueryDto): Promise<FlaggedOrdersView> {
    return this.flagged.list(q.limit, q.cursor === undefined ? undefined : Number(q.cursor));
  }

  @Get(':order_id')
  @ApiOperation({ summary: 'What became of an order: accepted, pending, rejected or conflict' })
  @ApiOkResponse({ type: OrderStatusDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiPathId('order_id')
  get(@PathId('order_id') order_id: string): Promise<OrderStatusView> {
    return this.status.status(order_id);
  }
}
