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
// coordinator's own work and its two extra hops' queueing. One JSON line at the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListReplica, encodeList, merge, newListId, type ReplicaId } from '@trolley/core';
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
  const writer = new CloudClient([cluster.clientEndpoint]);
  const watcher = new CloudClient([cluster.clientEndpoint]);
  try {
    const listId = newListId(cryptoRandom);
    const replica = new ListReplica('hops' as ReplicaId);
    const first = replica.rename('Hops');
    merge(first, replica.addItem('hops', 1));
    if ((await writer.put(listId, encodeList(first))).outcome !== 'ok')
      throw new Error('could not create the list');
    let noticed: ((at: number) => void) | undefined;
    const stop = watcher.watch([listId], () => noticed?.(now()));
    // The watch takes effect when the proxy handles it: wait until a change is seen.
    for (let i = 0; ; i++) {
      const seen = new Promise<number>((resolve) => (noticed = resolve));
      await writer.put(listId, encodeList(replica.setNote('hops', String(i))));
      const ok = await Promise.race([seen.then(() => true), sleep(200).then(() => false)]);
      if (ok) break;
      if (i > 50) throw new Error('the watch never took effect');
    }
    const rtt: number[] = [];
    const notice: number[] = [];
    const cloudOk: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const t0 = now();
      await writer.proxyStats();
      rtt.push(now() - t0);
      const seen = new Promise<number>((resolve) => (noticed = resolve));
      const delta = encodeList(replica.setNote('hops', `n${i}`));
      const sent = now();
      const reply = await writer.put(listId, delta);
      const replied = now();
      if (reply.outcome !== 'ok') throw new Error(`put ${i}: ${reply.outcome}`);
      const at = await Promise.race([seen, sleep(2_000).then(() => Number.NaN)]);
      if (Number.isNaN(at)) throw new Error(`change ${i}: no notice within 2 s`);
      notice.push(at - sent);
      cloudOk.push(replied - sent);
    }
    stop();
    const stat = (xs: number[]): { p50: number; p90: number; p99: number } => {
      const s = Float64Array.from(xs).sort();
      const r = (q: number): number => Math.round(percentile(s, q) * 1000) / 1000;
      return { p50: r(0.5), p90: r(0.9), p99: r(0.99) };
    };
    const gap = cloudOk.map((c, i) => c - (notice[i] as number));
    const noticeFirst = gap.filter((g) => g > 0).length;
    const figures = {
      rtt: stat(rtt),
      notice: stat(notice),
      cloudOk: stat(cloudOk),
      cloudOkMinusNotice: stat(gap),
    };
    process.stdout.write(
      table(
        ['ms', 'p50', 'p90', 'p99'],
        Object.entries(figures).map(([k, v]) => [k, String(v.p50), String(v.p90), String(v.p99)]),
      ) + '\n',
    );
    process.stdout.write(
      `${noticeFirst} of ${CHANGES} notices reached the watcher before the writer's cloud-ok\n`,
    );
    process.stdout.write(
      JSON.stringify({ bench: 'live-hops', changes: CHANGES, noticeFirst, ...figures }) + '\n',
    );
  } finally {
    writer.close();
    watcher.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((e: unknown) => {
  process.stderr.write(`[live:hops] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
