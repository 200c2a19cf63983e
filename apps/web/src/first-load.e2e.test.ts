// The first load on a phone, in a real browser (Debian's chromium) against the gateway serving the
// built app (no cloud is needed: the app works offline, and says it cannot reach it). What makes
// the page paint early must not break it: the header is in index.html and paints with the
// stylesheet inlined there, allowed by the gateway's Content-Security-Policy (no script needed,
// no second request); the app then takes that header over (one header, not two); a list's page is
// a chunk of its own, fetched for a list's link.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../cli/src/local-cluster.ts';
import { ensureWebBuild, webDist } from '../server/build.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';
import { chromiumArgs, chromiumPath, requireChromium } from './testing/chromium.ts';

/** A guard against a hang, not a budget. */
const eventually = { timeout: 60_000 };
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

let gateway: RunningGateway;
let browser: Browser;

beforeAll(async () => {
  requireChromium();
  await ensureWebBuild();
  gateway = await startGateway({
    cloud: ['tcp://127.0.0.1:1'],
    host: '127.0.0.1',
    port: await freePort(),
    webRoot: webDist,
  });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

/** A phone's page that records policy violations, uncaught errors and the files it asked for. */
async function open(
  javaScriptEnabled: boolean,
): Promise<{ page: Page; problems: string[]; requested: string[] }> {
  const context = await browser.newContext({ ...phone, javaScriptEnabled });
  const page = await context.newPage();
  const problems: string[] = [];
  const requested: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  return { page, problems, requested };
}

/** The header's background and the brand's colour, as the browser computed them. */
const headerLook = (page: Page): Promise<{ background: string; color: string }> =>
  page.locator('header.top .brand').evaluate((brand) => ({
    background: getComputedStyle(brand.parentElement as HTMLElement).backgroundColor,
    color: getComputedStyle(brand).color,
  }));

const green = 'rgb(31, 111, 67)';

describe('the first load', () => {
  it('paints the styled header with no script, under the policy, from one request', async () => {
    const { page, problems, requested } = await open(false);
    const response = await page.goto(gateway.url);
    expect(response?.headers()['content-security-policy']).toMatch(
      /style-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/,
    );
    await expect(page.getByRole('link', { name: 'Trolley, all lists' }).isVisible()).resolves.toBe(true);
    expect(await headerLook(page)).toEqual({ background: green, color: 'rgb(255, 255, 255)' });
    expect(requested.filter((p) => p.endsWith('.css'))).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('is taken over by the app: one header, the lists page, no policy violation', async () => {
    const { page, problems } = await open(true);
    await page.goto(gateway.url);
    await page.getByRole('heading', { name: 'Your lists' }).waitFor(eventually);
    expect(await page.locator('header.top').count()).toBe(1);
    // The same words as index.html's copy (strings.ts and index.html must not drift apart).
    await expect(page.getByRole('link', { name: 'Trolley, all lists' }).isVisible()).resolves.toBe(true);
    expect(await headerLook(page)).toEqual({ background: green, color: 'rgb(255, 255, 255)' });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("fetches a list page's chunk for a list's link, and shows the list", async () => {
    const { page, problems, requested } = await open(true);
    await page.goto(gateway.url);
    await page.getByLabel('New list name').fill('Groceries');
    await page.getByRole('button', { name: 'Create list' }).click();
    await page.getByRole('heading', { name: 'Groceries' }).waitFor(eventually);
    const link = page.url();
    expect(link).toMatch(/#\/list\//);
    expect(requested.some((p) => /\/assets\/ListPage-[\w-]+\.js$/.test(p))).toBe(true);
    // Opened again from its link: the list page is the first screen.
    await page.goto('about:blank');
    await page.goto(link);
    await page.getByRole('heading', { name: 'Groceries' }).waitFor(eventually);
    expect(await page.locator('header.top').count()).toBe(1);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
