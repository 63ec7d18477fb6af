export { ProcessingModule } from './processing.module';
export { ProcessingService } from './processing.service';
export { RejectionReprocessor } from './rejection-reprocessor';
export type { ReprocessResult } from './rejection-reprocessor';
export { isFinal } from './outcome';
export type { InboundMessage, Outcome, OutcomeKind } from './outcome';
