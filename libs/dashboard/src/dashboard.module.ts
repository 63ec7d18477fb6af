import { Module } from '@nestjs/common';
import { AggregationModule } from '@order-pipeline/aggregation';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { DashboardAssets } from './dashboard-assets';
import { DashboardController } from './dashboard.controller';
import { DashboardSummaryQuery } from './dashboard-summary';

/** The live dashboard at GET /: page, assets (uPlot from its npm package) and GET /dashboard/summary. */
@Module({
  imports: [AggregationModule, OrderQueueModule],
  controllers: [DashboardController],
  providers: [DashboardAssets, DashboardSummaryQuery],
})
export class DashboardModule {}
