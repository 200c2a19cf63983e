// The in-memory ListStore: it passes the port's contract, and its manual-commit mode lets the
// simulator decide what a crash loses: exactly the writes whose promises had not resolved.

import { describe, expect, it } from 'vitest';
import { MemoryListStore } from './memory-list-store.ts';
import { listStoreContract, sampleList } from './testing/list-store-contract.ts';

listStoreContract('MemoryListStore', () => {
  const store = new MemoryListStore();
  return Promise.resolve({
    store,
    reopen: () => Promise.resolve(store.reopen()),
    cleanup: () => Promise.resolve(),
  });
});

listStoreContract('MemoryListStore (reopened)', () => {
  // A store that came back from a reopen behaves like a fresh one.
  const store = new MemoryListStore().reopen();
  return Promise.resolve({
    store,
    reopen: () => Promise.resolve(store.reopen()),
    cleanup: () => Promise.resolve(),
  });
});

/** Settles a promise into a readable outcome without leaving a rejection unhandled. */
function outcome(p: Promise<unknown>): { state: string } {
  const o = { state: 'pending' };
  void p.then(
    () => (o.state = 'resolved'),
    () => (o.state = 'rejected'),
  );
  return o;
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('MemoryListStore', () => {
  it('commits every write of one synchronous run as one batch', async () => {
    const store = new MemoryListStore();
    await Promise.all(['a', 'b', 'c'].map((k) => store.put(sampleList(k, 1))));
    await store.put(sampleList('d', 1));
    expect(store.stats()).toEqual({ commits: 2, writes: 4 });
  });

  it('with manualCommit, writes wait for flush() and reads see them meanwhile', async () => {
    const store = new MemoryListStore({ manualCommit: true });
    const put = outcome(store.put(sampleList('a', 1)));
    const hint = outcome(
      store.addHint({ target: 'n', key: 'a', partition: 1, doc: new Uint8Array(1), createdMs: 0 }),
    );
    await settle();
    expect([put.state, hint.state]).toEqual(['pending', 'pending']);
    expect(store.get('a')).toBeDefined();
    expect(store.hintCount()).toBe(1);
    store.flush();
    await settle();
    expect([put.state, hint.state]).toEqual(['resolved', 'resolved']);
    expect(store.stats()).toEqual({ commits: 1, writes: 2 });
  });

  it('crash() loses exactly the uncommitted writes and rejects their promises', async () => {
    const store = new MemoryListStore({ manualCommit: true });
    const first = outcome(store.put(sampleList('kept', 1)));
    store.flush();
    const lost = [
      outcome(store.put(sampleList('lost', 1))),
      outcome(store.put(sampleList('kept', 2, 2))),
      outcome(store.delete('kept')),
    ];
    expect(store.get('lost')).toBeDefined();
    store.crash();
    await settle();
    expect(first.state).toBe('resolved');
    expect(lost.map((o) => o.state)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(store.get('lost')).toBeUndefined();
    expect(store.get('kept')?.partition).toBe(1);
    expect(store.count()).toBe(1);
    // The store goes on after the crash, as a restarted node's would.
    const after = outcome(store.put(sampleList('after', 3)));
    store.flush();
    await settle();
    expect(after.state).toBe('resolved');
    expect(store.reopen().count()).toBe(2);
  });

  it('failCommit() rejects the batch with the given error and keeps the store usable', async () => {
    const store = new MemoryListStore({ manualCommit: true });
    const full = new Error('SQLITE_FULL');
    const failed = store.put(sampleList('a', 1));
    store.failCommit(full);
    await expect(failed).rejects.toBe(full);
    expect(store.get('a')).toBeUndefined();
    const retried = store.put(sampleList('a', 1));
    store.flush();
    await retried;
    expect(store.get('a')).toBeDefined();
  });

  it('copies bytes on put, so a caller reusing its buffer changes nothing', async () => {
    const store = new MemoryListStore();
    const list = sampleList('a', 1);
    const before = [...list.state];
    // A Buffer, whose slice() shares memory, is copied too.
    const shared = Buffer.from(list.state);
    await store.put({ ...list, state: shared });
    shared.fill(0);
    expect([...(store.get('a')?.state ?? [])]).toEqual(before);
  });

  it('reopen() sees only what was committed', () => {
    const store = new MemoryListStore({ manualCommit: true });
    void store.put(sampleList('a', 1));
    store.flush();
    outcome(store.put(sampleList('b', 1)));
    const restarted = store.reopen();
    expect(restarted.get('a')).toBeDefined();
    expect(restarted.get('b')).toBeUndefined();
    store.crash();
  });
});
