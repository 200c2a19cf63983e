// The in-memory ClientStore (ports.ts): for unit tests, the simulator, and a browser without
// IndexedDB (a private window), where nothing outlives the tab anyway. It passes the same contract
// as SqliteClientStore (testing/client-store-contract.ts).
//
// Crash model. By default a commit takes effect at once and resolves. With `manualCommit`, commits
// queue until `flush()`, so a test decides when a change becomes durable and can `crash()` in
// between: the queued commits are lost and their promises reject (their operations were never
// local-ok), while everything committed stays. `reopen()` is what a restarted process would open.
// `failNextCommit(error)` models a full disk: that commit rejects and writes nothing.
//
// Several engines may share one instance: that is two processes on one store, and the revision
// checks behave as they do in SQLite. Pure: no timers, no clock. Bytes are copied in and out.

import { assert, type ListId } from '@trolley/core';
import { checkClientChange, duplicateOpId } from './client-change.ts';
import type {
  ClientChange,
  ClientMeta,
  ClientSnapshot,
  ClientStore,
  CommitOutcome,
  OutboxEntry,
  StoredClientList,
  SyncMeta,
} from './ports.ts';

export interface MemoryClientStoreOptions {
  /** Hold commits until `flush()` (or `crash()`) instead of committing at once. */
  manualCommit?: boolean;
}

interface Queued {
  change: ClientChange;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

interface Contents {
  meta: ClientMeta | undefined;
  lists: Map<ListId, StoredClientList>;
}

export class MemoryClientStore implements ClientStore {
  private readonly manualCommit: boolean;
  private contents: Contents = { meta: undefined, lists: new Map() };
  private queue: Queued[] = [];
  private readonly failures: Error[] = [];
  private closed = false;
  private commitCount = 0;

  constructor(options: MemoryClientStoreOptions = {}) {
    this.manualCommit = options.manualCommit ?? false;
  }

  load(): Promise<ClientSnapshot> {
    if (this.closed) return Promise.reject(closedError());
    const { meta, lists } = this.contents;
    return Promise.resolve({
      meta: meta === undefined ? undefined : { ...meta },
      lists: [...lists.values()].map(copyList),
    });
  }

  commit(change: ClientChange): Promise<CommitOutcome> {
    if (this.closed) return Promise.reject(closedError());
    if (!this.manualCommit) return this.settle(change);
    return new Promise((resolve, reject) => this.queue.push({ change: copyChange(change), resolve, reject }));
  }

  /** Commits every queued change, in order, and settles their promises. */
  flush(): void {
    const queued = this.queue;
    this.queue = [];
    for (const q of queued) this.settle(q.change).then(q.resolve, q.reject);
  }

  /** The process dies: queued commits are lost (their promises reject); committed ones stay. */
  crash(): void {
    const queued = this.queue;
    this.queue = [];
    for (const q of queued) q.reject(new Error('the device crashed before the commit'));
  }

  /** The next commit fails with `error` and writes nothing, as on a full disk. */
  failNextCommit(error: Error): void {
    this.failures.push(error);
  }

  /** A new store over what this one committed: what a restarted process opens. */
  reopen(options: MemoryClientStoreOptions = { manualCommit: this.manualCommit }): MemoryClientStore {
    const store = new MemoryClientStore(options);
    store.contents = {
      meta: this.contents.meta === undefined ? undefined : { ...this.contents.meta },
      lists: new Map([...this.contents.lists].map(([id, list]) => [id, copyList(list)])),
    };
    return store;
  }

  /** Commits that took effect. */
  get commits(): number {
    return this.commitCount;
  }

  /** Commits queued and not yet durable (manualCommit). */
  get queued(): number {
    return this.queue.length;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    return Promise.resolve();
  }

  /** Validates and applies one change, all or nothing, at once; the promise carries the outcome. */
  private settle(change: ClientChange): Promise<CommitOutcome> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    try {
      return Promise.resolve(this.apply(change));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private apply(change: ClientChange): CommitOutcome {
    checkClientChange(change);
    const { lists } = this.contents;
    if (change.meta !== undefined && this.contents.meta !== undefined) return 'conflict';
    if (
      change.writer !== undefined &&
      (this.contents.meta === undefined || this.contents.meta.writerSecret !== undefined)
    )
      return 'conflict';
    for (const lc of change.lists ?? []) {
      const stored = lists.get(lc.listId);
      if (lc.expectedRevision === undefined ? stored !== undefined : stored?.revision !== lc.expectedRevision)
        return 'conflict';
    }
    // Everything that could refuse the change is checked before anything is written.
    for (const lc of change.lists ?? []) {
      const outbox = lists.get(lc.listId)?.outbox ?? [];
      const removed = new Set<string>(lc.removeOpIds ?? []);
      const remaining = new Set(outbox.filter((e) => !removed.has(e.opId)).map((e) => e.opId));
      for (const e of lc.append ?? []) if (remaining.has(e.opId)) throw duplicateOpId(lc.listId, e.opId);
    }

    if (change.meta !== undefined) this.contents.meta = { ...change.meta };
    if (change.writer !== undefined) this.contents.meta = { ...change.writer };
    for (const lc of change.lists ?? []) {
      if (lc.forget === true) {
        lists.delete(lc.listId);
        continue;
      }
      const stored = lists.get(lc.listId);
      const state = lc.state ?? stored?.state;
      const sync = lc.sync ?? stored?.sync;
      assert(state !== undefined && sync !== undefined, 'checkClientChange: a new list has state and sync');
      const removed = new Set<string>(lc.removeOpIds ?? []);
      const outbox = (stored?.outbox ?? []).filter((e) => !removed.has(e.opId));
      for (const e of lc.append ?? []) outbox.push(copyEntry(e));
      lists.set(lc.listId, {
        listId: lc.listId,
        revision: (stored?.revision ?? 0) + 1,
        state: new Uint8Array(state),
        outbox,
        sync: copySync(sync),
      });
    }
    this.commitCount += 1;
    return 'committed';
  }
}

function closedError(): Error {
  return new Error('MemoryClientStore used after close()');
}

function copyEntry(e: OutboxEntry): OutboxEntry {
  return { opId: e.opId, delta: new Uint8Array(e.delta), createdMs: e.createdMs };
}

function copySync(s: SyncMeta): SyncMeta {
  return {
    inSync: s.inSync,
    replicas: s.replicas,
    lastSyncMs: s.lastSyncMs,
    ...(s.lastSyncedHash === undefined ? {} : { lastSyncedHash: new Uint8Array(s.lastSyncedHash) }),
    ...(s.joinedOnly === true ? { joinedOnly: true } : {}),
  };
}

function copyList(l: StoredClientList): StoredClientList {
  return {
    listId: l.listId,
    revision: l.revision,
    state: new Uint8Array(l.state),
    outbox: l.outbox.map(copyEntry),
    sync: copySync(l.sync),
  };
}

/** A queued change must not see the caller's later edits to its arrays. */
function copyChange(change: ClientChange): ClientChange {
  return {
    ...(change.meta === undefined ? {} : { meta: { ...change.meta } }),
    ...(change.writer === undefined ? {} : { writer: { ...change.writer } }),
    ...(change.lists === undefined
      ? {}
      : {
          lists: change.lists.map((lc) => ({
            ...lc,
            ...(lc.state === undefined ? {} : { state: new Uint8Array(lc.state) }),
            ...(lc.append === undefined ? {} : { append: lc.append.map(copyEntry) }),
            ...(lc.removeOpIds === undefined ? {} : { removeOpIds: [...lc.removeOpIds] }),
            ...(lc.sync === undefined ? {} : { sync: copySync(lc.sync) }),
          })),
        }),
  };
}
