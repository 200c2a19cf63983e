// The contract every ClientStore passes (ports.ts; STYLE.md: one contract suite per port, as
// automerge-repo does for its storage adapters). It checks what the engine relies on: a commit is
// all or nothing; a stale revision is a 'conflict' that writes nothing; a malformed change is a
// TrolleyError that writes nothing; outboxes keep their order; bytes are copied both ways; and
// everything committed is there after a close and reopen. With `openSecond`, it also checks two
// handles on one store, as two processes of one device would have.
//
// Usage, in an implementation's test file:
//   clientStoreContract('MyStore', async () => ({ store, reopen, openSecond, cleanup }));

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrolleyError, type ListId, type OpId, type ReplicaId } from '@trolley/core';
import type {
  ClientChange,
  ClientStore,
  ListChange,
  OutboxEntry,
  StoredClientList,
  SyncMeta,
} from '../ports.ts';

export interface ClientStoreSubject {
  store: ClientStore;
  /** Opens the same data again after `store.close()`: a restart. */
  reopen: () => Promise<ClientStore>;
  /** A second handle on the same data while the first stays open: another process. Optional. */
  openSecond?: () => Promise<ClientStore>;
  /** Releases everything the subject made (files, folders). Must tolerate closed stores. */
  cleanup: () => Promise<void>;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** A valid list ID (UUID v4) derived from `n`. */
export const sampleListId = (n: number): ListId => `${hex(n, 8)}-0000-4000-8000-${hex(n, 12)}` as ListId;

export const sampleOpId = (n: number): OpId => hex(n, 32) as OpId;

/** Bytes derived from a label, so that any mix-up shows. */
export const sampleBytes = (label: string): Uint8Array => new TextEncoder().encode(`bytes of ${label}`);

export const sampleEntry = (n: number): OutboxEntry => ({
  opId: sampleOpId(n),
  delta: sampleBytes(`delta ${n}`),
  createdMs: 1_700_000_000_000 + n,
});

export const sampleSync = (n = 0): SyncMeta => ({ inSync: n % 4, replicas: 3, lastSyncMs: 1_000 * n });

/** A change creating list `n` with a state and `entries` outbox entries. */
export function newList(n: number, entries: number[] = []): ListChange {
  return {
    listId: sampleListId(n),
    expectedRevision: undefined,
    state: sampleBytes(`state ${n}`),
    append: entries.map(sampleEntry),
    sync: sampleSync(),
  };
}

const bytes = (b: Uint8Array | undefined): number[] | undefined => (b === undefined ? undefined : [...b]);
/** Plain data, whatever Uint8Array subclass or view a store hands back. */
const plainList = (l: StoredClientList | undefined) =>
  l === undefined
    ? undefined
    : {
        listId: l.listId,
        revision: l.revision,
        state: bytes(l.state),
        outbox: l.outbox.map((e) => ({ opId: e.opId, delta: bytes(e.delta), createdMs: e.createdMs })),
        sync: {
          inSync: l.sync.inSync,
          replicas: l.sync.replicas,
          lastSyncMs: l.sync.lastSyncMs,
          lastSyncedHash: bytes(l.sync.lastSyncedHash),
          joinedOnly: l.sync.joinedOnly,
        },
      };

export function clientStoreContract(name: string, makeStore: () => Promise<ClientStoreSubject>): void {
  describe(`ClientStore contract: ${name}`, () => {
    let subject: ClientStoreSubject;
    let store: ClientStore;
    let opened: ClientStore[];

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      opened = [];
    });

    afterEach(async () => {
      for (const s of opened) await s.close();
      await store.close();
      await subject.cleanup();
    });

    const listOf = async (s: ClientStore, n: number) =>
      plainList((await s.load()).lists.find((l) => l.listId === sampleListId(n)));

    async function expectRefused(change: ClientChange, s: ClientStore = store): Promise<void> {
      const before = await s.load();
      await expect(s.commit(change)).rejects.toBeInstanceOf(TrolleyError);
      const after = await s.load();
      expect(after.lists.map(plainList)).toEqual(before.lists.map(plainList));
      expect(after.meta).toEqual(before.meta);
    }

    it('a new store is empty; the meta record is written once', async () => {
      expect(await store.load()).toEqual({ meta: undefined, lists: [] });
      const replicaId = 'device-1' as ReplicaId;
      expect(await store.commit({ meta: { replicaId } })).toBe('committed');
      expect(await store.commit({ meta: { replicaId: 'device-2' as ReplicaId } })).toBe('conflict');
      expect((await store.load()).meta).toEqual({ replicaId });
    });

    it('keeps a writer secret with the meta record, and gives a store made before them one, once', async () => {
      const writerSecret = new Uint8Array(32).fill(5);
      const writer = { replicaId: 'w-AAAAAAAAAAAAAAAAAAAAAA' as ReplicaId, writerSecret };
      expect(await store.commit({ writer })).toBe('conflict'); // no meta record yet
      expect(await store.commit({ meta: { replicaId: 'legacy-1' as ReplicaId } })).toBe('committed');
      expect(await store.commit({ lists: [newList(1, [1])] })).toBe('committed');
      expect(await store.commit({ writer })).toBe('committed');
      const other = { replicaId: 'w-BBBBBBBBBBBBBBBBBBBBBB' as ReplicaId, writerSecret: new Uint8Array(32) };
      expect(await store.commit({ writer: other })).toBe('conflict'); // once
      const loaded = await store.load();
      expect(loaded.meta).toEqual(writer);
      expect(loaded.lists).toHaveLength(1); // nothing else changed
      await expectRefused({ meta: { replicaId: 'x' as ReplicaId }, writer });
      await store.close();
      store = await subject.reopen();
      expect((await store.load()).meta).toEqual(writer);
    });

    it('creates a list at revision 1 with its state, outbox and sync metadata', async () => {
      expect(await store.commit({ lists: [newList(1, [1, 2])] })).toBe('committed');
      expect(await listOf(store, 1)).toEqual(
        plainList({
          listId: sampleListId(1),
          revision: 1,
          state: sampleBytes('state 1'),
          outbox: [sampleEntry(1), sampleEntry(2)],
          sync: sampleSync(),
        }),
      );
    });

    it('one commit changes state, removes and appends entries, and replaces sync metadata', async () => {
      await store.commit({ lists: [newList(1, [1, 2, 3])] });
      const sync: SyncMeta = {
        inSync: 3,
        replicas: 3,
        lastSyncMs: 42,
        lastSyncedHash: sampleBytes('hash'),
        joinedOnly: true,
      };
      const outcome = await store.commit({
        lists: [
          {
            listId: sampleListId(1),
            expectedRevision: 1,
            state: sampleBytes('state 1b'),
            removeOpIds: [sampleOpId(2), sampleOpId(99)], // an unknown opId is ignored
            append: [sampleEntry(4), sampleEntry(5)],
            sync,
          },
        ],
      });
      expect(outcome).toBe('committed');
      const list = await listOf(store, 1);
      expect(list?.revision).toBe(2);
      expect(list?.state).toEqual(bytes(sampleBytes('state 1b')));
      expect(list?.outbox.map((e) => e.opId)).toEqual([1, 3, 4, 5].map(sampleOpId));
      expect(list?.sync).toEqual({
        inSync: 3,
        replicas: 3,
        lastSyncMs: 42,
        lastSyncedHash: bytes(sampleBytes('hash')),
        joinedOnly: true,
      });
      // Sync metadata is replaced as a whole: optional fields can go away again.
      await store.commit({ lists: [{ listId: sampleListId(1), expectedRevision: 2, sync: sampleSync(5) }] });
      const again = await listOf(store, 1);
      expect(again?.sync).toEqual({ ...sampleSync(5), lastSyncedHash: undefined, joinedOnly: undefined });
      expect(again?.state).toEqual(bytes(sampleBytes('state 1b')));
      expect(again?.outbox.map((e) => e.opId)).toEqual([1, 3, 4, 5].map(sampleOpId));
    });

    it('an entry removed and appended again in one change goes to the end', async () => {
      await store.commit({ lists: [newList(1, [1, 2])] });
      await store.commit({
        lists: [
          {
            listId: sampleListId(1),
            expectedRevision: 1,
            removeOpIds: [sampleOpId(1)],
            append: [sampleEntry(1)],
          },
        ],
      });
      expect((await listOf(store, 1))?.outbox.map((e) => e.opId)).toEqual([2, 1].map(sampleOpId));
    });

    it('a stale or wrong revision is a conflict, and the whole commit writes nothing', async () => {
      await store.commit({ lists: [newList(1, [1]), newList(2)] });
      await store.commit({
        lists: [{ listId: sampleListId(1), expectedRevision: 1, state: sampleBytes('v2') }],
      });
      const before = (await store.load()).lists.map(plainList);
      const conflicts: ClientChange[] = [
        { lists: [{ listId: sampleListId(1), expectedRevision: 1, state: sampleBytes('stale') }] },
        { lists: [newList(1)] }, // creating a list that exists
        { lists: [{ listId: sampleListId(3), expectedRevision: 1, state: sampleBytes('ghost') }] }, // a missing list
        {
          // list 2 is fine, list 1 is stale: nothing of either is written
          lists: [
            { listId: sampleListId(2), expectedRevision: 1, state: sampleBytes('would change') },
            { listId: sampleListId(1), expectedRevision: 1, append: [sampleEntry(7)] },
          ],
        },
        { meta: { replicaId: 'late' as ReplicaId }, lists: [newList(5)] },
      ];
      await store.commit({ meta: { replicaId: 'first' as ReplicaId } });
      for (const change of conflicts) expect(await store.commit(change)).toBe('conflict');
      expect((await store.load()).lists.map(plainList)).toEqual(before);
    });

    it('a malformed change is refused with a TrolleyError and writes nothing', async () => {
      await store.commit({ lists: [newList(1, [1])] });
      const id = sampleListId(1);
      await expectRefused({ lists: [{ listId: id, expectedRevision: 1, append: [sampleEntry(1)] }] }); // already there
      await expectRefused({
        lists: [{ listId: id, expectedRevision: 1, append: [sampleEntry(2), sampleEntry(2)] }],
      });
      await expectRefused({
        lists: [{ listId: sampleListId(2), expectedRevision: undefined, sync: sampleSync() }],
      });
      await expectRefused({
        lists: [{ listId: id, expectedRevision: 1, forget: true, state: sampleBytes('x') }],
      });
      await expectRefused({ lists: [{ listId: id, expectedRevision: undefined, forget: true }] });
      await expectRefused({ lists: [newList(3), newList(3)] });
      await expectRefused({
        lists: [newList(4), { listId: id, expectedRevision: 1, append: [sampleEntry(1)] }],
      });
      expect((await store.load()).lists.map((l) => l.listId)).toEqual([id]);
    });

    it('forget removes a list and its outbox; the ID can be used again', async () => {
      await store.commit({ lists: [newList(1, [1, 2]), newList(2, [3])] });
      expect(
        await store.commit({ lists: [{ listId: sampleListId(1), expectedRevision: 1, forget: true }] }),
      ).toBe('committed');
      expect((await store.load()).lists.map((l) => l.listId)).toEqual([sampleListId(2)]);
      expect(await store.commit({ lists: [newList(1, [1])] })).toBe('committed');
      expect(await listOf(store, 1)).toMatchObject({ revision: 1, outbox: [{ opId: sampleOpId(1) }] });
    });

    it('copies bytes both ways: neither side can change the other', async () => {
      const change = newList(1, [1]);
      const state = change.state as Uint8Array;
      const delta = (change.append?.[0] as OutboxEntry).delta;
      const done = store.commit({ lists: [change] });
      state.fill(0);
      delta.fill(0);
      await done;
      const loaded = (await store.load()).lists[0] as StoredClientList;
      expect(bytes(loaded.state)).toEqual(bytes(sampleBytes('state 1')));
      loaded.state.fill(0);
      (loaded.outbox[0] as OutboxEntry).delta.fill(0);
      expect(await listOf(store, 1)).toMatchObject({
        state: bytes(sampleBytes('state 1')),
        outbox: [{ delta: bytes(sampleBytes('delta 1')) }],
      });
    });

    it('commits take effect in the order they were called', async () => {
      await store.commit({ lists: [newList(1)] });
      const id = sampleListId(1);
      const outcomes = await Promise.all(
        [1, 2, 3, 4].map((r) =>
          store.commit({ lists: [{ listId: id, expectedRevision: r, append: [sampleEntry(r)] }] }),
        ),
      );
      expect(outcomes).toEqual(['committed', 'committed', 'committed', 'committed']);
      expect((await listOf(store, 1))?.outbox.map((e) => e.opId)).toEqual([1, 2, 3, 4].map(sampleOpId));
    });

    it('everything committed is there after close and reopen', async () => {
      await store.commit({ meta: { replicaId: 'device-1' as ReplicaId } });
      const lists = 40;
      for (let n = 1; n <= lists; n++) await store.commit({ lists: [newList(n, [n * 10, n * 10 + 1])] });
      for (let n = 1; n <= lists; n += 3) {
        await store.commit({
          lists: [
            {
              listId: sampleListId(n),
              expectedRevision: 1,
              removeOpIds: [sampleOpId(n * 10)],
              sync: sampleSync(n),
            },
          ],
        });
      }
      await store.commit({ lists: [{ listId: sampleListId(2), expectedRevision: 1, forget: true }] });
      const before = await store.load();
      await store.close();
      await store.close(); // idempotent
      const again = await subject.reopen();
      opened.push(again);
      const after = await again.load();
      expect(after.meta).toEqual({ replicaId: 'device-1' });
      expect(after.lists.length).toBe(lists - 1);
      const byId = (ls: StoredClientList[]) =>
        ls.map(plainList).sort((a, b) => ((a?.listId ?? '') < (b?.listId ?? '') ? -1 : 1));
      expect(byId(after.lists)).toEqual(byId(before.lists));
    });

    it('two handles on one store: each sees the other, and a stale writer gets a conflict', async (context) => {
      if (subject.openSecond === undefined) {
        context.skip();
        return;
      }
      const second = await subject.openSecond();
      opened.push(second);
      await store.commit({ lists: [newList(1, [1])] });
      expect(await listOf(second, 1)).toMatchObject({ revision: 1 });
      expect(
        await second.commit({
          lists: [{ listId: sampleListId(1), expectedRevision: 1, append: [sampleEntry(2)] }],
        }),
      ).toBe('committed');
      expect(
        await store.commit({
          lists: [{ listId: sampleListId(1), expectedRevision: 1, append: [sampleEntry(3)] }],
        }),
      ).toBe('conflict');
      expect((await listOf(store, 1))?.outbox.map((e) => e.opId)).toEqual([1, 2].map(sampleOpId));
      expect(await second.commit({ meta: { replicaId: 'b' as ReplicaId } })).toBe('committed');
      expect(await store.commit({ meta: { replicaId: 'a' as ReplicaId } })).toBe('conflict');
    });
  });
}
