// Node faults on real processes (RELIABILITY.md, "node crash", "hinted handoff", "anti-entropy"
// and "ring change" rows): a proxy and storage nodes started by LocalCluster on 127.0.0.1, real
// SQLite files under the OS temporary directory. Each test prints its figure, and asserts that its
// fault path was really taken (the node died or was seen down, hints were stored, repairs ran), so
// that it cannot pass vacuously. Every cluster is stopped and its folder removed, pass or fail.
//
//   1. kill -9 a random node every 2–3 s under 2 writing and reading clients; restart it each time
//   2. SIGSTOP an owner until the others see it down; writes go to a fallback with hints; SIGCONT
//   3. wipe one node's data; anti-entropy alone (no reads) restores every key; idle = no repairs
//   4. add a node, then remove an original one, under load; no loss, hand-over, balanced ring
//
// Random choices (victims, operations) come from FAULT_SEED (printed); TROLLEY_LOG=info shows the
// processes' logs.

import { existsSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ListId } from '@trolley/core';
import {
  FaultCluster,
  Rng,
  Workload,
  checkAcknowledged,
  copies,
  disagreeing,
  disposeAllFaultClusters,
  hangMs,
  newListIds,
  pool,
  requestMs,
  seedFromEnv,
  sleep,
  sum,
  waitFor,
  type NodeStats,
} from './testing/faults-harness.ts';

const logLevelBefore = process.env['TROLLEY_LOG'];
const seed = seedFromEnv();
beforeAll(() => {
  process.env['TROLLEY_LOG'] ??= 'error';
  console.log(`faults-nodes: FAULT_SEED=${seed}`);
});
afterAll(() => {
  if (logLevelBefore === undefined) delete process.env['TROLLEY_LOG'];
  else process.env['TROLLEY_LOG'] = logLevelBefore;
});
afterEach(async () => {
  await disposeAllFaultClusters();
});

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// Every wait below is for the state it names, bounded by hangMs (or more) as a guard against a
// hang, never as a budget: the tests must pass on a loaded 2-core machine, and the figures print
// how long each step took. Ring changes are confirmed under the same kind of bound.
const confirm = { timeoutMs: hangMs, silentMs: 60_000 };

async function allStats(fc: FaultCluster, nodes: readonly number[]): Promise<NodeStats[]> {
  return Promise.all(nodes.map((i) => fc.stats(i)));
}

const counterSum = (stats: readonly NodeStats[], name: string): number =>
  sum(stats.map((s) => s.counters[name] ?? 0));

/** Waits until every node in `nodes` sees every other one of them as alive. */
async function waitAllAlive(fc: FaultCluster, nodes: readonly number[], timeoutMs = hangMs): Promise<void> {
  const ids = nodes.map((i) => fc.nodeIds[i] as string);
  let last = '';
  await waitFor(
    () => `nodes did not all see each other alive: ${last}`,
    timeoutMs,
    async () => {
      const stats = await allStats(fc, nodes).catch(() => undefined);
      if (stats === undefined) return undefined;
      const bad = stats.flatMap((s) =>
        s.members
          .filter((m) => ids.includes(m.id) && m.id !== s.nodeId && m.liveness !== 'alive')
          .map((m) => `${s.nodeId} sees ${m.id} ${m.liveness}`),
      );
      last = bad.join(', ');
      return bad.length === 0 ? true : undefined;
    },
  );
}

describe('node faults on real processes', () => {
  it('kill -9 a random node every few seconds under load: no acknowledged write lost, databases sound', async () => {
    const started = performance.now();
    const rng = new Rng(seed ^ 0x1001);
    const fc = await FaultCluster.start({ nodes: 3, partitions: 16 });
    const lists = newListIds(50, rng);
    // A short put deadline on purpose: a put caught by a kill comes back 'unknown' and is retried
    // under its opId, the path this test shows (a slow machine only makes more of them).
    const loads = [0, 1].map(
      (k) =>
        new Workload(fc.client(), k, lists, new Rng(rng.int(2 ** 32)), {
          putTimeoutMs: 3_000,
          readEvery: 4,
          pauseMs: 10,
          inFlight: 3,
        }),
    );
    const acked = (): number => sum(loads.map((l) => l.acknowledged().length));
    for (const l of loads) l.start();
    await sleep(1_500);

    // Each cycle: kill -9 a random node, pause 1–1.5 s and at least until a write was acknowledged
    // without it, restart it (it is down until it is ready again), let it run 0.5–1 s.
    const cycles = 6;
    const kills: string[] = [];
    const killAt: number[] = [];
    const restartMs: number[] = [];
    let ackedWhileDown = 0;
    for (let c = 0; c < cycles; c++) {
      const victim = rng.int(3);
      const id = fc.nodeIds[victim] as string;
      killAt.push(performance.now());
      await fc.cluster.killNode(victim);
      kills.push(id);
      const before = acked();
      await sleep(1_000 + rng.int(500));
      await waitFor(
        () => `no write acknowledged while ${id} was down`,
        hangMs,
        () => Promise.resolve(acked() > before ? true : undefined),
        50,
      );
      const restarting = performance.now();
      await fc.cluster.startNode(victim, hangMs);
      restartMs.push(performance.now() - restarting);
      ackedWhileDown += acked() - before;
      await sleep(500 + rng.int(500));
    }
    const faultMs = performance.now() - started;
    const killEvery = ((killAt.at(-1) ?? 0) - (killAt[0] ?? 0)) / (cycles - 1);

    // Heal: every node up, seen alive by the others and by the proxy; the clients write on at least
    // until more than 100 writes were acknowledged in all (a loaded machine may not have managed
    // that during the faults); then let them finish (an operation still unknown retries with its
    // opId for up to 10 s more).
    await fc.cluster.waitForNodes(3, hangMs);
    await waitAllAlive(fc, [0, 1, 2]);
    await waitFor(
      () => `only ${acked()} writes acknowledged`,
      hangMs,
      () => Promise.resolve(acked() > 100 ? true : undefined),
    );
    await Promise.all(loads.map((l) => l.stop(10_000)));
    const writes = loads.flatMap((l) => l.writes);
    const ok = writes.filter((w) => w.outcome === 'ok');
    const retried = ok.filter((w) => w.attempts > 1).length;
    const unknownAtEnd = writes.length - ok.length;
    const reads = sum(loads.map((l) => l.reads));
    const readFailures = sum(loads.map((l) => l.readFailures));

    // The fault really happened: each kill shows as a SIGKILL exit, and writes went on meanwhile.
    const sigkills = fc.exits().filter((e) => /\(SIGKILL\)/.test(e));
    expect(sigkills.length).toBe(cycles);
    expect(ackedWhileDown).toBeGreaterThan(0);
    expect(retried).toBeGreaterThan(0); // some puts timed out (unknown) and were retried with their opId
    expect(ok.length).toBeGreaterThan(100);

    // First read of each list through the proxy (R=2 merged; it also read-repairs the third copy).
    const client = fc.client();
    const first = await checkAcknowledged(client, writes);
    expect(first.readErrors).toEqual([]);
    expect(first.lost).toEqual([]);
    expect(first.controlsMissed).toBe(0); // the checker does see a delta that was never written
    // Then every replica of every list identical, and a second check.
    const { ms: convergeMs } = await waitFor(
      () => 'replicas of every list identical on all 3 nodes',
      hangMs,
      async () => ((await disagreeing(fc, lists, [0, 1, 2])).length === 0 ? true : undefined),
      500,
    );
    const second = await checkAcknowledged(client, writes);
    expect(second.readErrors).toEqual([]);
    expect(second.lost).toEqual([]);
    expect(second.controlsMissed).toBe(0);
    expect(second.checked).toBe(ok.length);

    await fc.stopProcesses();
    const integrity = fc.nodeIds.map((id, i) => `${id}: ${fc.integrity(i)}`);
    const sound = integrity.filter((line) => line.endsWith(': ok')).length;
    expect(integrity).toEqual(fc.nodeIds.map((id) => `${id}: ok`));

    console.log(
      `kill -9: acknowledged writes lost ${second.lost.length} of ${ok.length} over ${cycles} kill cycles; ` +
        `integrity ok on ${sound}/${fc.nodeIds.length}` +
        ` — killed ${kills.join(', ')} (one every ${seconds(killEvery)}, restart ${seconds(sum(restartMs) / cycles)} on average); ${writes.length} writes by 2 clients on ${lists.length} lists, ` +
        `${ackedWhileDown} acked while a node was down, ${retried} acked after retries with the same opId, ` +
        `${unknownAtEnd} still unknown at the end; ${reads - readFailures}/${reads} reads answered during faults; ` +
        `replicas identical ${seconds(convergeMs)} after healing; faults ${seconds(faultMs)}, ` +
        `total ${seconds(performance.now() - started)}`,
    );
  });

  it('hinted handoff: a stopped owner is replaced by a fallback, then gets its hints; fallback copies dropped', async () => {
    const started = performance.now();
    const rng = new Rng(seed ^ 0x2002);
    const fc = await FaultCluster.start({ nodes: 4, partitions: 16 });
    const all = [0, 1, 2, 3];
    const ring = fc.initialRing();
    const victim = rng.int(4);
    const victimId = fc.nodeIds[victim] as string;
    const others = all.filter((i) => i !== victim);
    const indexOf = (id: string): number => fc.nodeIds.indexOf(id);

    // The nodes run the ring we compute (version 1, these nodes).
    for (const s of await allStats(fc, all)) {
      expect(s.ringVersion).toBe(1);
      expect([...s.ringNodes].sort()).toEqual([...fc.nodeIds].sort());
    }
    // Lists the victim owns; with 4 nodes and N=3 each has exactly one non-owner: its fallback.
    const lists = newListIds(400, rng)
      .filter((l) => fc.owners(ring, l).includes(victimId))
      .slice(0, 40);
    expect(lists.length).toBe(40);
    const ownersOf = new Map(lists.map((l) => [l, fc.owners(ring, l).map(indexOf)]));
    const fallbackOf = new Map(
      lists.map((l) => [l, all.find((i) => !ownersOf.get(l)?.includes(i)) as number]),
    );
    const ownersAgree = async (): Promise<ListId[]> => {
      const bad: ListId[] = [];
      await pool(lists, 8, async (l) => {
        const hs = await Promise.all((ownersOf.get(l) as number[]).map((i) => fc.copy(i, l)));
        if (hs.some((h) => h === undefined) || new Set(hs).size !== 1) bad.push(l);
      });
      return bad;
    };

    // Before the fault: one write per list, on all three owners. A put's deadline is generous, so
    // that "cloud-ok at once" below means the first attempt, not a fast one.
    const load = new Workload(fc.client(), 0, lists, rng, { putTimeoutMs: requestMs });
    const initial = await pool(lists, 8, (l) => load.writeOnce(l));
    expect(initial.filter((w) => w.outcome !== 'ok')).toEqual([]);
    await waitFor(
      () => 'every owner holds the first writes',
      hangMs,
      async () => ((await ownersAgree()).length === 0 ? true : undefined),
    );
    const before = await allStats(fc, others);

    // SIGSTOP the victim and wait until every other node takes it for down.
    fc.cluster.signalNode(victim, 'SIGSTOP');
    const stoppedAt = performance.now();
    let views = '';
    await waitFor(
      () => `the others did not see ${victimId} down: ${views}`,
      hangMs,
      async () => {
        const stats = await allStats(fc, others);
        const seen = stats.map((s) => s.members.find((m) => m.id === victimId)?.liveness);
        views = seen.join(', ');
        return seen.every((x) => x === 'down') ? true : undefined;
      },
      250,
    );
    const downAfter = performance.now() - stoppedAt;
    await expect(fc.stats(victim, 500)).rejects.toThrow(); // it really does not answer

    // Two writes per list while the owner is down: cloud-ok at once (a fallback holds each).
    const during = await pool([...lists, ...lists], 8, (l) => load.writeOnce(l));
    const notOkAtOnce = during.filter((w) => w.outcome !== 'ok' || w.attempts !== 1);
    expect(notOkAtOnce.map((w) => `${w.listId}: ${w.outcome} after ${w.attempts} attempts`)).toEqual([]);

    const mid = await allStats(fc, others);
    const hintsCreated = counterSum(mid, 'hintsStored') - counterSum(before, 'hintsStored');
    const hintedWrites = counterSum(mid, 'hintedWrites') - counterSum(before, 'hintedWrites');
    const hintsHeld = sum(mid.map((s) => s.hints));
    expect(hintsCreated).toBeGreaterThan(0);
    expect(hintsHeld).toBeGreaterThan(0);
    // Per fallback node: it stored hints and still holds them (the owner is still down).
    const fallbacks = [...new Set(fallbackOf.values())].sort();
    const perFallback = fallbacks.map((i) => {
      const m = mid[others.indexOf(i)] as NodeStats;
      const b = before[others.indexOf(i)] as NodeStats;
      return {
        node: m.nodeId,
        stored: (m.counters['hintsStored'] ?? 0) - (b.counters['hintsStored'] ?? 0),
        held: m.hints,
      };
    });
    expect(perFallback.filter((f) => f.stored === 0 || f.held === 0)).toEqual([]);
    // Each list now has a copy on its fallback, a node that does not own it.
    const fallbackCopies = await pool(lists, 8, async (l) => fc.copy(fallbackOf.get(l) as number, l));
    const withCopy = fallbackCopies.filter((h) => h !== undefined).length;
    expect(withCopy).toBe(lists.length);
    const stillDown = (await allStats(fc, others)).every(
      (s) => s.members.find((m) => m.id === victimId)?.liveness === 'down',
    );
    expect(stillDown).toBe(true); // the writes above all ran while it was down

    // Resume it: hints delivered, owners complete, fallback copies dropped.
    fc.cluster.signalNode(victim, 'SIGCONT');
    const resumedAt = performance.now();
    let hintsLeft = -1;
    await waitFor(
      () => `hints not all delivered: ${hintsLeft} left`,
      hangMs,
      async () => {
        const stats = await allStats(fc, all);
        hintsLeft = sum(stats.map((s) => s.hints));
        return hintsLeft === 0 ? true : undefined;
      },
      250,
    );
    const deliveredMs = performance.now() - resumedAt;
    let incomplete: ListId[] = [];
    await waitFor(
      () => `owners differ on ${incomplete.length} lists (e.g. ${incomplete[0]})`,
      hangMs,
      async () => {
        incomplete = await ownersAgree();
        return incomplete.length === 0 ? true : undefined;
      },
      250,
    );
    let kept: ListId[] = [];
    await waitFor(
      () => `fallback copies not dropped: ${kept.length} (e.g. ${kept[0]})`,
      hangMs,
      async () => {
        const now = await pool(lists, 8, async (l) => fc.copy(fallbackOf.get(l) as number, l));
        kept = lists.filter((_, i) => now[i] !== undefined);
        return kept.length === 0 ? true : undefined;
      },
      250,
    );
    const healedMs = performance.now() - resumedAt;
    const after = await allStats(fc, all);
    const hintsDelivered =
      counterSum(
        after.filter((s) => s.nodeId !== victimId),
        'hintsDelivered',
      ) - counterSum(before, 'hintsDelivered');
    const finalHints = sum(after.map((s) => s.hints));
    expect(hintsDelivered).toBeGreaterThanOrEqual(hintsCreated);
    expect(finalHints).toBe(0);
    // Every write is on every owner (including the resumed one): read back through the proxy.
    const loss = await checkAcknowledged(fc.client(), load.writes);
    expect(loss.readErrors).toEqual([]);
    expect(loss.lost).toEqual([]);
    expect(loss.controlsMissed).toBe(0);

    console.log(
      `hinted handoff: ${hintsCreated} hints created, ${hintsDelivered} delivered, ` +
        `fallback copies dropped ${withCopy - kept.length}/${withCopy}, hints left ${finalHints}` +
        ` — ${victimId} stopped, seen down by the other 3 after ${seconds(downAfter)}; ` +
        `${during.length}/${during.length} writes on ${lists.length} of its lists cloud-ok at once ` +
        `(${hintedWrites} hinted writes; hints stored on ${perFallback.map((f) => `${f.node} ${f.stored}`).join(', ')}); after SIGCONT: hints delivered in ${seconds(deliveredMs)}, ` +
        `owners identical and fallbacks empty in ${seconds(healedMs)}; lost ${loss.lost.length} of ${loss.checked}; ` +
        `total ${seconds(performance.now() - started)}`,
    );
  });

  it("anti-entropy restores a wiped node's data without reads, and does no repair work when replicas agree", async () => {
    const started = performance.now();
    const rng = new Rng(seed ^ 0x3003);
    const fc = await FaultCluster.start({ nodes: 3, partitions: 16 });
    const all = [0, 1, 2];
    const M = 150;
    const lists = newListIds(M, rng);
    const load = new Workload(fc.client(), 0, lists, rng, { putTimeoutMs: requestMs });
    const written = await pool(lists, 12, (l) => load.writeOnce(l));
    expect(written.filter((w) => w.outcome !== 'ok')).toEqual([]);
    // Every write on all three replicas (W=2 answers before the third commits).
    await waitFor(
      () => 'all 3 replicas hold every list',
      hangMs,
      async () => ((await disagreeing(fc, lists, all)).length === 0 ? true : undefined),
      250,
    );

    // Idle, replicas agreeing: anti-entropy rounds go on, repairs do not. Idle for 4 s and at least
    // until the nodes have run 6 rounds, some of them finding agreement (one round per node per
    // second when the machine keeps up).
    const idle0 = await allStats(fc, all);
    const idleSince = performance.now();
    await sleep(4_000);
    let idle1 = idle0;
    const since = (name: string): number => counterSum(idle1, name) - counterSum(idle0, name);
    await waitFor(
      () => `${since('antiEntropyRounds')} anti-entropy rounds, ${since('antiEntropyAgreed')} agreed`,
      hangMs,
      async () => {
        idle1 = await allStats(fc, all);
        return since('antiEntropyRounds') >= 6 && since('antiEntropyAgreed') > 0 ? true : undefined;
      },
      250,
    );
    const idleMs = performance.now() - idleSince;
    const idleRounds = since('antiEntropyRounds');
    const idleAgreed = since('antiEntropyAgreed');
    const idleRepairs = since('antiEntropyRepairs');
    expect(idleRounds).toBeGreaterThanOrEqual(6);
    expect(idleAgreed).toBeGreaterThan(0);
    expect(idleRepairs).toBe(0);

    // Wipe one node: stop it, delete its folder, start it again (empty).
    const victim = rng.int(3);
    const victimId = fc.nodeIds[victim] as string;
    const survivors = all.filter((i) => i !== victim);
    const before = await allStats(fc, survivors);
    await fc.cluster.killNode(victim);
    rmSync(fc.dataDir(victim), { recursive: true, force: true });
    expect(existsSync(fc.databasePath(victim))).toBe(false);
    await fc.cluster.startNode(victim, hangMs);
    const restartedAt = performance.now();
    const keysAtStart = (await fc.stats(victim)).keys;
    expect(keysAtStart).toBeLessThan(M); // it really lost its data

    // No gets from here on: only anti-entropy can bring the keys back. The bound only guards against
    // a hang: with anti-entropy visiting only partitions a node holds data in, the wiped node's own
    // rounds find nothing to do, and each partition waits for a survivor's round to pick it as the
    // peer (1 in 2 per sweep of 16 s per survivor): 15–50 s seen on an idle machine, with a tail
    // (see the figure's "own rounds"), longer on a loaded one.
    let keys = keysAtStart;
    await waitFor(
      () => `${victimId} has ${keys} of ${M} keys`,
      300_000,
      async () => {
        keys = (await fc.stats(victim)).keys;
        return keys >= M ? true : undefined;
      },
      250,
    );
    let behind: ListId[] = [];
    await waitFor(
      () => `${behind.length} lists differ between ${victimId} and the others`,
      hangMs,
      async () => {
        behind = await disagreeing(fc, lists, all);
        return behind.length === 0 ? true : undefined;
      },
      250,
    );
    const repairMs = performance.now() - restartedAt;
    const victimCopies = await copies(fc, lists, [victim]);
    const restored = [...victimCopies.values()].filter(([h]) => h !== undefined).length;
    const after = await allStats(fc, all);
    const victimStats = after[victim] as NodeStats;
    const survivorsAfter = after.filter((s) => s.nodeId !== victimId);
    const repairs =
      counterSum(survivorsAfter, 'antiEntropyRepairs') -
      counterSum(before, 'antiEntropyRepairs') +
      (victimStats.counters['antiEntropyRepairs'] ?? 0);
    const gets =
      counterSum(survivorsAfter, 'gets') - counterSum(before, 'gets') + (victimStats.counters['gets'] ?? 0);
    const readRepairs =
      counterSum(survivorsAfter, 'readRepairs') -
      counterSum(before, 'readRepairs') +
      (victimStats.counters['readRepairs'] ?? 0);
    expect(restored).toBe(M);
    expect(gets).toBe(0);
    expect(readRepairs).toBe(0);
    expect(repairs).toBeGreaterThanOrEqual(M);

    console.log(
      `anti-entropy: restored ${restored}/${M} keys on a wiped node in ${seconds(repairMs)}` +
        ` — ${victimId} wiped (${keysAtStart} keys at restart), antiEntropyRepairs ${repairs} ` +
        `(${victimStats.counters['antiEntropyRepairs'] ?? 0} by the wiped node; its own rounds ` +
        `${victimStats.counters['antiEntropyRounds'] ?? 0}, ${victimStats.counters['antiEntropyAgreed'] ?? 0} agreed), ` +
        `read repairs ${readRepairs}; idle for ${seconds(idleMs)} with replicas agreeing: ${idleRounds} rounds ` +
        `(${idleAgreed} agreed), ${idleRepairs} repairs; total ${seconds(performance.now() - started)}`,
    );
  });

  it('ring change under load: add a node, remove an original one; no loss, hand-over, balance', async () => {
    const started = performance.now();
    const rng = new Rng(seed ^ 0x4004);
    const partitions = 16;
    const fc = await FaultCluster.start({ nodes: 3, partitions });
    const lists = newListIds(50, rng);
    // Short put deadlines, as in the kill test: a put caught by a ring change is retried.
    const load = new Workload(fc.client(), 0, lists, rng, {
      putTimeoutMs: 3_000,
      readEvery: 4,
      pauseMs: 10,
      inFlight: 3,
    });
    load.start();
    await sleep(1_500);

    // Add n4; wait until all four nodes run ring version 2 with it.
    const added = await fc.cluster.addNode(1, { confirm });
    const addedId = fc.nodeIds[added] as string;
    const ringAt = async (nodes: readonly number[], version: number, members: number): Promise<void> => {
      let seen = '';
      await waitFor(
        () => `ring ${version} not adopted everywhere: ${seen}`,
        hangMs,
        async () => {
          const stats = await allStats(fc, nodes);
          seen = stats.map((s) => `${s.nodeId} v${s.ringVersion}/${s.ringNodes.length}`).join(', ');
          return stats.every((s) => s.ringVersion === version && s.ringNodes.length === members)
            ? true
            : undefined;
        },
        200,
      );
    };
    await ringAt([0, 1, 2, added], 2, 4);
    await sleep(2_000); // transfers to the new node run under load

    // Remove n1 (asking n2), while the client keeps writing; once it holds lists, so that the
    // hand-over has something to hand over (a loaded machine may have written little so far).
    const removed = 0;
    const removedId = fc.nodeIds[removed] as string;
    const { value: beforeRemoval } = await waitFor(
      () => `${removedId} holds no list yet`,
      hangMs,
      async () => {
        const stats = await fc.stats(removed);
        return stats.keys > 0 ? stats : undefined;
      },
    );
    const version = await fc.cluster.removeNode(removed, 1, confirm);
    expect(version).toBe(3);
    const remaining = [1, 2, added];
    await ringAt([...remaining, removed], 3, 3);
    let keys = beforeRemoval.keys;
    const { ms: handOverMs } = await waitFor(
      () => `${removedId} still holds ${keys} keys`,
      hangMs,
      async () => {
        keys = (await fc.stats(removed)).keys;
        return keys === 0 ? true : undefined;
      },
      250,
    );
    const removedStats = await fc.stats(removed);
    const handedOver =
      (removedStats.counters['transferredAway'] ?? 0) - (beforeRemoval.counters['transferredAway'] ?? 0);
    // A second more of writes on the final ring, and at least until more than 100 writes were
    // acknowledged in all.
    await sleep(1_000);
    await waitFor(
      () => `only ${load.acknowledged().length} writes acknowledged`,
      hangMs,
      () => Promise.resolve(load.acknowledged().length > 100 ? true : undefined),
    );
    await load.stop(10_000);
    await fc.cluster.killNode(removed); // it may now be stopped

    // Every acknowledged write is readable from the three remaining nodes.
    const ok = load.acknowledged();
    const loss = await checkAcknowledged(fc.client(), load.writes);
    expect(loss.readErrors).toEqual([]);
    expect(loss.lost).toEqual([]);
    expect(loss.controlsMissed).toBe(0);
    expect(loss.checked).toBe(ok.length);
    expect(ok.length).toBeGreaterThan(100);
    expect(beforeRemoval.keys).toBeGreaterThan(0);
    expect(handedOver).toBeGreaterThanOrEqual(beforeRemoval.keys);
    // Every list on its three owners, identical.
    const { ms: placedMs } = await waitFor(
      () => 'every list identical on the 3 remaining nodes',
      hangMs,
      async () => ((await disagreeing(fc, lists, remaining)).length === 0 ? true : undefined),
      500,
    );

    // Balance of the final ring.
    const owned = (await allStats(fc, remaining)).map((s) => s.partitionsOwned);
    expect(sum(owned)).toBe(partitions);
    const balance = Math.max(...owned) / (partitions / remaining.length);
    expect(Math.max(...owned) - Math.min(...owned)).toBeLessThanOrEqual(1);
    const unknown = load.writes.length - ok.length;

    console.log(
      `ring change: lost ${loss.lost.length} of ${ok.length} acknowledged writes; ` +
        `removed node handed over ${handedOver} lists; balance max/mean ${balance.toFixed(3)}` +
        ` — added ${addedId}, removed ${removedId} (held ${beforeRemoval.keys} lists, empty ` +
        `${seconds(handOverMs)} after ring 3 was everywhere); partitions owned ${owned.join('/')}; ` +
        `${load.writes.length} writes (${unknown} unknown at the end), ` +
        `${load.reads - load.readFailures}/${load.reads} reads answered; replicas identical after ` +
        `${seconds(placedMs)}; total ${seconds(performance.now() - started)}`,
    );
  });
});
