export { QualityGuardModule } from './quality-guard.module';
export { QualityGuard } from './quality-guard';
export type { Verdict, GuardCounters, GuardMode, GuardStatus, GuardSnapshot } from './quality-guard';
export type { ModelVerdict, ModelDecision, VerdictCode } from './claude-reviewer';
export { isVerdictCode } from './claude-reviewer';
export type { BreakerState } from './circuit-breaker';
