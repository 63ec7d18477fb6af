import { Controller, Get, Header, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ParameterException, PublicRoute, hasUndecodablePath } from '@order-pipeline/stats';
import { DashboardAssets, type DashboardAsset } from './dashboard-assets';
import { DashboardSummaryQuery, type DashboardSummary } from './dashboard-summary';

/** A year: an asset asked for with its current content hash never changes. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Anything else is revalidated with its ETag on every use. */
const REVALIDATE = 'no-cache';

/**
 * The live dashboard at GET /: a static page, its assets, and the one JSON summary it
 * polls. Not part of the documented API (the page's own feed may change with the page).
 * The page and assets hold no data and are public; the summary is a read route like the
 * API's (it needs READ_API_KEY when that is set: the page asks for it).
 */
@ApiExcludeController()
@Controller()
export class DashboardController {
  constructor(
    private readonly assets: DashboardAssets,
    private readonly summaries: DashboardSummaryQuery,
  ) {}

  @Get()
  @PublicRoute()
  page(@Res() res: Response): void {
    send(res, this.assets.page, REVALIDATE);
  }

  @Get('dashboard/assets/:name')
  @PublicRoute()
  asset(@Param('name') name: string, @Query('v') version: unknown, @Req() req: Request, @Res() res: Response): void {
    // decodablePath put a stand-in for a name that is not percent-encoded UTF-8: say so,
    // rather than name the stand-in in a 404.
    if (hasUndecodablePath(req)) throw new ParameterException('name', 'name is not valid percent-encoded UTF-8');
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException(`no dashboard asset is named ${name}`);
    send(res, asset, version === asset.version ? IMMUTABLE : REVALIDATE);
  }

  @Get('dashboard/summary')
  @Header('Cache-Control', 'no-store')
  summary(): Promise<DashboardSummary> {
    return this.summaries.summary();
  }
}

/** Express answers 304 itself when If-None-Match matches the ETag. */
function send(res: Response, asset: DashboardAsset, cacheControl: string): void {
  res
    .status(200)
    .set({ 'Content-Type': asset.contentType, 'Cache-Control': cacheControl, ETag: `"${asset.version}"` })
    .send(asset.body);
}
