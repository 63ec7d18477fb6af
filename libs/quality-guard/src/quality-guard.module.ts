import { Module } from '@nestjs/common';
import { AggregationModule } from '@order-pipeline/aggregation';
import { QualityGuard } from './quality-guard';

@Module({ imports: [AggregationModule], providers: [QualityGuard], exports: [QualityGuard] })
export class QualityGuardModule {}
