import { Module } from '@nestjs/common';
import { AggregationModule } from '@order-pipeline/aggregation';
import { ObservabilityModule } from '@order-pipeline/observability';
import { QualityGuardModule } from '@order-pipeline/quality-guard';
import { PipelineMetrics } from './pipeline-metrics';
import { ProcessingService } from './processing.service';
import { RejectionReprocessor } from './rejection-reprocessor';

@Module({
  imports: [AggregationModule, QualityGuardModule, ObservabilityModule],
  providers: [ProcessingService, PipelineMetrics, RejectionReprocessor],
  exports: [ProcessingService, PipelineMetrics, RejectionReprocessor],
})
export class ProcessingModule {}
