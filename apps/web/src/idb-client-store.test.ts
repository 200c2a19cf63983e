// IdbClientStore on fake-indexeddb: the ClientStore contract (fresh, reopened, and two tabs on one
// database), then what is particular to IndexedDB: the schema, commits chained in call order with
// strict durability, a transaction that fails midway writing nothing, the cross-tab
// notification, stepping aside for another tab's upgrade, refusing what it cannot open, and a
// TrolleyClient that finds its lists and outbox again after a restart.

import 'fake-indexeddb/auto'; // the IDB globals (IDBRequest, IDBKeyRange, …) that idb and the store use
import { IDBDatabase, IDBFactory, IDBObjectStore, forceCloseDatabase } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TrolleyError, type ReplicaId } from '@trolley/core';
import { TrolleyClient, type ClientChange } from '@trolley/client';
import {
  ManualClock,
  SeededRandom,
  clientStoreContract,
  newList,
  sampleBytes,
  sampleEntry,
  sampleListId,
  sampleOpId,
  sampleSync,
} from '@trolley/client/testing';
import { IDB_CLIENT_STORE_SCHEMA_VERSION, IdbClientStore, IdbStoreError } from './idb-client-store.ts';

let databases = 0;
/** A database (and BroadcastChannel) name no other test uses. */
const uniqueName = (): string => `trolley-test-${process.pid}-${++databases}`;

clientStoreContract('IdbClientStore', async () => {
  const indexedDB = new IDBFactory();
  const name = uniqueName();
  return {
    store: await IdbClientStore.open(name, { indexedDB }),
    reopen: () => IdbClientStore.open(name, { indexedDB }),
    openSecond: () => IdbClientStore.open(name, { indexedDB }),
    cleanup: () => Promise.resolve(),
  };
});

clientStoreContract('IdbClientStore (reopened)', async () => {
  const indexedDB = new IDBFactory();
  const name = uniqueName();
  await (await IdbClientStore.open(name, { indexedDB })).close();
  return {
    store: await IdbClientStore.open(name, { indexedDB }),
    reopen: () => IdbClientStore.open(name, { indexedDB }),
    openSecond: () => IdbClientStore.open(name, { indexedDB }),
    cleanup: () => Promise.resolve(),
  };
});

/** A raw connection, for looking at (or upgrading) the database under the store. */
function rawOpen(
  indexedDB: IDBFactory,
  name: string,
  version?: number,
  upgrade?: (db: IDBDatabase) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('open failed'));
  });
}

async function refusal(promise: Promise<unknown>): Promise<IdbStoreError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof IdbStoreError) return error;
    throw error;
  }
  throw new Error('expected an IdbStoreError');
}

const plain = (b: Uint8Array | undefined): number[] | undefined => (b === undefined ? undefined : [...b]);

/**
 * For vi.waitFor, whose own default (1 s) would be a budget for a cross-tab notice on a loaded
 * machine: it waits for the notice itself, and this bound only guards against a hang.
 */
const untilSeen = { timeout: 60_000, interval: 20 };

describe('IdbClientStore', () => {
  const stores: IdbClientStore[] = [];

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const store of stores.splice(0)) await store.close();
  });

  async function open(indexedDB: IDBFactory, name: string): Promise<IdbClientStore> {
    const store = await IdbClientStore.open(name, { indexedDB });
    stores.push(store);
    return store;
  }

  async function fresh(): Promise<{ store: IdbClientStore; indexedDB: IDBFactory; name: string }> {
    const indexedDB = new IDBFactory();
    const name = uniqueName();
    return { store: await open(indexedDB, name), indexedDB, name };
  }

  it('creates the schema: meta, lists by listId, outbox by [listId, seq] with a unique opId index', async () => {
    const { indexedDB, name } = await fresh();
    const db = await rawOpen(indexedDB, name);
    try {
      expect(db.version).toBe(IDB_CLIENT_STORE_SCHEMA_VERSION);
      expect([...db.objectStoreNames]).toEqual(['lists', 'meta', 'outbox']);
      const tx = db.transaction(['lists', 'outbox'], 'readonly');
      expect(tx.objectStore('lists').keyPath).toBe('listId');
      const outbox = tx.objectStore('outbox');
      expect(outbox.keyPath).toEqual(['listId', 'seq']);
      expect(outbox.index('byOpId').keyPath).toEqual(['listId', 'opId']);
      expect(outbox.index('byOpId').unique).toBe(true);
    } finally {
      db.close();
    }
  });

  it('opens every commit as one readwrite transaction with strict durability, over the stores it touches', async () => {
    const { store } = await fresh();
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    await store.commit({ meta: { replicaId: 'device-1' as ReplicaId } });
    await store.commit({ lists: [newList(1, [1])] });
    await store.commit({ meta: { replicaId: 'device-2' as ReplicaId }, lists: [newList(2)] });
    const writes = transaction.mock.calls.filter((call) => call[1] === 'readwrite');
    expect(writes.map((call) => [[...call[0]].sort(), call[2]])).toEqual([
      [['meta'], { durability: 'strict' }],
      [['lists', 'outbox'], { durability: 'strict' }],
      [['lists', 'meta', 'outbox'], { durability: 'strict' }],
    ]);
  });

  it('commits and loads fired without awaiting take effect in call order', async () => {
    const { store } = await fresh();
    const id = sampleListId(1);
    const calls: Promise<unknown>[] = [store.commit({ lists: [newList(1)] })];
    for (let r = 1; r <= 20; r++)
      calls.push(store.commit({ lists: [{ listId: id, expectedRevision: r, append: [sampleEntry(r)] }] }));
    const midway = store.load();
    calls.push(store.commit({ meta: { replicaId: 'device-1' as ReplicaId } }));
    calls.push(store.commit({ lists: [{ listId: id, expectedRevision: 21, removeOpIds: [sampleOpId(1)] }] }));
    calls.push(store.commit({ lists: [{ listId: id, expectedRevision: 1, state: sampleBytes('stale') }] }));
    const outcomes = await Promise.all(calls);
    expect(outcomes).toEqual([...Array<string>(23).fill('committed'), 'conflict']);
    const seen = await midway;
    expect(seen.meta).toBeUndefined();
    expect(seen.lists[0]?.revision).toBe(21);
    const [list] = (await store.load()).lists;
    expect(list?.revision).toBe(22);
    expect(list?.outbox.map((e) => e.opId)).toEqual([...Array(19).keys()].map((k) => sampleOpId(k + 2)));
  });

  it('stores only the bytes of a view, not the whole buffer behind it', async () => {
    const { store } = await fresh();
    const buffer = new Uint8Array(64 * 1024).fill(7);
    const view = buffer.subarray(100, 110);
    await store.commit({ lists: [{ ...newList(1), state: view }] });
    const [list] = (await store.load()).lists;
    expect(list?.state.byteLength).toBe(10);
    expect(list?.state.buffer.byteLength).toBe(10);
  });

  it('a write that throws midway (quota full) rejects with a TrolleyError and writes nothing', async () => {
    const { store } = await fresh();
    await store.commit({ lists: [newList(1, [1])] });
    const before = await store.load();
    const add = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (this: IDBObjectStore) {
      throw new DOMException('simulated: the quota is full', 'QuotaExceededError');
    });
    // List 1's record is put before its outbox entry is added: the abort must take it back.
    const change: ClientChange = {
      lists: [
        { listId: sampleListId(1), expectedRevision: 1, state: sampleBytes('v2'), append: [sampleEntry(2)] },
        newList(2, [3]),
      ],
    };
    const error = await refusal(store.commit(change));
    expect(add).toHaveBeenCalled();
    expect(error).toBeInstanceOf(TrolleyError);
    expect(error).toMatchObject({ code: 'limit_exceeded', failure: 'quota' });
    expect(error.message).toMatch(/storage .* is full.*nothing of the change was saved.*Free space/s);
    expect(await store.load()).toEqual(before);
    add.mockRestore();
    expect(await store.commit(change)).toBe('committed');
    expect((await store.load()).lists.map((l) => [l.listId, l.revision])).toEqual([
      [sampleListId(1), 2],
      [sampleListId(2), 1],
    ]);
  });

  it('a transaction aborted midway by IndexedDB rejects with a TrolleyError and writes nothing', async () => {
    const { store } = await fresh();
    await store.commit({ meta: { replicaId: 'device-1' as ReplicaId }, lists: [newList(1, [1, 2])] });
    const before = await store.load();
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the store as `this` below
    const original = IDBObjectStore.prototype.add;
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['add']>
    ) {
      const request = original.apply(this, args);
      this.transaction.abort(); // as the browser does on an I/O error, after earlier writes were issued
      return request;
    });
    const error = await refusal(
      store.commit({
        lists: [
          {
            listId: sampleListId(1),
            expectedRevision: 1,
            removeOpIds: [sampleOpId(1)],
            append: [sampleEntry(3)],
            sync: sampleSync(4),
          },
        ],
      }),
    );
    expect(error).toMatchObject({ code: 'limit_exceeded', failure: 'write_failed' });
    expect(error.message).toMatch(/could not save this change.*nothing of it was saved.*reload/s);
    expect(await store.load()).toEqual(before);
  });

  it('tells the other tabs of a commit, never itself, and not for a conflict or a refusal', async () => {
    const indexedDB = new IDBFactory();
    const name = uniqueName();
    const [a, b, elsewhere] = [
      await open(indexedDB, name),
      await open(indexedDB, name),
      await open(indexedDB, uniqueName()),
    ];
    const heard = { a: 0, b: 0, elsewhere: 0 };
    a.onExternalCommit(() => (heard.a += 1));
    const stopB = b.onExternalCommit(() => (heard.b += 1));
    elsewhere.onExternalCommit(() => (heard.elsewhere += 1));

    expect(await a.commit({ lists: [newList(1)] })).toBe('committed');
    await vi.waitFor(() => expect(heard.b).toBe(1), untilSeen);
    expect(await b.commit({ lists: [newList(1)] })).toBe('conflict');
    await expect(b.commit({ lists: [newList(2), newList(2)] })).rejects.toBeInstanceOf(TrolleyError);
    expect(await b.commit({ lists: [newList(3)] })).toBe('committed');
    await vi.waitFor(() => expect(heard.a).toBe(1), untilSeen);
    stopB();
    // What must not be heard is judged once the notice it would come with has arrived, not after a
    // while: b's store still hears a's next commit through a listener of its own, and one post on
    // the channel reaches every tab at once (its own, wrongly, included).
    let reachedB = 0;
    b.onExternalCommit(() => (reachedB += 1));
    expect(await a.commit({ lists: [newList(4)] })).toBe('committed');
    await vi.waitFor(() => expect(reachedB).toBe(1), untilSeen);
    expect(heard).toEqual({ a: 1, b: 1, elsewhere: 0 });
  });

  it('two tabs: the other tab’s client refreshes on the notification and sees the new item', async () => {
    const indexedDB = new IDBFactory();
    const name = uniqueName();
    const options = (seed: number) => ({ clock: new ManualClock(), random: new SeededRandom(seed) });
    const storeA = await open(indexedDB, name);
    const tabA = await TrolleyClient.open(storeA, options(1));
    const storeB = await open(indexedDB, name);
    const tabB = await TrolleyClient.open(storeB, options(2));
    expect(tabB.replicaId).toBe(tabA.replicaId); // one device, one replica ID
    storeA.onExternalCommit(() => void tabA.refresh().catch(() => undefined));
    storeB.onExternalCommit(() => void tabB.refresh().catch(() => undefined));
    const id = await tabA.createList('Groceries');
    await tabA.addItem(id, 'Milk', 2);
    await vi.waitFor(() => expect(tabB.item(id, 'milk')).toMatchObject({ wanted: 2 }), untilSeen);
    await tabB.addItem(id, 'Eggs', 6); // from B's fresh copy: no conflict, no dot handed out twice
    await vi.waitFor(() => expect(tabA.item(id, 'eggs')).toBeDefined(), untilSeen);
    expect(tabA.view(id)).toEqual(tabB.view(id));
    await tabA.close();
    await tabB.close();
  });

  it('steps aside when another tab upgrades the database, and then refuses with "reload"', async () => {
    const { store, indexedDB, name } = await fresh();
    await store.commit({ lists: [newList(1)] });
    const newer = await rawOpen(indexedDB, name, IDB_CLIENT_STORE_SCHEMA_VERSION + 1); // not blocked
    newer.close();
    const error = await refusal(store.commit({ lists: [newList(2)] }));
    expect(error).toMatchObject({ failure: 'closed' });
    expect(error.message).toContain('Close other Trolley tabs and reload');
    await expect(store.load()).rejects.toMatchObject({ failure: 'closed' });
    await store.close();

    const old = await refusal(IdbClientStore.open(name, { indexedDB }));
    expect(old).toMatchObject({ failure: 'newer_schema', code: 'decode_version' });
    expect(old.message).toMatch(/older Trolley.*reload/s);
  });

  it('refuses further work when the browser closes the connection', async () => {
    const { store } = await fresh();
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    await store.load();
    const connection = transaction.mock.contexts[0] as IDBDatabase; // the store's own
    // fake-indexeddb's stand-in for the browser closing a connection (site data cleared).
    forceCloseDatabase(connection as unknown as typeof IDBDatabase);
    const error = await refusal(store.commit({ lists: [newList(1)] }));
    expect(error).toMatchObject({ failure: 'closed' });
    expect(error.message).toContain('reload');
  });

  it('refuses a database of the same name that is not a Trolley store, and leaves it alone', async () => {
    const indexedDB = new IDBFactory();
    const name = uniqueName();
    const raw = await rawOpen(indexedDB, name, 1, (db) => db.createObjectStore('groceries'));
    raw.close();
    const error = await refusal(IdbClientStore.open(name, { indexedDB }));
    expect(error).toMatchObject({ failure: 'foreign', code: 'decode_malformed' });
    const again = await rawOpen(indexedDB, name);
    expect([...again.objectStoreNames]).toEqual(['groceries']);
    again.close();
  });

  it('refuses to open without IndexedDB, saying why', async () => {
    vi.stubGlobal('indexedDB', undefined);
    try {
      const error = await refusal(IdbClientStore.open());
      expect(error).toMatchObject({ failure: 'unavailable' });
      expect(error.message).toContain('no IndexedDB');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a TrolleyClient finds the same lists, view and outbox after the store is closed and reopened', async () => {
    const indexedDB = new IDBFactory();
    const name = uniqueName();
    const client = await TrolleyClient.open(await IdbClientStore.open(name, { indexedDB }), {
      clock: new ManualClock(),
      random: new SeededRandom(1),
    });
    const groceries = await client.createList('Groceries');
    const hardware = await client.createList('Hardware');
    await client.addItem(groceries, 'Milk', 2, 'oat');
    await client.addItem(groceries, 'Eggs', 6);
    await client.buy(groceries, 'eggs', 4);
    await client.addItem(hardware, 'Nails', 100);
    await client.checkOff(hardware, 'nails');
    const views = [client.view(groceries), client.view(hardware)];
    const outboxes = [client.outboxSize(groceries), client.outboxSize(hardware)];
    expect(outboxes).toEqual([4, 3]);
    const replicaId = client.replicaId;
    await client.close(); // closes the store too

    const store = await open(indexedDB, name);
    const stored = await store.load();
    const again = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(2) });
    expect(again.replicaId).toBe(replicaId);
    expect(
      again
        .lists()
        .map((l) => l.listId)
        .sort(),
    ).toEqual([groceries, hardware].sort());
    expect([again.view(groceries), again.view(hardware)]).toEqual(views);
    expect([again.outboxSize(groceries), again.outboxSize(hardware)]).toEqual(outboxes);
    // The outbox is the same entries, in the same order, byte for byte.
    const afterReopen = await store.load();
    expect(afterReopen.lists.map((l) => l.outbox.map((e) => [e.opId, plain(e.delta), e.createdMs]))).toEqual(
      stored.lists.map((l) => l.outbox.map((e) => [e.opId, plain(e.delta), e.createdMs])),
    );
    await again.addItem(groceries, 'Bread');
    expect(again.outboxSize(groceries)).toBe(5);
  });
});
