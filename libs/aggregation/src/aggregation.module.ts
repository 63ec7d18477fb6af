import { Module } from '@nestjs/common';
import { TopUsersQuery, RangeStatsQuery } from './analytics-queries';
import { OrderAggregator } from './order-aggregator';
import { RejectedOrderStore } from './rejected-order-store';
import { OrderStatusQuery, RejectedOrdersQuery, StatsQuery } from './stats-queries';

const providers = [
  OrderAggregator,
  RejectedOrderStore,
  StatsQuery,
  OrderStatusQuery,
  RejectedOrdersQuery,
  TopUsersQuery,
  RangeStatsQuery,
];

/** The write side (OrderAggregator, RejectedOrderStore) and the read queries behind the API. */
@Module({ providers, exports: providers })
export class AggregationModule {}
