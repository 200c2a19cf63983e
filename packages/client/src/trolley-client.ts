// The local-first client engine (DESIGN.md §2 "Client"; RELIABILITY.md "Promises"): one ListReplica
// per list in memory, a durable ClientStore under it, and a sync engine that talks to the cloud
// through a CloudPort. Sans-IO: time and randomness come in through Clock and Random, and nothing
// here sets a timer; SyncLoop (sync-loop.ts) says when to sync.
//
// An operation validates (a TrolleyError, nothing changed), applies its delta mutator to the
// replica, and commits the new full state together with an outbox entry {fresh opId, delta} in ONE
// store transaction; it resolves only after that commit: **local-ok**. If the commit fails (a full
// disk), the replica is put back to the last committed state and the operation rejects. An
// operation that changes nothing commits nothing. Operations and the commits of syncing run one at
// a time (an in-process lock); the network waits happen outside the lock, so editing never waits
// for the cloud.
//
// Sync, per list: push the outbox, then pull.
//   - push: each entry is a put with its opId. 'ok' (**cloud-ok**: W replicas committed it) removes
//     the entry; 'unknown' keeps it, and it is sent again, with the same opId and the same bytes,
//     next time. A join is idempotent, so an entry applied twice is applied once.
//   - outbox coalescing: before pushing, runs of entries are joined into one entry under a FRESH
//     opId, committed as "remove the old, append the new" in one transaction, and only then sent.
//     Why not reuse the oldest entry's opId: a coordinator answers a put whose opId it has already
//     acknowledged with 'ok' at once, without applying it (PROTOCOL.md §3). If entry A was sent and
//     answered 'unknown' but did apply, then "A ⊔ B" sent under A's opId would be acknowledged
//     without B ever being written, and B would leave the outbox: a lost write. So an opId names
//     one set of bytes for ever. Joining the old entries' content again is harmless (idempotent).
//     Which entries form a run is outbox-runs.ts's rule: an entry that claims a change of another
//     device the run does not claim yet starts a new run, so two devices that acted on each other's
//     not-yet-durable changes (live updates) never wait on each other for ever. The same rule
//     bounds the outbox: an operation that would pass `outboxEntriesPerListMax` joins its runs,
//     and if they are still too many, the whole outbox into one entry (a partial doc: a full
//     state would carry other devices' changes, which the write check refuses), again under fresh
//     opIds.
//   - pull: a get with this replica's causal context; the answer (what we lack) is joined and
//     committed with the sync metadata.
//
// Status of a list (the three promises a person sees, DESIGN.md §1):
//   'joining'      joined by ID or link, nothing received or written yet;
//   'local'        the outbox is not empty: some change is only on this device;
//   'all-replicas' the last get found all N replicas holding exactly the merged state, this device
//                  held nothing more (its context equals the cloud's), and the state has not
//                  changed since (its hash is the one recorded then);
//   'cloud'        otherwise: every change of this device is cloud-ok.
//
// Several processes may share one store (see ports.ts): a commit names the list revision it was
// computed from; on 'conflict' the engine reloads that list from the store and redoes the work,
// so two writers never hand out the same dot. `refresh()` picks up other processes' changes.

import {
  ListDoc,
  ListReplica,
  TrolleyError,
  assert,
  decodeList,
  encodeContext,
  encodeList,
  hashEquals,
  isReplicaId,
  limits,
  md5,
  merge,
  newListId,
  newWriterSecret,
  writerIdOf,
  opIdFrom,
  type Clock,
  type HistoryEntry,
  type ItemView,
  type ListId,
  type ListView,
  type OpId,
  type Random,
  type ReplicaId,
} from '@trolley/core';
import { clientLimits } from './client-limits.ts';
import { parseListRef } from './list-link.ts';
import { outboxRuns } from './outbox-runs.ts';
import type {
  ClientStore,
  CloudGetResult,
  CloudPort,
  ListChange,
  OutboxEntry,
  StoredClientList,
  SyncMeta,
} from './ports.ts';

export type ListStatus = 'joining' | 'local' | 'cloud' | 'all-replicas';

/** An item as it was, to put back (an ItemView fits). */
export type RestoredItem = Pick<ItemView, 'name' | 'wanted' | 'bought' | 'note'>;

export interface ListSummary {
  listId: ListId;
  title: string;
  deleted: boolean;
  items: number;
  status: ListStatus;
  /** Outbox entries waiting to be cloud-ok. */
  outbox: number;
  /** Wall-clock time of the last successful pull; 0: never. */
  lastSyncMs: number;
}

/** One history entry of a list, newest first (core journal.ts), and whether this device made it. */
export interface HistoryItem extends HistoryEntry {
  /** The writer's replica ID. */
  replica: string;
  /** Made by this device. */
  mine: boolean;
}

/** What an operation returns once it is local-ok. */
export interface LocalOk {
  listId: ListId;
  /** The outbox entry that carries the change; undefined when the operation changed nothing. */
  opId: OpId | undefined;
}

/**
 * A list changed: 'local' by an operation here, 'cloud' by a pull, 'store' by another process
 * sharing the store (seen by `refresh`, or while redoing after a conflict).
 */
export interface ClientEvent {
  listId: ListId;
  origin: 'local' | 'cloud' | 'store';
}

export interface TrolleyClientOptions {
  clock: Clock;
  random: Random;
}

export interface SyncOptions {
  /** Per request (each put and each get), in ms, 1 … 60 000. */
  timeoutMs: number;
}

export interface SyncFailure {
  listId: ListId;
  stage: 'push' | 'pull';
  message: string;
}

export interface SyncSummary {
  /** Lists synced. */
  lists: number;
  /** Puts sent. */
  pushed: number;
  /** Puts answered 'ok': those entries are cloud-ok and left the outbox. */
  acknowledged: number;
  /** Puts answered 'unknown': those entries stay and go again. */
  unknown: number;
  /** Gets answered and applied. */
  pulled: number;
  /** Lists whose state changed by what was pulled. */
  changed: number;
  /** Puts or gets that threw, answers that did not decode, commits that failed. */
  errors: number;
  /** Outbox entries still waiting, over the lists synced, when the sync ended. */
  outboxLeft: number;
  /** The first failures (up to clientLimits.syncFailuresReportedMax), for a person to read. */
  failures: SyncFailure[];
}

const defaultSync: SyncOptions = { timeoutMs: 5_000 };

/** One list in memory. Replaced as a whole when reloaded: look entries up again after any await. */
interface Entry {
  readonly listId: ListId;
  revision: number;
  replica: ListReplica;
  /** The encoding of the last committed state. */
  committed: Uint8Array;
  /** md5(committed), computed when first needed. */
  hash: Uint8Array | undefined;
  outbox: OutboxEntry[];
  sync: SyncMeta;
  /** An operation has changed the replica and its commit has not finished: the change is local. */
  changing: boolean;
}

/** A change to commit for one list, and what to do to the entry once it is committed. */
interface Plan<T> {
  change: Omit<ListChange, 'listId' | 'expectedRevision'>;
  committed(entry: Entry): T;
}

export class TrolleyClient {
  /** Opens the engine over a store, creating this device's replica ID on first use. */
  static async open(store: ClientStore, options: TrolleyClientOptions): Promise<TrolleyClient> {
    let snapshot = await store.load();
    let meta = snapshot.meta;
    if (meta === undefined) {
      // A writer ID: only the holder of its secret can add changes under it (core ids.ts).
      const writerSecret = newWriterSecret(options.random);
      const created = { replicaId: writerIdOf(writerSecret), writerSecret };
      if ((await store.commit({ meta: created })) === 'committed') meta = created;
      else {
        snapshot = await store.load(); // another process created it first: use theirs
        meta = snapshot.meta;
        assert(meta !== undefined, 'a store answering conflict on meta has a meta record');
      }
    }
    if (meta.writerSecret === undefined && isReplicaId(meta.replicaId)) {
      // A store made before writer IDs: give it one now. Its changes so far keep the legacy name
      // (anyone may write under it, so the cloud cannot protect it); new ones go under the writer
      // ID, which only this device can use (core ids.ts).
      const writerSecret = newWriterSecret(options.random);
      const writer = { replicaId: writerIdOf(writerSecret), writerSecret };
      if ((await store.commit({ writer })) === 'committed') meta = writer;
      else {
        snapshot = await store.load(); // another process gave it one first: use theirs
        meta = snapshot.meta;
        assert(meta !== undefined, 'a store answering conflict on writer has a meta record');
      }
    }
    if (
      !isReplicaId(meta.replicaId) ||
      (meta.writerSecret !== undefined && writerIdOf(meta.writerSecret) !== meta.replicaId)
    )
      throw new TrolleyError('decode_malformed', `the local store holds a bad replica ID; it is damaged`);
    const client = new TrolleyClient(store, meta.replicaId, meta.writerSecret, options);
    for (const stored of snapshot.lists) client.entries.set(stored.listId, client.entryFrom(stored));
    return client;
  }

  private readonly entries = new Map<ListId, Entry>();
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly listeners = new Set<(event: ClientEvent) => void>();
  /** The tail of the chain of exclusive tasks (operations and the commits of syncing). */
  private lock: Promise<void> = Promise.resolve();
  /** The running sync of each list: a second sync of the list waits for the first. */
  private readonly listSyncs = new Map<ListId, Promise<void>>();
  private closing = false;
  /**
   * The name this device's changes carry in each list's history ('' for none). Kept by the app
   * (a setting in the browser, `trolley config set name` in a terminal), never in the store.
   */
  deviceName = '';
  private listenerErrorCount = 0;
  private pushesIgnoredCount = 0;

  private constructor(
    private readonly store: ClientStore,
    /** This device in every list's causal context. */
    readonly replicaId: ReplicaId,
    /** The secret that proves `replicaId` to the cloud (undefined: a legacy replica ID). */
    private readonly writerSecret: Uint8Array | undefined,
    options: TrolleyClientOptions,
  ) {
    this.clock = options.clock;
    this.random = options.random;
  }

  // ---- reading ---------------------------------------------------------------------------------

  /** Every list on this device, by title. */
  lists(): ListSummary[] {
    const out: ListSummary[] = [];
    for (const entry of this.entries.values()) {
      const view = entry.replica.view();
      out.push({
        listId: entry.listId,
        title: view.title,
        deleted: view.deleted,
        items: view.items.length,
        status: this.statusOf(entry),
        outbox: entry.outbox.length,
        lastSyncMs: entry.sync.lastSyncMs,
      });
    }
    return out.sort((a, b) => compare(a.title, b.title) || compare(a.listId, b.listId));
  }

  has(listId: ListId): boolean {
    return this.entries.has(listId);
  }

  /** The read model (title, items with wanted/bought/remaining). Shows changes as soon as they are made. */
  view(listId: ListId): ListView {
    return this.entry(listId).replica.view();
  }

  item(listId: ListId, name: string): ItemView | undefined {
    return this.entry(listId).replica.item(name);
  }

  status(listId: ListId): ListStatus {
    return this.statusOf(this.entry(listId));
  }

  /** Outbox entries of a list waiting to be cloud-ok. */
  outboxSize(listId: ListId): number {
    return this.entry(listId).outbox.length;
  }

  /** Calls `listener` after every committed change. Listeners must not throw (errors are counted). */
  subscribe(listener: (event: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listener calls that threw (and were ignored, so that they cannot undo a committed change). */
  get listenerErrors(): number {
    return this.listenerErrorCount;
  }

  // ---- lists -----------------------------------------------------------------------------------

  /** Creates a list with a fresh unguessable ID; local-ok when it resolves. */
  createList(title: string): Promise<ListId> {
    return this.guarded(async () => {
      this.checkRoomForList();
      const replica = new ListReplica(this.replicaId);
      replica.author = { name: this.deviceName, nowMs: () => this.clock.wallMs() };
      const delta = replica.create(title); // validates the title; "created the list" in its history
      const listId = newListId(this.random);
      const state = encodeList(replica.state);
      const first = this.outboxEntry(encodeList(delta), this.clock.wallMs());
      const sync: SyncMeta = { inSync: 0, replicas: 0, lastSyncMs: 0 };
      const outcome = await this.store.commit({
        lists: [{ listId, expectedRevision: undefined, state, append: [first], sync }],
      });
      assert(outcome === 'committed', 'a fresh random list ID is not in the store');
      this.entries.set(listId, {
        listId,
        revision: 1,
        replica,
        committed: state,
        hash: undefined,
        outbox: [first],
        sync,
        changing: false,
      });
      this.notify(listId, 'local');
      return listId;
    });
  }

  /**
   * Joins a list by its ID or a share link. Until the cloud has it (or someone edits it here), it
   * is known as joined-but-empty: status 'joining'. Joining a list already here changes nothing.
   */
  joinList(idOrLink: string): Promise<ListId> {
    return this.guarded(async () => {
      const listId = parseListRef(idOrLink);
      if (this.entries.has(listId)) return listId;
      this.checkRoomForList();
      const state = encodeList(ListDoc.empty());
      const sync: SyncMeta = { inSync: 0, replicas: 0, lastSyncMs: 0, joinedOnly: true };
      const outcome = await this.store.commit({
        lists: [{ listId, expectedRevision: undefined, state, sync }],
      });
      if (outcome === 'conflict') {
        await this.reloadList(listId); // another process has it already
        return listId;
      }
      this.entries.set(listId, {
        listId,
        revision: 1,
        replica: new ListReplica(this.replicaId, ListDoc.empty()),
        committed: state,
        hash: undefined,
        outbox: [],
        sync,
        changing: false,
      });
      this.notify(listId, 'local');
      return listId;
    });
  }

  /**
   * Removes a list from this device only (others keep it; it can be joined again). Refused while
   * the list has changes that are not cloud-ok, unless `discardUnsynced` says to drop them.
   */
  forget(listId: ListId, options: { discardUnsynced?: boolean } = {}): Promise<void> {
    return this.guarded(async () => {
      await this.commitPlanned(listId, (entry) => {
        if (entry.outbox.length > 0 && options.discardUnsynced !== true)
          throw new TrolleyError(
            'invalid_argument',
            `list ${listId} has ${entry.outbox.length} change(s) not yet in the cloud: sync first, ` +
              'or forget it with discardUnsynced',
          );
        return { change: { forget: true }, committed: () => undefined };
      });
      this.entries.delete(listId);
      this.notify(listId, 'local');
    });
  }

  // ---- operations (ListReplica's, each local-ok when it resolves) -------------------------------

  rename(listId: ListId, title: string): Promise<LocalOk> {
    return this.operate(listId, (r) => r.rename(title));
  }

  deleteList(listId: ListId): Promise<LocalOk> {
    return this.operate(listId, (r) => r.deleteList());
  }

  addItem(listId: ListId, name: string, quantity = 1, note?: string): Promise<LocalOk> {
    return this.operate(listId, (r) => r.addItem(name, quantity, note));
  }

  setWanted(listId: ListId, name: string, quantity: number): Promise<LocalOk> {
    return this.operate(listId, (r) => r.setWanted(name, quantity));
  }

  increaseWanted(listId: ListId, name: string, by = 1): Promise<LocalOk> {
    return this.operate(listId, (r) => r.increaseWanted(name, by));
  }

  decreaseWanted(listId: ListId, name: string, by = 1): Promise<LocalOk> {
    return this.operate(listId, (r) => r.decreaseWanted(name, by));
  }

  buy(listId: ListId, name: string, units = 1): Promise<LocalOk> {
    return this.operate(listId, (r) => r.buy(name, units));
  }

  checkOff(listId: ListId, name: string): Promise<LocalOk> {
    return this.operate(listId, (r) => r.checkOff(name));
  }

  uncheck(listId: ListId, name: string): Promise<LocalOk> {
    return this.operate(listId, (r) => r.uncheck(name));
  }

  removeItem(listId: ListId, name: string): Promise<LocalOk> {
    return this.operate(listId, (r) => r.removeItem(name));
  }

  clearBought(listId: ListId): Promise<LocalOk> {
    return this.operate(listId, (r) => r.clearBought());
  }

  setNote(listId: ListId, name: string, note: string): Promise<LocalOk> {
    return this.operate(listId, (r) => r.setNote(name, note));
  }

  // ---- undo: inverse operations ------------------------------------------------------------------
  //
  // An Undo is a new operation, not a rewind: it is made of the ordinary ones, commits as one
  // change (one outbox entry), and merges like any edit. What others did meanwhile stays: units
  // they bought, items they added or raised while this device removed them.

  /**
   * Takes back `units` bought of an item (the Undo of a check-off): the bought count this device
   * sees drops by `units`, never below zero; units bought elsewhere that it has not seen stay.
   */
  unbuy(listId: ListId, name: string, units: number): Promise<LocalOk> {
    return this.operate(listId, (r) => r.unbuy(name, units));
  }

  /**
   * Puts items back as they were (the Undo of a removal, of clearing bought items, or of deleting
   * the list): each is added again with its wanted quantity, bought count and note, on top of
   * whatever others did to it meanwhile. With `title`, the list gets that title again, which also
   * brings a deleted list back when it held no items.
   */
  restoreItems(listId: ListId, items: readonly RestoredItem[], title?: string): Promise<LocalOk> {
    return this.operate(listId, (r) =>
      r.restore(
        items.map((i) => ({ ...i, note: i.note ?? '' })),
        title,
      ),
    );
  }

  /**
   * Takes back the newest change this device made to the list that it has not taken back yet
   * (ListReplica.undo), recorded in the history as one undo. Rejects with not_found when there is
   * none. What others did meanwhile stays.
   */
  async undo(listId: ListId): Promise<LocalOk & { undone: HistoryEntry }> {
    let undone: HistoryEntry | undefined;
    const ok = await this.operate(listId, (r) => {
      const out = r.undo();
      undone = out.undone;
      return out.delta;
    });
    assert(undone !== undefined, 'an undo that resolved names what it undid');
    return { ...ok, undone };
  }

  /** The change undo(listId) would take back, if any. */
  undoable(listId: ListId): HistoryEntry | undefined {
    return this.entry(listId).replica.lastUndoable(this.replicaId);
  }

  /** The list's history, newest first. */
  history(listId: ListId): HistoryItem[] {
    return this.entry(listId)
      .replica.state.journal.newestFirst()
      .map(({ replica, entry }) => ({ ...entry, replica, mine: replica === this.replicaId }));
  }

  // ---- syncing ---------------------------------------------------------------------------------

  /** Pushes every outbox and pulls every list, a few lists at a time. Never throws for the cloud's sake. */
  async syncOnce(cloud: CloudPort, options: SyncOptions = defaultSync): Promise<SyncSummary> {
    const timeoutMs = checkTimeout(options.timeoutMs);
    this.checkOpen();
    const ids = [...this.entries.keys()];
    const summary = emptySyncSummary();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let id = ids[next++]; id !== undefined; id = ids[next++]) {
        await this.syncListInto(cloud, id, timeoutMs, summary);
      }
    };
    const workers = Math.min(clientLimits.listsSyncedInParallelMax, ids.length);
    await Promise.all(Array.from({ length: workers }, worker));
    summary.lists = ids.length;
    for (const id of ids) summary.outboxLeft += this.entries.get(id)?.outbox.length ?? 0;
    return summary;
  }

  /**
   * Syncs one list: pushes its outbox, then pulls it. The seam for live updates: when the cloud
   * says a list changed, the driver calls this for that list.
   */
  async syncList(cloud: CloudPort, listId: ListId, options: SyncOptions = defaultSync): Promise<SyncSummary> {
    const timeoutMs = checkTimeout(options.timeoutMs);
    this.checkOpen();
    this.entry(listId);
    const summary = emptySyncSummary();
    await this.syncListInto(cloud, listId, timeoutMs, summary);
    summary.lists = 1;
    summary.outboxLeft = this.entries.get(listId)?.outbox.length ?? 0;
    return summary;
  }

  /** Picks up what other processes sharing the store committed (new, changed, forgotten lists). */
  refresh(): Promise<void> {
    return this.guarded(async () => {
      const snapshot = await this.store.load();
      const seen = new Set<ListId>();
      for (const stored of snapshot.lists) {
        seen.add(stored.listId);
        const mine = this.entries.get(stored.listId);
        if (mine !== undefined && mine.revision === stored.revision) continue;
        this.entries.set(stored.listId, this.entryFrom(stored));
        this.notify(stored.listId, 'store');
      }
      for (const listId of [...this.entries.keys()]) {
        if (seen.has(listId)) continue;
        this.entries.delete(listId);
        this.notify(listId, 'store');
      }
    });
  }

  /** Waits for running operations and syncs, then closes the store. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(this.listSyncs.values());
    await this.lock;
    await this.store.close();
  }

  // ---- internals: operations --------------------------------------------------------------------

  private operate(listId: ListId, op: (replica: ListReplica) => ListDoc): Promise<LocalOk> {
    return this.guarded(async () => {
      const opId = await this.commitPlanned(listId, (entry): Plan<OpId> | undefined => {
        entry.changing = true;
        entry.replica.author = { name: this.deviceName, nowMs: () => this.clock.wallMs() };
        const delta = op(entry.replica);
        const state = encodeList(entry.replica.state);
        if (bytesEqual(state, entry.committed)) return undefined; // an empty delta: nothing to commit
        if (state.length > limits.encodedListBytesMax)
          throw new TrolleyError('limit_exceeded', `the list would take ${state.length} bytes`);
        const createdMs = this.clock.wallMs();
        let append: OutboxEntry[];
        let removeOpIds: OpId[] = [];
        const fresh = this.outboxEntry(encodeList(delta), createdMs);
        let opId = fresh.opId;
        if (entry.outbox.length + 1 > clientLimits.outboxEntriesPerListMax)
          ({ removeOpIds, append, opId } = this.bounded(entry.outbox, fresh, state));
        else append = [fresh];
        const sync = entry.sync.joinedOnly === true ? withoutJoinedOnly(entry.sync) : undefined;
        return {
          change: { state, append, removeOpIds, ...(sync === undefined ? {} : { sync }) },
          committed: (e) => {
            this.setCommitted(e, state);
            const removed = new Set(removeOpIds);
            e.outbox = [...e.outbox.filter((x) => !removed.has(x.opId)), ...append];
            if (sync !== undefined) e.sync = sync;
            return opId;
          },
        };
      }).finally(() => {
        const e = this.entries.get(listId);
        if (e !== undefined) e.changing = false;
      });
      if (opId !== undefined) this.notify(listId, 'local');
      return { listId, opId };
    });
  }

  /**
   * Builds a change from the current entry with `plan` (which may change the entry's replica) and
   * commits it. Commit failed: the replica goes back to the last committed state, and the error
   * propagates. Conflict: the list is reloaded from the store and `plan` runs again on it. A
   * refusal (plan threw, or the list is unknown here) may come from a stale copy, another process
   * having added that item or list: before refusing, look at the store once, and redo if the list
   * moved on there. Must run inside `exclusive`.
   */
  private async commitPlanned<T>(
    listId: ListId,
    plan: (entry: Entry) => Plan<T> | undefined,
  ): Promise<T | undefined> {
    let lookedAtStore = false;
    for (let attempt = 0; ; attempt++) {
      let entry = this.entries.get(listId);
      if (entry === undefined && !lookedAtStore) {
        lookedAtStore = true;
        await this.reloadList(listId);
        entry = this.entries.get(listId);
      }
      if (entry === undefined) throw notFound(listId);
      let planned: Plan<T> | undefined;
      try {
        planned = plan(entry);
      } catch (error) {
        this.restore(entry);
        if (error instanceof TrolleyError && !lookedAtStore) {
          lookedAtStore = true;
          if ((await this.reloadList(listId)) !== entry.revision) {
            this.notify(listId, 'store');
            continue;
          }
        }
        throw error;
      }
      if (planned === undefined) return undefined;
      let outcome;
      try {
        outcome = await this.store.commit({
          lists: [{ listId, expectedRevision: entry.revision, ...planned.change }],
        });
      } catch (error) {
        this.restore(entry);
        throw error;
      }
      if (outcome === 'committed') {
        entry.revision += 1;
        return planned.committed(entry);
      }
      this.restore(entry);
      if (attempt >= clientLimits.commitConflictRetriesMax)
        throw new TrolleyError(
          'limit_exceeded',
          `list ${listId} kept changing under another process; ${attempt + 1} attempts, try again`,
        );
      lookedAtStore = true;
      await this.reloadList(listId);
      this.notify(listId, 'store');
    }
  }

  private outboxEntry(delta: Uint8Array, createdMs: number): OutboxEntry {
    return { opId: opIdFrom(this.random.fill(new Uint8Array(16))), delta, createdMs };
  }

  // ---- internals: syncing -----------------------------------------------------------------------

  /** Runs one list's sync after any sync of it already running; never rejects. */
  private syncListInto(
    cloud: CloudPort,
    listId: ListId,
    timeoutMs: number,
    summary: SyncSummary,
  ): Promise<void> {
    const previous = this.listSyncs.get(listId) ?? Promise.resolve();
    const run = previous.then(() => this.syncListNow(cloud, listId, timeoutMs, summary));
    this.listSyncs.set(listId, run);
    void run.then(() => {
      if (this.listSyncs.get(listId) === run) this.listSyncs.delete(listId);
    });
    return run;
  }

  private async syncListNow(
    cloud: CloudPort,
    listId: ListId,
    timeoutMs: number,
    summary: SyncSummary,
  ): Promise<void> {
    const fail = (stage: SyncFailure['stage'], error: unknown): void => {
      summary.errors += 1;
      if (summary.failures.length < clientLimits.syncFailuresReportedMax)
        summary.failures.push({ listId, stage, message: messageOf(error) });
    };

    // Push.
    try {
      await this.exclusive(() => this.coalesceOutbox(listId));
    } catch (error) {
      fail('push', error); // the entries are still there, uncoalesced
    }
    const acked: OpId[] = [];
    let answered = true;
    for (const outboxEntry of this.entries.get(listId)?.outbox.slice() ?? []) {
      summary.pushed += 1;
      let result;
      try {
        result = await cloud.put(listId, outboxEntry.delta, {
          opId: outboxEntry.opId,
          timeoutMs,
          ...(this.writerSecret === undefined ? {} : { writer: this.writerSecret }),
        });
      } catch (error) {
        fail('push', error); // refused: the entry stays; the others, and the pull, still go
        continue;
      }
      if (result.outcome === 'ok') {
        summary.acknowledged += 1;
        acked.push(outboxEntry.opId);
        continue;
      }
      summary.unknown += 1;
      answered = false; // the cloud is away: leave the rest of this list for the next round
      break;
    }
    if (acked.length > 0) {
      try {
        await this.exclusive(() => this.dropAcknowledged(listId, acked));
      } catch (error) {
        fail('push', error); // they go again next time, harmlessly
      }
    }
    if (!answered) return;

    // Pull.
    const entry = this.entries.get(listId);
    if (entry === undefined) return;
    let answer: CloudGetResult;
    try {
      const state = entry.replica.state;
      answer = await cloud.get(listId, encodeContext(state.ctx, state.replicas), { timeoutMs });
    } catch (error) {
      fail('pull', error);
      return;
    }
    const decoded = decodeList(answer.delta);
    if (!decoded.ok) {
      fail('pull', decoded.error);
      return;
    }
    try {
      const changed = await this.exclusive(() => this.applyPulled(listId, decoded.value, answer));
      summary.pulled += 1;
      if (changed) {
        summary.changed += 1;
        this.notify(listId, 'cloud');
      }
    } catch (error) {
      fail('pull', error);
    }
  }

  /**
   * A write the cloud pushed (a `changed` notice carries the write itself, PROTOCOL.md §3): joined
   * and committed at once, so a person sees it without waiting for a pull. Joining any delta is
   * safe; the next pull still brings whatever else is missing and the sync status. Returns whether
   * the list changed. Bytes that do not decode, and lists not on this device, are ignored (counted
   * in `pushesIgnored`): a notice is a hint, never an order.
   */
  receivePushed(listId: ListId, bytes: Uint8Array): Promise<boolean> {
    return this.guarded(async () => {
      const decoded = decodeList(bytes);
      if (!decoded.ok || !this.entries.has(listId)) {
        this.pushesIgnoredCount += 1;
        return false;
      }
      const changed = await this.commitPlanned(listId, (entry): Plan<boolean> | undefined => {
        entry.replica.apply(decoded.value);
        const state = encodeList(entry.replica.state);
        if (bytesEqual(state, entry.committed)) return undefined;
        if (state.length > limits.encodedListBytesMax)
          throw new TrolleyError('limit_exceeded', `the list would take ${state.length} bytes`);
        return {
          change: { state },
          committed: (e) => {
            this.setCommitted(e, state);
            return true;
          },
        };
      });
      if (changed === true) this.notify(listId, 'cloud');
      return changed ?? false;
    });
  }

  /** Pushed writes ignored: undecodable, or for a list not on this device. */
  get pushesIgnored(): number {
    return this.pushesIgnoredCount;
  }

  /** Joins runs of outbox entries into one entry each, under fresh opIds (see the header). */
  private async coalesceOutbox(listId: ListId): Promise<void> {
    if (!this.entries.has(listId)) return;
    await this.commitPlanned(listId, (entry): Plan<void> | undefined => {
      const { removeOpIds, append } = this.coalesced(entry.outbox, clientLimits.outboxBatchBytesMax);
      if (append.length === 0) return undefined;
      return {
        change: { removeOpIds, append },
        committed: (e) => {
          const gone = new Set(removeOpIds);
          e.outbox = [...e.outbox.filter((x) => !gone.has(x.opId)), ...append];
        },
      };
    });
  }

  /**
   * The outbox with each run of two or more entries (outbox-runs.ts says which may be joined)
   * replaced by one entry holding their join, under a fresh opId and dated by the run's oldest
   * entry, as a store change. Order is kept: from the first joined run on, every entry is removed
   * and appended again in order (a single entry with its own opId and bytes). Nothing to join:
   * nothing to change.
   */
  private coalesced(
    outbox: readonly OutboxEntry[],
    bytesMax: number,
  ): { removeOpIds: OpId[]; append: OutboxEntry[] } {
    const removeOpIds: OpId[] = [];
    const append: OutboxEntry[] = [];
    for (const run of outboxRuns(outbox, this.replicaId, bytesMax)) {
      const joined = run.doc !== undefined && run.entries.length >= 2;
      if (!joined && append.length === 0) continue; // before the first join: left where it is
      for (const e of run.entries) removeOpIds.push(e.opId);
      if (joined) {
        const oldest = Math.min(...run.entries.map((e) => e.createdMs));
        append.push(this.outboxEntry(encodeList(run.doc as ListDoc), oldest));
      } else append.push(...run.entries);
    }
    return { removeOpIds, append };
  }

  /**
   * An outbox that would pass outboxEntriesPerListMax with `fresh`, the new operation's entry,
   * bounded: its runs joined; if that is not enough, everything joined into one entry (or, when
   * an entry does not decode or is a full state, replaced by `state`, the full state that holds
   * every delta). Returns the store change and the opId of the entry now holding `fresh`.
   */
  private bounded(
    outbox: readonly OutboxEntry[],
    fresh: OutboxEntry,
    state: Uint8Array,
  ): { removeOpIds: OpId[]; append: OutboxEntry[]; opId: OpId } {
    const all = [...outbox, fresh];
    const plan = this.coalesced(all, clientLimits.outboxBatchBytesMax);
    const last = plan.append.at(-1);
    if (
      last !== undefined &&
      all.length - plan.removeOpIds.length + plan.append.length <= clientLimits.outboxEntriesPerListMax
    )
      return { ...plan, opId: last.opId };
    // Runs are too many: join everything (the order argument of outbox-runs.ts no longer
    // holds for this entry, which only a device with a thousand entries of one list waiting meets).
    const oldest = Math.min(...all.map((e) => e.createdMs));
    const joined = new ListDoc(false);
    let bytes: Uint8Array = state;
    for (const e of all) {
      const decoded = decodeList(e.delta);
      if (!decoded.ok || decoded.value.full) break; // then the full state holds every delta
      merge(joined, decoded.value);
      if (e === fresh) bytes = encodeList(joined);
    }
    const one = this.outboxEntry(bytes, oldest);
    return { removeOpIds: outbox.map((e) => e.opId), append: [one], opId: one.opId };
  }

  private async dropAcknowledged(listId: ListId, opIds: readonly OpId[]): Promise<void> {
    if (!this.entries.has(listId)) return;
    const acked = new Set(opIds);
    await this.commitPlanned(listId, (entry): Plan<void> | undefined => {
      if (!entry.outbox.some((e) => acked.has(e.opId))) return undefined;
      return {
        change: { removeOpIds: opIds },
        committed: (e) => {
          e.outbox = e.outbox.filter((x) => !acked.has(x.opId));
        },
      };
    });
  }

  /** Joins what a get brought and records what it said; true if the list changed. */
  private async applyPulled(listId: ListId, delta: ListDoc, answer: CloudGetResult): Promise<boolean> {
    if (!this.entries.has(listId)) return false;
    const nowMs = this.clock.wallMs();
    const changed = await this.commitPlanned(listId, (entry): Plan<boolean> | undefined => {
      entry.replica.apply(delta);
      const state = encodeList(entry.replica.state);
      const stateChanged = !bytesEqual(state, entry.committed);
      if (stateChanged && state.length > limits.encodedListBytesMax)
        throw new TrolleyError('limit_exceeded', `the list would take ${state.length} bytes`);
      const cloudHasIt = delta.ctx.dotCount > 0;
      const onAllReplicas =
        cloudHasIt &&
        answer.replicas > 0 &&
        answer.inSync >= answer.replicas &&
        entry.outbox.length === 0 &&
        entry.replica.state.ctx.dotCount === delta.ctx.dotCount;
      const hash = onAllReplicas ? md5(state) : undefined;
      const joinedOnly =
        entry.sync.joinedOnly === true && !cloudHasIt && entry.replica.state.ctx.dotCount === 0;
      const sync: SyncMeta = {
        inSync: answer.inSync,
        replicas: answer.replicas,
        lastSyncMs: nowMs,
        ...(hash === undefined ? {} : { lastSyncedHash: hash }),
        ...(joinedOnly ? { joinedOnly: true } : {}),
      };
      if (!stateChanged && sameSyncMeta(sync, entry.sync)) {
        entry.sync.lastSyncMs = nowMs; // display only: not worth a commit of its own
        return undefined;
      }
      return {
        change: { ...(stateChanged ? { state } : {}), sync },
        committed: (e) => {
          if (stateChanged) this.setCommitted(e, state);
          if (hash !== undefined) e.hash = hash;
          e.sync = sync;
          return stateChanged;
        },
      };
    });
    return changed ?? false;
  }

  // ---- internals: entries and the lock ----------------------------------------------------------

  private statusOf(entry: Entry): ListStatus {
    if (entry.outbox.length > 0 || entry.changing) return 'local';
    if (entry.replica.state.ctx.dotCount === 0) return 'joining';
    const synced = entry.sync.lastSyncedHash;
    if (synced !== undefined) {
      entry.hash ??= md5(entry.committed);
      if (hashEquals(synced, entry.hash)) return 'all-replicas';
    }
    return 'cloud';
  }

  private entry(listId: ListId): Entry {
    const entry = this.entries.get(listId);
    if (entry === undefined) throw notFound(listId);
    return entry;
  }

  private entryFrom(stored: StoredClientList): Entry {
    const decoded = decodeList(stored.state);
    if (!decoded.ok || !decoded.value.full)
      throw new TrolleyError(
        'decode_malformed',
        `the local copy of list ${stored.listId} is damaged ` +
          `(${decoded.ok ? 'not a full state' : decoded.error.message})`,
        decoded.ok ? undefined : { cause: decoded.error },
      );
    return {
      listId: stored.listId,
      revision: stored.revision,
      replica: new ListReplica(this.replicaId, decoded.value),
      committed: stored.state,
      hash: undefined,
      outbox: stored.outbox,
      sync: stored.sync,
      changing: false,
    };
  }

  /**
   * Reloads one list from the store, where another process may have changed, created or forgotten
   * it. Returns its revision there (undefined: not there).
   */
  private async reloadList(listId: ListId): Promise<number | undefined> {
    const snapshot = await this.store.load();
    const stored = snapshot.lists.find((l) => l.listId === listId);
    const mine = this.entries.get(listId);
    if (stored === undefined) this.entries.delete(listId);
    else if (mine?.revision !== stored.revision) this.entries.set(listId, this.entryFrom(stored));
    return stored?.revision;
  }

  /** Puts the replica back to the last committed state. */
  private restore(entry: Entry): void {
    const decoded = decodeList(entry.committed);
    assert(decoded.ok && decoded.value.full, 'the committed state decodes: it was encoded here');
    entry.replica = new ListReplica(this.replicaId, decoded.value);
  }

  private setCommitted(entry: Entry, state: Uint8Array): void {
    entry.committed = state;
    entry.hash = undefined;
  }

  private checkRoomForList(): void {
    if (this.entries.size >= clientLimits.listsPerClientMax)
      throw new TrolleyError(
        'limit_exceeded',
        `this device keeps at most ${clientLimits.listsPerClientMax} lists; forget some first`,
      );
  }

  private checkOpen(): void {
    if (this.closing) throw new TrolleyError('invalid_argument', 'the client is closed');
  }

  /** `exclusive`, for a new piece of work: refused once `close` has begun. */
  private guarded<T>(task: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new TrolleyError('invalid_argument', 'the client is closed'));
    return this.exclusive(task);
  }

  /** Runs `task` after every task started before it: operations and sync commits, one at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private notify(listId: ListId, origin: ClientEvent['origin']): void {
    for (const listener of this.listeners) {
      try {
        listener({ listId, origin });
      } catch {
        this.listenerErrorCount += 1;
      }
    }
  }
}

// ---- helpers -------------------------------------------------------------------------------------

/** A summary of nothing done yet, to add rounds or lists into. */
export function emptySyncSummary(): SyncSummary {
  return {
    lists: 0,
    pushed: 0,
    acknowledged: 0,
    unknown: 0,
    pulled: 0,
    changed: 0,
    errors: 0,
    outboxLeft: 0,
    failures: [],
  };
}

/** Adds the counts of `s` into `total` (outboxLeft too: lists are disjoint) and its failures. */
export function addSyncSummary(total: SyncSummary, s: SyncSummary): void {
  total.lists += s.lists;
  total.pushed += s.pushed;
  total.acknowledged += s.acknowledged;
  total.unknown += s.unknown;
  total.pulled += s.pulled;
  total.changed += s.changed;
  total.errors += s.errors;
  total.outboxLeft += s.outboxLeft;
  total.failures.push(...s.failures);
}

function notFound(listId: ListId): TrolleyError {
  return new TrolleyError('not_found', `no list ${listId} on this device`);
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > clientLimits.requestTimeoutMsMax)
    throw new TrolleyError(
      'invalid_argument',
      `a sync timeout must be a whole number of ms from 1 to ${clientLimits.requestTimeoutMsMax}, not ${timeoutMs}`,
    );
  return timeoutMs;
}

function withoutJoinedOnly(sync: SyncMeta): SyncMeta {
  const { joinedOnly: _dropped, ...rest } = sync;
  return rest;
}

/** Equal apart from lastSyncMs. */
function sameSyncMeta(a: SyncMeta, b: SyncMeta): boolean {
  return (
    a.inSync === b.inSync &&
    a.replicas === b.replicas &&
    (a.joinedOnly === true) === (b.joinedOnly === true) &&
    hashEquals(a.lastSyncedHash, b.lastSyncedHash)
  );
}

/** One delta holding several (an operation made of several). */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
