// The contract every ListStore implementation passes (ports.ts; STYLE.md: one contract suite per
// port, as automerge-repo does for its storage adapters). It checks what the storage node relies
// on: reads see every write at once, committed or not; each write's promise resolves; partition
// listings are complete and in key order; hints come back oldest first; and, for a durable store,
// everything whose promise resolved survives a close and reopen.
//
// Usage, in an implementation's test file: listStoreContract('MyStore', async () => ({ store, cleanup })).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListStore, StoredHint, StoredList } from '../ports.ts';

export interface ListStoreSubject {
  store: ListStore;
  /** Opens the same data again after `store.close()`; durable stores provide it. */
  reopen?: () => Promise<ListStore>;
  /** Releases everything the subject made (files, folders). Must tolerate a closed store. */
  cleanup: () => Promise<void>;
}

/** A list whose bytes are derived from its key and a version, so any mix-up shows. */
export function sampleList(key: string, partition: number, version = 1): StoredList {
  const state = new TextEncoder().encode(`${key}#${version}#${'x'.repeat(version % 7)}`);
  const hash = new Uint8Array(16);
  for (const [i, byte] of state.entries()) {
    const slot = i % 16;
    hash[slot] = ((hash[slot] ?? 0) * 31 + byte) & 0xff;
  }
  return { key, partition, state, deltas: [], hash };
}

function sampleHint(target: string, n: number): Omit<StoredHint, 'id'> {
  return {
    target,
    key: `list-${n}`,
    partition: n % 5,
    doc: new TextEncoder().encode(`hint ${n} for ${target}`),
    createdMs: 1_700_000_000_000 + n,
  };
}

/** Plain arrays compare the same whatever Uint8Array subclass or view a store hands back. */
const bytes = (b: Uint8Array): number[] => [...b];
const plain = (list: StoredList | undefined) =>
  list === undefined
    ? undefined
    : {
        key: list.key,
        partition: list.partition,
        state: bytes(list.state),
        deltas: list.deltas.map(bytes),
        hash: bytes(list.hash),
      };
const delta = (n: number): Uint8Array => new TextEncoder().encode(`delta ${n}`);
const digest = (n: number): Uint8Array => new Uint8Array(16).fill(n);
const plainHint = (hint: StoredHint) => ({ ...hint, doc: bytes(hint.doc) });
const plainEntries = (entries: { key: string; hash: Uint8Array }[]) =>
  entries.map((e) => ({ key: e.key, hash: bytes(e.hash) }));

export function listStoreContract(name: string, makeStore: () => Promise<ListStoreSubject>): void {
  describe(`ListStore contract: ${name}`, () => {
    let subject: ListStoreSubject;
    let store: ListStore;
    /** Stores the test opened itself (by reopen), closed after it whatever happens. */
    let opened: ListStore[];

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      opened = [];
    });

    afterEach(async () => {
      for (const s of opened) s.close();
      store.close();
      await subject.cleanup();
    });

    it('a get sees a put at once, and still after its promise resolves', async () => {
      const list = sampleList('a', 3);
      expect(store.get('a')).toBeUndefined();
      const done = store.put(list);
      expect(plain(store.get('a'))).toEqual(plain(list));
      await done;
      expect(plain(store.get('a'))).toEqual(plain(list));
      expect(store.get('b')).toBeUndefined();
    });

    it('an overwrite replaces state, hash and partition', async () => {
      await store.put(sampleList('k', 1, 1));
      const second = store.put(sampleList('k', 2, 2));
      expect(plain(store.get('k'))).toEqual(plain(sampleList('k', 2, 2)));
      expect(plainEntries(store.partitionEntries(1))).toEqual([]);
      await second;
      // Several overwrites in one batch: the last one wins.
      const writes = [3, 4, 5].map((v) => store.put(sampleList('k', v, v)));
      expect(plain(store.get('k'))).toEqual(plain(sampleList('k', 5, 5)));
      await Promise.all(writes);
      expect(plain(store.get('k'))).toEqual(plain(sampleList('k', 5, 5)));
      expect(store.count()).toBe(1);
      expect(store.countByPartition()).toEqual(new Map([[5, 1]]));
      expect(plainEntries(store.partitionEntries(2))).toEqual([]);
    });

    it('a delete removes a list; deleting a missing key is harmless', async () => {
      await store.put(sampleList('gone', 1));
      await store.put(sampleList('kept', 1));
      const done = store.delete('gone');
      expect(store.get('gone')).toBeUndefined();
      expect(store.count()).toBe(1);
      await done;
      expect(store.get('gone')).toBeUndefined();
      await store.delete('never-there');
      // Put then delete in one batch leaves nothing; delete then put leaves the put.
      const batch = [store.put(sampleList('brief', 2)), store.delete('brief')];
      batch.push(store.delete('kept'), store.put(sampleList('kept', 4, 2)));
      await Promise.all(batch);
      expect(store.get('brief')).toBeUndefined();
      expect(plain(store.get('kept'))).toEqual(plain(sampleList('kept', 4, 2)));
      expect(store.count()).toBe(1);
      expect(store.countByPartition()).toEqual(new Map([[4, 1]]));
    });

    it('a write copies its bytes: the caller may reuse its arrays at once', async () => {
      const list = sampleList('a', 1);
      const doc = new Uint8Array([1, 2, 3]);
      const done = [store.put(list), store.addHint({ ...sampleHint('n', 1), doc })];
      list.state.fill(0);
      list.hash.fill(0);
      doc.fill(0);
      expect(plain(store.get('a'))).toEqual(plain(sampleList('a', 1)));
      await Promise.all(done);
      expect(plain(store.get('a'))).toEqual(plain(sampleList('a', 1)));
      expect(store.hintsFor('n', 1).map((h) => bytes(h.doc))).toEqual([[1, 2, 3]]);
    });

    it('partitionEntries lists only that partition, in key order, committed or not', async () => {
      const committedKeys = ['m', 'c', 'x', 'a'];
      await Promise.all(committedKeys.map((k) => store.put(sampleList(k, 7))));
      await store.put(sampleList('other', 8));
      const pending = [store.put(sampleList('b', 7)), store.put(sampleList('z', 7)), store.delete('m')];
      const expected = ['a', 'b', 'c', 'x', 'z'].map((k) => ({ key: k, hash: bytes(sampleList(k, 7).hash) }));
      expect(plainEntries(store.partitionEntries(7))).toEqual(expected);
      await Promise.all(pending);
      expect(plainEntries(store.partitionEntries(7))).toEqual(expected);
      expect(plainEntries(store.partitionEntries(8))).toEqual([
        { key: 'other', hash: bytes(sampleList('other', 8).hash) },
      ]);
      expect(store.partitionEntries(9)).toEqual([]);
    });

    it('count and countByPartition follow puts, overwrites and deletes', async () => {
      expect(store.count()).toBe(0);
      expect(store.countByPartition()).toEqual(new Map());
      await Promise.all(['a', 'b', 'c'].map((k) => store.put(sampleList(k, 1))));
      await store.put(sampleList('d', 2));
      const pending = [store.put(sampleList('a', 2, 2)), store.delete('b'), store.put(sampleList('e', 3))];
      const expected = new Map([
        [1, 1],
        [2, 2],
        [3, 1],
      ]);
      expect(store.count()).toBe(4);
      expect(store.countByPartition()).toEqual(expected);
      await Promise.all(pending);
      expect(store.count()).toBe(4);
      expect(store.countByPartition()).toEqual(expected);
    });

    it('hints: increasing ids, oldest first per target, up to max, delete and count', async () => {
      const idA1 = await store.addHint(sampleHint('node-a', 1));
      const idB1 = await store.addHint(sampleHint('node-b', 2));
      const pendingIds = [store.addHint(sampleHint('node-a', 3)), store.addHint(sampleHint('node-a', 4))];
      // Uncommitted hints are visible at once, after the committed ones.
      expect(store.hintCount()).toBe(4);
      expect(store.hintsFor('node-a', 10).map((h) => h.key)).toEqual(['list-1', 'list-3', 'list-4']);
      const [idA3, idA4] = await Promise.all(pendingIds);
      expect(idA3).toBeDefined();
      expect(idA4).toBeDefined();
      const ids = [idA1, idB1, idA3 ?? 0, idA4 ?? 0];
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
      expect(new Set(ids).size).toBe(4);

      const forA = store.hintsFor('node-a', 10);
      expect(forA.map(plainHint)).toEqual(
        [1, 3, 4].map((n, i) => plainHint({ ...sampleHint('node-a', n), id: [idA1, idA3, idA4][i] ?? 0 })),
      );
      expect(store.hintsFor('node-a', 2).map((h) => h.id)).toEqual([idA1, idA3]);
      expect(store.hintsFor('node-a', 0)).toEqual([]);
      expect(store.hintsFor('nobody', 10)).toEqual([]);

      const deleted = store.deleteHint(idA1);
      expect(store.hintsFor('node-a', 1).map((h) => h.id)).toEqual([idA3]);
      expect(store.hintCount()).toBe(3);
      await deleted;
      await store.deleteHint(idA1); // twice is harmless
      expect(store.hintCount()).toBe(3);

      // A hint added and deleted before its batch commits leaves nothing.
      const added = store.addHint(sampleHint('node-b', 5));
      const ghost = store.hintsFor('node-b', 10).at(-1);
      expect(ghost?.key).toBe('list-5');
      const removed = store.deleteHint(ghost?.id ?? -1);
      const [ghostId] = await Promise.all([added, removed]);
      expect(ghostId).toBe(ghost?.id);
      expect(store.hintsFor('node-b', 10).map((h) => h.id)).toEqual([idB1]);
      expect(store.hintCount()).toBe(3);
      // Ids are never reused, even the newest after its delete.
      expect(await store.addHint(sampleHint('node-b', 6))).toBeGreaterThan(ghostId);
    });

    it('many concurrent writes all resolve and all are readable', async () => {
      const n = 2_500;
      const keys = Array.from({ length: n }, (_, i) => `key-${(i * 7919) % n}`);
      const writes = keys.map((k, i) => store.put(sampleList(k, i % 16)));
      const hints = Array.from({ length: 300 }, (_, i) => store.addHint(sampleHint(`node-${i % 3}`, i)));
      await Promise.all(writes);
      const hintIds = await Promise.all(hints);
      expect(new Set(hintIds).size).toBe(300);
      expect(store.count()).toBe(n);
      for (const [i, k] of keys.entries()) expect(plain(store.get(k))).toEqual(plain(sampleList(k, i % 16)));
      const total = [...store.countByPartition().values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(n);
      expect(store.hintCount()).toBe(300);
      expect(store.hintsFor('node-1', 1000)).toHaveLength(100);
    });

    it('append adds a delta and a digest, seen at once and after the commit; a put drops the deltas', async () => {
      const base = sampleList('k', 3);
      const batch = [
        store.put(base),
        store.append({ key: 'k', partition: 3, delta: delta(1), hash: digest(1) }),
      ];
      const withOne = { ...base, deltas: [delta(1)], hash: digest(1) };
      expect(plain(store.get('k'))).toEqual(plain(withOne));
      await Promise.all(batch);
      const second = store.append({ key: 'k', partition: 3, delta: delta(2), hash: digest(2) });
      const withTwo = { ...base, deltas: [delta(1), delta(2)], hash: digest(2) };
      expect(plain(store.get('k'))).toEqual(plain(withTwo));
      expect(store.head('k')).toEqual({ key: 'k', partition: 3, hash: digest(2) });
      expect(plainEntries(store.partitionEntries(3))).toEqual([{ key: 'k', hash: bytes(digest(2)) }]);
      await second;
      expect(plain(store.get('k'))).toEqual(plain(withTwo));
      expect(store.head('k')).toEqual({ key: 'k', partition: 3, hash: digest(2) });
      expect(store.head('nothing')).toBeUndefined();

      const whole = sampleList('k', 3, 4);
      const compacted = [
        store.put(whole),
        store.append({ key: 'k', partition: 3, delta: delta(5), hash: digest(5) }),
      ];
      expect(plain(store.get('k'))).toEqual(plain({ ...whole, deltas: [delta(5)], hash: digest(5) }));
      await Promise.all(compacted);
      expect(plain(store.get('k'))).toEqual(plain({ ...whole, deltas: [delta(5)], hash: digest(5) }));
      expect(store.count()).toBe(1);
      await store.delete('k');
      expect(store.get('k')).toBeUndefined();
      expect(store.head('k')).toBeUndefined();
      // A list put again after its delete starts with no deltas.
      await store.put(sampleList('k', 3));
      expect(plain(store.get('k'))).toEqual(plain(sampleList('k', 3)));
    });

    it('deltas survive a reopen in the order they were appended', async (context) => {
      if (subject.reopen === undefined) {
        context.skip();
        return;
      }
      await store.put(sampleList('d', 1));
      for (let i = 1; i <= 3; i++)
        await store.append({ key: 'd', partition: 1, delta: delta(i), hash: digest(i) });
      const late = store.append({ key: 'd', partition: 1, delta: delta(4), hash: digest(4) });
      store.close();
      await late;
      const again = await subject.reopen();
      opened.push(again);
      const want = { ...sampleList('d', 1), deltas: [1, 2, 3, 4].map(delta), hash: digest(4) };
      expect(plain(again.get('d'))).toEqual(plain(want));
      expect(plainEntries(again.partitionEntries(1))).toEqual([{ key: 'd', hash: bytes(digest(4)) }]);
    });

    it('close commits pending writes; after a reopen everything resolved is there', async (context) => {
      if (subject.reopen === undefined) {
        context.skip();
        return;
      }
      await Promise.all(['p', 'q', 'r'].map((k, i) => store.put(sampleList(k, i))));
      const hintIds = [
        await store.addHint(sampleHint('node-a', 1)),
        await store.addHint(sampleHint('node-a', 2)),
      ];
      await store.delete('q');
      await store.deleteHint(hintIds[1] ?? -1);
      // Left pending on purpose: close() must commit it and resolve its promise.
      const late = store.put(sampleList('s', 9));
      store.close();
      await late;

      const again = await subject.reopen();
      opened.push(again);
      expect(plain(again.get('p'))).toEqual(plain(sampleList('p', 0)));
      expect(again.get('q')).toBeUndefined();
      expect(plain(again.get('r'))).toEqual(plain(sampleList('r', 2)));
      expect(plain(again.get('s'))).toEqual(plain(sampleList('s', 9)));
      expect(again.count()).toBe(3);
      expect(again.countByPartition()).toEqual(
        new Map([
          [0, 1],
          [2, 1],
          [9, 1],
        ]),
      );
      expect(plainEntries(again.partitionEntries(2))).toEqual([
        { key: 'r', hash: bytes(sampleList('r', 2).hash) },
      ]);
      expect(again.hintsFor('node-a', 10).map(plainHint)).toEqual([
        plainHint({ ...sampleHint('node-a', 1), id: hintIds[0] ?? 0 }),
      ]);
      // The deleted newest hint's id is not handed out again after the restart.
      expect(await again.addHint(sampleHint('node-a', 3))).toBeGreaterThan(hintIds[1] ?? 0);
    });
  });
}
