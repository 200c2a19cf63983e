// The client engine against the real cloud, in one process: a proxy and three storage nodes over
// ZeroMQ on loopback (N=3, R=2, W=2), two devices each with a SqliteClientStore and a CloudClient.
// It proves that the ports fit the real adapters: offline edits drain, concurrent edits converge to
// what people meant, a list joined by link arrives, and a node going down does not stop cloud-ok.
// Secure, as production runs: CURVE on every socket, keys made in the test's folder.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultQuorum } from '@trolley/cloud';
import { TrolleyClient, shareLink, type SyncSummary } from '@trolley/client';
import { cryptoRandom, systemClock } from './clock.ts';
import { CloudClient } from './cloud-client.ts';
import type { RunningNode } from './node-server.ts';
import type { RunningProxy } from './proxy-server.ts';
import { SqliteClientStore } from './sqlite-client-store.ts';
import { startTestCloud } from './testing/cloud.ts';
import { until as untilOr, type Poll } from './testing/until.ts';

/** A wait that has not seen its event by now is taken for a hang: a guard, never a budget. */
const hangGuardMs = 120_000;
/**
 * Each request's timeout: none of these tests is about timeouts, so it is long enough for a loaded
 * machine to answer within it, and within the cloud's own bound on deadlines (limits.deadlineMsMax).
 */
const requestMs = 30_000;

/** Polls until the condition holds (see testing/until.ts), with this file's hang guard. */
const until = <T>(what: string, poll: () => Promise<Poll<T>>, pauseMs = 100): Promise<T> =>
  untilOr(what, poll, hangGuardMs, pauseMs);

describe('TrolleyClient with the real cloud (proxy + 3 nodes over ZeroMQ)', () => {
  let dir: string;
  let proxy: RunningProxy;
  const nodes: RunningNode[] = [];
  let cloud: CloudClient;
  const clients: TrolleyClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trolley-client-cloud-'));
    const started = await startTestCloud({ dir, nodeIds: ['n1', 'n2', 'n3'], quorum: defaultQuorum });
    proxy = started.proxy;
    nodes.push(...started.nodes);
    cloud = new CloudClient([started.proxyAddress], { attemptMs: 1_000 });
    // The tests start once the proxy knows the ring and sees every node live, however long that takes.
    await until('the proxy to know the ring and all 3 nodes live', async () => {
      let stats: Record<string, unknown>;
      try {
        stats = await cloud.proxyStats(requestMs);
      } catch (error) {
        return { done: false, seen: String(error) }; // the proxy is not answering yet
      }
      const ring = stats['ringVersion'];
      const live = (stats['nodes'] as { live: boolean }[]).filter((n) => n.live).length;
      if (typeof ring === 'number' && ring > 0 && live === 3) return { done: true, value: undefined };
      return { done: false, seen: `ring version ${String(ring)}, ${live} of 3 nodes live` };
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    cloud.close();
    for (const n of nodes) await n.stop();
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function device(name: string): Promise<TrolleyClient> {
    const client = await TrolleyClient.open(SqliteClientStore.open(join(dir, `${name}.db`)), {
      clock: systemClock,
      random: cryptoRandom,
    });
    clients.push(client);
    return client;
  }

  /**
   * Syncs until a round goes cleanly: every put acknowledged, the pull answered by R replicas. The
   * cloud may still be settling (a node not yet live at the proxy, a ring not yet learnt, a node
   * just stopped), or a loaded machine may let a request time out; a round that did not go cleanly
   * changed nothing that the next one does not redo.
   */
  async function sync(client: TrolleyClient, via: CloudClient = cloud): Promise<SyncSummary> {
    return until(
      'a sync round that goes cleanly',
      async () => {
        const summary = await client.syncOnce(via, { timeoutMs: requestMs });
        const clean = summary.errors === 0 && summary.unknown === 0 && summary.outboxLeft === 0;
        return clean ? { done: true, value: summary } : { done: false, seen: JSON.stringify(summary) };
      },
      200,
    );
  }

  it('two devices share a list, edit it concurrently, and converge to what they meant', async () => {
    const alice = await device('alice');
    const bob = await device('bob');
    const id = await alice.createList('Weekend');
    await alice.addItem(id, 'Milk', 1);
    await alice.addItem(id, 'Eggs', 6);
    expect(alice.status(id)).toBe('local');
    expect(await sync(alice)).toMatchObject({ errors: 0, unknown: 0, outboxLeft: 0 });
    expect(['cloud', 'all-replicas']).toContain(alice.status(id));

    await bob.joinList(shareLink(id));
    expect(bob.status(id)).toBe('joining');
    await sync(bob);
    expect(bob.view(id)).toEqual(alice.view(id));

    // Concurrently: both buy the last milk, both buy eggs, alice removes eggs she saw while bob
    // adds more, bob adds bread.
    await alice.buy(id, 'milk', 1);
    await bob.buy(id, 'milk', 1);
    await bob.increaseWanted(id, 'eggs', 6);
    await alice.removeItem(id, 'eggs');
    await bob.addItem(id, 'Bread', 1);
    await sync(alice);
    await sync(bob);
    await sync(alice);
    expect(bob.view(id)).toEqual(alice.view(id));
    expect(alice.view(id).items.map((i) => [i.key, i.wanted, i.bought])).toEqual([
      ['bread', 1, 0],
      ['eggs', 6, 0], // bob's concurrent 6 more; the 6 alice saw and removed stay removed
      ['milk', 1, 2], // bought 2 of 1
    ]);
    // 'all-replicas' needs a get answered by all N replicas in sync; see the figure printed here.
    const probe = await cloud.get(id, new Uint8Array(), { timeoutMs: requestMs });
    console.log(
      `real cloud: status after sync: alice ${alice.status(id)}, bob ${bob.status(id)}; ` +
        `a get is answered by ${probe.answered} of ${probe.replicas} replicas, ${probe.inSync} in sync`,
    );
  });

  it('a device whose clock is minutes off still syncs (deadlines in the proxy clock)', async () => {
    const endpoint = cloud.clockOffsets()[0]?.address ?? '';
    for (const skewMs of [-10 * 60_000, +10 * 60_000]) {
      // This device's wall clock is ten minutes behind, then ahead: its own deadlines would have
      // passed already, or be too far away, by the cloud's clock.
      const skewed = {
        monotonicMs: () => systemClock.monotonicMs(),
        wallMs: () => systemClock.wallMs() + skewMs,
      };
      const device = new CloudClient([endpoint], { clock: skewed, attemptMs: 1_000 });
      try {
        const client = await TrolleyClient.open(SqliteClientStore.open(join(dir, `skew${skewMs}.db`)), {
          clock: skewed,
          random: cryptoRandom,
        });
        clients.push(client);
        const id = await client.createList('Skewed');
        await client.addItem(id, 'Salt', 1);
        // A round whose hello went unanswered in time goes out with the unskewed deadline and is
        // refused: the sync is retried until a round goes cleanly, which it can only once the
        // offset is learnt. Every hello of this device falls inside this window.
        const windowStart = performance.now();
        const summary = await sync(client, device);
        const windowMs = performance.now() - windowStart;
        expect(summary).toMatchObject({ errors: 0, unknown: 0, outboxLeft: 0 });
        expect(client.status(id)).not.toBe('local');
        const learnt = device.clockOffsets()[0]?.offsetMs ?? NaN;
        // NTP-style: the proxy (this process's clock) stamped its reply between the hello's send
        // and its receipt, both inside the window, so the estimate is off by at most half of it
        // (+2 ms for whole-ms wall clock readings); ten minutes of skew are learnt, not ignored.
        expect(Math.abs(learnt + skewMs)).toBeLessThanOrEqual(windowMs / 2 + 2);
        console.log(
          `skewed clock ${skewMs / 60_000} min: synced; learnt offset ${learnt.toFixed(0)} ms ` +
            `(off by ${Math.abs(learnt + skewMs).toFixed(0)} ms; sync took ${windowMs.toFixed(0)} ms)`,
        );
      } finally {
        device.close();
      }
    }
  });

  it('keeps cloud-ok with one node down (W=2 of N=3)', async () => {
    const carol = await device('carol');
    const id = await carol.createList('One node down');
    await nodes[2]?.stop();
    nodes.splice(2, 1);
    await carol.addItem(id, 'Tea', 2);
    const summary = await sync(carol);
    expect(summary).toMatchObject({ errors: 0, unknown: 0, outboxLeft: 0 });
    expect(carol.status(id)).toBe('cloud');
  });
});
