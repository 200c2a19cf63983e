// Where a live update's time goes in Trolley (`npm run live:hops -w bench`): the cloud of the live
// benchmark (systems/trolley.ts: a proxy and 3 storage nodes, N=3 R=2 W=2, SQLite FULL) with one
// writer and one watcher, each its own ZeroMQ connection, and one change at a time (no load but
// this one), HOPS_CHANGES times (default 300). For each change it measures, on one clock:
//
//   rtt      the writer's `stats` to the proxy and back (client → proxy → client: two hops and
//            the proxy's event-loop turn), taken just before the put
//   notice   put sent → the watcher's `changed` (client → proxy → coordinator: decode, write
//            check, local join; → proxy → watcher: four hops)
//   cloudOk  put sent → the writer's cloud-ok (… → replicas' commits and fsyncs → W-th ack →
//            coordinator → proxy → writer)
//
// Before live-before-durable, a notice left the coordinator when it answered cloud-ok, so
// `cloudOk` is what `notice` was then (the same number of hops after the coordinator); now
// `cloudOk − notice` is the time the notice no longer waits for. `notice − 2 × rtt` is roughly the
// coordinator's own work and its two extra hops' queueing.
//
// Each figure is measured on two routes, change by change in turn: `proxy` (the writer and the
// watcher reach the cloud through the proxy) and `direct` (both at the front of the list's
// coordinator, as the proxy's `locate` names it: put → coordinator → watcher, two hops; there
// `rtt` is a round trip to the front). One JSON line at the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListReplica, encodeList, merge, newListId, type ListId, type ReplicaId } from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { LocalCluster, freePort } from '../../apps/cli/src/local-cluster.ts';
import { envNumber, percentile, table } from '../common.ts';

const CHANGES = Math.max(1, Math.round(envNumber('HOPS_CHANGES', 300)));
const now = (): number => performance.now();

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trolley-hops-'));
  const cluster = await LocalCluster.plan({
    nodes: 3,
    dataDir: dir,
    quorum: { n: 3, r: 2, w: 2 },
    proxyPort: await freePort(),
    partitions: 64,
  });
  await cluster.start();
  const clients: CloudClient[] = [];
  try {
    const listId = newListId(cryptoRandom);
    const replica = new ListReplica('hops' as ReplicaId);
    const first = replica.rename('Hops');
    merge(first, replica.addItem('hops', 1));
    const setup = new CloudClient([cluster.clientEndpoint]);
    clients.push(setup);
    if ((await setup.put(listId, encodeList(first))).outcome !== 'ok')
      throw new Error('could not create the list');
    const fronts = await setup.locate(listId);
    if (fronts.length === 0) throw new Error('the proxy names no front for the list');
    const routes: Route[] = [
      await route('proxy', [cluster.clientEndpoint], listId, replica, clients),
      await route('direct', [fronts[0] as string, cluster.clientEndpoint], listId, replica, clients),
    ];
    // The two routes alternate change by change, so that both see the same machine.
    for (let i = 0; i < CHANGES; i++)
      for (const r of routes) {
        const t0 = now();
        await r.writer.proxyStats();
        r.rtt.push(now() - t0);
        const seen = new Promise<number>((resolve) => (r.noticed = resolve));
        const delta = encodeList(replica.setNote('hops', `${r.name}${i}`));
        const sent = now();
        const reply = await r.writer.put(listId, delta);
        const replied = now();
        if (reply.outcome !== 'ok') throw new Error(`${r.name} put ${i}: ${reply.outcome}`);
        const at = await Promise.race([seen, sleep(2_000).then(() => Number.NaN)]);
        if (Number.isNaN(at)) throw new Error(`${r.name} change ${i}: no notice within 2 s`);
        r.notice.push(at - sent);
        r.cloudOk.push(replied - sent);
      }
    const stat = (xs: number[]): { p50: number; p90: number; p99: number } => {
      const s = Float64Array.from(xs).sort();
      const q = (x: number): number => Math.round(percentile(s, x) * 1000) / 1000;
      return { p50: q(0.5), p90: q(0.9), p99: q(0.99) };
    };
    const figures: Record<string, unknown> = { bench: 'live-hops', changes: CHANGES };
    const rows: string[][] = [];
    for (const r of routes) {
      const gap = r.cloudOk.map((c, i) => c - (r.notice[i] as number));
      const f = {
        rtt: stat(r.rtt),
        notice: stat(r.notice),
        cloudOk: stat(r.cloudOk),
        cloudOkMinusNotice: stat(gap),
        noticeFirst: gap.filter((g) => g > 0).length,
      };
      figures[r.name] = f;
      for (const k of ['rtt', 'notice', 'cloudOk', 'cloudOkMinusNotice'] as const)
        rows.push([`${r.name} ${k}`, String(f[k].p50), String(f[k].p90), String(f[k].p99)]);
      process.stderr.write(
        `[live:hops] ${r.name}: ${f.noticeFirst} of ${CHANGES} notices reached the watcher before the writer's cloud-ok\n`,
      );
    }
    process.stdout.write(table(['ms', 'p50', 'p90', 'p99'], rows) + '\n');
    process.stdout.write(JSON.stringify(figures) + '\n');
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One way to the cloud: a writer and a watcher, each its own connection, and what they measured. */
interface Route {
  name: string;
  writer: CloudClient;
  noticed: ((at: number) => void) | undefined;
  rtt: number[];
  notice: number[];
  cloudOk: number[];
}

/** A writer and a watcher through `endpoints`, once the watch has taken effect. */
async function route(
  name: string,
  endpoints: string[],
  listId: ListId,
  replica: ListReplica,
  clients: CloudClient[],
): Promise<Route> {
  const writer = new CloudClient(endpoints);
  const watcher = new CloudClient(endpoints);
  clients.push(writer, watcher);
  const r: Route = { name, writer, noticed: undefined, rtt: [], notice: [], cloudOk: [] };
  watcher.watch([listId], () => r.noticed?.(now()));
  // The watch takes effect when the proxy or front handles it: wait until a change is seen.
  for (let i = 0; ; i++) {
    const seen = new Promise<number>((resolve) => (r.noticed = resolve));
    await writer.put(listId, encodeList(replica.setNote('hops', `${name}-w${i}`)));
    const ok = await Promise.race([seen.then(() => true), sleep(200).then(() => false)]);
    if (ok) return r;
    if (i > 50) throw new Error(`${name}: the watch never took effect`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((e: unknown) => {
  process.stderr.write(`[live:hops] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
