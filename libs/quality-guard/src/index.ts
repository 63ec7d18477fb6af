export { QualityGuardModule } from './quality-guard.module';
export { QualityGuard } from './quality-guard';
export type { Verdict } from './quality-guard';
