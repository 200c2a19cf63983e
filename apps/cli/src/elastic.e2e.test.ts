// Elastic growth under load on real processes (issue 16, item 3; the small version of
// `npm run bench:elastic`): a proxy and 3 storage nodes (LocalCluster: real processes, SQLite,
// ZeroMQ under CURVE) carry a steady write and read load from 6 clients while the cluster grows
// to 5 nodes one at a time and shrinks back to 3. Each step is a confirmed ring change (what
// `trolley cluster add-node` / `remove-node` run) and then the wait for its handover: every node
// holds the new ring, no list for another owner and no hint (bench/elastic/elastic.ts). Checked:
// each step's handover finished with the ring every node holds; a retired node held nothing when
// it was stopped; every acknowledged write reads back at the end (0 lost), every list is readable.
// The cluster is stopped and its folder removed, pass or fail.

import { afterEach, describe, expect, it } from 'vitest';
import { Elastic } from '../../../bench/elastic/elastic.ts';
import { Load } from '../../../bench/elastic/load.ts';
import { TestCluster, disposeAll } from './testing/test-cluster.ts';
import { hangMs } from './testing/cloud-checks.ts';
import { logErrorsOnly } from './testing/log-lines.ts';

logErrorsOnly();

let load: Load | undefined;
afterEach(async () => {
  load?.close();
  load = undefined;
  await disposeAll();
});

describe('elastic growth under load', () => {
  it('3 → 5 → 3 nodes one at a time under writes and reads: every handover finishes, 0 acknowledged writes lost', async () => {
    const started = performance.now();
    const tc = await TestCluster.start({ nodes: 3, partitions: 64 });
    const progress: string[] = [];
    load = await Load.start({
      endpoints: tc.cluster.clientEndpoints,
      clients: 6,
      listsPerClient: 20,
      writesPerSecond: 12,
      readsPerSecond: 12,
      progress: (l) => progress.push(l),
    });
    const elastic = new Elastic({
      cluster: tc.cluster,
      load,
      maxNodes: 5,
      minStepMs: 0,
      hangMs,
      progress: (l) => progress.push(l),
    });
    const steps = await elastic.run();
    await load.stop();
    const verified = await load.verify();

    expect(steps.map((s) => `${s.step} → ${s.nodes}`)).toEqual([
      'add n4 → 4',
      'add n5 → 5',
      'remove n5 → 4',
      'remove n4 → 3',
    ]);
    // The load ran while the cluster changed, and its writes were acknowledged (per step, the
    // count may be small: a step on an idle machine lasts a second or two).
    expect(steps.reduce((a, s) => a + s.load.writesOk, 0)).toBeGreaterThan(0);
    expect(steps.reduce((a, s) => a + s.load.reads, 0)).toBeGreaterThan(0);
    // Each handover moved list copies (an added node got its share; a retired one gave all it held).
    for (const s of steps) expect(s.keysMoved).toBeGreaterThan(0);
    // No step moves fewer copies than it must (what the joining node holds, what the leaving one held).
    for (const s of steps) expect(s.keysMoved).toBeGreaterThanOrEqual(s.keysMin);
    // After the last step the 3 original nodes hold every list, each on all 3 (N = 3).
    const last = steps[steps.length - 1];
    expect(Object.keys(last?.keysByNode ?? {}).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const keys of Object.values(last?.keysByNode ?? {})) expect(keys).toBe(verified.lists);
    expect(verified.unreadable).toBe(0);
    expect(verified.lost).toBe(0);
    expect(verified.problems).toEqual([]);
    // The retired nodes were stopped by the test; nothing else exited.
    expect(tc.exits().sort()).toEqual(['n4 exited (code 0)', 'n5 exited (code 0)']);

    const failed = steps.reduce((a, s) => a + s.load.writesFailed, 0);
    const unknown = steps.reduce((a, s) => a + s.load.unknown, 0);
    const refused = steps.reduce((a, s) => a + s.load.refused, 0);
    console.log(
      `3 → 5 → 3 under load: ${verified.acknowledged} acknowledged writes on ${verified.lists} lists, lost ${verified.lost}, ` +
        `failed ${failed}, unknown ${unknown}, refused ${refused} (retried)${[...load.errors.keys()].map((e) => ` [${e}]`).join('')}; ` +
        steps
          .map(
            (s) =>
              `${s.step} ${s.seconds.toFixed(1)} s (ring ${s.ringChangeSeconds.toFixed(1)} s), keys moved ${s.keysMoved}/${s.keysMin}, ` +
              `partitions ${s.partitionsMoved}/${s.partitionsMin}, p99 write ${s.load.writeP99Ms.toFixed(0)} ms, ` +
              `stale reads ${s.load.staleReads}/${s.load.reads}, imbalance ${s.imbalance.toFixed(2)}`,
          )
          .join('; ') +
        `; ${((performance.now() - started) / 1000).toFixed(1)} s in all`,
    );
  });
});
