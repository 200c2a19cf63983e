// Lighthouse benchmark (`npm run bench:lighthouse`): how fast the web app loads on a phone, as
// Lighthouse measures it with its default mobile profile (an emulated mid-range phone, simulated
// slow 4G and 4× CPU slowdown), in Debian's chromium.
//
// The bench starts what `npm start` runs — a local cloud (one proxy, 3 storage nodes as child
// processes, data in a temporary folder) and a gateway serving the built app — then runs
// Lighthouse RUNS times against the gateway's address and reports the median of each figure:
// the four category scores (0–100) and the paint times (ms), plus the bytes sent for the app's
// JavaScript. Progress goes to stderr; the last stdout line is one JSON document.
// Environment: LIGHTHOUSE_RUNS (default 3), CHROMIUM_PATH (default /usr/bin/chromium),
// LIGHTHOUSE_WEB_ROOT (serve another build, e.g. an older one, to compare; default apps/web/dist,
// built first if its sources changed), LIGHTHOUSE_BASELINE (a second build, e.g. the app built from
// an older commit: served by a second gateway on the same cloud, its runs alternating with the
// others', so that both meet the same moments of a shared machine; its medians go under
// "baseline"), LIGHTHOUSE_REPORT (a file: the last run's full report, JSON).
// The JSON also gives each run's performance score and the machine's 1-minute load average before
// and after: on a busy machine total blocking time, and so the score, moves with the load.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { LocalCluster } from '../../apps/cli/src/local-cluster.ts';
import { ensureWebBuild, webDist } from '../../apps/web/server/build.ts';
import { startGateway } from '../../apps/web/server/gateway.ts';
import { envNumber, median } from '../common.ts';
import { freePortPair } from '../ports.ts';

const runs = envNumber('LIGHTHOUSE_RUNS', 3);
const chromePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const webRoot = process.env['LIGHTHOUSE_WEB_ROOT'] ?? webDist;
const baselineRoot = process.env['LIGHTHOUSE_BASELINE'] || undefined;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

interface Figures {
  performance: number;
  accessibility: number;
  bestPractices: number;
  seo: number;
  fcpMs: number;
  lcpMs: number;
  speedIndexMs: number;
  tbtMs: number;
  cls: number;
  scriptKiB: number;
}

async function once(url: string): Promise<Figures> {
  const chrome = await chromeLauncher.launch({
    chromePath,
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
  try {
    const result = await lighthouse(url, {
      port: chrome.port,
      logLevel: 'error',
      output: 'json',
      onlyCategories: ['performance', 'accessibility', 'best-practices', 'seo'],
    });
    if (result === undefined) throw new Error('lighthouse returned nothing');
    const report = process.env['LIGHTHOUSE_REPORT'];
    if (report !== undefined && report !== '') writeFileSync(report, JSON.stringify(result.lhr));
    const { categories, audits } = result.lhr;
    const score = (id: string): number => Math.round((categories[id]?.score ?? Number.NaN) * 100);
    const value = (id: string): number => audits[id]?.numericValue ?? Number.NaN;
    const items = (
      audits['network-requests']?.details as { items?: { resourceType?: string; transferSize?: number }[] }
    )?.items;
    const scriptBytes = (items ?? [])
      .filter((i) => i.resourceType === 'Script')
      .reduce((sum, i) => sum + (i.transferSize ?? 0), 0);
    return {
      performance: score('performance'),
      accessibility: score('accessibility'),
      bestPractices: score('best-practices'),
      seo: score('seo'),
      fcpMs: Math.round(value('first-contentful-paint')),
      lcpMs: Math.round(value('largest-contentful-paint')),
      speedIndexMs: Math.round(value('speed-index')),
      tbtMs: Math.round(value('total-blocking-time')),
      cls: Number(value('cumulative-layout-shift').toFixed(3)),
      scriptKiB: Math.round(scriptBytes / 1024),
    };
  } finally {
    chrome.kill();
  }
}

/** The medians of each figure over `all`, and every run's performance score. */
function summary(root: string, all: readonly Figures[]): Record<string, unknown> {
  const keys = Object.keys(all[0] ?? {}) as (keyof Figures)[];
  return {
    webRoot: root,
    ...Object.fromEntries(keys.map((k) => [k, median(all.map((f) => f[k]))])),
    performanceRuns: all.map((f) => f.performance),
  };
}

const load1 = (): number => Number((loadavg()[0] ?? Number.NaN).toFixed(1));

async function main(): Promise<void> {
  if (webRoot === webDist) await ensureWebBuild(log);
  const dir = mkdtempSync(join(tmpdir(), 'trolley-lighthouse-'));
  let cluster: LocalCluster | undefined;
  const gateways: Awaited<ReturnType<typeof startGateway>>[] = [];
  try {
    cluster = await LocalCluster.plan({
      nodes: 3,
      dataDir: dir,
      proxyPort: await freePortPair(),
      quorum: { n: 3, r: 2, w: 2 },
      progress: log,
    });
    await cluster.start(60_000);
    const roots = baselineRoot === undefined ? [webRoot] : [baselineRoot, webRoot];
    for (const root of roots)
      gateways.push(
        await startGateway({ cloud: cluster.clientEndpoints, host: '127.0.0.1', port: 0, webRoot: root }),
      );
    log(
      `${roots.map((root, i) => `gateway on ${gateways[i]?.url}, serving ${root}`).join('; ')}; ` +
        `${runs} Lighthouse run(s) each, mobile profile`,
    );
    const loadBefore = load1();
    const all: Figures[][] = roots.map(() => []);
    for (let i = 0; i < runs; i++)
      for (const [g, gateway] of gateways.entries()) {
        const f = await once(gateway.url);
        log(`run ${i + 1}, ${roots[g]}: ${JSON.stringify(f)}`);
        all[g]?.push(f);
      }
    const current = summary(webRoot, all[roots.length - 1] ?? []);
    const baseline = baselineRoot === undefined ? {} : { baseline: summary(baselineRoot, all[0] ?? []) };
    const loadAverage = [loadBefore, load1()];
    process.stdout.write(
      `${JSON.stringify({ bench: 'lighthouse', runs, ...current, ...baseline, loadAverage })}\n`,
    );
  } finally {
    for (const gateway of gateways) await gateway.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
