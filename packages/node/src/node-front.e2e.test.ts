// Storage nodes' fronts (node-server.ts), with real processes' parts in one process: a proxy and
// four storage nodes over ZeroMQ on loopback (N=3, R=2, W=2), secure as production runs. Each
// node serves clients on a client port of its own; the proxy's `locate` names a list's fronts. A
// client at the coordinator's front writes and is watched there (two hops); a watcher at another
// replica's front or at the proxy hears the same write; a front that is not a replica of the list
// sends the client on to the proxy; a front, open to any client key, refuses what only members may
// send; a node's `stats` (asked as an operator) show its front, with a client watching there; and a
// direct CloudClient finds fronts by itself, and falls back to the proxy when one dies.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ListReplica,
  decodeList,
  decodeMessage,
  encodeList,
  encodeMessage,
  newListId,
  opIdFrom,
  partitionOf,
  preferenceList,
  type ListId,
  type ReplicaId,
} from '@trolley/core';
import { nodeStats, operatorKeys, type Operator } from './admin.ts';
import { cryptoRandom } from './clock.ts';
import { CloudClient } from './cloud-client.ts';
import { newKeyPair, splitAddress, writeMemberKey } from './keys.ts';
import type { RunningNode } from './node-server.ts';
import type { RunningProxy } from './proxy-server.ts';
import { startTestCloud } from './testing/cloud.ts';
import { until } from './testing/until.ts';
import { dealer } from './zmq.ts';

/** A wait that has not seen its event by now is taken for a hang: a guard, never a budget. */
const hangGuardMs = 120_000;
const requestMs = 30_000;
const quorum = { n: 3, r: 2, w: 2 };

describe('storage nodes serving clients at their fronts', () => {
  let dir: string;
  let proxy: RunningProxy;
  let proxyAddress: string;
  const nodes: RunningNode[] = [];
  const clients: CloudClient[] = [];
  const client = (addresses: string[]): CloudClient => {
    const c = new CloudClient(addresses, { attemptMs: 5_000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trolley-front-'));
    const started = await startTestCloud({ dir, nodeIds: ['n1', 'n2', 'n3', 'n4'], quorum, fronts: true });
    proxy = started.proxy;
    proxyAddress = started.proxyAddress;
    nodes.push(...started.nodes);
    const ask = client([proxyAddress]);
    await until(
      'the proxy to name three fronts for a list',
      async () => {
        const fronts = await ask.locate(newListId(cryptoRandom), requestMs).catch(() => []);
        return fronts.length === 3
          ? { done: true, value: undefined }
          : { done: false, seen: `${fronts.length}` };
      },
      hangGuardMs,
    );
  }, hangGuardMs);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.stop();
    await proxy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The nodes of the list's preference list, in its order, and the one node that is not in it. */
  function placement(listId: ListId): { replicas: RunningNode[]; other: RunningNode } {
    const ring = nodes[0]?.node.ring;
    if (ring === undefined) throw new Error('no ring');
    const prefs = preferenceList(ring, partitionOf(listId, ring.partitionCount), quorum.n);
    const byId = (id: string): RunningNode => nodes.find((n) => n.node.id === id) as RunningNode;
    return { replicas: prefs.map(byId), other: nodes.find((n) => !prefs.includes(n.node.id)) as RunningNode };
  }

  /** Resolves with the first `changed` delta `watcher` hears for `listId`. */
  function nextChange(watcher: CloudClient, listId: ListId): Promise<Uint8Array> {
    return new Promise((resolve) => {
      const stop = watcher.watch([listId], (id, delta) => {
        if (id !== listId || delta.length === 0) return;
        stop();
        resolve(delta);
      });
    });
  }

  it("names a list's fronts in preference order, each with its node's key", async () => {
    const listId = newListId(cryptoRandom);
    const fronts = await client([proxyAddress]).locate(listId, requestMs);
    const { replicas } = placement(listId);
    expect(fronts).toEqual(replicas.map((n) => n.frontAddress));
    for (const f of fronts) expect(splitAddress(f).serverKey).toBeDefined();
  });

  it("shows its front in the node's stats: its address, a client watching there, what it forwarded and sent", async () => {
    // An operator, as `trolley cluster status` and the cluster page ask: its key added to the
    // keyring the nodes read (they read it again when an unknown key calls).
    const keysDir = join(dir, 'keys');
    writeMemberKey(keysDir, 'operator', 'operator');
    const op: Operator = operatorKeys(keysDir);
    const listId = newListId(cryptoRandom);
    const [coordinator] = placement(listId).replicas as [RunningNode];
    const id = coordinator.node.id;
    const peerAddress = coordinator.node.membership.view().find((m) => m.id === id)?.address as string;
    type Front = {
      address: string;
      watches: { clients: number; lists: number; entries: number };
      inFlight: { clients: number; requests: number };
      counters: { forwarded: number; notified: number; rejected: number };
      handshakesRefused: number;
    };
    const frontStats = async (): Promise<Front> =>
      (await nodeStats(op, peerAddress, requestMs, id))['front'] as Front;
    const before = await frontStats();
    expect(before.address).toBe(coordinator.frontAddress);

    // A client watches the list at that front only: the stats count it once its watch is held.
    const watcher = client([coordinator.frontAddress as string]);
    const heard = nextChange(watcher, listId);
    const watching = await until(
      "the node's stats to count the watcher at its front",
      async () => {
        const f = await frontStats();
        return f.watches.clients > before.watches.clients && f.watches.entries > before.watches.entries
          ? { done: true, value: f }
          : { done: false, seen: JSON.stringify(f.watches) };
      },
      hangGuardMs,
    );
    expect(watching.watches.lists).toBeGreaterThan(0);
    // The stats read the front's state machine itself.
    expect(watching.watches).toEqual(coordinator.front?.watchCounts());

    // A write at the front is forwarded there, and shown to the watcher from there.
    const writer = client([coordinator.frontAddress as string]);
    const delta = encodeList(new ListReplica('stats' as ReplicaId).addItem('Salt', 1));
    expect((await writer.put(listId, delta, { timeoutMs: requestMs })).outcome).toBe('ok');
    await heard;
    const after = await frontStats();
    expect(after.counters.forwarded).toBeGreaterThan(before.counters.forwarded);
    expect(after.counters.notified).toBeGreaterThan(before.counters.notified);
    expect(typeof after.inFlight.requests).toBe('number');
    expect(typeof after.handshakesRefused).toBe('number');
    console.log(
      `front in stats: ${id} ${JSON.stringify(watching.watches)} watching; forwarded ` +
        `${before.counters.forwarded} → ${after.counters.forwarded}, ` +
        `notified ${before.counters.notified} → ${after.counters.notified}`,
    );
  });

  it("shows a write at the coordinator's front to watchers there, at another replica's front and at the proxy", async () => {
    const listId = newListId(cryptoRandom);
    const [coordinator, second] = placement(listId).replicas as [RunningNode, RunningNode];
    const at = (n: RunningNode): string[] => [n.frontAddress as string, proxyAddress];
    const writer = client(at(coordinator));
    const watchers = [client(at(coordinator)), client(at(second)), client([proxyAddress])];
    const seen = watchers.map((w) => nextChange(w, listId));
    // A watch takes effect when its front or proxy handles it, so write until all three have heard.
    const replica = new ListReplica('front-test' as ReplicaId);
    let delta = encodeList(replica.addItem('Milk', 2));
    const written = [delta];
    expect((await writer.put(listId, delta, { timeoutMs: requestMs })).outcome).toBe('ok');
    const heard = await Promise.race([
      Promise.all(seen),
      (async () => {
        for (let i = 0; ; i++) {
          await new Promise((r) => setTimeout(r, 200));
          delta = encodeList(replica.setNote('Milk', `again ${i}`));
          written.push(delta);
          await writer.put(listId, delta, { timeoutMs: requestMs });
          if (i * 200 > hangGuardMs) throw new Error('the watchers never heard a write');
        }
      })(),
    ]);
    for (const d of heard) {
      expect(d.length).toBeGreaterThan(0);
      // What a watcher is shown is a write as its writer sent it (the first it heard: its watch may
      // have come into force after the first put), and reads as what that write said.
      const k = written.findIndex((w) => Buffer.from(w).equals(Buffer.from(d)));
      expect(written.some((w) => Buffer.from(w).equals(Buffer.from(d)))).toBe(true);
      const doc = decodeList(d);
      if (!doc.ok) throw doc.error;
      const seenBy = new ListReplica('reader' as ReplicaId);
      seenBy.apply(doc.value);
      if (k === 0) expect(seenBy.item('Milk')?.wanted).toBe(2);
      else expect(seenBy.item('Milk')?.note).toBe(`again ${k - 1}`);
    }
    // The writer and a watcher at the coordinator's front never went through the proxy.
    expect(coordinator.front?.counters.forwarded).toBeGreaterThan(0);
    expect(coordinator.front?.counters.notified).toBeGreaterThan(0);
    expect(second.front?.counters.notified).toBeGreaterThan(0);
    console.log(
      `fronts: coordinator's front forwarded ${coordinator.front?.counters.forwarded} puts in process, ` +
        `notified ${coordinator.front?.counters.notified}; replica's front notified ${second.front?.counters.notified}`,
    );
  });

  it('sends a client on to the proxy from the front of a node that is not a replica of the list', async () => {
    const listId = newListId(cryptoRandom);
    const { other } = placement(listId);
    const notified = other.front?.counters.unavailable ?? 0;
    const c = client([other.frontAddress as string, proxyAddress]);
    const put = await c.put(
      listId,
      encodeList(new ListReplica('elsewhere' as ReplicaId).addItem('Eggs', 6)),
      {
        timeoutMs: requestMs,
      },
    );
    expect(put.outcome).toBe('ok'); // through the proxy, after the front's `unavailable`
    expect(other.front?.counters.unavailable).toBe(notified + 1);
    const got = await c.get(listId, new Uint8Array(0), { timeoutMs: requestMs });
    expect(got.delta.length).toBeGreaterThan(0);
    const doc = decodeList(got.delta);
    if (!doc.ok) throw doc.error;
    const reader = new ListReplica('reader' as ReplicaId);
    reader.apply(doc.value);
    expect(reader.item('Eggs')?.wanted).toBe(6);
  });

  it('admits any client key, and answers a message only members may send with unknown_type, changing nothing', async () => {
    const listId = newListId(cryptoRandom);
    const [coordinator] = placement(listId).replicas as [RunningNode];
    const { endpoint, serverKey } = splitAddress(coordinator.frontAddress as string);
    const socket = dealer(undefined, { keys: newKeyPair(), serverKey: serverKey as string });
    try {
      socket.connect(endpoint);
      const before = coordinator.front?.counters.unknownType ?? 0;
      const crafted = encodeMessage({
        type: 'replica-put',
        requestId: 77,
        listId,
        opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
        deadlineMs: Date.now() + requestMs,
        doc: encodeList(new ListReplica('intruder' as ReplicaId).addItem('Caviar', 9)),
      });
      await socket.send(crafted);
      const [answer] = await socket.receive();
      const m = decodeMessage(answer as Buffer);
      expect(m.ok && m.value).toMatchObject({ type: 'error', requestId: 77, code: 'unknown_type' });
      expect(coordinator.front?.counters.unknownType).toBe(before + 1);
      expect(coordinator.store.get(listId)).toBeUndefined();
    } finally {
      socket.close();
    }
  });
  it('a direct client locates a list, then writes, reads and watches it at its coordinator, back through the proxy when that node dies', async () => {
    const listId = newListId(cryptoRandom);
    const [coordinator] = placement(listId).replicas as [RunningNode];
    const forwarded = (): number => coordinator.front?.counters.forwarded ?? 0;
    const writer = new CloudClient([proxyAddress], { attemptMs: 2_000, direct: true });
    const watcher = new CloudClient([proxyAddress], { attemptMs: 2_000, direct: true });
    clients.push(writer, watcher);
    const replica = new ListReplica('direct' as ReplicaId);
    let heard = 0;
    watcher.watch([listId], (id, delta) => {
      if (id === listId && delta.length > 0) heard++;
    });
    // The first request goes through the proxy and locates the list beside it; the next go to the
    // coordinator's front, and so does the watch.
    const before = forwarded();
    let n = 0;
    await until(
      "the writer's puts and the watch at the coordinator's front",
      async () => {
        const put = await writer.put(listId, encodeList(replica.addItem('Tea', ++n)), {
          timeoutMs: requestMs,
        });
        expect(put.outcome).toBe('ok');
        const watched = coordinator.front?.watchCounts().lists ?? 0;
        return forwarded() > before && watched > 0 && heard > 0
          ? { done: true, value: undefined }
          : {
              done: false,
              seen: `${forwarded() - before} puts at the front, ${watched} lists watched there, ${heard} heard`,
            };
      },
      hangGuardMs,
    );
    const atFront = forwarded();
    const got = await writer.get(listId, new Uint8Array(0), { timeoutMs: requestMs });
    expect(got.delta.length).toBeGreaterThan(0);
    expect(forwarded()).toBe(atFront + 1); // the get went to the front too
    expect(watcher.watchedLists).toEqual([listId]);

    // The coordinator dies: its front is silent, and the requests go on through the proxy (to the
    // next live node of the preference list, once the proxy takes the dead one for down).
    await coordinator.stop();
    nodes.splice(nodes.indexOf(coordinator), 1);
    const after = await writer.put(listId, encodeList(replica.addItem('Tea', ++n)), { timeoutMs: requestMs });
    expect(after.outcome).toBe('ok');
    const heardBefore = heard;
    await until(
      'the watcher to hear a change again, through the proxy',
      async () => {
        await writer.put(listId, encodeList(replica.addItem('Tea', ++n)), { timeoutMs: requestMs });
        return heard > heardBefore
          ? { done: true, value: undefined }
          : { done: false, seen: `${heard} heard` };
      },
      hangGuardMs,
      500,
    );
  });
});
