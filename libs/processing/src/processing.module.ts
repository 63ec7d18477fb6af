import { Module } from '@nestjs/common';
import { AggregationModule } from '@order-pipeline/aggregation';
import { QualityGuardModule } from '@order-pipeline/quality-guard';
import { PipelineMetrics } from './pipeline-metrics';
import { ProcessingService } from './processing.service';

@Module({
  imports: [AggregationModule, QualityGuardModule],
  providers: [ProcessingService, PipelineMetrics],
  exports: [ProcessingService, PipelineMetrics],
})
export class ProcessingModule {}
