// The cloud as real processes (RELIABILITY.md, "real processes" rows): a proxy and storage nodes
// started by LocalCluster, real ZeroMQ sockets on 127.0.0.1, real SQLite files under the OS
// temporary directory. Each test prints its figure. Every cluster is stopped and its folder
// removed after each test, pass or fail.
//
//   1. placement and intent: 2 clients, 200 lists, N=3 of 3 nodes; then 100 lists on 5 nodes
//   2. kill -9 a node: writes and reads go on at W=2; restart; read repair; integrity_check
//   3. idempotence (same opId twice, same bytes under two opIds) and deadlines (late = not applied)
//   4. wire fuzz of the proxy's client port (as an anonymous client) and a node's peer port (as a
//      member: the operator's keys, past the CURVE handshake): no crash, rejects counted; a
//      stranger's key and a plain socket are refused at the node's handshake

import { afterEach, describe, expect, it } from 'vitest';
import {
  ListReplica,
  encodeList,
  encodeMessage,
  messageBytesMax,
  newListId,
  newReplicaId,
  opIdFrom,
  type ListDoc,
  type ListId,
  type ListView,
  type Message,
  type ReplicaId,
} from '@trolley/core';
import { CloudClient, cryptoRandom, nodeStats, splitAddress } from '@trolley/node';
import { TestCluster, disposeAll } from './testing/test-cluster.ts';
import { RawDealer, type RawDealerOptions } from './testing/raw-dealer.ts';
import { SeededRandom, fuzzMessage, mustAnswerUnsupportedVersion, mustReject } from './testing/wire-fuzz.ts';
import {
  hangMs,
  holdersOf,
  livenessSeenBy,
  nodeCounter,
  nodeRejects,
  pool,
  putAcked,
  readList,
  replyMs,
  requestMs,
  sleep,
  sum,
  waitForPlacement,
} from './testing/cloud-checks.ts';
import { logErrorsOnly } from './testing/log-lines.ts';

// The processes log warnings for every rejected frame; the fuzz test sends thousands. Keep the
// test output to errors unless the caller asked for more.
logErrorsOnly();

const clients: CloudClient[] = [];
const raws: RawDealer[] = [];
function newClient(tc: TestCluster): CloudClient {
  const c = new CloudClient([tc.cluster.clientEndpoint]);
  clients.push(c);
  return c;
}
function newRaw(address: string, options: RawDealerOptions = {}): RawDealer {
  const r = new RawDealer(address, options);
  raws.push(r);
  return r;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(raws.splice(0).map((r) => r.close()));
  await disposeAll();
});

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** The part of a view a person reads: title and, per item, name and quantities. */
function plain(view: ListView): string {
  return JSON.stringify({
    title: view.title,
    deleted: view.deleted,
    items: view.items.map((i) => [i.key, i.name, i.wanted, i.bought]),
  });
}

/**
 * Polls `f` until it holds; returns the milliseconds it took. `timeoutMs` guards against a hang
 * (give it hangMs), it is not a budget: the figures print how long things took.
 */
async function waitUntil(what: string, timeoutMs: number, f: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (!(await f())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
  return performance.now() - start;
}

// ---- test 1: placement and intent ---------------------------------------------------------------

interface PlannedList {
  listId: ListId;
  shared: boolean;
  /** Operations each client performs on its own replica, in order; one put per operation. */
  ops: [((r: ListReplica) => ListDoc)[], ((r: ListReplica) => ListDoc)[]];
  expected: string;
}

/**
 * List i is owned by client i % 2: a rename, two adds, a buy. Every third list is also written by
 * the other client at the same time, from its own empty replica (so concurrently): a longer
 * rename, more of the same item under another spelling, a buy, and an item of its own. Intent:
 * the longer title wins (the register shows the greatest of concurrent values), the quantities
 * of the shared item add up (2 + q wanted, 1 + 1 bought), no add is lost.
 */
function planLists(count: number): PlannedList[] {
  return Array.from({ length: count }, (_, i) => {
    const owner = i % 2;
    const shared = i % 3 === 0;
    const q = 1 + (i % 4);
    const title = `List ${i}`;
    const ownerOps = [
      (r: ListReplica) => r.rename(title),
      (r: ListReplica) => r.addItem('Milk', q),
      (r: ListReplica) => r.addItem(`Bread ${i}`, 2),
      (r: ListReplica) => r.buy('Milk', 1),
    ];
    const otherOps = shared
      ? [
          (r: ListReplica) => r.rename(`${title} (shared)`),
          (r: ListReplica) => r.addItem('milk', 2),
          (r: ListReplica) => r.buy('milk', 1),
          (r: ListReplica) => r.addItem('Eggs', 6),
        ]
      : [];
    const items: [string, string, number, number][] = [[`bread ${i}`, `Bread ${i}`, 2, 0]];
    if (shared) items.push(['eggs', 'Eggs', 6, 0]);
    items.push(shared ? ['milk', 'milk', q + 2, 2] : ['milk', 'Milk', q, 1]);
    const expected = JSON.stringify({ title: shared ? `${title} (shared)` : title, deleted: false, items });
    const ops: PlannedList['ops'] = owner === 0 ? [ownerOps, otherOps] : [otherOps, ownerOps];
    return { listId: newListId(cryptoRandom), shared, ops, expected };
  });
}

/**
 * One client writes its part of every list, 12 lists at a time; each list's puts in order. A put
 * that comes back 'unknown' (its deadline passed, or the proxy saw no live coordinator for a
 * moment, as may happen on a loaded machine) is sent again under its opId until it is cloud-ok,
 * as a client does; `retried` counts those.
 */
async function writeAs(
  client: CloudClient,
  replicaId: ReplicaId,
  which: 0 | 1,
  plan: readonly PlannedList[],
): Promise<{ puts: number; ok: number; retried: number; failures: string[] }> {
  let puts = 0;
  let ok = 0;
  let retried = 0;
  const failures: string[] = [];
  await pool(plan, 12, async (list) => {
    const replica = new ListReplica(replicaId);
    for (const op of list.ops[which]) {
      const r = await putAcked(client, list.listId, encodeList(op(replica)));
      puts++;
      if (r.attempts > 1) retried++;
      if (r.outcome === 'ok' && r.acks >= 2) ok++;
      else failures.push(`${list.listId}: ${r.outcome} (${r.acks} of ${r.replicas})`);
    }
  });
  return { puts, ok, retried, failures };
}

async function placementRun(tc: TestCluster, count: number): Promise<string> {
  const started = performance.now();
  const q = tc.quorum;
  const plan = planLists(count);
  const a = newClient(tc);
  const b = newClient(tc);
  const [wa, wb] = await Promise.all([
    writeAs(a, newReplicaId(cryptoRandom), 0, plan),
    writeAs(b, newReplicaId(cryptoRandom), 1, plan),
  ]);
  const puts = wa.puts + wb.puts;
  expect([...wa.failures, ...wb.failures]).toEqual([]);
  expect(wa.ok + wb.ok).toBe(puts);

  // Read every list back through the proxy from both clients.
  const mismatches: string[] = [];
  let identical = 0;
  await pool(plan, 16, async (list) => {
    const [ra, rb] = await Promise.all([readList(a, list.listId), readList(b, list.listId)]);
    const va = plain(ra.view);
    const vb = plain(rb.view);
    if (ra.answered < q.r || rb.answered < q.r) mismatches.push(`${list.listId}: fewer than R answered`);
    if (va !== vb) mismatches.push(`${list.listId}: clients differ: ${va} vs ${vb}`);
    else if (va !== list.expected) mismatches.push(`${list.listId}: ${va}, expected ${list.expected}`);
    else identical++;
  });
  expect(mismatches).toEqual([]);

  // Where each list lives: exactly its preference list, one hash on every replica.
  const listIds = plan.map((l) => l.listId);
  const placement = await waitForPlacement(tc, listIds);
  expect(placement.problems).toEqual([]);
  expect(placement.exact).toBe(count);
  const perNode = [...placement.perNode].map(([id, n]) => `${id} ${n}`).join(', ');
  const outside = tc.nodeIds.length * count - sum([...placement.perNode.values()]);
  return (
    `cluster ${tc.nodeIds.length} nodes N=${q.n} R=${q.r} W=${q.w}: ${count} lists ` +
    `(${plan.filter((l) => l.shared).length} written by both clients at once), ` +
    `${wa.ok + wb.ok}/${puts} puts cloud-ok by 2 clients (${wa.retried + wb.retried} after a retry); read back through the proxy: ` +
    `${identical}/${count} identical from both clients and as intended (titles, items, quantities add up); ` +
    `on exactly the N=${q.n} preference-list nodes with one state hash: ${placement.exact}/${count} ` +
    `(absent from the ${outside} other node slots; lists per node: ${perNode}); ${seconds(started)}`
  );
}

describe('the cloud as real processes', () => {
  it('keeps 200 lists written by 2 concurrent clients, as intended, on the N=3 nodes of 3', async () => {
    const tc = await TestCluster.start({ nodes: 3 });
    console.log(await placementRun(tc, 200));
    expect(tc.exits()).toEqual([]);
  });

  it('places each list on exactly its N=3 preference-list nodes of 5, and nowhere else', async () => {
    const tc = await TestCluster.start({ nodes: 5 });
    console.log(await placementRun(tc, 100));
    expect(tc.exits()).toEqual([]);
  });

  // ---- test 2: kill -9 ---------------------------------------------------------------------------

  it('goes on writing and reading with a node killed (-9), repairs it on read, files intact', async () => {
    const started = performance.now();
    const tc = await TestCluster.start({ nodes: 3 });
    const client = newClient(tc);
    const victim = 1;
    const victimId = tc.nodeIds[victim] as string;

    interface Written {
      listId: ListId;
      expected: string;
    }
    /**
     * Lists of a rename and an add, 8 at a time; every put must be cloud-ok (an 'unknown' is sent
     * again under its opId). Returns the latest deadline any put carried.
     */
    const writeLists = async (
      label: string,
      count: number,
      timeoutMs = requestMs,
    ): Promise<{ lists: Written[]; ok: number; lastDeadlineMs: number }> => {
      let ok = 0;
      let lastDeadlineMs = 0;
      const lists = await pool(
        Array.from({ length: count }, (_, i) => i),
        8,
        async (i) => {
          const listId = newListId(cryptoRandom);
          const replica = new ListReplica(newReplicaId(cryptoRandom));
          for (const delta of [replica.rename(`${label} ${i}`), replica.addItem(`Item ${i}`, 1 + (i % 5))]) {
            const r = await putAcked(client, listId, encodeList(delta), { timeoutMs });
            lastDeadlineMs = Math.max(lastDeadlineMs, r.lastDeadlineMs);
            if (r.outcome === 'ok' && r.acks >= 2) ok++;
          }
          return { listId, expected: plain(replica.view()) };
        },
      );
      return { lists, ok, lastDeadlineMs };
    };
    const checkReads = async (lists: readonly Written[]): Promise<number> => {
      const good = await pool(lists, 8, async (l) => {
        const r = await readList(client, l.listId);
        return r.answered >= 2 && plain(r.view) === l.expected;
      });
      return good.filter(Boolean).length;
    };

    const before = await writeLists('Before', 50);
    expect(before.ok).toBe(100);

    // Kill the node while a background load writes to the cloud, so its SQLite file dies mid-use,
    // and keep writing for a second after: puts the proxy still routes to the dead node are
    // retried by the client (same opId) until the proxy has noticed.
    let loading = true;
    let killed = false;
    const background: { listId: ListId; title: string; outcome: string; afterKill: boolean; ms: number }[] =
      [];
    const load = pool([0, 1, 2, 3], 4, async (w) => {
      for (let i = 0; loading; i++) {
        const listId = newListId(cryptoRandom);
        const title = `Load ${w}.${i}`;
        const afterKill = killed;
        const delta = new ListReplica(newReplicaId(cryptoRandom)).rename(title);
        const t0 = performance.now();
        const r = await client.put(listId, encodeList(delta), { timeoutMs: 10_000 });
        background.push({ listId, title, outcome: r.outcome, afterKill, ms: performance.now() - t0 });
      }
    });
    const victimWrites = async (): Promise<number> => (await nodeCounter(tc, 'replicaWrites'))[victim] ?? 0;
    const writesBeforeLoad = await victimWrites();
    let writesBeforeKill = 0;
    let killedAt = 0;
    try {
      // Half a second of load, and at least until the load's writes reach the victim's file.
      await sleep(500);
      await waitUntil('the background load to write on the victim', hangMs, async () => {
        writesBeforeKill = await victimWrites();
        return writesBeforeKill > writesBeforeLoad;
      });
      killedAt = performance.now();
      killed = true;
      await tc.cluster.killNode(victim);
      await sleep(1_000);
    } finally {
      loading = false;
      await load;
    }
    await waitUntil('the proxy to see the killed node as down', hangMs, async () => {
      const view = await client.proxyStats(replyMs);
      const nodes = view['nodes'] as { id: string; live: boolean }[];
      return nodes.some((n) => n.id === victimId && !n.live);
    });
    const noticedMs = performance.now() - killedAt;

    // While it is down: 100 puts and 100 gets, every one answered by the 2 nodes left. The puts
    // carry deadlines of 15 s (ample for 2 live nodes; an 'unknown' would be sent again), so that
    // the wait for them to pass, below, stays short.
    const down = await writeLists('Down', 50, 15_000);
    expect(down.ok).toBe(100);
    const readsWhileDown = await checkReads([...before.lists, ...down.lists]);
    expect(readsWhileDown).toBe(100);

    // Restart it once the deadlines of those puts have passed (the wait is for that moment on the
    // clock, with half a second for the clocks of the processes), so the copies its peers still
    // queue for it are refused as late and the lists it missed can only come back by repair.
    await sleep(Math.max(0, down.lastDeadlineMs + 500 - Date.now()));
    // What it missed, read from its file while it is down: once it runs, anti-entropy starts
    // repairing at once, and on a slow machine may fix many lists before they are counted.
    const missedBefore =
      down.lists.length -
      tc.keysInFile(
        victim,
        down.lists.map((l) => l.listId),
      ).size;
    const keptInFile = tc.keysInFile(
      victim,
      before.lists.map((l) => l.listId),
    ).size;
    // Repairs counted from before the restart, on the two live nodes (the victim's own counters
    // start again from 0 when it does).
    const liveCounter = async (name: string): Promise<number> =>
      sum(
        await Promise.all(
          tc.nodeEndpoints
            .filter((_, i) => i !== victim)
            .map(
              async (a) =>
                ((await nodeStats(tc.cluster.operator, a, replyMs))['counters'] as Record<string, number>)[
                  name
                ] ?? 0,
            ),
        ),
      );
    const repairsBefore = await liveCounter('readRepairs');
    const antiEntropyBefore = await liveCounter('antiEntropyRepairs');
    await tc.cluster.startNode(victim, hangMs);
    await tc.cluster.waitForNodes(3, hangMs);
    // Coordinators read only from replicas their failure detector deems up: wait until both
    // other nodes have heard (by gossip) that it is back.
    const others = tc.nodeIds.map((_, i) => i).filter((i) => i !== victim);
    const rejoinMs = await waitUntil('the other nodes to see the restarted node alive', hangMs, async () => {
      const seen = await Promise.all(others.map((i) => livenessSeenBy(tc, i, victimId)));
      return seen.every((l) => l === 'alive');
    });
    const victimHolds = async (lists: readonly Written[]): Promise<number> => {
      const held = await pool(lists, 16, async (l) => (await holdersOf(tc, l.listId, [victim])).size);
      return sum(held);
    };
    const keptBefore = await victimHolds(before.lists);
    expect(missedBefore).toBeGreaterThan(0); // otherwise repair is not what this test shows
    expect(keptInFile).toBe(before.lists.length); // kill -9 lost nothing the node had committed
    expect(keptBefore).toBe(before.lists.length);

    // Read repair: a get of each list sends the restarted node what it lacks.
    expect(await checkReads(down.lists)).toBe(down.lists.length);
    let sameHash = 0;
    const repairMs = await waitUntil(
      'read repair to bring the restarted node up to date',
      hangMs,
      async () => {
        const same = await pool(down.lists, 16, async (l) => {
          const held = await holdersOf(tc, l.listId);
          const hashes = new Set(held.values());
          return held.size === 3 && hashes.size === 1;
        });
        sameHash = same.filter(Boolean).length;
        return sameHash === down.lists.length;
      },
    );
    const repairs = sum(await nodeCounter(tc, 'readRepairs')) - repairsBefore;
    const antiEntropyRepairs = sum(await nodeCounter(tc, 'antiEntropyRepairs')) - antiEntropyBefore;
    // Anti-entropy (one partition per node per second) may fix a list or two meanwhile; read
    // repair must account for the rest.
    expect(repairs + antiEntropyRepairs).toBeGreaterThanOrEqual(missedBefore);
    expect(repairs).toBeGreaterThan(0);

    // Every background put that was cloud-ok is readable (acknowledged writes lost: 0).
    const acked = background.filter((b) => b.outcome === 'ok');
    const lost = (
      await pool(acked, 8, async (b) => (await readList(client, b.listId)).view.title === b.title)
    ).filter((x) => !x).length;
    expect(lost).toBe(0);
    expect(tc.exits()).toEqual([`${victimId} exited (SIGKILL)`]);

    // Stop everything; every node's file must pass PRAGMA integrity_check.
    await tc.stopProcesses();
    const integrity = tc.integrity();
    expect(integrity.map((x) => x.report)).toEqual(tc.nodeIds.map(() => 'ok'));

    console.log(
      `kill -9 ${victimId} under load (${writesBeforeKill} replica writes in its life; ` +
        `${background.length} background puts, ${background.filter((b) => b.afterKill).length} of them sent after the kill signal: ` +
        `${acked.length} cloud-ok, ${background.length - acked.length} unknown, the slowest ` +
        `${Math.max(...background.map((b) => b.ms)).toFixed(0)} ms (retried past the dead coordinator); ` +
        `acked lost ${lost}); ` +
        `the proxy saw it down ${noticedMs.toFixed(0)} ms after the kill; ` +
        `while down: ${down.ok}/100 puts cloud-ok, ${readsWhileDown}/100 gets as written; ` +
        `after restart: ${keptBefore}/${before.lists.length} earlier lists kept, ` +
        `${missedBefore}/${down.lists.length} missed lists, after reads ${sameHash}/${down.lists.length} ` +
        `with the same hash on all 3 (${repairs} read repairs, ${antiEntropyRepairs} by anti-entropy, ` +
        `${repairMs.toFixed(0)} ms; peers saw it alive ${rejoinMs.toFixed(0)} ms after the proxy did); ` +
        `integrity_check ok on ${integrity.filter((x) => x.report === 'ok').length}/${integrity.length} ` +
        `(${integrity.map((x) => x.lists).join('/')} lists per node); ` +
        `${seconds(started)}`,
    );
  });

  // ---- test 3: idempotence and deadlines -----------------------------------------------------------

  it('applies a repeated put once and never applies a put past its deadline', async () => {
    const started = performance.now();
    const tc = await TestCluster.start({ nodes: 3 });
    const raw = newRaw(tc.cluster.clientEndpoint);
    const client = newClient(tc);
    let requestId = 1;
    type OpId = ReturnType<typeof opIdFrom>;
    const newOp = (): OpId => opIdFrom(cryptoRandom.fill(new Uint8Array(16)));
    const put = (
      listId: ListId,
      opId: OpId,
      delta: Uint8Array,
      deadlineMs = Date.now() + requestMs,
    ): Promise<Message> =>
      raw.request({ type: 'put', requestId: requestId++, listId, opId, deadlineMs, delta });
    const outcome = (m: Message): string =>
      m.type === 'put-reply'
        ? `${m.outcome} (${m.acks} of ${m.replicas})`
        : m.type === 'error'
          ? m.code
          : m.type;
    const expectOk = (m: Message): void => expect(outcome(m)).toMatch(/^ok \([23] of 3\)$/);
    /** The one hash all N replicas hold, once the last replica has caught up. */
    const settled = async (listId: ListId): Promise<string> => {
      // A duplicate wrongly applied after its early answer would show only later, so this is a
      // quiet moment for such a change to appear, not a wait for an event; on a loaded machine it
      // can only make the check less sharp, never fail a correct cloud.
      await sleep(200);
      let hash = '';
      await waitUntil(`all replicas of ${listId} to agree`, hangMs, async () => {
        const held = await holdersOf(tc, listId);
        const hashes = [...new Set(held.values())];
        hash = hashes[0] ?? '';
        return held.size === tc.quorum.n && hashes.length === 1;
      });
      return hash;
    };
    const shown = async (listId: ListId): Promise<string> =>
      (await readList(client, listId)).view.items.map((i) => `${i.wanted} ${i.name}`).join(', ');

    // One replica's edits; the twin list receives each exactly once, as the reference.
    const replica = new ListReplica(newReplicaId(cryptoRandom));
    const rename = encodeList(replica.rename('Idempotence'));
    const eggs = encodeList(replica.addItem('Eggs', 2));
    const butter = encodeList(replica.addItem('Butter', 1));
    const twin = newListId(cryptoRandom);
    for (const delta of [rename, eggs, butter]) expectOk(await put(twin, newOp(), delta));
    const reference = await settled(twin);

    const listId = newListId(cryptoRandom);
    expectOk(await put(listId, newOp(), rename));
    const eggsOp = newOp();
    expectOk(await put(listId, eggsOp, eggs));
    const once = await settled(listId);
    // The same put again, as a client retries it: ok, from the coordinator's memory of the opId.
    const duplicatesBefore = sum(await nodeCounter(tc, 'duplicateOps'));
    expectOk(await put(listId, eggsOp, eggs));
    const duplicates = sum(await nodeCounter(tc, 'duplicateOps')) - duplicatesBefore;
    const afterRetry = await settled(listId);
    // The same put twice at once, both in flight before either is acknowledged: both applied, as one.
    const butterOp = newOp();
    const both = await Promise.all([put(listId, butterOp, butter), put(listId, butterOp, butter)]);
    both.forEach(expectOk);
    const afterTwice = await settled(listId);
    // The same bytes under a new opId (a copy made by the network or a relay).
    expectOk(await put(listId, newOp(), butter));
    const afterCopy = await settled(listId);

    expect(duplicates).toBe(1);
    expect(afterRetry).toBe(once);
    expect(afterTwice).not.toBe(once); // not vacuous: a new operation does change the state
    expect(afterCopy).toBe(afterTwice);
    expect(afterCopy).toBe(reference); // the same state as the twin that got each edit once
    expect(await shown(listId)).toBe('1 Butter, 2 Eggs');

    // Deadlines: a request that arrives after its deadline is refused and changes nothing anywhere.
    const lateBefore = sum(await nodeCounter(tc, 'lateRejected'));
    const absentId = newListId(cryptoRandom);
    const stranger = new ListReplica(newReplicaId(cryptoRandom));
    const lateNew = await put(absentId, newOp(), encodeList(stranger.rename('Too late')), Date.now() - 1_000);
    const lateEdit = await put(listId, newOp(), encodeList(stranger.addItem('Late milk', 1)), Date.now() - 1);
    const lateGet = await raw.request({
      type: 'get',
      requestId: requestId++,
      listId,
      deadlineMs: Date.now() - 1_000,
      context: new Uint8Array(0),
    });
    const tooFar = await put(absentId, newOp(), encodeList(stranger.rename('Too far')), Date.now() + 120_000);
    const codes = [lateNew, lateEdit, lateGet, tooFar].map(outcome);
    expect(codes).toEqual(['deadline_exceeded', 'deadline_exceeded', 'deadline_exceeded', 'malformed']);
    // The absence of a late write: a quiet moment for one wrongly applied to land (no event
    // marks "nothing happened"; load can only make this less sharp, never fail a correct cloud).
    await sleep(500);
    const absentOn = (await holdersOf(tc, absentId)).size;
    expect(absentOn).toBe(0);
    expect(await settled(listId)).toBe(afterCopy);
    expect(await shown(listId)).toBe('1 Butter, 2 Eggs');
    const late = sum(await nodeCounter(tc, 'lateRejected')) - lateBefore;
    expect(late).toBe(3);
    expect(tc.exits()).toEqual([]);

    console.log(
      `idempotence: a retried put (same opId, same bytes): ok, ${duplicates} answered from memory, state ` +
        `hash unchanged on 3/3 replicas; the same put twice at once: ${both.map(outcome).join(' and ')}; ` +
        `the same bytes under a new opId: ok; final state hash equal to a twin list that got each edit ` +
        `once (1 Butter, 2 Eggs). deadlines: put to a new list, put to an existing list, get -> ` +
        `${codes.slice(0, 3).join(', ')} (${late} counted late); a deadline 120 s away -> ${codes[3]}; ` +
        `new list on ${absentOn}/3 nodes, existing list unchanged on 3/3; ${seconds(started)}`,
    );
  });

  // ---- test 4: wire fuzz -----------------------------------------------------------------------------

  it('survives thousands of hostile messages on the proxy and a node, counts them, serves on', async () => {
    const started = performance.now();
    const seed = Number(process.env['TROLLEY_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    const rand = new SeededRandom(seed);
    console.log(`wire fuzz: seed ${seed} (TROLLEY_FUZZ_SEED=${seed} replays it)`);
    const tc = await TestCluster.start({ nodes: 3 });
    const client = newClient(tc);
    const target = 0;
    const proxyCounters = async (): Promise<Record<string, number>> =>
      (await client.proxyStats(replyMs))['counters'] as Record<string, number>;
    const proxyRejectedBefore = (await proxyCounters())['rejected'] ?? 0;
    const nodeRejectedBefore = await nodeRejects(tc);

    // Legitimate traffic all along: every one of these must be served.
    let fuzzing = true;
    let legitimate = 0;
    const legitimateMs: number[] = [];
    const legitimateFailures: string[] = [];
    const legit = (async () => {
      while (fuzzing) {
        const listId = newListId(cryptoRandom);
        const replica = new ListReplica(newReplicaId(cryptoRandom));
        const t0 = performance.now();
        const put = await client.put(listId, encodeList(replica.addItem('Tea', 3)), { timeoutMs: requestMs });
        const got = put.outcome === 'ok' ? plain((await readList(client, listId)).view) : put.outcome;
        legitimateMs.push(performance.now() - t0);
        if (got === plain(replica.view())) legitimate++;
        else legitimateFailures.push(`${listId}: ${got}`);
      }
    })();

    const perTarget = 1_500;
    const sent = { proxy: new Map<string, number>(), node: new Map<string, number>() };
    const mustRejectCount = { proxy: 0, node: 0 };
    let mustAnswerVersion = 0;
    // The proxy's client port takes anyone (a fresh key); a node's peer port only members, so the
    // fuzz speaks there with a member's keys and credential: hostile frames from inside the cluster.
    const asMember = { member: tc.cluster.operator };
    const toProxy = newRaw(tc.cluster.clientEndpoint);
    const toNode = newRaw(tc.cluster.nodeEndpoint(target), asMember);
    try {
      for (let i = 0; i < perTarget; i++) {
        for (const [where, socket] of [
          ['proxy', toProxy],
          ['node', toNode],
        ] as const) {
          const m = fuzzMessage(rand, where);
          sent[where].set(m.kind, (sent[where].get(m.kind) ?? 0) + 1);
          if (mustReject(where, m.frames)) mustRejectCount[where]++;
          if (where === 'proxy' && mustAnswerUnsupportedVersion(m.frames)) mustAnswerVersion++;
          await socket.sendFrames(m.frames);
        }
        if (i % 100 === 99) await sleep(5); // let the legitimate client in
      }
      // Oversized messages, each on a socket of its own: ZeroMQ drops the sender, not the receiver.
      for (const [address, options] of [
        [tc.cluster.clientEndpoint, {}],
        [tc.cluster.nodeEndpoint(target), asMember],
      ] as const) {
        const big = newRaw(address, options);
        await big.sendFrames([new Uint8Array(messageBytesMax + 1024)]);
      }
      // Legitimate traffic during the fuzz: go on until at least one put and get was served (or
      // failed), however slowly the loaded machine works through the flood.
      await waitUntil('a legitimate put and get during the fuzz', hangMs, () =>
        Promise.resolve(legitimate + legitimateFailures.length > 0),
      );
    } finally {
      fuzzing = false;
      await legit;
    }

    // Every process still answers; every refused frame was counted; the proxy said which versions.
    let proxyRejected = 0;
    await waitUntil('the proxy to count every rejected frame', hangMs, async () => {
      proxyRejected = ((await proxyCounters())['rejected'] ?? 0) - proxyRejectedBefore;
      return proxyRejected >= mustRejectCount.proxy;
    });
    let nodeRejected = 0;
    await waitUntil('the node to count every rejected frame', hangMs, async () => {
      nodeRejected = ((await nodeRejects(tc))[target] ?? 0) - (nodeRejectedBefore[target] ?? 0);
      return nodeRejected >= mustRejectCount.node;
    });
    const versionReplies = (): number =>
      toProxy.replies.filter((m) => m.type === 'error' && m.code === 'unsupported_version').length;
    await waitUntil('the proxy to answer every unsupported version', hangMs, async () =>
      Promise.resolve(versionReplies() >= mustAnswerVersion),
    );
    expect(proxyRejected).toBe(mustRejectCount.proxy);
    expect(nodeRejected).toBeGreaterThanOrEqual(mustRejectCount.node);
    expect(versionReplies()).toBe(mustAnswerVersion);
    const alive = await Promise.all(
      tc.nodeEndpoints.map(
        async (address) =>
          typeof (await nodeStats(tc.cluster.operator, address, replyMs))['nodeId'] === 'string',
      ),
    );
    expect(alive).toEqual(tc.nodeIds.map(() => true));
    expect(tc.exits()).toEqual([]);
    expect(legitimateFailures).toEqual([]);

    // Strangers at the node's peer port, one after the other: a key not in its keyring, then a
    // socket without CURVE. Each is refused at the handshake (counted), and gets no answer.
    const nodeAddress = tc.cluster.nodeEndpoint(target);
    const handshakesRefused = async (): Promise<number> => {
      const s = await nodeStats(tc.cluster.operator, nodeAddress, replyMs);
      return (s['transport'] as Record<string, number>)['handshakesRefused'] ?? 0;
    };
    const strangers: Record<string, { refused: number; answers: number }> = {};
    for (const [name, address] of [
      ['stranger key', nodeAddress],
      ['plain', splitAddress(nodeAddress).endpoint],
    ] as const) {
      const before = await handshakesRefused();
      const stranger = new RawDealer(address);
      try {
        await stranger.sendFrames([encodeMessage({ type: 'stats', requestId: 1 })]);
        let refused = 0;
        await waitUntil(`the node to refuse the handshake of a ${name} socket`, hangMs, async () => {
          refused = (await handshakesRefused()) - before;
          return refused > 0;
        });
        strangers[name] = { refused, answers: stranger.replies.length };
      } finally {
        await stranger.close();
      }
    }
    expect(Object.values(strangers).map((x) => x.answers)).toEqual([0, 0]);
    expect(legitimate).toBeGreaterThan(0);

    // And a fresh request after it all.
    const listId = newListId(cryptoRandom);
    const replica = new ListReplica(newReplicaId(cryptoRandom));
    const after = await client.put(listId, encodeList(replica.rename('After the fuzz')), {
      timeoutMs: requestMs,
    });
    expect(after.outcome).toBe('ok');
    expect((await readList(client, listId)).view.title).toBe('After the fuzz');
    await tc.stopProcesses();
    const integrity = tc.integrity();
    expect(integrity.map((x) => x.report)).toEqual(tc.nodeIds.map(() => 'ok'));
    const sorted = [...legitimateMs].sort((x, y) => x - y);
    const percentile = (p: number): string =>
      (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(0);

    const kinds = (m: Map<string, number>): string =>
      [...m]
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
    console.log(
      `wire fuzz (seed ${seed}): ${2 * perTarget} messages + 2 oversized ` +
        `(${messageBytesMax + 1024} bytes; frames-0 is an empty multipart, which zeromq does not send); proxy client port: ${kinds(sent.proxy)}; ` +
        `node ${tc.nodeIds[target]} peer port: ${kinds(sent.node)}. ` +
        `processes alive ${alive.filter(Boolean).length + 1}/${alive.length + 1} (proxy and every node answer ` +
        `stats, none exited); ` +
        `rejects counted: proxy ${proxyRejected} (must be ${mustRejectCount.proxy}), ` +
        `node ${nodeRejected} (at least ${mustRejectCount.node}); unsupported_version answers ` +
        `${versionReplies()}/${mustAnswerVersion}; handshakes refused at the node's peer port: a stranger's ` +
        `key ${strangers['stranger key']?.refused ?? 0}, a plain socket ${strangers['plain']?.refused ?? 0} ` +
        `(reconnects included), 0 answers; legitimate put+get served during the fuzz ${legitimate}/${legitimate} ` +
        `(p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms), and after it; integrity_check ok on ` +
        `${integrity.filter((x) => x.report === 'ok').length}/${integrity.length}; ${seconds(started)}`,
    );
  });
});
