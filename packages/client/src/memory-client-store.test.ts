// MemoryClientStore: the ClientStore contract (fresh, reopened, and with queued commits flushed as
// they come), and its crash model: a crash loses only what was not yet committed.

import { describe, expect, it } from 'vitest';
import { MemoryClientStore } from './memory-client-store.ts';
import { clientStoreContract, newList, sampleListId } from './testing/client-store-contract.ts';

clientStoreContract('MemoryClientStore', () => {
  const store = new MemoryClientStore();
  return Promise.resolve({
    store,
    reopen: () => Promise.resolve(store.reopen()),
    openSecond: () => Promise.resolve(store),
    cleanup: () => Promise.resolve(),
  });
});

clientStoreContract('MemoryClientStore (reopened)', () => {
  const store = new MemoryClientStore().reopen();
  return Promise.resolve({
    store,
    reopen: () => Promise.resolve(store.reopen()),
    cleanup: () => Promise.resolve(),
  });
});

function outcome(p: Promise<unknown>): { state: string } {
  const o = { state: 'pending' };
  void p.then(
    () => (o.state = 'resolved'),
    () => (o.state = 'rejected'),
  );
  return o;
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('MemoryClientStore', () => {
  it('with manualCommit, a crash loses the queued commits and keeps the committed ones', async () => {
    const store = new MemoryClientStore({ manualCommit: true });
    const first = outcome(store.commit({ lists: [newList(1)] }));
    store.flush();
    const lost = outcome(store.commit({ lists: [newList(2)] }));
    expect(store.queued).toBe(1);
    store.crash();
    await settle();
    expect([first.state, lost.state]).toEqual(['resolved', 'rejected']);
    const after = await store.reopen().load();
    expect(after.lists.map((l) => l.listId)).toEqual([sampleListId(1)]);
  });

  it('failNextCommit fails one commit, writes nothing, and the store goes on', async () => {
    const store = new MemoryClientStore();
    const full = new Error('disk full');
    store.failNextCommit(full);
    await expect(store.commit({ lists: [newList(1)] })).rejects.toBe(full);
    expect((await store.load()).lists).toEqual([]);
    expect(await store.commit({ lists: [newList(1)] })).toBe('committed');
    expect(store.commits).toBe(1);
  });
});
