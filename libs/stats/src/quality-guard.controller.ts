import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { QualityGuard, type GuardSnapshot } from '@order-pipeline/quality-guard';
import { QualityGuardDto } from './quality-guard.dto';
import { ReadRoute } from './api-keys';

@ApiTags('operations')
@ReadRoute({ readsRedis: false })
@Controller('quality-guard')
export class QualityGuardController {
  constructor(private readonly guard: QualityGuard) {}

  @Get()
  @ApiOperation({
    summary: 'The AI quality guard: mode, breaker state, calls, latency, tokens, verdict counts, budget use',
  })
  @ApiOkResponse({ type: QualityGuardDto })
  snapshot(): GuardSnapshot {
    return this.guard.snapshot();
  }
}
