// The in-memory double of the storage node's ListStore port (ports.ts), for unit tests and the
// deterministic simulator. It keeps two copies of the state: the *view* that reads see (every write
// made, committed or not) and the *committed* state, which a crash leaves behind. Writes are
// group-committed like SqliteListStore's: every write made before the next commit joins one batch,
// whose promises all settle together. By default the batch commits in a microtask; with
// `manualCommit` it waits for `flush()`, so the simulator decides when a write is durable and can
// `crash()` in between, losing (and rejecting) exactly the uncommitted writes.
//
// Pure: no timers, no clock, no Node. Bytes are copied on put (with `new Uint8Array(bytes)`: a
// Buffer's slice() would share memory), so a caller that reuses its buffer cannot change a stored
// list; arrays returned by reads belong to the store and must not be mutated.

import { assert } from '@trolley/core';
import type { ListHead, ListStore, StoredDelta, StoredHint, StoredList } from './ports.ts';

export interface MemoryListStoreOptions {
  /** Hold writes until `flush()` (or `failCommit`/`crash`) instead of committing in a microtask. */
  manualCommit?: boolean;
}

/** A pending write: applied to the view at once, to the committed state at the next commit. */
type Write =
  | { type: 'put'; list: StoredList }
  | { type: 'append'; key: string; delta: Uint8Array; hash: Uint8Array }
  | { type: 'delete'; key: string }
  | { type: 'addHint'; hint: StoredHint }
  | { type: 'deleteHint'; id: number };

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One copy of the store's contents, indexed for every read the port offers. */
class Contents {
  readonly lists = new Map<string, StoredList>();
  readonly keysByPartition = new Map<number, Set<string>>();
  /** Hints per target, in insertion order, which is id order because ids only grow. */
  readonly hintsByTarget = new Map<string, Map<number, StoredHint>>();
  readonly hintTargets = new Map<number, string>();
  /** Highest hint id ever added here: ids are never reused, even after a delete. */
  hintIdMax = 0;

  apply(write: Write): void {
    switch (write.type) {
      case 'put':
        this.removeList(write.list.key);
        this.lists.set(write.list.key, write.list);
        this.partitionKeys(write.list.partition).add(write.list.key);
        return;
      case 'append': {
        // A new object: view and committed copies share list objects, so none is changed in place.
        const list = this.lists.get(write.key);
        assert(list !== undefined, 'append to a list the store does not hold');
        this.lists.set(write.key, { ...list, deltas: [...list.deltas, write.delta], hash: write.hash });
        return;
      }
      case 'delete':
        this.removeList(write.key);
        return;
      case 'addHint': {
        const { hint } = write;
        let forTarget = this.hintsByTarget.get(hint.target);
        if (forTarget === undefined) {
          forTarget = new Map();
          this.hintsByTarget.set(hint.target, forTarget);
        }
        forTarget.set(hint.id, hint);
        this.hintTargets.set(hint.id, hint.target);
        this.hintIdMax = Math.max(this.hintIdMax, hint.id);
        return;
      }
      case 'deleteHint': {
        const target = this.hintTargets.get(write.id);
        if (target === undefined) return;
        this.hintTargets.delete(write.id);
        const forTarget = this.hintsByTarget.get(target);
        forTarget?.delete(write.id);
        if (forTarget?.size === 0) this.hintsByTarget.delete(target);
        return;
      }
    }
  }

  clone(): Contents {
    const copy = new Contents();
    for (const list of this.lists.values()) copy.apply({ type: 'put', list });
    for (const forTarget of this.hintsByTarget.values()) {
      for (const hint of forTarget.values()) copy.apply({ type: 'addHint', hint });
    }
    copy.hintIdMax = this.hintIdMax;
    return copy;
  }

  private partitionKeys(partition: number): Set<string> {
    let keys = this.keysByPartition.get(partition);
    if (keys === undefined) {
      keys = new Set();
      this.keysByPartition.set(partition, keys);
    }
    return keys;
  }

  private removeList(key: string): void {
    const old = this.lists.get(key);
    if (old === undefined) return;
    this.lists.delete(key);
    const keys = this.keysByPartition.get(old.partition);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByPartition.delete(old.partition);
  }
}

export class MemoryListStore implements ListStore {
  private readonly manualCommit: boolean;
  private view: Contents;
  private committed: Contents;
  private pending: Write[] = [];
  private waiters: Waiter[] = [];
  /** Next hint id to hand out; only grows, so a hint lost in a crash never shares an id in this run. */
  private nextHintId: number;
  private closed = false;
  /** Commits made and writes they held: for tests that check batching. */
  private commitCount = 0;
  private committedWriteCount = 0;

  constructor(options: MemoryListStoreOptions = {}) {
    this.manualCommit = options.manualCommit ?? false;
    this.committed = new Contents();
    this.view = new Contents();
    this.nextHintId = 1;
  }

  get(key: string): StoredList | undefined {
    this.assertOpen();
    const list = this.view.lists.get(key);
    return list === undefined ? undefined : { ...list };
  }

  head(key: string): ListHead | undefined {
    this.assertOpen();
    const list = this.view.lists.get(key);
    return list === undefined ? undefined : { key, partition: list.partition, hash: list.hash };
  }

  put(list: Omit<StoredList, 'deltas'>): Promise<void> {
    const copy = {
      key: list.key,
      partition: list.partition,
      state: new Uint8Array(list.state),
      deltas: [],
      hash: new Uint8Array(list.hash),
    };
    return this.write({ type: 'put', list: copy });
  }

  append({ key, partition, delta, hash }: StoredDelta): Promise<void> {
    this.assertOpen();
    assert(this.view.lists.get(key)?.partition === partition, 'append to a list the store holds');
    return this.write({ type: 'append', key, delta: new Uint8Array(delta), hash: new Uint8Array(hash) });
  }

  delete(key: string): Promise<void> {
    return this.write({ type: 'delete', key });
  }

  partitionEntries(partition: number): { key: string; hash: Uint8Array }[] {
    this.assertOpen();
    const keys = [...(this.view.keysByPartition.get(partition) ?? [])].sort(compareKeys);
    return keys.map((key) => {
      const list = this.view.lists.get(key);
      assert(list !== undefined, 'partition index names a key that is not stored');
      return { key, hash: list.hash };
    });
  }

  count(): number {
    this.assertOpen();
    return this.view.lists.size;
  }

  countByPartition(): Map<number, number> {
    this.assertOpen();
    return new Map([...this.view.keysByPartition].map(([partition, keys]) => [partition, keys.size]));
  }

  addHint(hint: Omit<StoredHint, 'id'>): Promise<number> {
    const id = this.nextHintId++;
    const stored: StoredHint = { ...hint, id, doc: new Uint8Array(hint.doc) };
    return this.write({ type: 'addHint', hint: stored }).then(() => id);
  }

  hintsFor(target: string, max: number): StoredHint[] {
    this.assertOpen();
    const hints: StoredHint[] = [];
    for (const hint of this.view.hintsByTarget.get(target)?.values() ?? []) {
      if (hints.length >= max) break;
      hints.push({ ...hint });
    }
    return hints;
  }

  deleteHint(id: number): Promise<void> {
    return this.write({ type: 'deleteHint', id });
  }

  hintCount(): number {
    this.assertOpen();
    return this.view.hintTargets.size;
  }

  /** Commits every pending write as one batch and resolves their promises. Idempotent when none. */
  flush(): void {
    if (this.pending.length === 0) return;
    const writes = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    for (const write of writes) this.committed.apply(write);
    this.commitCount += 1;
    this.committedWriteCount += writes.length;
    for (const waiter of waiters) waiter.resolve();
  }

  /**
   * Models a failed commit (a full disk): every pending write is dropped from the view and its
   * promise rejects with `error`. The store stays usable, as SqliteListStore does.
   */
  failCommit(error: unknown): void {
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    this.view = this.committed.clone();
    for (const waiter of waiters) waiter.reject(error);
  }

  /**
   * Models a process crash: uncommitted writes are lost and their promises reject. The store then
   * holds what a restart would find; use it on, or take a fresh instance with `reopen()`.
   */
  crash(): void {
    this.failCommit(new Error('store crashed before the write was committed'));
  }

  /** A new store over this one's committed state: what a restarted process would open. */
  reopen(): MemoryListStore {
    const store = new MemoryListStore({ manualCommit: this.manualCommit });
    store.committed = this.committed.clone();
    store.view = this.committed.clone();
    store.nextHintId = this.committed.hintIdMax + 1;
    return store;
  }

  /** Commits made so far and the writes they held (mean batch size = writes ÷ commits). */
  stats(): { commits: number; writes: number } {
    return { commits: this.commitCount, writes: this.committedWriteCount };
  }

  /** Commits what is pending, then refuses further use. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }

  private write(write: Write): Promise<void> {
    this.assertOpen();
    this.view.apply(write);
    this.pending.push(write);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.manualCommit && this.pending.length === 1) {
      // First write of a batch: commit after the current synchronous run, so that writes made
      // together commit together (the microtask stands in for SqliteListStore's setImmediate).
      void Promise.resolve().then(() => this.flush());
    }
    return done;
  }

  private assertOpen(): void {
    assert(!this.closed, 'MemoryListStore used after close()');
  }
}

/** Key order of partitionEntries: code-unit order, which equals SQLite's byte order for ASCII keys. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
