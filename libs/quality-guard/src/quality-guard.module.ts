import { Module } from '@nestjs/common';
import { QualityGuard } from './quality-guard';

@Module({ providers: [QualityGuard], exports: [QualityGuard] })
export class QualityGuardModule {}
