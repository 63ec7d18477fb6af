export { QualityGuardModule } from './quality-guard.module';
export { QualityGuard } from './quality-guard';
export type { Verdict, GuardCounters } from './quality-guard';
export { parseVerdicts, REJECT_CODES } from './claude-reviewer';
export type { ModelVerdict } from './claude-reviewer';
