import { Module } from '@nestjs/common';
import { TopUsersQuery, RangeStatsQuery } from './analytics-queries';
import { FlaggedOrderStore, FlaggedOrdersQuery } from './flagged-order-store';
import { OrderAggregator } from './order-aggregator';
import { OrderHistoryQuery } from './order-history-query';
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
  FlaggedOrderStore,
  FlaggedOrdersQuery,
  OrderHistoryQuery,
];

/** The write side (OrderAggregator, RejectedOrderStore) and the read queries behind the API. */
@Module({ providers, exports: providers })
export class AggregationModule {}
