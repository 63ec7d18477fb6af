import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HttpErrorFilter, createValidationPipe, decodablePath } from '@order-pipeline/stats';
import { ASSETS_DIR, DashboardAssets } from './dashboard-assets';
import { DashboardController } from './dashboard.controller';
import { DashboardSummaryQuery } from './dashboard-summary';

/** An asset as it is on disk, and its expected version (the first 16 hex digits of its SHA-256), read apart from DashboardAssets. */
function onDisk(name: string): { body: Buffer; version: string } {
  const path = name.startsWith('uPlot') ? require.resolve(`uplot/dist/${name}`) : join(ASSETS_DIR, name);
  const body = readFileSync(path);
  return { body, version: createHash('sha256').update(body).digest('hex').slice(0, 16) };
}

describe('DashboardController (page, assets, summary)', () => {
  let app: INestApplication;
  let base: string;
  const assets = new DashboardAssets();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [DashboardController],
      providers: [
        { provide: DashboardAssets, useValue: assets },
        {
          provide: DashboardSummaryQuery,
          useValue: { summary: () => Promise.resolve({ totals: { total_orders: 7 } }) },
        },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.use(decodablePath); // as configureApp mounts it
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new HttpErrorFilter());
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
  });

  /** The asset links of the page, e.g. "dashboard/assets/dashboard.js?v=0123456789abcdef". */
  const links = async (): Promise<string[]> =>
    [...(await (await fetch(`${base}/`)).text()).matchAll(/(?:src|href)="(dashboard\/assets\/[^"]+)"/g)].map(
      (m) => m[1] ?? '',
    );

  it('serves the page as HTML that is revalidated on every load', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain('<title>Order Pipeline · Dashboard</title>');
  });

  it('links every asset with its content hash', async () => {
    expect(await links()).toEqual([
      `dashboard/assets/uPlot.min.css?v=${onDisk('uPlot.min.css').version}`,
      `dashboard/assets/dashboard.css?v=${onDisk('dashboard.css').version}`,
      `dashboard/assets/uPlot.iife.min.js?v=${onDisk('uPlot.iife.min.js').version}`,
      `dashboard/assets/dashboard.js?v=${onDisk('dashboard.js').version}`,
    ]);
  });

  it.each([
    ['dashboard.js', 'text/javascript; charset=utf-8'],
    ['dashboard.css', 'text/css; charset=utf-8'],
    ['uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
    ['uPlot.min.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s, cached for good when asked for with its hash', async (name, type) => {
    const link = (await links()).find((l) => l.startsWith(`dashboard/assets/${name}?`));
    const res = await fetch(`${base}/${link}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await res.arrayBuffer()).equals(onDisk(name).body)).toBe(true);
  });

  it('has an asset without the current hash revalidated, and answers 304 to a matching ETag', async () => {
    const res = await fetch(`${base}/dashboard/assets/dashboard.js?v=old`);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const etag = res.headers.get('etag') ?? '';
    expect(etag).toBe(`"${onDisk('dashboard.js').version}"`);
    // node:http, not fetch: fetch adds "Cache-Control: no-cache" to conditional requests.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(`${base}/dashboard/assets/dashboard.js`, { headers: { 'if-none-match': etag } }, (r) => {
        r.resume();
        resolve(r.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(304);
  });

  it.each(['index.html', 'nope.js', '..%2F..%2Fpackage.json', '%2Fetc%2Fpasswd'])(
    'answers 404 for %s: only the listed assets are served',
    async (name) => {
      const res = await fetch(`${base}/dashboard/assets/${name}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    },
  );

  it.each(['%FF', 'a%E2%82.js', '%C0%AE%C0%AE'])(
    'answers 400 naming the name for %s, which is not percent-encoded UTF-8',
    async (name) => {
      const res = await fetch(`${base}/dashboard/assets/${name}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'name is not valid percent-encoded UTF-8',
        parameter: 'name',
      });
    },
  );

  it('answers the summary as JSON that is never cached', async () => {
    const res = await fetch(`${base}/dashboard/summary`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ totals: { total_orders: 7 } });
  });
});
