// TrolleyClient: the promises of RELIABILITY.md as a person meets them on one device. Every
// operation is local-ok before it resolves and survives a restart; bad input changes nothing;
// offline edits queue and drain; an 'unknown' put is retried with the same opId and counted once;
// devices converge to what people meant; a list shows local → cloud → all replicas.

import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  TrolleyError,
  decodeList,
  encodeList,
  limits,
  type ListId,
  type OpId,
  type ReplicaId,
} from '@trolley/core';
import { clientLimits } from './client-limits.ts';
import { shareLink } from './list-link.ts';
import { MemoryClientStore } from './memory-client-store.ts';
import type { CloudPort } from './ports.ts';
import { ManualClock, MemoryCloud, SeededRandom } from './testing/index.ts';
import { TrolleyClient, type ClientEvent, type HistoryItem, type SyncSummary } from './trolley-client.ts';
import { englishHistory, historyWhat } from './wording.ts';

async function device(store = new MemoryClientStore(), seed = 1) {
  const clock = new ManualClock();
  const client = await TrolleyClient.open(store, { clock, random: new SeededRandom(seed) });
  return { client, store, clock };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function track(p: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected' } {
  const o: { state: 'pending' | 'resolved' | 'rejected' } = { state: 'pending' };
  void p.then(
    () => (o.state = 'resolved'),
    () => (o.state = 'rejected'),
  );
  return o;
}

/** What a person sees of a list: title and items with name, wanted, bought. */
function seen(client: TrolleyClient, listId: ListId) {
  const v = client.view(listId);
  return {
    title: v.title,
    deleted: v.deleted,
    items: v.items.map((i) => ({ name: i.name, wanted: i.wanted, bought: i.bought, note: i.note })),
  };
}

const timeoutMs = 1_000;

describe('TrolleyClient: local-ok', () => {
  it('creates this device’s replica ID once and keeps it across restarts', async () => {
    const { client, store } = await device();
    expect(client.replicaId).toMatch(/^w-[A-Za-z0-9_-]{22}$/); // a writer ID (core ids.ts)
    const again = await TrolleyClient.open(store.reopen(), {
      clock: new ManualClock(),
      random: new SeededRandom(9),
    });
    expect(again.replicaId).toBe(client.replicaId);
  });

  it('gives a device made before writer IDs one, keeping what it holds under its old name', async () => {
    // A store as an older version left it: a legacy replica ID, a list with milk under that name.
    const store = new MemoryClientStore();
    await store.commit({ meta: { replicaId: 'legacy-device' as ReplicaId } });
    const listId = '00000001-0000-4000-8000-000000000001' as ListId;
    const old = new ListReplica('legacy-device' as ReplicaId);
    old.addItem('Milk', 2);
    const sync = { inSync: 0, replicas: 0, lastSyncMs: 0 };
    await store.commit({
      lists: [{ listId, expectedRevision: undefined, state: encodeList(old.state), sync }],
    });

    const { client, store: reopened } = await device(store.reopen(), 4);
    expect(client.replicaId).toMatch(/^w-[A-Za-z0-9_-]{22}$/); // upgraded on open
    expect(client.item(listId, 'milk')?.wanted).toBe(2);
    await client.addItem(listId, 'Eggs', 6);
    const state = decodeList((await reopened.load()).lists[0]?.state as Uint8Array);
    if (!state.ok) throw state.error;
    expect(state.value.replicas.names).toEqual(['legacy-device', client.replicaId]);
    const again = await device(reopened.reopen(), 5);
    expect(again.client.replicaId).toBe(client.replicaId); // once
  });

  it('every operation resolves only after its commit, and survives a crash once resolved', async () => {
    const store = new MemoryClientStore({ manualCommit: true });
    const opening = TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(3) });
    await settle();
    store.flush();
    const client = await opening;
    const steps: [string, (id: ListId) => Promise<unknown>][] = [
      ['add', (id) => client.addItem(id, 'Eggs', 6)],
      ['add with note', (id) => client.addItem(id, 'Milk', 2, 'oat')],
      ['add tea', (id) => client.addItem(id, 'Tea')],
      ['set wanted', (id) => client.setWanted(id, 'eggs', 12)],
      ['increase', (id) => client.increaseWanted(id, 'milk', 2)],
      ['decrease', (id) => client.decreaseWanted(id, 'milk', 1)],
      ['buy', (id) => client.buy(id, 'eggs', 4)],
      ['check off', (id) => client.checkOff(id, 'tea')],
      ['uncheck', (id) => client.uncheck(id, 'tea')],
      ['note', (id) => client.setNote(id, 'eggs', 'free range')],
      ['check off again', (id) => client.checkOff(id, 'tea')],
      ['clear bought', (id) => client.clearBought(id)],
      ['rename', (id) => client.rename(id, 'Weekly shop')],
      ['add bread', (id) => client.addItem(id, 'Bread')],
      ['remove', (id) => client.removeItem(id, 'bread')],
    ];
    const creatingList = client.createList('Groceries');
    const creating = track(creatingList);
    await settle();
    expect(creating.state).toBe('pending'); // not local-ok until the store has it
    store.flush();
    const listId = await creatingList;
    for (const [what, step] of steps) {
      const p = track(step(listId));
      await settle();
      expect(p.state, `${what} resolved before its commit`).toBe('pending');
      store.flush();
      await settle();
      expect(p.state, what).toBe('resolved');
    }
    const before = seen(client, listId);
    expect(before).toEqual({
      title: 'Weekly shop',
      deleted: false,
      items: [
        { name: 'Eggs', wanted: 12, bought: 4, note: 'free range' },
        { name: 'Milk', wanted: 3, bought: 0, note: 'oat' },
      ],
    });
    // One more change that never reaches the disk: it was never local-ok, and it is gone.
    const lost = track(client.addItem(listId, 'Cake'));
    await settle();
    store.crash();
    await settle();
    expect(lost.state).toBe('rejected');
    const { client: restarted } = await device(store.reopen());
    expect(seen(restarted, listId)).toEqual(before);
    expect(restarted.outboxSize(listId)).toBe(steps.length + 1);
    expect(restarted.status(listId)).toBe('local');
  });

  it('an operation that changes nothing commits nothing', async () => {
    const { client, store } = await device();
    const id = await client.createList('L');
    await client.addItem(id, 'milk', 1);
    await client.checkOff(id, 'milk');
    const commits = store.commits;
    for (const op of [
      () => client.checkOff(id, 'milk'),
      () => client.uncheck(id, 'milk').then(() => client.uncheck(id, 'milk')),
      () => client.decreaseWanted(id, 'milk', 5).then(() => client.decreaseWanted(id, 'milk', 5)),
      () => client.clearBought(id),
    ]) {
      await op();
    }
    // uncheck and decrease change something the first time only; clearBought finds nothing done.
    expect(store.commits).toBe(commits + 2);
    const nothing = await client.setNote(id, 'milk', '');
    expect(nothing).toEqual({ listId: id, opId: undefined });
    expect(client.outboxSize(id)).toBe(5);
  });

  it('bad input gets a typed error and changes nothing', async () => {
    const { client, store } = await device();
    const id = await client.createList('Groceries');
    await client.addItem(id, 'Milk', 1);
    const before = { view: seen(client, id), outbox: client.outboxSize(id), commits: store.commits };
    const lists = client.lists();
    const attempts: [string, () => Promise<unknown>][] = [
      ['invalid_argument', () => client.addItem(id, 'Milk', 0)],
      ['invalid_argument', () => client.addItem(id, 'Milk', 1.5)],
      ['invalid_argument', () => client.addItem(id, 'Milk', limits.quantityMax + 1)],
      ['invalid_argument', () => client.addItem(id, '   ')],
      ['limit_exceeded', () => client.addItem(id, 'x'.repeat(limits.itemNameLengthMax + 1))],
      ['invalid_argument', () => client.addItem(id, 'bad\u0000name')],
      ['not_found', () => client.buy(id, 'bread')],
      ['invalid_argument', () => client.buy(id, 'milk', -1)],
      ['invalid_argument', () => client.setWanted(id, 'milk', -1)],
      ['invalid_argument', () => client.rename(id, '')],
      ['limit_exceeded', () => client.setNote(id, 'milk', 'n'.repeat(limits.noteLengthMax + 1))],
      ['not_found', () => client.addItem('00000000-0000-4000-8000-000000000000' as ListId, 'milk')],
      ['invalid_argument', () => client.createList(' ')],
      ['invalid_argument', () => client.joinList('not a list')],
      ['invalid_argument', () => client.joinList('trolley://list/1234')],
      ['invalid_argument', () => client.syncOnce(new MemoryCloud(), { timeoutMs: 0 })],
    ];
    for (const [code, attempt] of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `${code}: ${String(error)}`).toBeInstanceOf(TrolleyError);
      expect((error as TrolleyError).code).toBe(code);
    }
    expect({ view: seen(client, id), outbox: client.outboxSize(id), commits: store.commits }).toEqual(before);
    expect(client.lists()).toEqual(lists);
  });

  it('a failed commit (a full disk) rejects the operation and puts the list back', async () => {
    const { client, store } = await device();
    const id = await client.createList('L');
    await client.addItem(id, 'milk', 2);
    const before = seen(client, id);
    const full = new Error('SQLITE_FULL');
    store.failNextCommit(full);
    await expect(client.buy(id, 'milk', 1)).rejects.toBe(full);
    expect(seen(client, id)).toEqual(before);
    expect(client.outboxSize(id)).toBe(2);
    // The next operation reuses nothing of the failed one's and commits normally.
    await client.buy(id, 'milk', 2);
    const { client: restarted } = await device(store.reopen());
    expect(restarted.item(id, 'milk')).toMatchObject({ wanted: 2, bought: 2 });
    expect(restarted.outboxSize(id)).toBe(3);
  });

  it('tells subscribers about local and cloud changes', async () => {
    const cloud = new MemoryCloud();
    const a = await device(new MemoryClientStore(), 1);
    const b = await device(new MemoryClientStore(), 2);
    const events: ClientEvent[] = [];
    b.client.subscribe((e) => events.push(e));
    const unsubscribe = b.client.subscribe(() => {
      throw new Error('a bad listener');
    });
    const id = await a.client.createList('Shared');
    await a.client.syncOnce(cloud, { timeoutMs });
    await b.client.joinList(id);
    await b.client.syncOnce(cloud, { timeoutMs });
    await b.client.addItem(id, 'milk');
    expect(events).toEqual([
      { listId: id, origin: 'local' },
      { listId: id, origin: 'cloud' },
      { listId: id, origin: 'local' },
    ]);
    expect(b.client.listenerErrors).toBe(3);
    unsubscribe();
  });
});

describe('TrolleyClient: sync', () => {
  it('offline edits queue in the outbox and drain, as one push, when the cloud is back', async () => {
    const cloud = new MemoryCloud();
    const { client } = await device();
    const id = await client.createList('Party');
    cloud.setOnline(false);
    for (const name of ['crisps', 'cake', 'juice', 'cups']) await client.addItem(id, name, 2);
    await client.buy(id, 'cake', 1);
    const offline = await client.syncOnce(cloud, { timeoutMs });
    expect(offline).toMatchObject({ pushed: 1, acknowledged: 0, unknown: 1, pulled: 0, outboxLeft: 1 });
    expect(client.status(id)).toBe('local');
    cloud.setOnline(true);
    const online = await client.syncOnce(cloud, { timeoutMs });
    expect(online).toMatchObject({
      pushed: 1,
      acknowledged: 1,
      unknown: 0,
      pulled: 1,
      errors: 0,
      outboxLeft: 0,
    });
    expect(client.status(id)).toBe('cloud');
    expect(cloud.view(id)).toEqual(client.view(id));
    expect(cloud.view(id).items.map((i) => [i.key, i.wanted, i.bought])).toEqual([
      ['cake', 2, 1],
      ['crisps', 2, 0],
      ['cups', 2, 0],
      ['juice', 2, 0],
    ]);
  });

  it('an unknown put is retried with the same opId and counted once', async () => {
    const cloud = new MemoryCloud();
    const { client, store } = await device();
    const id = await client.createList('L');
    await client.syncOnce(cloud, { timeoutMs });
    await client.addItem(id, 'eggs', 6);
    await client.syncOnce(cloud, { timeoutMs });
    const { opId } = await client.buy(id, 'eggs', 2);
    cloud.answerUnknownAfterApply(1);
    const first = await client.syncOnce(cloud, { timeoutMs });
    expect(first).toMatchObject({ unknown: 1, outboxLeft: 1 });
    expect(client.status(id)).toBe('local');
    // The buy did apply in the cloud; the device cannot know, so it sends it again.
    expect(cloud.view(id).items[0]).toMatchObject({ bought: 2 });
    const { client: restarted } = await device(store.reopen()); // and a restart in between changes nothing
    const second = await restarted.syncOnce(cloud, { timeoutMs });
    expect(second).toMatchObject({ pushed: 1, acknowledged: 1, unknown: 0, outboxLeft: 0 });
    expect(cloud.putsWith(opId as OpId)).toBe(2);
    expect(cloud.view(id).items[0]).toMatchObject({ wanted: 6, bought: 2 });
    expect(restarted.item(id, 'eggs')).toMatchObject({ wanted: 6, bought: 2 });
  });

  it('an entry retried after unknown is never reused for new changes (no lost write)', async () => {
    // The coordinator answers an opId it acknowledged before with 'ok' without applying it. An
    // engine that joined a later change into that entry under the same opId would lose the change.
    const cloud = new MemoryCloud();
    const { client } = await device();
    const id = await client.createList('L');
    const { opId: first } = await client.addItem(id, 'milk');
    cloud.answerUnknownAfterApply(1);
    await client.syncOnce(cloud, { timeoutMs }); // create+milk coalesced, applied, answered unknown
    await client.addItem(id, 'bread');
    const summary = await client.syncOnce(cloud, { timeoutMs });
    expect(summary).toMatchObject({ pushed: 1, acknowledged: 1, outboxLeft: 0 });
    expect(cloud.putsWith(first as OpId)).toBe(0); // it went inside a coalesced entry with a fresh opId
    expect(cloud.view(id).items.map((i) => i.key)).toEqual(['bread', 'milk']);
    expect(cloud.counters.answeredFromMemory).toBe(0);
  });

  it('a sync killed between cloud-ok and the outbox commit resends harmlessly after restart', async () => {
    const cloud = new MemoryCloud();
    const store = new MemoryClientStore({ manualCommit: true });
    const opening = TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(5) });
    await settle();
    store.flush();
    const client = await opening;
    const creating = client.createList('L');
    await settle();
    store.flush();
    const id = await creating;
    const buying = client.addItem(id, 'apples', 3).then(() => client.buy(id, 'apples', 3));
    for (let i = 0; i < 2; i++) {
      await settle();
      store.flush();
    }
    await buying;
    const syncing = client.syncOnce(cloud, { timeoutMs });
    const sync = track(syncing);
    // Let the coalescing commit through, then crash before the acknowledgement is committed.
    await settle();
    store.flush();
    await settle();
    expect(cloud.counters.applied).toBe(1);
    while (sync.state === 'pending') {
      store.crash(); // every commit from here on is lost: the process is dead
      await settle();
    }
    expect(await syncing).toMatchObject({ acknowledged: 1, errors: 2, outboxLeft: 1 });
    const restarted = await TrolleyClient.open(store.reopen({ manualCommit: false }), {
      clock: new ManualClock(),
      random: new SeededRandom(6),
    });
    expect(restarted.status(id)).toBe('local');
    expect(await restarted.syncOnce(cloud, { timeoutMs })).toMatchObject({ acknowledged: 1, outboxLeft: 0 });
    expect(cloud.counters.answeredFromMemory).toBe(1);
    expect(cloud.view(id).items).toMatchObject([{ key: 'apples', wanted: 3, bought: 3 }]);
  });

  it('edits made while a sync is in flight stay local and go with the next sync', async () => {
    const cloud = new MemoryCloud();
    const { client } = await device();
    const id = await client.createList('L');
    const release = cloud.hold();
    const syncing = client.syncOnce(cloud, { timeoutMs });
    await settle();
    await client.addItem(id, 'milk'); // not blocked by the network
    expect(client.status(id)).toBe('local');
    release();
    expect(await syncing).toMatchObject({ acknowledged: 1, outboxLeft: 1 });
    expect(client.status(id)).toBe('local');
    expect(await client.syncOnce(cloud, { timeoutMs })).toMatchObject({ acknowledged: 1, outboxLeft: 0 });
    expect(cloud.view(id)).toEqual(client.view(id));
  });

  it('status goes local → cloud → all-replicas, and back to local on an edit', async () => {
    const cloud = new MemoryCloud({ replicas: 3, writeQuorum: 2 });
    const { client } = await device();
    const id = await client.createList('Groceries');
    expect(client.status(id)).toBe('local');
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.status(id)).toBe('cloud'); // on W = 2 of N = 3
    cloud.settle(); // anti-entropy brings the third replica up to date
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.status(id)).toBe('all-replicas');
    await client.addItem(id, 'milk');
    expect(client.status(id)).toBe('local');
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.status(id)).toBe('cloud');
    cloud.settle();
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.status(id)).toBe('all-replicas');
    expect(client.lists()).toMatchObject([
      { listId: id, title: 'Groceries', items: 1, status: 'all-replicas' },
    ]);
    // A change from elsewhere that only W replicas hold: pulled, but not yet on all of them.
    const other = await device(new MemoryClientStore(), 7);
    await other.client.joinList(id);
    await other.client.syncOnce(cloud, { timeoutMs });
    await other.client.addItem(id, 'bread');
    await other.client.syncOnce(cloud, { timeoutMs });
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.item(id, 'bread')).toBeDefined();
    expect(client.status(id)).toBe('cloud');
    cloud.settle();
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.status(id)).toBe('all-replicas');
  });

  it('status survives a restart', async () => {
    const cloud = new MemoryCloud();
    const { client, store } = await device();
    const id = await client.createList('L');
    await client.syncOnce(cloud, { timeoutMs });
    cloud.settle();
    await client.syncOnce(cloud, { timeoutMs });
    expect(client.status(id)).toBe('all-replicas');
    const { client: restarted } = await device(store.reopen());
    expect(restarted.status(id)).toBe('all-replicas');
  });

  it('joins by ID or link; the list is joined-but-empty until the cloud has it', async () => {
    const cloud = new MemoryCloud();
    const alice = await device(new MemoryClientStore(), 1);
    const bob = await device(new MemoryClientStore(), 2);
    const carol = await device(new MemoryClientStore(), 3);
    const id = await alice.client.createList('Camping');
    await alice.client.addItem(id, 'Tent pegs', 12);

    expect(await bob.client.joinList(`  trolley://list/${id.toUpperCase()}/ `)).toBe(id);
    expect(bob.client.status(id)).toBe('joining');
    expect(bob.client.view(id)).toEqual({ title: '', deleted: false, items: [] });
    expect(await bob.client.syncOnce(cloud, { timeoutMs })).toMatchObject({
      pulled: 1,
      changed: 0,
      errors: 0,
    });
    expect(bob.client.status(id)).toBe('joining'); // the cloud has nothing yet

    await alice.client.syncOnce(cloud, { timeoutMs });
    expect(await bob.client.syncOnce(cloud, { timeoutMs })).toMatchObject({ pulled: 1, changed: 1 });
    expect(seen(bob.client, id)).toEqual(seen(alice.client, id));
    expect(bob.client.status(id)).toBe('cloud');

    expect(await carol.client.joinList(shareLink(id, 'https://trolley.example/app/'))).toBe(id);
    expect(await carol.client.joinList(id)).toBe(id); // joining twice changes nothing
    await carol.client.syncOnce(cloud, { timeoutMs });
    expect(seen(carol.client, id)).toEqual(seen(alice.client, id));
    expect(carol.client.lists().map((l) => l.listId)).toEqual([id]);

    // Survives a restart as joined.
    const { client: bobAgain } = await device(bob.store.reopen());
    expect(seen(bobAgain, id)).toEqual(seen(alice.client, id));
  });

  it('a change made on a joined-but-empty list creates it in the cloud for everyone', async () => {
    const cloud = new MemoryCloud();
    const a = await device(new MemoryClientStore(), 1);
    const b = await device(new MemoryClientStore(), 2);
    const id = await a.client.createList('Shared');
    await b.client.joinList(id);
    await b.client.addItem(id, 'milk');
    expect(b.client.status(id)).toBe('local');
    await b.client.syncOnce(cloud, { timeoutMs });
    await a.client.syncOnce(cloud, { timeoutMs });
    await b.client.syncOnce(cloud, { timeoutMs });
    expect(seen(a.client, id)).toEqual(seen(b.client, id));
    expect(seen(a.client, id)).toMatchObject({ title: 'Shared', items: [{ name: 'milk' }] });
  });

  it('keeps syncing the other lists when one fails, and says which', async () => {
    const cloud = new MemoryCloud();
    const { client } = await device();
    const good = await client.createList('good');
    const bad = await client.createList('bad');
    await client.syncOnce(cloud, { timeoutMs });
    const flaky: CloudPort = {
      put: (listId, delta, options) => cloud.put(listId, delta, options),
      get: (listId, context, options) =>
        listId === bad
          ? Promise.resolve({ delta: new Uint8Array([1, 2, 3]), answered: 3, inSync: 3, replicas: 3 })
          : cloud.get(listId, context, options),
    };
    await client.addItem(good, 'x');
    const summary = await client.syncOnce(flaky, { timeoutMs });
    expect(summary).toMatchObject({ lists: 2, acknowledged: 1, pulled: 1, errors: 1 });
    expect(summary.failures).toMatchObject([{ listId: bad, stage: 'pull' }]);
    expect(client.status(good)).toBe('cloud');
  });

  it('keeps the outbox bounded while offline, and the cloud still gets everything', async () => {
    const cloud = new MemoryCloud();
    const { client } = await device();
    const id = await client.createList('Long trip');
    await client.syncOnce(cloud, { timeoutMs });
    const n = clientLimits.outboxEntriesPerListMax + 5;
    for (let i = 0; i < n; i++) {
      if (i % 3 === 2) await client.removeItem(id, `item ${i - 1}`);
      else await client.addItem(id, `item ${i}`, (i % 4) + 1);
    }
    expect(client.outboxSize(id)).toBeLessThanOrEqual(clientLimits.outboxEntriesPerListMax);
    const summary = await client.syncOnce(cloud, { timeoutMs });
    expect(summary).toMatchObject({ errors: 0, unknown: 0, outboxLeft: 0 });
    expect(cloud.view(id)).toEqual(client.view(id));
    expect(client.view(id).items.length).toBe(Math.ceil(n / 3));
  });

  it('keeps the outbox bounded on a list another device writes too, and the write check takes it all', async () => {
    const cloud = new MemoryCloud();
    const alice = (await device(new MemoryClientStore(), 1)).client;
    const bob = (await device(new MemoryClientStore(), 2)).client;
    const id = await alice.createList('Shared trip');
    await alice.syncOnce(cloud, { timeoutMs });
    await bob.joinList(id);
    for (let i = 0; i < 20; i++) await bob.addItem(id, `bob ${i}`, 2);
    await bob.syncOnce(cloud, { timeoutMs });
    await alice.syncOnce(cloud, { timeoutMs });
    // Offline for long: alice's own items, and changes to bob's (each claims bob's changes).
    const n = clientLimits.outboxEntriesPerListMax + 5;
    for (let i = 0; i < n; i++) {
      if (i % 100 === 7) await alice.setWanted(id, `bob ${Math.floor(i / 100)}`, 5);
      else await alice.addItem(id, `alice ${i % 50}`, 1);
    }
    expect(alice.outboxSize(id)).toBeLessThanOrEqual(clientLimits.outboxEntriesPerListMax);
    const summary = await alice.syncOnce(cloud, { timeoutMs });
    expect(summary).toMatchObject({ errors: 0, unknown: 0, outboxLeft: 0 });
    expect(cloud.counters.refused).toBe(0);
    await bob.syncOnce(cloud, { timeoutMs });
    expect(bob.view(id)).toEqual(alice.view(id));
    expect(alice.item(id, 'bob 0')?.wanted).toBe(5);
  });

  it("never deadlocks two devices that each acted on the other's change before it was durable", async () => {
    const cloud = new MemoryCloud();
    const alice = (await device(new MemoryClientStore(), 1)).client;
    const bob = (await device(new MemoryClientStore(), 2)).client;
    const id = await alice.createList('Shared');
    await alice.syncOnce(cloud, { timeoutMs });
    await bob.joinList(id);
    await bob.syncOnce(cloud, { timeoutMs });
    // Live before durable, then a coordinator that lost the write: the watcher is shown a change
    // that no replica keeps (only its writer's outbox still holds it).
    const shownTo = (watcher: TrolleyClient): CloudPort => ({
      put: async (listId, delta, options) => {
        await watcher.receivePushed(listId, delta);
        cloud.losePuts(1);
        return cloud.put(listId, delta, options);
      },
      get: (listId, context, options) => cloud.get(listId, context, options),
    });
    await alice.addItem(id, 'Milk', 1);
    await alice.syncOnce(shownTo(bob), { timeoutMs });
    await bob.addItem(id, 'Eggs', 1);
    await bob.syncOnce(shownTo(alice), { timeoutMs });
    await bob.setWanted(id, 'Milk', 3); // claims alice's milk, which the cloud has not got
    await alice.setWanted(id, 'Eggs', 2); // claims bob's eggs, likewise
    for (let round = 0; round < 2; round++) {
      await alice.syncOnce(cloud, { timeoutMs });
      await bob.syncOnce(cloud, { timeoutMs });
    }
    expect(alice.outboxSize(id) + bob.outboxSize(id)).toBe(0);
    await alice.syncOnce(cloud, { timeoutMs });
    expect(alice.view(id)).toEqual(bob.view(id));
    expect(cloud.view(id).items.map((i) => [i.name, i.wanted])).toEqual([
      ['Eggs', 2],
      ['Milk', 3],
    ]);
  });

  it('forgets a list only when nothing is waiting, unless told to discard', async () => {
    const cloud = new MemoryCloud();
    const { client, store } = await device();
    const id = await client.createList('L');
    await expect(client.forget(id)).rejects.toMatchObject({ code: 'invalid_argument' });
    await client.syncOnce(cloud, { timeoutMs });
    await client.forget(id);
    expect(client.has(id)).toBe(false);
    const other = await client.createList('M');
    await client.forget(other, { discardUnsynced: true });
    const { client: restarted } = await device(store.reopen());
    expect(restarted.lists()).toEqual([]);
    await restarted.joinList(id);
    await restarted.syncOnce(cloud, { timeoutMs });
    expect(restarted.view(id).title).toBe('L');
  });
});

/** Alice makes a list and Bob joins it through one in-memory cloud; syncAll runs both twice. */
async function sharedPair(aliceSeed: number, bobSeed: number) {
  const cloud = new MemoryCloud();
  const alice = (await device(new MemoryClientStore(), aliceSeed)).client;
  const bob = (await device(new MemoryClientStore(), bobSeed)).client;
  const id = await alice.createList('Shared');
  await alice.syncOnce(cloud, { timeoutMs });
  await bob.joinList(id);
  await bob.syncOnce(cloud, { timeoutMs });
  const syncAll = async (): Promise<void> => {
    for (let i = 0; i < 2; i++) for (const c of [alice, bob]) await c.syncOnce(cloud, { timeoutMs });
  };
  return { cloud, alice, bob, id, syncAll };
}

describe('TrolleyClient: two devices through the cloud', () => {
  const pair = () => sharedPair(11, 22);

  it('concurrent adds are both kept, and buys add up ("bought 2 of 1")', async () => {
    const { alice, bob, id, syncAll, cloud } = await pair();
    await alice.addItem(id, 'Milk', 1);
    await bob.addItem(id, 'Bread', 1);
    await syncAll();
    // Both in the shop, offline, buying the last milk.
    cloud.setOnline(false);
    await alice.buy(id, 'milk', 1);
    await bob.buy(id, 'milk', 1);
    await alice.addItem(id, 'eggs', 6);
    await bob.addItem(id, 'eggs', 6);
    await alice.buy(id, 'eggs', 2);
    await bob.buy(id, 'eggs', 2);
    await alice.syncOnce(cloud, { timeoutMs });
    cloud.setOnline(true);
    await syncAll();
    expect(seen(alice, id)).toEqual(seen(bob, id));
    expect(alice.view(id).items.map((i) => [i.key, i.wanted, i.bought, i.overBought])).toEqual([
      ['bread', 1, 0, false],
      ['eggs', 12, 4, false],
      ['milk', 1, 2, true],
    ]);
    expect(cloud.view(id)).toEqual(alice.view(id));
  });

  it('a removal removes only what the remover saw; a concurrent add survives', async () => {
    const { alice, bob, id, syncAll } = await pair();
    await alice.addItem(id, 'Apples', 3);
    await syncAll();
    await alice.removeItem(id, 'apples'); // alice saw 3 apples
    await bob.increaseWanted(id, 'apples', 2); // bob wants 2 more, concurrently
    await bob.addItem(id, 'Pears', 1);
    await syncAll();
    expect(seen(alice, id)).toEqual(seen(bob, id));
    expect(alice.view(id).items.map((i) => [i.key, i.wanted])).toEqual([
      ['apples', 2], // only bob's concurrent increase: the removed 3 do not come back
      ['pears', 1],
    ]);
  });

  it('a delete races an add: the add survives, and the list comes back with it', async () => {
    const { alice, bob, id, syncAll } = await pair();
    await alice.addItem(id, 'old', 1);
    await syncAll();
    await alice.deleteList(id);
    await bob.addItem(id, 'new', 1);
    await syncAll();
    expect(seen(alice, id)).toEqual(seen(bob, id));
    expect(alice.view(id)).toMatchObject({ deleted: false, items: [{ key: 'new' }] });
  });

  it('random edits on three devices under faults converge to one list, every outbox drained', async () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    let unknownPuts = 0;
    for (const seed of seeds) {
      const r = new SeededRandom(seed);
      const cloud = new MemoryCloud();
      const devices = await Promise.all(
        [0, 1, 2].map(async (i) => (await device(new MemoryClientStore(), seed * 10 + i)).client),
      );
      const [first] = devices as [TrolleyClient];
      const id = await first.createList('Fuzz');
      await first.syncOnce(cloud, { timeoutMs });
      for (const d of devices.slice(1)) await d.joinList(id);
      const names = ['milk', 'eggs', 'bread', 'tea', 'jam'];
      const summaries: SyncSummary[] = [];
      for (let step = 0; step < 80; step++) {
        const d = devices[r.below(devices.length)] as TrolleyClient;
        const name = names[r.below(names.length)] as string;
        const dice = r.below(20);
        if (dice === 0) cloud.setOnline(!cloud.online);
        else if (dice === 1) cloud.answerUnknownAfterApply(1);
        else if (dice === 2) cloud.losePuts(1);
        else if (dice < 6) summaries.push(await d.syncOnce(cloud, { timeoutMs }));
        else {
          const ops = [
            () => d.addItem(id, name, r.below(3) + 1),
            () => d.buy(id, name, r.below(2) + 1),
            () => d.removeItem(id, name),
            () => d.increaseWanted(id, name, 1),
            () => d.decreaseWanted(id, name, 1),
            () => d.checkOff(id, name),
            () => d.uncheck(id, name),
            () => d.setWanted(id, name, r.below(4)),
            () => d.clearBought(id),
          ];
          await (ops[r.below(ops.length)] as () => Promise<unknown>)().catch((e: unknown) => {
            if (!(e instanceof TrolleyError && e.code === 'not_found')) throw e;
          });
        }
      }
      // Heal, then flush: every outbox drains and every device shows the same list.
      unknownPuts += cloud.counters.unknown;
      cloud.heal();
      for (let round = 0; round < 2; round++) for (const d of devices) await d.syncOnce(cloud, { timeoutMs });
      const views = devices.map((d) => seen(d, id));
      for (const d of devices) expect(d.outboxSize(id), `seed ${seed}`).toBe(0);
      expect(views[1], `seed ${seed}`).toEqual(views[0]);
      expect(views[2], `seed ${seed}`).toEqual(views[0]);
      expect(cloud.view(id), `seed ${seed}`).toEqual(devices[0]?.view(id));
      expect(summaries.every((s) => s.lists === 1)).toBe(true);
    }
    expect(unknownPuts, 'the unknown path was taken').toBeGreaterThan(0);
    console.log(
      `random three-device runs: ${seeds.length} seeds × 80 steps, ${unknownPuts} unknown puts, diverged 0`,
    );
  });
});

describe('TrolleyClient: pushed writes', () => {
  it('joins a pushed write at once and keeps it; ignores garbage and unknown lists', async () => {
    const cloud = new MemoryCloud();
    const alice = await device(new MemoryClientStore(), 31);
    const bob = await device(new MemoryClientStore(), 32);
    const id = await alice.client.createList('Pushed');
    await alice.client.syncOnce(cloud, { timeoutMs });
    await bob.client.joinList(id);
    await bob.client.syncOnce(cloud, { timeoutMs });
    // Alice's write, as the cloud would push it: her outbox entry's delta.
    await alice.client.addItem(id, 'Figs', 3);
    const pushed = (await alice.store.load()).lists.find((l) => l.listId === id)?.outbox[0]?.delta;
    if (pushed === undefined) throw new Error('no outbox entry');
    const events: ClientEvent[] = [];
    bob.client.subscribe((e) => events.push(e));
    expect(await bob.client.receivePushed(id, pushed)).toBe(true);
    expect(seen(bob.client, id).items).toEqual([{ name: 'Figs', wanted: 3, bought: 0, note: undefined }]);
    expect(events).toEqual([{ listId: id, origin: 'cloud' }]);
    expect(bob.client.outboxSize(id)).toBe(0); // someone else's write: nothing to push
    expect(await bob.client.receivePushed(id, pushed)).toBe(false); // a second time: no change
    // Committed: a restart keeps it.
    const again = await TrolleyClient.open(bob.store.reopen(), {
      clock: new ManualClock(),
      random: new SeededRandom(33),
    });
    expect(seen(again, id).items.map((i) => i.name)).toEqual(['Figs']);
    // Garbage and lists not on this device change nothing.
    expect(await bob.client.receivePushed(id, new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await bob.client.receivePushed('00000000-0000-4000-8000-000000000000' as ListId, pushed)).toBe(
      false,
    );
    expect(bob.client.pushesIgnored).toBe(2);
    // The pushed write and the pull agree: after both sync, one list.
    await alice.client.syncOnce(cloud, { timeoutMs });
    await bob.client.syncOnce(cloud, { timeoutMs });
    expect(seen(bob.client, id)).toEqual(seen(alice.client, id));
  });
});

describe('TrolleyClient: two processes on one store', () => {
  it('a stale writer reloads and redoes, so no dot is handed out twice', async () => {
    const cloud = new MemoryCloud();
    const store = new MemoryClientStore();
    const one = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(1) });
    const two = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(2) });
    expect(two.replicaId).toBe(one.replicaId);
    const id = await one.createList('Home');
    await two.refresh();
    await one.addItem(id, 'milk', 1);
    await two.addItem(id, 'eggs', 6); // computed from a stale copy: conflict, reload, redo
    await one.buy(id, 'eggs', 2); // one is stale now: it reloads and finds the eggs
    await two.refresh();
    expect(seen(one, id)).toEqual(seen(two, id));
    expect(one.outboxSize(id)).toBe(4);
    const summary = await two.syncOnce(cloud, { timeoutMs });
    expect(summary).toMatchObject({ acknowledged: 1, outboxLeft: 0 });
    expect(cloud.view(id).items.map((i) => [i.key, i.wanted, i.bought])).toEqual([
      ['eggs', 6, 2],
      ['milk', 1, 0],
    ]);
    await one.refresh();
    expect(one.status(id)).toBe('cloud');
    // The outbox deltas never collided: replaying them alone rebuilds the same list.
    const fresh = await device();
    await fresh.client.joinList(id);
    await fresh.client.syncOnce(cloud, { timeoutMs });
    expect(seen(fresh.client, id)).toEqual(seen(one, id));
  });

  it('refresh picks up lists another process created or forgot', async () => {
    const store = new MemoryClientStore();
    const one = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(1) });
    const two = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(2) });
    const id = await one.createList('From one');
    expect(two.has(id)).toBe(false);
    await two.refresh();
    expect(two.view(id).title).toBe('From one');
    await one.forget(id, { discardUnsynced: true });
    await two.refresh();
    expect(two.has(id)).toBe(false);
  });
});

describe('TrolleyClient: encoding of what it stores', () => {
  it('stores full states and delta outbox entries that decode', async () => {
    const store = new MemoryClientStore();
    const { client } = await device(store);
    const id = await client.createList('L');
    await client.addItem(id, 'milk');
    const [stored] = (await store.load()).lists;
    const state = decodeList(stored?.state ?? new Uint8Array());
    expect(state.ok && state.value.full).toBe(true);
    for (const e of stored?.outbox ?? []) {
      const d = decodeList(e.delta);
      expect(d.ok && !d.value.full).toBe(true);
    }
  });
});

describe('TrolleyClient: undo by inverse operations', () => {
  const pair = () => sharedPair(31, 32);
  const row = (c: TrolleyClient, id: ListId, name: string) => {
    const i = c.item(id, name);
    return i === undefined ? undefined : [i.wanted, i.bought, i.note ?? ''];
  };

  it('un-checking takes back only the units the check-off bought, as one outbox entry', async () => {
    const { client } = await device();
    const id = await client.createList('L');
    await client.addItem(id, 'eggs', 6);
    await client.buy(id, 'eggs', 2);
    await client.checkOff(id, 'eggs'); // bought 4 more
    const before = client.outboxSize(id);
    await client.unbuy(id, 'eggs', 4);
    expect(row(client, id, 'eggs')).toEqual([6, 2, '']);
    expect(client.outboxSize(id)).toBe(before + 1);
    await client.unbuy(id, 'eggs', 99); // never below zero
    expect(row(client, id, 'eggs')).toEqual([6, 0, '']);
    await expect(client.unbuy(id, 'eggs', 0)).rejects.toThrow(TrolleyError);
    await expect(client.unbuy(id, 'ham', 1)).rejects.toThrow(/no item/);
  });

  it('restoring removed items brings back wanted, bought and note; a deleted list comes back with its title', async () => {
    const { client } = await device();
    const id = await client.createList('Week');
    await client.addItem(id, 'Milk', 3, 'oat');
    await client.buy(id, 'milk', 1);
    await client.addItem(id, 'Salt', 1);
    await client.setWanted(id, 'salt', 0);
    const items = client.view(id).items;
    await client.deleteList(id);
    expect(client.view(id).deleted).toBe(true);
    await client.restoreItems(id, items, 'Week');
    expect(seen(client, id)).toEqual({
      title: 'Week',
      deleted: false,
      items: [
        { name: 'Milk', wanted: 3, bought: 1, note: 'oat' },
        { name: 'Salt', wanted: 0, bought: 0, note: undefined },
      ],
    });
    // An empty deleted list comes back by its title alone.
    const empty = await client.createList('Empty');
    await client.deleteList(empty);
    await client.restoreItems(empty, [], 'Empty');
    expect(seen(client, empty)).toEqual({ title: 'Empty', deleted: false, items: [] });
  });

  it('an undo after someone else’s concurrent change keeps their change too', async () => {
    const { alice, bob, id, syncAll } = await pair();
    await alice.addItem(id, 'Milk', 2);
    await alice.addItem(id, 'Bread', 1);
    await syncAll();
    // Alice removes milk while Bob, who has not seen it, wants one more.
    const milk = alice.item(id, 'milk');
    await alice.removeItem(id, 'milk');
    await bob.increaseWanted(id, 'milk', 1);
    // Alice checks bread off while Bob buys one concurrently.
    await alice.checkOff(id, 'bread');
    await bob.buy(id, 'bread', 1);
    await syncAll();
    expect(row(alice, id, 'milk')).toEqual([1, 0, '']); // only Bob's +1 survived the removal
    // Alice undoes both.
    await alice.restoreItems(id, milk === undefined ? [] : [milk]);
    await alice.unbuy(id, 'bread', 1);
    await syncAll();
    for (const c of [alice, bob]) {
      expect(row(c, id, 'milk')).toEqual([3, 0, '']); // her 2 back, and Bob's 1
      expect(row(c, id, 'bread')).toEqual([1, 1, '']); // her check-off undone, Bob's unit kept
    }
  });
});

describe('TrolleyClient: history with names, and undo', () => {
  it('each device’s name travels with the list; undo takes back this device’s last change only', async () => {
    const { alice, bob, id, syncAll } = await sharedPair(31, 32);
    alice.deviceName = 'Ana';
    bob.deviceName = 'Bruno';
    await alice.addItem(id, 'Milk', 2);
    await syncAll();
    await bob.buy(id, 'milk', 2);
    await alice.removeItem(id, 'milk'); // concurrently: Ana removes what Bruno bought
    await syncAll();
    const told = (c: TrolleyClient): string[] =>
      c
        .history(id)
        .filter((h) => h.kind !== 'create') // made before the names were set (see the next test)
        .map((h) => `${h.who}${h.mine ? '*' : ''} ${h.kind} ${h.n} ${h.name}`);
    // The add first; the removal and the purchase were concurrent (equal seq: by replica ID).
    expect(told(alice).at(-1)).toBe('Ana* add 2 Milk');
    expect([...told(alice)].sort()).toEqual(['Ana* add 2 Milk', 'Ana* remove 1 Milk', 'Bruno buy 2 Milk']);
    expect([...told(bob)].sort()).toEqual(['Ana add 2 Milk', 'Ana remove 1 Milk', 'Bruno* buy 2 Milk']);
    // Bruno's units bought concurrently survive the removal (he had not seen it).
    expect(alice.item(id, 'milk')).toMatchObject({ wanted: 0, bought: 2 });
    // Ana undoes her removal: the 2 she wanted come back, and Bruno's purchase stays.
    const { undone } = await alice.undo(id);
    expect(undone).toMatchObject({ kind: 'remove', name: 'Milk' });
    await syncAll();
    for (const c of [alice, bob]) expect(c.item(id, 'milk')).toMatchObject({ wanted: 2, bought: 2 });
    expect(told(bob)[0]).toBe('Ana undo ' + String(undone.seq) + ' Milk');
    // Bruno's undo takes back his purchase, not Ana's changes.
    expect((await bob.undo(id)).undone).toMatchObject({ kind: 'buy', n: 2 });
    await syncAll();
    expect(alice.item(id, 'milk')).toMatchObject({ wanted: 2, bought: 0 });
    await expect(bob.undo(id)).rejects.toThrow(/nothing this device did/);
  });

  it('creating a list is its first history entry, with the creator’s name; undo does not take it back', async () => {
    const cloud = new MemoryCloud();
    const ana = (await device(new MemoryClientStore(), 41)).client;
    const bruno = (await device(new MemoryClientStore(), 42)).client;
    ana.deviceName = 'Ana';
    bruno.deviceName = 'Bruno';
    await expect(ana.createList('bad\u0007title')).rejects.toThrow(/control characters/);
    expect(ana.lists()).toEqual([]);
    const id = await ana.createList('  Saturday  ');
    expect(ana.history(id)).toEqual([
      expect.objectContaining({ kind: 'create', who: 'Ana', name: 'Saturday', n: 0, mine: true, seq: 1 }),
    ]);
    expect(ana.history(id)[0]?.atMs).toBe(new ManualClock().nowMs);
    expect(englishHistory.action(ana.history(id)[0] as HistoryItem)).toBe('created the list');
    await expect(ana.undo(id)).rejects.toThrow(/nothing this device did/);
    // It travels with the list: Bruno sees who created it, after his own change.
    await ana.syncOnce(cloud, { timeoutMs });
    await bruno.joinList(id);
    await bruno.syncOnce(cloud, { timeoutMs });
    await bruno.addItem(id, 'Milk');
    const lines = bruno.history(id).map((h) => historyWhat(h, englishHistory));
    expect(lines).toEqual(['Bruno added Milk', 'Ana created the list']);
    expect(
      historyWhat(ana.history(id)[0] as HistoryItem, { ...englishHistory, yourName: (n) => `${n} (me)` }),
    ).toBe('Ana (me) created the list');
  });
});
