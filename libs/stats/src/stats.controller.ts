import { Controller, Get, Inject, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import {
  ApiBadRequestResponse,
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import {
  InvalidQueryError,
  RangeStatsQuery,
  StatsQuery,
  TopUsersQuery,
  parseOptionalRange,
  parseRange,
  type GlobalStatsView,
  type RangeStatsView,
  type TopUsersView,
  type UserRangeStatsView,
  type UserStatsView,
} from '@order-pipeline/aggregation';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { ApiPathId, OptionalRangeQueryDto, PathId, RangeQueryDto, TopUsersQueryDto } from './query.dto';
import { ErrorDto, GlobalStatsDto, RangeStatsDto, TopUsersDto, UserRangeStatsDto, UserStatsDto } from './response.dto';
import { ReadRoute } from './api-keys';

/** Documents the 400 of a route that takes parameters. */
const ApiParameterErrors = (): MethodDecorator =>
  ApiBadRequestResponse({ type: ErrorDto, description: 'A parameter is invalid; `parameter` names it.' });

const RANGE_PARAMETERS = ['from', 'to', 'granularity'] as const;

function refuseRange(query: Request['query']): void {
  const given = RANGE_PARAMETERS.find((p) => query[p] !== undefined);
  if (given === undefined) return;
  throw new InvalidQueryError(
    given,
    `${given} is not taken here: /stats/global is all time; for a date range use /stats/range?from=YYYY-MM-DD&to=YYYY-MM-DD`,
  );
}

@ApiTags('stats')
@ReadRoute()
@Controller()
export class StatsController {
  constructor(
    private readonly stats: StatsQuery,
    private readonly top: TopUsersQuery,
    private readonly ranges: RangeStatsQuery,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('users/:user_id/stats')
  @ApiParameterErrors()
  @ApiOperation({
    summary: "A user's totals, all time or within from..to",
    description: 'user_id is matched after trimming and upper-casing. With from/to the answer covers those UTC days.',
  })
  // One 200 with two shapes: a second @ApiOkResponse would replace the first.
  @ApiExtraModels(UserStatsDto, UserRangeStatsDto)
  @ApiOkResponse({
    description: 'All time without from/to (UserStatsDto); within the range with them (UserRangeStatsDto).',
    schema: { oneOf: [{ $ref: getSchemaPath(UserStatsDto) }, { $ref: getSchemaPath(UserRangeStatsDto) }] },
  })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No order is recorded for this user.' })
  @ApiPathId('user_id')
  user(
    @PathId('user_id') user_id: string,
    @Query() q: OptionalRangeQueryDto,
  ): Promise<UserStatsView | UserRangeStatsView> {
    const range = parseOptionalRange(q.from, q.to, this.config.stats.maxRangeDays);
    return range ? this.ranges.user(user_id, range) : this.stats.user(user_id);
  }

  @Get('stats/global')
  @ApiOperation({
    summary: 'Totals over every accepted order, and counts of duplicate, rejected and conflicting messages',
  })
  @ApiOkResponse({ type: GlobalStatsDto })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: 'from, to or granularity was given: these totals are all time (ranges: /stats/range).',
  })
  global(@Req() req: Request): Promise<GlobalStatsView> {
    // Other parameters are ignored, as on every route without parameters (a cache-buster);
    // a range would be answered with all-time figures that look filtered.
    if (req.url.includes('?')) refuseRange(req.query);
    return this.stats.global();
  }

  @Get('stats/top-users')
  @ApiParameterErrors()
  @ApiOperation({ summary: 'Top-N users by spend or order count, all time or within from..to (ties by user_id)' })
  @ApiOkResponse({ type: TopUsersDto })
  topUsers(@Query() q: TopUsersQueryDto): Promise<TopUsersView> {
    return this.top.top(q.by, q.limit, parseOptionalRange(q.from, q.to, this.config.stats.maxRangeDays));
  }

  @Get('stats/range')
  @ApiParameterErrors()
  @ApiOperation({ summary: 'Orders and revenue per day or month of a date range (zero-filled), with the range total' })
  @ApiOkResponse({ type: RangeStatsDto })
  range(@Query() q: RangeQueryDto): Promise<RangeStatsView> {
    return this.ranges.series(parseRange(q.from, q.to, this.config.stats.maxRangeDays), q.granularity);
  }
}
