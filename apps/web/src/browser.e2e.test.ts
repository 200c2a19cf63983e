// The web app in a real browser (Debian's chromium, driven by playwright-core) against a real local
// cloud: three storage nodes and a proxy as processes, the gateway serving the built app. What a
// person relies on: a list opened by its link on two devices shows each one's changes live; a
// device that goes offline keeps working (the app loads from the service worker's cache, the data
// from IndexedDB), and when it comes back both devices and a terminal client agree on the list
// everyone meant. A screenshot of the list page is kept in artifacts/web/.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type * as Axe from 'axe-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { freePort, trolleyBin } from '../../cli/src/local-cluster.ts';
import { ensureWebBuild, webDist } from '../server/build.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';

const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** How long a page may take to show what it must: a guard against a hang, not a budget. */
const eventually = { timeout: 60_000 };
/** As root, in a container, on a machine with no internet: no sandbox, no GPU, no calls home. */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const artifacts = join(import.meta.dirname, '..', '..', '..', 'artifacts', 'web');

let tc: TestCluster;
let gateway: RunningGateway;
/** A second gateway on the same cloud: gateways keep no state, so either serves anyone. */
let otherGateway: RunningGateway;
let browser: Browser;
/** Uncaught errors and policy violations in any page: none may happen. */
const pageErrors: string[] = [];
const cliHome = mkdtempSync(join(tmpdir(), 'trolley-web-cli-'));

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(
      `the browser tests need Debian's chromium at ${chromiumPath}: apt-get install -y chromium ` +
        '(or set CHROMIUM_PATH to another Chromium)',
    );
  await ensureWebBuild();
  tc = await TestCluster.start({ nodes: 3 });
  gateway = await startGateway({
    cloud: tc.cluster.clientEndpoints,
    host: '127.0.0.1',
    port: await freePort(),
    webRoot: webDist,
  });
  otherGateway = await startGateway({
    cloud: tc.cluster.clientEndpoints,
    host: '127.0.0.1',
    port: await freePort(),
    webRoot: webDist,
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
  });
});

afterAll(async () => {
  try {
    await browser?.close();
    await Promise.all([gateway?.stop(), otherGateway?.stop()]);
    await disposeAll();
  } finally {
    rmSync(cliHome, { recursive: true, force: true });
  }
  expect(pageErrors).toEqual([]);
});

/** A person on their own device: a browser context of its own (its own IndexedDB). */
async function device(
  phone = false,
  /** Lets a test inject its own script (the accessibility audit) past the page's CSP. */
  bypassCSP = false,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    bypassCSP,
    ...(phone
      ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : {}),
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
      pageErrors.push(m.text());
  });
  return { context, page };
}

interface Row {
  key: string;
  quantity: string;
  done: boolean;
}

async function rows(page: Page): Promise<Row[]> {
  return page.locator('ul.items > li').evaluateAll((els) =>
    els.map((el) => ({
      key: (el as HTMLElement).dataset['item'] ?? '',
      quantity: el.querySelector('[data-testid=quantity]')?.textContent ?? '',
      done: el.querySelector<HTMLInputElement>('input[type=checkbox]')?.checked ?? false,
    })),
  );
}

async function addItem(page: Page, name: string, quantity: number): Promise<void> {
  await page.getByLabel('Item', { exact: true }).fill(name);
  await page.getByLabel('Quantity').fill(String(quantity));
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect.poll(() => page.locator(`li[data-item="${name.toLowerCase()}"]`).count()).toBe(1);
}

async function quantityOf(page: Page, key: string): Promise<string> {
  return (await page.locator(`li[data-item="${key}"] [data-testid=quantity]`).textContent()) ?? '';
}

async function badge(page: Page): Promise<string> {
  return (await page.locator('.list-header .badge').getAttribute('data-status')) ?? '';
}

/** axe-core's accessibility audit of the page as it is now: the violations, by rule and impact. */
async function audit(page: Page): Promise<{ id: string; impact: string; nodes: number }[]> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(() =>
    (window as unknown as { axe: typeof Axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }),
  );
  return result.violations.map((v) => ({ id: v.id, impact: v.impact ?? 'unknown', nodes: v.nodes.length }));
}

/** Presses Tab until the element with this ID has the focus (as a keyboard user would). */
async function tabTo(page: Page, id: string): Promise<number> {
  for (let presses = 1; presses <= 40; presses++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.id ?? '')) === id) return presses;
  }
  throw new Error(`Tab never reached #${id}`);
}

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [trolleyBin, '--home', cliHome, '--cloud', tc.cluster.clientEndpoint, ...args],
    { env: { ...process.env, TROLLEY_LOG: 'error' }, timeout: 300_000 }, // a hang guard
  );
  return stdout;
}

describe('the web app in chromium', () => {
  let listUrl = '';
  let a: { context: BrowserContext; page: Page };
  let b: { context: BrowserContext; page: Page };

  it('two people open one list by its link, edit at once, and each sees the other live (through two gateways)', async () => {
    a = await device();
    b = await device(true);
    await a.page.goto(gateway.url);
    await a.page.getByLabel('New list name').fill('Party');
    await a.page.getByRole('button', { name: 'Create list' }).click();
    await expect.poll(() => a.page.url()).toMatch(/#\/list\/[0-9a-f-]{36}$/);
    await a.page.getByRole('button', { name: 'Share' }).click();
    listUrl = await a.page.getByTestId('share-link').inputValue();
    expect(listUrl).toBe(a.page.url());

    // The second person follows the link — served by another gateway, as a load balancer might:
    // the list is joined and arrives from the cloud.
    await b.page.goto(listUrl.replace(gateway.url, otherGateway.url));
    await expect.poll(() => b.page.locator('#list-title').textContent(), eventually).toBe('Party');

    // Both edit at the same moment; each page watches for the other's item on every frame.
    const appears = (page: Page, key: string, text: string): Promise<number> =>
      page
        .waitForFunction(
          ([k, t]) =>
            document.querySelector(`li[data-item="${k}"] [data-testid=quantity]`)?.textContent === t,
          [key, text],
          { polling: 'raf', timeout: eventually.timeout },
        )
        .then(() => performance.now());
    const sodaOnA = appears(a.page, 'soda', '2 to buy');
    const chipsOnB = appears(b.page, 'chips', '3 to buy');
    const started = performance.now();
    await Promise.all([addItem(a.page, 'Chips', 3), addItem(b.page, 'Soda', 2)]);
    const seen = await Promise.all([sodaOnA, chipsOnB]);
    // Polling is every 15 s: seeing it within a few seconds means it was pushed.
    const live = seen.map((t) => t - started);
    expect(Math.max(...live)).toBeLessThan(5_000);

    // Both buy soda at once: the counts add up, and over-buying is said plainly.
    await Promise.all([
      a.page.getByRole('button', { name: 'Bought 1 Soda' }).click(),
      b.page.getByRole('button', { name: 'Bought 1 Soda' }).click(),
      b.page.getByRole('button', { name: 'Bought 1 Soda' }).click(),
    ]);
    for (const p of [a.page, b.page])
      await expect.poll(() => quantityOf(p, 'soda'), eventually).toBe('bought 3 of 2 (over-bought)');
    await expect.poll(() => badge(a.page), eventually).toMatch(/^(cloud|all-replicas)$/);
    console.log(
      `web live: each device saw the other's concurrent add ${live.map((ms) => ms.toFixed(0)).join(' / ')} ms after ` +
        'the test began typing it (typing and clicking included); ' +
        `badge ${await badge(a.page)}`,
    );
  });

  it('a device that goes offline keeps working, reloads from its cache, and converges when back', async () => {
    // The app shell is cached once the service worker controls the page.
    await a.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await a.page.reload();
    await expect.poll(() => a.page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

    await a.context.setOffline(true);
    await expect(a.page.getByTestId('offline-banner').isVisible()).resolves.toBe(true);
    // Offline: add bread, want one more soda (2 → 3), tick chips off.
    await addItem(a.page, 'Bread', 2);
    await a.page.getByRole('button', { name: 'One more Soda' }).click();
    // The box follows the list (it turns once the change is saved), so click and wait.
    await a.page.getByLabel('Chips', { exact: true }).click();
    await expect.poll(() => a.page.getByLabel('Chips', { exact: true }).isChecked()).toBe(true);
    await expect.poll(() => badge(a.page)).toBe('local');
    // Meanwhile, online: the other person adds milk and wants one chips fewer (3 → 2).
    await addItem(b.page, 'Milk', 1);
    await b.page.getByRole('button', { name: 'One fewer Chips' }).click();
    // The offline device's changes stay on it: nothing reaches the other person.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await badge(a.page)).toBe('local');
    expect((await rows(b.page)).map((r) => r.key)).toEqual(['chips', 'milk', 'soda']);
    expect(await quantityOf(b.page, 'soda')).toBe('bought 3 of 2 (over-bought)');

    // Reload while offline: the app comes from the service worker, the list from IndexedDB.
    const response = await a.page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await expect.poll(() => a.page.locator('#list-title').textContent()).toBe('Party');
    expect((await rows(a.page)).map((r) => r.key)).toEqual(['bread', 'chips', 'soda']);
    await expect.poll(() => badge(a.page)).toBe('local');

    // Back online: both converge to what both meant.
    await a.context.setOffline(false);
    // What is still to buy comes first, what is done below it.
    const expected: Row[] = [
      { key: 'bread', quantity: '2 to buy', done: false },
      { key: 'milk', quantity: '1 to buy', done: false },
      { key: 'chips', quantity: 'bought 3 of 2 (over-bought)', done: true },
      { key: 'soda', quantity: 'bought 3 of 3 (done)', done: true },
    ];
    const back = performance.now();
    for (const p of [a.page, b.page]) await expect.poll(() => rows(p), eventually).toEqual(expected);
    const convergedMs = performance.now() - back;
    await expect.poll(() => badge(a.page), eventually).toMatch(/^(cloud|all-replicas)$/);

    // A terminal client on the same list sees the same.
    const listId = listUrl.split('#/list/')[1] ?? '';
    await cli('list', 'join', listUrl);
    await cli('sync');
    const shown = JSON.parse(await cli('list', 'show', listId, '--json')) as {
      title: string;
      items: { key: string; wanted: number; bought: number }[];
    };
    expect(shown.title).toBe('Party');
    expect(shown.items.map((i) => [i.key, i.wanted, i.bought])).toEqual([
      ['bread', 2, 0],
      ['chips', 2, 3],
      ['milk', 1, 0],
      ['soda', 3, 3],
    ]);

    mkdirSync(artifacts, { recursive: true });
    await a.page.screenshot({ path: join(artifacts, 'list-page.png'), fullPage: true });
    await b.page.screenshot({ path: join(artifacts, 'list-page-phone.png'), fullPage: true });
    console.log(
      `web offline: 3 edits offline, reload served by the service worker, converged ${convergedMs.toFixed(0)} ms ` +
        `after reconnecting; CLI agrees; screenshots in ${artifacts}`,
    );
    await a.context.close();
    await b.context.close();
  });

  it('a rename, a note and a delete reach the other person live', async () => {
    const one = await device();
    const two = await device();
    await one.page.goto(gateway.url);
    await one.page.getByLabel('New list name').fill('Picnic');
    await one.page.getByRole('button', { name: 'Create list' }).click();
    await expect.poll(() => one.page.url()).toMatch(/#\/list\//);
    await addItem(one.page, 'Grapes', 1);
    await two.page.goto(one.page.url());
    await expect.poll(() => two.page.locator('#list-title').textContent(), eventually).toBe('Picnic');

    await one.page.getByRole('button', { name: 'Rename' }).click();
    await one.page.getByLabel('List name').fill('Picnic Sunday');
    await one.page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => two.page.locator('#list-title').textContent(), eventually).toBe('Picnic Sunday');

    // A note, from the keyboard's point of view a small form under the item.
    await one.page.getByRole('button', { name: 'Add note to Grapes' }).click();
    await one.page.getByLabel('Note for Grapes', { exact: true }).fill('seedless');
    await one.page.getByLabel('Note for Grapes', { exact: true }).press('Enter');
    await expect
      .poll(() => two.page.locator('li[data-item="grapes"] .item-note').textContent(), eventually)
      .toBe('seedless');
    expect(await one.page.getByRole('button', { name: 'Edit note for Grapes' }).isVisible()).toBe(true);

    await one.page.getByRole('button', { name: 'Delete list' }).click();
    await one.page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => one.page.url()).toMatch(/#\/$/);
    await expect
      .poll(() => one.page.getByRole('list', { name: 'Deleted lists' }).textContent())
      .toContain('Picnic Sunday');
    await expect.poll(() => two.page.getByText('This list was deleted.').isVisible(), eventually).toBe(true);
    await one.context.close();
    await two.context.close();
  });

  it('a link to a list nobody shared says so instead of waiting for ever', async () => {
    const { context, page } = await device();
    await page.goto(`${gateway.url}#/list/${crypto.randomUUID()}`);
    await expect
      .poll(
        () => page.getByText('The cloud has nothing under this link yet.', { exact: false }).isVisible(),
        {
          timeout: eventually.timeout,
        },
      )
      .toBe(true);
    expect(await badge(page)).toBe('joining');
    await page.goto(`${gateway.url}#/list/not-a-list`);
    await expect.poll(() => page.getByRole('heading', { name: 'Not a list link' }).isVisible()).toBe(true);
    await context.close();
  });

  it('two tabs of one browser share their lists, even offline', async () => {
    const { context, page: first } = await device();
    await first.goto(gateway.url);
    await first.getByLabel('New list name').fill('Tabs');
    await first.getByRole('button', { name: 'Create list' }).click();
    await expect.poll(() => first.url()).toMatch(/#\/list\//);
    const second = await context.newPage();
    await second.goto(first.url());
    await expect.poll(() => second.locator('#list-title').textContent()).toBe('Tabs');
    // Offline, nothing goes through the cloud: the tabs hear of each other's commits directly.
    await context.setOffline(true);
    await addItem(first, 'Pears', 2);
    await expect.poll(() => quantityOf(second, 'pears'), eventually).toBe('2 to buy');
    await second.getByRole('button', { name: 'Bought 1 Pears' }).click();
    await expect.poll(() => quantityOf(first, 'pears'), eventually).toBe('bought 1 of 2 (1 to buy)');
    await context.setOffline(false);
    await context.close();
  });

  it('is installable: Chromium finds nothing missing (manifest, icons, service worker)', async () => {
    // Browser contexts here are incognito, where nothing installs: this check needs a profile.
    const profile = mkdtempSync(join(tmpdir(), 'trolley-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(gateway.url);
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      await page.reload();
      await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      const cdp = await context.newCDPSession(page);
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
      expect(installabilityErrors).toEqual([]);
      const manifest = await cdp.send('Page.getAppManifest');
      expect(manifest.errors).toEqual([]);
      console.log(
        `web: installable (0 installability errors, manifest ${manifest.url.replace(gateway.url, '/')} parsed clean)`,
      );
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('works from the keyboard alone and passes an accessibility audit, on a phone-sized screen', async () => {
    const { context, page } = await device(true, true);
    await page.goto(gateway.url);
    await tabTo(page, 'new-list-title');
    await page.keyboard.type('Keyboard');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url()).toMatch(/#\/list\//);
    await tabTo(page, 'item-name');
    await page.keyboard.type('Apples');
    await page.keyboard.press('Tab'); // the quantity
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('4');
    await page.keyboard.press('Enter');
    await expect.poll(() => quantityOf(page, 'apples')).toBe('4 to buy');
    // The focus is back in the item field, ready for the next one.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('item-name');
    await page.getByRole('button', { name: 'One more Apples' }).focus();
    await page.keyboard.press('Space');
    await expect.poll(() => quantityOf(page, 'apples')).toBe('5 to buy');
    await page.getByLabel('Apples', { exact: true }).focus();
    await page.keyboard.press('Space');
    await expect.poll(() => quantityOf(page, 'apples')).toBe('bought 5 of 5 (done)');

    const onList = await audit(page);
    await page.getByRole('button', { name: 'Share' }).click();
    const onShare = await audit(page);
    await page.goto(gateway.url);
    await expect.poll(() => page.locator('.card').count()).toBe(1);
    const onOverview = await audit(page);
    await page.screenshot({ path: join(artifacts, 'lists-phone.png'), fullPage: true });
    const all = [...onList, ...onShare, ...onOverview];
    console.log(
      `web a11y: axe-core found ${all.length} violation(s)` +
        (all.length === 0 ? '' : `: ${all.map((v) => `${v.id} (${v.impact}, ${v.nodes})`).join(', ')}`),
    );
    expect(all.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
    await context.close();
  });
});
