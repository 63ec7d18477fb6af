import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';

/** One file the dashboard serves, read once at start-up. */
export interface DashboardAsset {
  readonly body: Buffer;
  readonly contentType: string;
  /** Hash of the content: the `v` query of the page's links and the ETag. */
  readonly version: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * Where the page's own files are: `libs/dashboard/assets` beside the sources, and
 * `dist/libs/dashboard/assets` beside the build (nest-cli.json copies them there).
 * Both are `../assets` from this file, whatever the working directory.
 */
export const ASSETS_DIR = join(__dirname, '..', 'assets');

/** The files under /dashboard/assets/: the page's own, and uPlot from its npm package. */
function sources(): Record<string, { path: string; contentType: string }> {
  return {
    'dashboard.js': { path: join(ASSETS_DIR, 'dashboard.js'), contentType: JS },
    'dashboard.css': { path: join(ASSETS_DIR, 'dashboard.css'), contentType: CSS },
    'uPlot.iife.min.js': { path: require.resolve('uplot/dist/uPlot.iife.min.js'), contentType: JS },
    'uPlot.min.css': { path: require.resolve('uplot/dist/uPlot.min.css'), contentType: CSS },
  };
}

/**
 * The dashboard's page and assets, held in memory. The page links every asset with its
 * content hash (`dashboard/assets/dashboard.js?v=<hash>`), so an asset asked for with the
 * current hash can be cached for good, and a new build is picked up on the next page load.
 */
@Injectable()
export class DashboardAssets {
  private readonly files = new Map<string, DashboardAsset>();
  readonly page: DashboardAsset;

  constructor() {
    const index = join(ASSETS_DIR, 'index.html');
    if (!existsSync(index)) {
      throw new Error(
        `dashboard assets are missing: ${index} does not exist (nest build copies libs/dashboard/assets into dist)`,
      );
    }
    for (const [name, { path, contentType }] of Object.entries(sources())) {
      this.files.set(name, asset(readFileSync(path), contentType));
    }
    let html = readFileSync(index, 'utf8');
    for (const [name, file] of this.files) {
      html = html.replaceAll(`"dashboard/assets/${name}"`, `"dashboard/assets/${name}?v=${file.version}"`);
    }
    this.page = asset(Buffer.from(html), 'text/html; charset=utf-8');
  }

  /** The asset of that name, or undefined for any other name (no path is ever built from it). */
  get(name: string): DashboardAsset | undefined {
    return this.files.get(name);
  }
}

function asset(body: Buffer, contentType: string): DashboardAsset {
  return { body, contentType, version: createHash('sha256').update(body).digest('hex').slice(0, 16) };
}
