// The storage node's replica and coordinator logic over the in-memory network: quorum writes and
// reads, unknown at the deadline, never applying late, read repair, retries, bad frames.

import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  WIRE_VERSION,
  decodeList,
  encodeList,
  hashEquals,
  listView,
  type ReplicaId,
} from '@trolley/core';
import { MemoryCluster } from './testing/cluster-fixture.ts';

const alice = (): ListReplica => new ListReplica('alice' as ReplicaId);

describe('storage node: quorum writes and reads', () => {
  it('a put is cloud-ok after W commits and lands on all N replicas', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const r = alice();
    const id = c.put(c.ids[0] as never, listId, r.addItem('Milk', 2));
    await c.settle();
    expect(c.reply(id)).toMatchObject({ type: 'put-reply', outcome: 'ok', replicas: 3 });
    const hashes = c.stores.map((s) => s.get(listId)?.hash);
    expect(hashes.every((h) => h !== undefined && hashEquals(h, hashes[0]))).toBe(true);
    // These nodes have no front (a client port of their own): their stats say so, as null.
    for (const n of c.nodes) expect(n.stats()['front']).toBeNull();
  });

  it('a get answers what the caller misses, with the merged context', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const writer = alice();
    c.put(c.ids[1] as never, listId, writer.rename('Party'));
    c.put(c.ids[2] as never, listId, writer.addItem('Chips', 3));
    await c.settle();
    const reader = new ListReplica('bob' as ReplicaId);
    const id = c.get(c.ids[0] as never, listId, reader);
    await c.settle();
    const reply = c.reply(id);
    if (reply?.type !== 'get-reply') throw new Error(`expected get-reply, got ${JSON.stringify(reply)}`);
    const delta = decodeList(reply.delta);
    if (!delta.ok) throw delta.error;
    reader.apply(delta.value);
    expect(reader.view()).toEqual(writer.view());
    expect(reply.answered).toBe(3); // all replicas answered within the grace
    expect(reply.inSync).toBe(3); // so the client can know its list is on all N
  });

  it('with one replica down, writes and reads still succeed (W=2, R=2)', async () => {
    const c = new MemoryCluster();
    c.network.setDown('n3', true);
    const listId = c.newListId();
    const r = alice();
    const put = c.put(c.ids[0] as never, listId, r.addItem('Eggs', 6));
    await c.settle();
    expect(c.reply(put)).toMatchObject({ outcome: 'ok', acks: 2 });
    const get = c.get(c.ids[1] as never, listId);
    await c.settle();
    expect(c.reply(get)).toBeUndefined(); // R answered: a short grace for the third
    c.clock.advance(30);
    for (const node of c.nodes) node.tick();
    await c.settle();
    expect(c.reply(get)).toMatchObject({ type: 'get-reply', answered: 2, inSync: 2, replicas: 3 });
  });

  it('read repair: a replica that missed a write receives it when the list is read', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    c.network.setDown('n3', true);
    c.put(c.ids[0] as never, listId, alice().addItem('Tea', 1));
    await c.settle();
    expect(c.stored(2, listId)).toBeUndefined();
    c.network.setDown('n3', false);
    c.get(c.ids[0] as never, listId);
    await c.settle();
    const repaired = c.stored(2, listId);
    expect(repaired && listView(repaired).items.map((i) => i.key)).toEqual(['tea']);
    expect(c.nodes.reduce((n, node) => n + node.counters.readRepairs, 0)).toBeGreaterThan(0);
  });

  it('with too few replicas the outcome is unknown at the deadline, never failed', async () => {
    const c = new MemoryCluster();
    c.network.setDown('n2', true);
    c.network.setDown('n3', true);
    const listId = c.newListId();
    const put = c.put(c.ids[0] as never, listId, alice().addItem('Salt', 1));
    await c.settle();
    expect(c.reply(put)).toBeUndefined();
    c.clock.advance(2_000);
    c.nodes[0]?.tick();
    await c.settle();
    expect(c.reply(put)).toMatchObject({ type: 'put-reply', outcome: 'unknown', acks: 1 });
  });

  it('a request past its deadline is refused and not applied', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const put = c.put(c.ids[0] as never, listId, alice().addItem('Late', 1), {
      deadlineMs: c.clock.wallMs() - 1,
    });
    await c.settle();
    expect(c.reply(put)).toMatchObject({ type: 'error', code: 'deadline_exceeded' });
    expect(c.stores.every((s) => s.get(listId) === undefined)).toBe(true);
  });

  it('a replica write that arrives after its deadline is not applied late', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    c.put(c.ids[0] as never, listId, alice().addItem('Bread', 1));
    // Deliver only the client's request, then let time pass before the replica writes arrive.
    c.network.deliver();
    await Promise.resolve();
    c.clock.advance(5_000);
    await c.settle();
    const late = c.nodes.reduce((n, node) => n + node.counters.lateRejected, 0);
    expect(late).toBe(2);
    expect(c.stores.filter((s) => s.get(listId) !== undefined)).toHaveLength(1); // the coordinator's own
  });

  it('an operation sent twice is applied once and acknowledged twice', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const r = alice();
    r.addItem('Milk', 1);
    const delta = r.buy('milk', 1);
    const opId = c.opId();
    const first = c.put(c.ids[0] as never, listId, delta, { opId });
    await c.settle();
    const hash = c.stores[0]?.get(listId)?.hash;
    const second = c.put(c.ids[0] as never, listId, delta, { opId });
    const third = c.put(c.ids[1] as never, listId, delta, { opId }); // through another coordinator
    await c.settle();
    for (const id of [first, second, third]) expect(c.reply(id)).toMatchObject({ outcome: 'ok' });
    expect(hashEquals(c.stores[0]?.get(listId)?.hash, hash)).toBe(true);
    const stored = c.stored(0, listId);
    expect(stored && listView(stored).items[0]?.bought).toBe(1);
    expect(c.nodes[0]?.counters.duplicateOps).toBe(1);
  });

  it('duplicated replica acknowledgements count once', async () => {
    const c = new MemoryCluster(undefined, { n: 3, r: 1, w: 3 });
    c.network.setDown('n3', true);
    const listId = c.newListId();
    const put = c.put(c.ids[0] as never, listId, alice().addItem('Oil', 1));
    const tick = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    c.network.deliver(); // the client's put reaches n1, which writes locally and asks n2 and n3
    await tick();
    expect(c.network.inFlight).toBe(2); // replica writes to n2 and to n3 (down: lost on delivery)
    c.network.deliver();
    c.network.deliver();
    await tick(); // n2 commits and acknowledges
    expect(c.reply(put)).toBeUndefined();
    expect(c.network.inFlight).toBe(1); // n2's acknowledgement
    c.network.duplicate(0);
    await c.settle();
    expect(c.reply(put)).toBeUndefined(); // 2 distinct acknowledgements of W=3, however often repeated
    c.clock.advance(2_000);
    c.nodes[0]?.tick();
    await c.settle();
    expect(c.reply(put)).toMatchObject({ outcome: 'unknown', acks: 2 });
  });

  it('malformed frames are counted and dropped; the node keeps serving', async () => {
    const c = new MemoryCluster();
    for (const junk of [
      new Uint8Array(0),
      Uint8Array.from([1]),
      Uint8Array.from([9, 9, 9]),
      Uint8Array.from([WIRE_VERSION, 3, 1, 0]),
      Uint8Array.from([WIRE_VERSION - 1, 3, 1, 0]),
    ])
      c.sendRaw(c.ids[0] as never, junk);
    await c.settle();
    expect(c.nodes[0]?.counters.rejected).toBe(5);
    const listId = c.newListId();
    const put = c.put(c.ids[0] as never, listId, alice().addItem('Rice', 1));
    await c.settle();
    expect(c.reply(put)).toMatchObject({ outcome: 'ok' });
  });

  it('shows a checked write to its process before any replica commits it; the writer hears cloud-ok only after W commits', async () => {
    const told: { listId: string; bytes: number; coordinatorHasIt: boolean }[] = [];
    const c: MemoryCluster = new MemoryCluster(
      undefined,
      undefined,
      {
        onWriteAccepted: (listId, delta) =>
          told.push({
            listId,
            bytes: delta.length,
            // The coordinator's own copy joins it only after the notice and the replica-puts left
            // (NodeTransport.afterSends): no watcher or replica waits for that join.
            coordinatorHasIt: c.stores[0]?.get(listId) !== undefined,
          }),
      },
      { manualCommit: true }, // the stores hold every commit until flushed
    );
    const listId = c.newListId();
    const delta = alice().addItem('Jam', 1);
    const put = c.put(c.ids[0] as never, listId, delta);
    await c.settle();
    // Live: the write is announced although no store has committed it…
    expect(told).toEqual([{ listId, bytes: encodeList(delta).length, coordinatorHasIt: false }]);
    expect(c.stores[0]?.get(listId)).toBeDefined(); // joined right after, not committed
    expect(c.stores.map((s) => s.stats().commits)).toEqual([0, 0, 0]);
    expect(c.stores.map((s) => s.reopen().get(listId))).toEqual([undefined, undefined, undefined]);
    // …durable: the writer has no answer yet.
    expect(c.reply(put)).toBeUndefined();
    c.stores[0]?.flush();
    await c.settle();
    expect(c.reply(put)).toBeUndefined(); // 1 commit of W=2
    c.stores[1]?.flush();
    await c.settle();
    expect(c.reply(put)).toMatchObject({ type: 'put-reply', outcome: 'ok', acks: 2 });
    expect(told).toHaveLength(1); // cloud-ok does not announce it again
  });

  it('a shown write whose coordinator lost it before the replicas had it: a watcher covering it is refused, kept, and goes through once the writer pushes again', async () => {
    const shown: Uint8Array[] = [];
    const c = new MemoryCluster(
      undefined,
      undefined,
      { onWriteAccepted: (_listId, delta) => shown.push(delta) },
      { manualCommit: true },
    );
    const commitAll = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) {
        for (const s of c.stores) s.flush();
        await c.settle();
      }
    };
    const listId = c.newListId();
    const a = alice();
    const created = c.put(c.ids[0] as never, listId, a.rename('Party'));
    await commitAll();
    expect(c.reply(created)).toMatchObject({ outcome: 'ok' });

    // n1 accepts alice's write and shows it; the replica-puts are lost and n1's store loses the
    // uncommitted write (a crash): the cloud holds none of it.
    c.network.setDown('n2', true);
    c.network.setDown('n3', true);
    const opId = c.opId();
    const milk = a.addItem('milk', 2);
    const first = c.put(c.ids[0] as never, listId, milk, { opId });
    await c.settle();
    expect(shown).toHaveLength(2);
    c.stores[0]?.crash();
    await c.settle();
    c.network.setDown('n2', false);
    c.network.setDown('n3', false);
    expect(c.reply(first)).toBeUndefined(); // never cloud-ok: alice keeps it in her outbox

    // bob watched: he joined it, and removes the item.
    const bob = new ListReplica('bob' as ReplicaId);
    const seen = decodeList(shown[1] as Uint8Array);
    if (!seen.ok) throw seen.error;
    bob.apply(seen.value);
    const removal = bob.removeItem('milk');
    const early = c.put(c.ids[1] as never, listId, removal);
    await commitAll();
    expect(c.reply(early)).toMatchObject({ type: 'error', code: 'refused' });
    expect([0, 1, 2].map((i) => listView(c.stored(i, listId) as never).items)).toEqual([[], [], []]);

    // alice pushes again (same operation), now cloud-ok; then bob's kept removal goes through.
    const again = c.put(c.ids[1] as never, listId, milk, { opId });
    await commitAll();
    expect(c.reply(again)).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    const milkOn = (i: number): string[] => listView(c.stored(i, listId) as never).items.map((x) => x.key);
    expect([0, 1, 2].map(milkOn)).toEqual([['milk'], ['milk'], ['milk']]);
    const later = c.put(c.ids[1] as never, listId, removal);
    await commitAll();
    expect(c.reply(later)).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    for (let i = 0; i < 3; i++) {
      const stored = c.stored(i, listId);
      expect(stored && listView(stored).items).toEqual([]); // added, then removed
    }
  });

  it('announces a write that then fails to reach W (its writer keeps it and retries), and never a refused one', async () => {
    const told: string[] = [];
    const c = new MemoryCluster(undefined, undefined, {
      onWriteAccepted: (_listId, delta) => {
        const d = decodeList(delta);
        if (!d.ok) throw d.error; // only a well-formed delta may ever be shown
        told.push(
          listView(d.value)
            .items.map((x) => x.key)
            .join(','),
        );
      },
    });
    const listId = c.newListId();
    const a = alice();
    const first = c.put(c.ids[0] as never, listId, a.addItem('milk', 2));
    await c.settle();
    expect(c.reply(first)).toMatchObject({ outcome: 'ok' });
    // A retry answered from memory (already cloud-ok) is not announced again.
    const opId = c.opId();
    const tea = a.addItem('tea', 1);
    c.put(c.ids[0] as never, listId, tea, { opId });
    await c.settle();
    c.put(c.ids[0] as never, listId, tea, { opId });
    await c.settle();
    expect(told).toEqual(['milk', 'tea']);

    // Malformed: refused before anything is shown.
    c.send(c.ids[0] as never, {
      type: 'put',
      requestId: 900,
      listId,
      opId: c.opId(),
      deadlineMs: c.clock.wallMs() + 1_000,
      delta: Uint8Array.from([9, 9, 9]),
      writer: new Uint8Array(0),
    });
    // Refused by the write check: a fresh replica under a taken name claims dots the cloud holds
    // elsewhere (PROTOCOL.md §8.1).
    const reused = c.put(c.ids[0] as never, listId, alice().addItem('eggs', 1));
    await c.settle();
    expect(c.reply(900)).toMatchObject({ type: 'error', code: 'malformed' });
    expect(c.reply(reused)).toMatchObject({ type: 'error', code: 'refused' });
    expect(told).toEqual(['milk', 'tea']);

    // Two replicas down: shown at once, then unknown at the deadline; the writer keeps it.
    c.network.setDown('n2', true);
    c.network.setDown('n3', true);
    const lonely = c.put(c.ids[0] as never, listId, a.addItem('rice', 1));
    await c.settle();
    expect(told).toEqual(['milk', 'tea', 'rice']);
    c.clock.advance(2_000);
    c.nodes[0]?.tick();
    await c.settle();
    expect(c.reply(lonely)).toMatchObject({ type: 'put-reply', outcome: 'unknown' });
  });
});
