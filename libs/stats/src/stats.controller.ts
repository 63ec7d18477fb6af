import { Controller, Get, Inject, Query } from '@nestjs/common';
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

/** Documents the 400 of a route that takes parameters (the global totals take none, and ignore any). */
const ApiParameterErrors = (): MethodDecorator =>
  ApiBadRequestResponse({ type: ErrorDto, description: 'A parameter is invalid; `parameter` names it.' });

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
  global(): Promise<GlobalStatsView> {
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
