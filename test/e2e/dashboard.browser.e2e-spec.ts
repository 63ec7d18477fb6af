import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { anOrder } from '../../libs/orders/test/order-builder';
import { startRedisServer, type RedisServer } from '../support/processes';
import { eventually, startTestApp, type GlobalStats, type TestApp } from '../support/test-app';

/**
 * The dashboard and Swagger UI in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), against the real app fed through SQS. Screenshots go to
 * .artifacts/screenshots/ (git-ignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(__dirname, '..', '..', '.artifacts', 'screenshots');
const WAIT_MS = 30_000;

/** Orders at or above this value (cents) are flagged by the quality guard's rules. */
const SUSPICIOUS_CENTS = '200000';
/** Known orders: 7 accepted for 4 users in February and March 2026, 6,269.09 in all; one flagged. */
const ORDERS = [
  ...Array.from({ length: 3 }, () => anOrder().with({ user_id: 'u-alice' })), // 3 x 99.99
  anOrder()
    .with({ user_id: 'u-bob', order_timestamp: '2026-03-10T08:00:00Z' })
    .withItems({ product_id: 'P-9', quantity: 4, price_per_unit: 250 })
    .withValue(1000),
  ...['2026-02-20T12:00:00Z', '2026-03-01T09:30:00Z'].map((at) =>
    anOrder()
      .with({ user_id: 'u-carol', order_timestamp: at })
      .withItems({ product_id: 'P-3', quantity: 1, price_per_unit: 1234.56 })
      .withValue(1234.56),
  ),
  anOrder()
    .with({ user_id: 'u-dave' })
    .withItems({ product_id: 'P-7', quantity: 1, price_per_unit: 2500 })
    .withValue(2500),
];
/** Untrusted text in an order id: it must show as text, never become markup. */
const HOSTILE_ID = '<img src=x id=injected>';

function launchArgs(): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
}

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: install it with \`apt-get install chromium\` ` +
        '(./scripts/test does so when run as root), or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  // Headless, with a fresh temporary profile that playwright creates and removes.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs() });
}

/** Waits until the element's text is exactly `text`; on timeout, says what it showed instead. */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  const shown = async (): Promise<string | undefined> => (await page.textContent(selector))?.trim();
  try {
    await eventually(async () => (await shown()) === text, WAIT_MS, 100);
  } catch (error) {
    throw new Error(`${selector} should show "${text}" but shows "${await shown()}" (${(error as Error).message})`);
  }
}

/** The text of each cell of each row of a table body. */
async function rows(page: Page, tbody: string): Promise<string[][]> {
  const trs = await page.locator(`#${tbody} tr`).all();
  return Promise.all(trs.map(async (tr) => (await tr.locator('td').allTextContents()).map((text) => text.trim())));
}

describe('the dashboard in headless Chromium', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
    t = await startTestApp({ STATS_RETENTION_DAYS: '3650', QUALITY_GUARD_SUSPICIOUS_CENTS: SUSPICIOUS_CENTS });
    base = t.baseUrl.replace('[::1]', '127.0.0.1');
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // GET orders/flagged answers 404 on a server without the flagged list; the page says so.
      if (m.type() === 'error' && !m.location().url.endsWith('/orders/flagged')) problems.push(`console: ${m.text()}`);
    });
    // The page is open before anything arrives: what follows must show up live.
    await page.goto(`${base}/`);
    await waitForText(page, '#revenue', '0.00');
    await t.send([
      ...ORDERS.map((o) => o.json()),
      anOrder().with({ order_id: HOSTILE_ID }).json(),
      anOrder().with({ order_id: 'ord-bad' }).withValue(10).json(),
      'not json at all',
    ]);
    await eventually(async () => (await t.get<GlobalStats>('/stats/global')).body.rejected === 3, WAIT_MS);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the exact revenue of the orders sent while it was open', async () => {
    await waitForText(page, '#revenue', '6,269.09');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
  });

  it('measures orders per minute from successive updates', async () => {
    // The page's first update saw no orders and the seven came within its 60 s window: a rate
    // above 0. Second in line, so slow tests before it cannot push that update out of the window.
    const rate = async (): Promise<number> => Number(((await page.textContent('#rate')) ?? '').replaceAll(',', ''));
    await eventually(async () => (await rate()) > 0, WAIT_MS, 100);
    expect(await page.textContent('#rate-sub')).toMatch(/^over the last \d+ s$/);
  });

  it('shows orders, users and the average order as formatted numbers', async () => {
    await waitForText(page, '#orders', '7');
    expect(await page.textContent('#users')).toBe('4');
    expect(await page.textContent('#average')).toBe('895.58');
    expect(await page.textContent('#orders-sub')).toBe('3 rejected · 0 conflicts');
  });

  it('lists the top users by spend', async () => {
    await waitForText(page, '#top-users tr:nth-child(4) td:nth-child(2)', 'U-ALICE');
    expect(await rows(page, 'top-users')).toEqual([
      ['1', 'U-DAVE', '1', '2,500.00'],
      ['2', 'U-CAROL', '2', '2,469.12'],
      ['3', 'U-BOB', '1', '1,000.00'],
      ['4', 'U-ALICE', '3', '299.97'],
    ]);
  });

  it('draws the daily revenue chart over the months that have orders', async () => {
    await waitForText(page, '#chart-range', '2026-02-01 to 2026-03-31 · 6,269.09 from 7 orders');
    expect(await page.locator('#chart canvas').count()).toBe(1);
  });

  it('lists rejected messages with their reason codes', async () => {
    await eventually(async () => (await rows(page, 'rejected')).length === 3, WAIT_MS);
    const codes = (await page.locator('#rejected .code').allTextContents()).sort();
    expect(codes).toEqual(['invalid_format:order_id', 'not_json', 'value_mismatch']);
    const orders = (await rows(page, 'rejected')).map(([, order]) => order);
    expect(orders).toHaveLength(3);
    expect(orders).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(no order id\)\{"order_id":/),
        '(no order id)not json at all',
        'ORD-BADU-1',
      ]),
    );
  });

  it('lists flagged orders with their value and flags', async () => {
    await eventually(async () => (await rows(page, 'flagged')).length === 1, WAIT_MS);
    const [[, order, value] = []] = await rows(page, 'flagged');
    expect([order, value]).toEqual([expect.stringMatching(/^ORD-T\d+U-DAVE$/), '2,500.00']);
    expect(await page.locator('#flagged .code').allTextContents()).toEqual(['flag:high_value']);
    expect(await page.textContent('#flagged-total')).toBe('1 in all');
  });

  it('shows untrusted text from a message as text, never as markup', async () => {
    await eventually(async () => (await rows(page, 'rejected')).length === 3, WAIT_MS);
    const shown = (await rows(page, 'rejected')).map(([, order]) => order).join('\n');
    expect(shown).toContain(`{"order_id":"${HOSTILE_ID}"`);
    expect(await page.locator('#injected').count()).toBe(0);
  });

  it('shows the queue depth', async () => {
    await t.drained();
    await waitForText(page, '#queue', '0');
    expect(await page.textContent('#queue-sub')).toMatch(/^\d+ in flight · \d+ delayed$/);
  });

  it('loads nothing from another origin and runs without script errors', () => {
    expect(requested.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('serves Swagger UI with the list of operations', async () => {
    const docs = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    try {
      await docs.goto(`${base}/docs`);
      await docs.waitForSelector('.opblock-summary-path', { timeout: WAIT_MS });
      const paths = (await docs.locator('.opblock-summary-path').allTextContents()).map((p) => p.trim());
      expect(paths).toEqual(expect.arrayContaining(['/stats/global', '/users/{user_id}/stats']));
      await docs.screenshot({ path: join(SCREENSHOTS, 'swagger.png'), fullPage: true });
    } finally {
      await docs.close();
    }
  });
});

describe('the dashboard when Redis is away', () => {
  let redis: RedisServer;
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    redis = await startRedisServer();
    t = await startTestApp({ REDIS_URL: redis.url });
    await redis.stop();
  });

  afterAll(async () => {
    await browser?.close();
    // Back up before the app closes, so its Redis client can say goodbye.
    redis = await startRedisServer({ port: redis.port });
    await t?.close();
    await redis.stop();
  });

  it('says so in a visible error instead of showing figures', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl.replace('[::1]', '127.0.0.1')}/`);
    await page.waitForSelector('#error:not([hidden])', { timeout: WAIT_MS });
    expect(await page.textContent('#error')).toBe(
      'GET dashboard/summary answered 503: the statistics store is not reachable; try again shortly',
    );
    expect(await page.getAttribute('#status', 'data-state')).toBe('error');
    expect(await page.textContent('#revenue')).toBe('—');
  });
});

describe('the dashboard on a server with a read key', () => {
  const READ_KEY = 'dashboard-read-key-0123456789';
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    t = await startTestApp({ READ_API_KEY: READ_KEY });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('asks for the key, then shows the figures', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl.replace('[::1]', '127.0.0.1')}/`);
    await page.waitForSelector('#key-form:not([hidden])', { timeout: WAIT_MS });
    expect(await page.textContent('#error')).toContain('GET dashboard/summary answered 401');
    await page.fill('#key', READ_KEY);
    await page.click('#key-form button');
    await waitForText(page, '#revenue', '0.00');
    expect(await page.isHidden('#key-form')).toBe(true);
    expect(await page.isHidden('#error')).toBe(true);
  });

  it('opens the metrics with the key once it is given (a plain link would get a 401)', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl.replace('[::1]', '127.0.0.1')}/`);
    await page.waitForSelector('#key-form:not([hidden])', { timeout: WAIT_MS });
    await page.fill('#key', READ_KEY);
    await page.click('#key-form button');
    await waitForText(page, '#revenue', '0.00');
    await page.click('#metrics-link');
    await page.waitForURL(/^blob:/, { timeout: WAIT_MS });
    expect(await page.textContent('body')).toContain('order_pipeline_messages_total');
  });
});
