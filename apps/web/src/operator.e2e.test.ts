// The operator's cluster page in a real browser (Debian's chromium through playwright-core) against
// a real cloud (a proxy and storage nodes as processes, with keys) and a gateway that polls it. What
// an operator relies on: without the token nothing of the cluster is shown (and a gateway without
// a token has no page at all); with it, the ring shows every partition, each node owning what the
// nodes themselves say, and each node's front; a node added to the ring shows up as the change
// lands, and its hand-over and a stopped node's hints show and clear as the cluster heals. The page
// passes an axe-core audit. A screenshot is kept in artifacts/web/operator-page.png (the README's,
// docs/images/).

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Axe from 'axe-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ListReplica, encodeList, newListId, newReplicaId } from '@trolley/core';
import { CloudClient, cryptoRandom, nodeStats } from '@trolley/node';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { pool, putAcked, replyMs } from '../../cli/src/testing/cloud-checks.ts';
import { freePort } from '../../cli/src/local-cluster.ts';
import { ensureWebBuild, webDist } from '../server/build.ts';
import { chromiumArgs, chromiumPath, requireChromium } from './testing/chromium.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';

/** A guard against a hang, not a budget. */
const eventually = { timeout: 120_000 };
const artifacts = join(import.meta.dirname, '..', '..', '..', 'artifacts', 'web');
const token = 'op-token-for-the-e2e-test-0123456789';

let tc: TestCluster;
let gateway: RunningGateway;
/** A gateway started without an operator token: it has no cluster page. */
let shoppersOnly: RunningGateway;
let browser: Browser;
let client: CloudClient;
const pageErrors: string[] = [];

beforeAll(async () => {
  requireChromium();
  await ensureWebBuild();
  tc = await TestCluster.start({ nodes: 3 });
  const layout = tc.cluster.layout;
  gateway = await startGateway({
    cloud: tc.cluster.clientEndpoints,
    host: '127.0.0.1',
    port: await freePort(),
    webRoot: webDist,
    operator: {
      token,
      keysDir: tc.cluster.keysDir,
      // One node given: the others are learnt from its members, as an operator would give one.
      nodes: [{ id: 'n1', address: `tcp://${layout.host}:${layout.nodes[0]?.port ?? 0}` }],
    },
  });
  shoppersOnly = await startGateway({
    cloud: tc.cluster.clientEndpoints,
    host: '127.0.0.1',
    port: await freePort(),
    webRoot: webDist,
  });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  client = new CloudClient(tc.cluster.clientEndpoints);
  await writeLists(400);
});

afterAll(async () => {
  client?.close();
  await browser?.close();
  await Promise.all([gateway?.stop(), shoppersOnly?.stop()]);
  await disposeAll();
  expect(pageErrors).toEqual([]);
});

/** `n` new lists of one item each, every one cloud-ok. */
async function writeLists(n: number): Promise<void> {
  const replica = new ListReplica(newReplicaId(cryptoRandom));
  await pool(
    Array.from({ length: n }, (_, i) => i),
    32,
    async (i) => {
      const r = await putAcked(client, newListId(cryptoRandom), encodeList(replica.addItem(`item ${i}`, 1)));
      expect(r.outcome).toBe('ok');
    },
  );
}

/** An operator's page, signed in with the token (through the form, as a person would). */
async function signedIn(): Promise<Page> {
  // bypassCSP only so that the audit can inject axe-core; the page itself runs under the policy.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1100, height: 1300 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
      pageErrors.push(m.text());
  });
  const response = await page.goto(`${gateway.url}operator`);
  expect(response?.status()).toBe(401);
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.locator('#ring-owners path').first().waitFor(eventually);
  return page;
}

/** Partitions owned per node, as each node reports it (its stats, with the operator's key). */
async function ownedByNodes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [i, id] of tc.nodeIds.entries()) {
    const s = await nodeStats(tc.cluster.operator, tc.cluster.nodeEndpoint(i), replyMs);
    out[id] = s['partitionsOwned'] as number;
  }
  return out;
}

/** Partitions drawn per owner on the page, and the counts its node table shows. */
async function drawn(
  page: Page,
): Promise<{ paths: number; byOwner: Record<string, number>; table: Record<string, number> }> {
  return page.evaluate(() => {
    const byOwner: Record<string, number> = {};
    const paths = [...document.querySelectorAll<SVGPathElement>('#ring-owners path')];
    for (const p of paths) byOwner[p.dataset['owner'] ?? '?'] = (byOwner[p.dataset['owner'] ?? '?'] ?? 0) + 1;
    const table: Record<string, number> = {};
    for (const row of document.querySelectorAll<HTMLTableRowElement>('#nodes tbody tr'))
      table[row.dataset['node'] ?? '?'] = Number(
        row.querySelector<HTMLElement>('[data-partitions]')?.dataset['partitions'],
      );
    return { paths: paths.length, byOwner, table };
  });
}

async function audit(page: Page): Promise<{ id: string; impact: string; nodes: number }[]> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(() =>
    (window as unknown as { axe: typeof Axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }),
  );
  return result.violations.map((v) => ({ id: v.id, impact: v.impact ?? 'unknown', nodes: v.nodes.length }));
}

describe('the operator page', () => {
  it('is refused without the token, and absent from a gateway that has none', async () => {
    for (const path of ['operator', 'operator/events', 'operator/snapshot.json', 'operator.html'])
      expect((await fetch(`${shoppersOnly.url}${path}`)).status, path).toBe(404);
    // The shoppers' app does not link to it.
    expect(await (await fetch(shoppersOnly.url)).text()).not.toMatch(/operator/i);

    for (const path of ['operator/events', 'operator/snapshot.json'])
      expect((await fetch(`${gateway.url}${path}`)).status, path).toBe(401);
    const wrong = await fetch(`${gateway.url}operator/snapshot.json`, {
      headers: { Authorization: `Bearer ${token.slice(0, -1)}x` },
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${gateway.url}operator.html`)).status).toBe(404);
    const right = await fetch(`${gateway.url}operator/snapshot.json`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(right.status).toBe(200);

    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${gateway.url}operator`);
    expect(response?.status()).toBe(401);
    expect(await page.locator('#ring').count()).toBe(0);
    await page.getByLabel('Operator token').fill('not the operator token at all');
    await page.getByRole('button', { name: 'Open' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the operator token');
    expect(await page.locator('#ring').count()).toBe(0);
    await context.close();
    console.log(
      'operator page: 404 on a gateway without a token; 401 without a session; 403 for a wrong token',
    );
  });

  it('with the token: every partition drawn, each node owning what it says; healthy; 0 axe violations', async () => {
    const page = await signedIn();
    const owned = await ownedByNodes();
    await expect.poll(async () => (await drawn(page)).byOwner, eventually).toEqual(owned);
    const d = await drawn(page);
    expect(d.paths).toBe(tc.cluster.layout.partitions);
    expect(d.table).toEqual(owned);
    // Every node sees every other alive.
    await expect.poll(() => page.locator('#health td.op-live-alive').count(), eventually).toBe(6);
    // Every node has a front (the local cloud's do), with no client watching there yet.
    const frontCells = page.locator('#nodes tbody td[data-front-watchers]');
    await expect
      .poll(() => frontCells.evaluateAll((cs) => cs.map((c) => (c as HTMLElement).dataset['frontWatchers'])))
      .toEqual(['0', '0', '0']);
    expect(await frontCells.allTextContents()).toEqual(Array(3).fill('0 watching 0 lists'));
    const violations = await audit(page);
    expect(violations).toEqual([]);
    await page.context().close();
    console.log(
      `operator page: ${d.paths} partitions drawn, owners ${JSON.stringify(owned)}; axe: 0 violations`,
    );
  });

  it('shows a node added as the change lands, its hand-over, and a stopped node’s hints until they clear', async () => {
    const page = await signedIn();
    await expect.poll(() => page.evaluate(() => document.body.dataset['ringVersion'])).toBe('1');
    // Keep what the page showed of the move (it may be quick): the largest count of partitions
    // being handed over, and the progress figures it drew.
    await page.evaluate(() => {
      const w = window as unknown as { seen: { moving: number; texts: string[] } };
      w.seen = { moving: 0, texts: [] };
      new MutationObserver(() => {
        const moving = document.querySelectorAll('#ring-leaving path').length;
        w.seen.moving = Math.max(w.seen.moving, moving);
        const text = document.getElementById('move-text')?.textContent ?? '';
        if (moving > 0 && !w.seen.texts.includes(text)) w.seen.texts.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });

    const n4 = await tc.cluster.addNode();
    await expect.poll(() => page.evaluate(() => document.body.dataset['ringVersion']), eventually).toBe('2');
    const owned = await ownedByNodes();
    expect(Object.keys(owned)).toEqual(['n1', 'n2', 'n3', 'n4']);
    await expect.poll(async () => (await drawn(page)).byOwner, eventually).toEqual(owned);
    expect((await drawn(page)).table).toEqual(owned);
    // The hand-over ends: nothing left to move, every node on one ring.
    await expect.poll(() => page.locator('#move').isHidden(), eventually).toBe(true);
    await expect
      .poll(() => page.locator('#nodes tbody tr td:nth-child(4)').allTextContents(), eventually)
      .toEqual(['0', '0', '0', '0']);
    const seen = await page.evaluate(
      () => (window as unknown as { seen: { moving: number; texts: string[] } }).seen,
    );

    // n4 stops answering: the others see it suspect, then down; writes meanwhile leave hints (and
    // copies held for it elsewhere), which the page shows waiting, then delivered once it is back.
    tc.cluster.signalNode(n4, 'SIGSTOP');
    try {
      await expect.poll(() => page.locator('#health td.op-live-down').count(), eventually).toBe(3);
      await writeLists(60);
      await expect
        .poll(async () => Number(await page.locator('#totals').getAttribute('data-hints')), eventually)
        .toBeGreaterThan(0);
      await expect.poll(() => page.locator('#move').isVisible(), eventually).toBe(true);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'operator-page.png'), fullPage: true });
    } finally {
      tc.cluster.signalNode(n4, 'SIGCONT');
    }
    await expect.poll(() => page.locator('#health td.op-live-alive').count(), eventually).toBe(12);
    await expect.poll(() => page.locator('#totals').getAttribute('data-hints'), eventually).toBe('0');
    await expect.poll(() => page.locator('#move').isHidden(), eventually).toBe(true);
    const violations = await audit(page);
    expect(violations).toEqual([]);
    await page.context().close();
    console.log(
      `operator page: n4 added (ring v2, owners ${JSON.stringify(owned)}); during the hand-over the page drew up to ` +
        `${seen.moving} partitions moving (${seen.texts.length} progress updates${seen.texts.length > 0 ? `, last: "${seen.texts.at(-1)}"` : ''}); ` +
        `n4 stopped: seen down by 3, hints waiting, then 0 after it came back; screenshot in ${artifacts}`,
    );
  });
});
