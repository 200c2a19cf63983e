// The browser's durable ClientStore (@trolley/client ports.ts) on IndexedDB, via the `idb` promise
// wrapper. The sibling of SqliteClientStore (@trolley/node): the same contract suite
// (client-store-contract.ts), the same validation (client-change.ts), the same refusals.
//
// Schema (version 1; MIGRATIONS[i] takes version i to i + 1 inside the upgrade transaction):
// - `meta`: one record, under the out-of-line key 'device': the ClientMeta ({ replicaId }).
// - `lists`: keyPath `listId`: { listId, revision, state, sync, nextSeq }. `nextSeq` is the
//   sequence number the list's next outbox entry gets: it only grows, so the outbox's key order is
//   the order entries were appended (a removed and re-appended opId goes to the end).
// - `outbox`: keyPath [listId, seq]: { listId, seq, opId, delta, createdMs }, so one key range
//   reads (or deletes) a list's outbox in order. Index `byOpId` on [listId, opId], unique: finds
//   an entry to remove, and refuses a duplicate opId even if a check here were ever missed.
//
// Commits. Each commit is ONE readwrite transaction over the stores it touches, opened with
// { durability: 'strict' } (the browser flushes to disk before `complete`, as synchronous=FULL does
// in SQLite), and resolves only after the transaction's `done`: that resolution is local-ok.
// Inside the transaction every read comes first (the meta record, each list's revision, the opIds
// an append would duplicate or a removal names), and nothing is written until all of them pass:
// a stale revision or an existing meta record writes nothing and answers 'conflict'; a duplicate
// opId aborts with the TrolleyError every ClientStore gives. A write that fails (a full quota, an
// I/O error) aborts the transaction, so the browser rolls back whatever was already written, and
// the commit rejects with an IdbStoreError saying what to do. Commits (and loads) are chained, so
// they take effect in the order they were called; IndexedDB would order overlapping readwrite
// transactions anyway, but the chain also orders a meta-only commit after a lists one and lets
// `close()` wait for them.
//
// Bytes. `commit` copies every array it is given (slice) before it returns: the caller may reuse
// them at once, and a view on a larger buffer does not drag the whole buffer into storage (the
// structured clone would copy it). What `load` returns is a fresh structured clone of the
// database's records, so it belongs to the caller.
//
// Tabs. Several tabs open one database, as several processes open one SQLite file; the revision
// checks keep their writes apart. After each commit that changed something the store posts on a
// BroadcastChannel('trolley-store:' + name), so the other tabs can `refresh()` their client
// (`onExternalCommit`); a channel never receives its own messages, so a tab hears only the others.
// On `versionchange` (another tab opening a newer schema, or deleting the database) the store closes
// its connection so that tab is not blocked, and refuses further work with "reload".
//
// Limits: the store enforces none of clientLimits itself, as the memory and SQLite stores do not;
// the engine (trolley-client.ts) enforces them before it commits.

import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { TrolleyError, assert, type ErrorCode, type ListId, type OpId } from '@trolley/core';
import {
  checkClientChange,
  duplicateOpId,
  type ClientChange,
  type ClientMeta,
  type ClientSnapshot,
  type ClientStore,
  type CommitOutcome,
  type ListChange,
  type OutboxEntry,
  type StoredClientList,
  type SyncMeta,
} from '@trolley/client';

/** The database name `open` uses when given none. */
export const IDB_CLIENT_STORE_DEFAULT_NAME = 'trolley';

/** The key of the one record in `meta`. */
const META_KEY = 'device';

interface ListRecord {
  listId: ListId;
  revision: number;
  state: Uint8Array;
  sync: SyncMeta;
  /** The `seq` of the list's next outbox entry. */
  nextSeq: number;
}

interface OutboxRecord {
  listId: ListId;
  seq: number;
  opId: OpId;
  delta: Uint8Array;
  createdMs: number;
}

interface TrolleyDb extends DBSchema {
  meta: { key: typeof META_KEY; value: ClientMeta };
  lists: { key: string; value: ListRecord };
  outbox: { key: [string, number]; value: OutboxRecord; indexes: { byOpId: [string, string] } };
}

type StoreName = StoreNames<TrolleyDb>;
type Db = IDBPDatabase<TrolleyDb>;
type UpgradeTx = IDBPTransaction<TrolleyDb, StoreName[], 'versionchange'>;

const STORE_NAMES: readonly StoreName[] = ['meta', 'lists', 'outbox'];

/** MIGRATIONS[i] takes the schema from version i to i + 1. Append only: never edit a shipped one. */
const MIGRATIONS: readonly ((db: Db, tx: UpgradeTx) => void)[] = [
  (db) => {
    db.createObjectStore('meta');
    db.createObjectStore('lists', { keyPath: 'listId' });
    const outbox = db.createObjectStore('outbox', { keyPath: ['listId', 'seq'] });
    outbox.createIndex('byOpId', ['listId', 'opId'], { unique: true });
  },
];

/** The schema version this code writes. */
export const IDB_CLIENT_STORE_SCHEMA_VERSION = MIGRATIONS.length;

/** Why an IdbClientStore refused to open or to commit; `message` says what to do about it. */
export type IdbStoreFailure =
  /** IndexedDB is missing or refused to open (a private window, storage turned off). */
  | 'unavailable'
  /** An upgrade waits for another tab that keeps the old version open. */
  | 'blocked'
  /** The database was written by a newer Trolley than this tab runs. */
  | 'newer_schema'
  /** A database of that name that is not a Trolley store. */
  | 'foreign'
  /** The site's storage quota (or the disk) is full. */
  | 'quota'
  /** Any other failure of a transaction. */
  | 'write_failed'
  /** The connection was closed under us: another tab upgrades or deletes the database. */
  | 'closed';

/**
 * The error of an IdbClientStore that cannot open or cannot commit. A TrolleyError, as the port
 * asks; `failure` is the precise reason, `code` the nearest ErrorCode (errors.ts has no code of
 * its own for a storage failure): quota and write failures are 'limit_exceeded', a store that
 * cannot be reached 'not_found', a newer schema 'decode_version', a foreign database
 * 'decode_malformed'.
 */
export class IdbStoreError extends TrolleyError {
  readonly failure: IdbStoreFailure;

  constructor(failure: IdbStoreFailure, message: string, options?: { cause?: unknown }) {
    super(CODES[failure], message, options);
    this.failure = failure;
  }
}

const CODES: Record<IdbStoreFailure, ErrorCode> = {
  unavailable: 'not_found',
  blocked: 'not_found',
  newer_schema: 'decode_version',
  foreign: 'decode_malformed',
  quota: 'limit_exceeded',
  write_failed: 'limit_exceeded',
  closed: 'not_found',
};

const RELOAD = 'Close other Trolley tabs and reload this one.';

export interface IdbClientStoreOptions {
  /**
   * The IndexedDB factory; default the page's `indexedDB`. For tests (fake-indexeddb): the IDB
   * globals (IDBRequest, IDBKeyRange, …) must exist too, as `fake-indexeddb/auto` installs them.
   */
  indexedDB?: IDBFactory;
}

/** What a store posts on its BroadcastChannel after a commit. */
interface CommitMessage {
  type: 'trolley-store-commit';
}

export class IdbClientStore implements ClientStore {
  /**
   * Opens (creating or upgrading if needed) the store in the IndexedDB database `name`. Refuses,
   * with an IdbStoreError saying what to do, when IndexedDB is unavailable, another tab blocks an
   * upgrade, the database is newer than this code, or it is not a Trolley store.
   */
  static async open(
    name: string = IDB_CLIENT_STORE_DEFAULT_NAME,
    options: IdbClientStoreOptions = {},
  ): Promise<IdbClientStore> {
    const factory = options.indexedDB ?? (typeof indexedDB === 'undefined' ? undefined : indexedDB);
    if (factory === undefined)
      throw new IdbStoreError(
        'unavailable',
        'This browser offers no IndexedDB, so Trolley cannot keep your lists on this device. ' +
          'Use a current browser, outside a private window.',
      );
    const db = await openDatabase(factory, name);
    return new IdbClientStore(name, db);
  }

  private readonly db: Db;
  private readonly channel: BroadcastChannel | undefined;
  private readonly listeners = new Set<() => void>();
  /** The tail of the chain of commits and loads: each runs after every one called before it. */
  private tail: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Set when the connection was closed under us (versionchange, or the browser closed it). */
  private lost: IdbStoreError | undefined;

  private constructor(name: string, db: Db) {
    this.db = db;
    db.addEventListener('versionchange', () => {
      // Another tab wants a newer schema (or deletes the database): step aside so it is not blocked.
      this.lost = new IdbStoreError(
        'closed',
        `Trolley's storage is being upgraded or reset by another tab; nothing more can be saved here. ${RELOAD}`,
      );
      db.close();
    });
    db.addEventListener('close', () => {
      // The browser closed the connection (storage cleared, disk gone).
      this.lost ??= new IdbStoreError(
        'closed',
        `The browser closed Trolley's storage (was this site's data cleared?). ${RELOAD}`,
      );
    });
    if (typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(`trolley-store:${name}`);
      this.channel.addEventListener('message', (event: MessageEvent<unknown>) => {
        if (isCommitMessage(event.data)) this.notifyExternalCommit();
      });
    }
  }

  load(): Promise<ClientSnapshot> {
    if (this.closing !== undefined) return Promise.reject(closedError());
    return this.chain(() => this.read());
  }

  commit(change: ClientChange): Promise<CommitOutcome> {
    if (this.closing !== undefined) return Promise.reject(closedError());
    let copy: ClientChange;
    try {
      checkClientChange(change);
      copy = copyChange(change);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return this.chain(() => this.write(copy));
  }

  /**
   * Another tab (another IdbClientStore on the same database) committed: call `client.refresh()`.
   * Never called for this store's own commits. Returns the unsubscribe function.
   */
  onExternalCommit(listener: () => void): () => void {
    const own = (): void => listener(); // one subscription per call, even for the same function
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }

  /** Finishes pending commits, then closes the connection and the channel. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.tail.then(() => {
      this.listeners.clear();
      this.channel?.close();
      this.db.close();
    });
    return this.closing;
  }

  /** Runs `task` after every commit and load called before it. */
  private chain<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async read(): Promise<ClientSnapshot> {
    try {
      const tx = this.transaction(STORE_NAMES, 'readonly');
      const [meta, lists, entries] = await Promise.all([
        tx.objectStore('meta').get(META_KEY),
        tx.objectStore('lists').getAll(),
        tx.objectStore('outbox').getAll(),
        tx.done,
      ]);
      // Records are fresh structured clones: they already belong to the caller.
      const byId = new Map<string, StoredClientList>();
      for (const r of lists) {
        byId.set(r.listId, {
          listId: r.listId,
          revision: r.revision,
          state: r.state,
          outbox: [],
          sync: normalSync(r.sync),
        });
      }
      // Key order: by list, then by seq, which is append order.
      for (const e of entries)
        byId.get(e.listId)?.outbox.push({ opId: e.opId, delta: e.delta, createdMs: e.createdMs });
      return {
        meta: meta === undefined ? undefined : copyMeta(meta),
        lists: [...byId.values()],
      };
    } catch (error) {
      throw this.failure(error, 'Trolley could not read its storage');
    }
  }

  private async write(change: ClientChange): Promise<CommitOutcome> {
    const lists = change.lists ?? [];
    const names: StoreName[] = [];
    if (change.meta !== undefined || change.writer !== undefined) names.push('meta');
    if (lists.length > 0) names.push('lists', 'outbox');
    if (names.length === 0) return 'committed'; // nothing to write; still in call order

    let tx: IDBPTransaction<TrolleyDb, StoreName[], 'readwrite'>;
    try {
      tx = this.transaction(names, 'readwrite');
    } catch (error) {
      throw this.failure(error, 'Trolley could not save this change');
    }
    const done = tx.done;
    done.catch(() => undefined); // awaited below, or aborted on purpose
    try {
      const outcome = await writeChange(tx, change);
      if (outcome === 'conflict') {
        abortQuietly(tx); // nothing was written; end the transaction now
        return 'conflict';
      }
      await done;
    } catch (error) {
      abortQuietly(tx);
      if (error instanceof TrolleyError) throw error; // a malformed change: written nothing
      throw this.failure(error, 'Trolley could not save this change');
    }
    try {
      this.channel?.postMessage({ type: 'trolley-store-commit' } satisfies CommitMessage);
    } catch {
      // The change is durable already; a tab that misses the news sees it at its next refresh.
    }
    return 'committed';
  }

  private transaction<Mode extends IDBTransactionMode>(
    names: readonly StoreName[],
    mode: Mode,
  ): IDBPTransaction<TrolleyDb, StoreName[], Mode> {
    if (this.lost !== undefined) throw this.lost;
    return this.db.transaction([...names], mode, { durability: 'strict' });
  }

  /** The IdbStoreError for what IndexedDB threw; nothing of the change was written. */
  private failure(error: unknown, what: string): IdbStoreError {
    if (error instanceof IdbStoreError) return error;
    if (this.lost !== undefined)
      return new IdbStoreError(this.lost.failure, this.lost.message, { cause: error });
    const name = errorName(error);
    if (name === 'QuotaExceededError')
      return new IdbStoreError(
        'quota',
        `${what}: this browser's storage for the site is full, and nothing of the change was saved. ` +
          'Free space on the device or clear other sites’ data, forget lists you no longer need, then try again.',
        { cause: error },
      );
    if (name === 'InvalidStateError')
      return new IdbStoreError('closed', `${what}: its storage connection is closed. ${RELOAD}`, {
        cause: error,
      });
    return new IdbStoreError(
      'write_failed',
      `${what} (${describe(error)}); nothing of it was saved. Try again; if it keeps failing, ${RELOAD.toLowerCase()}`,
      { cause: error },
    );
  }

  private notifyExternalCommit(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        // One listener's bug must not keep the others from refreshing.
        console.error('Trolley: an onExternalCommit listener threw', error);
      }
    }
  }
}

/** Issues a write whose failure the transaction's `done` reports (so its own promise is not needed). */
function issue(request: Promise<unknown>): void {
  request.catch(() => undefined);
}

/**
 * The reads and then the writes of one commit, inside `tx`. Resolves 'conflict' having written
 * nothing; throws a TrolleyError for a duplicate opId having written nothing; resolves 'committed'
 * once every write is issued (the caller awaits the transaction).
 */
async function writeChange(
  tx: IDBPTransaction<TrolleyDb, StoreName[], 'readwrite'>,
  change: ClientChange,
): Promise<CommitOutcome> {
  const lists = change.lists ?? [];

  // Reads: everything that could refuse the change, before anything is written.
  if (change.meta !== undefined && (await tx.objectStore('meta').getKey(META_KEY)) !== undefined)
    return 'conflict';
  if (change.writer !== undefined) {
    const meta = await tx.objectStore('meta').get(META_KEY);
    if (meta === undefined || meta.writerSecret !== undefined) return 'conflict';
  }
  if (lists.length === 0) {
    if (change.meta !== undefined) issue(tx.objectStore('meta').add({ ...change.meta }, META_KEY));
    if (change.writer !== undefined) issue(tx.objectStore('meta').put(copyMeta(change.writer), META_KEY));
    return 'committed';
  }
  const listStore = tx.objectStore('lists');
  const outbox = tx.objectStore('outbox');
  const byOpId = outbox.index('byOpId');
  const stored = await Promise.all(lists.map((lc) => listStore.get(lc.listId)));
  for (const [i, lc] of lists.entries()) {
    if (stored[i]?.revision !== lc.expectedRevision) return 'conflict';
  }
  const removals = await Promise.all(
    lists.map(async (lc) => {
      if (lc.forget === true) return [];
      const removed = new Set<string>(lc.removeOpIds ?? []);
      // An opId removed by this same change may be appended again (it goes to the end).
      const candidates = (lc.append ?? []).filter((e) => !removed.has(e.opId));
      const [keys, existing] = await Promise.all([
        Promise.all([...removed].map((opId) => byOpId.getKey([lc.listId, opId]))),
        Promise.all(candidates.map((e) => byOpId.getKey([lc.listId, e.opId]))),
      ]);
      const duplicate = candidates.find((_, j) => existing[j] !== undefined);
      if (duplicate !== undefined) throw duplicateOpId(lc.listId, duplicate.opId);
      return keys.filter((key) => key !== undefined);
    }),
  );

  // Writes. A request that fails aborts the transaction, which the caller awaits.
  if (change.meta !== undefined) issue(tx.objectStore('meta').add({ ...change.meta }, META_KEY));
  if (change.writer !== undefined) issue(tx.objectStore('meta').put(copyMeta(change.writer), META_KEY));
  for (const [i, lc] of lists.entries()) {
    const previous = stored[i];
    if (lc.forget === true) {
      issue(listStore.delete(lc.listId));
      issue(outbox.delete(outboxRange(lc.listId)));
      continue;
    }
    const state = lc.state ?? previous?.state;
    const sync = lc.sync ?? previous?.sync;
    assert(state !== undefined && sync !== undefined, 'checkClientChange: a new list has state and sync');
    const append = lc.append ?? [];
    const firstSeq = previous?.nextSeq ?? 0;
    issue(
      listStore.put({
        listId: lc.listId,
        revision: (previous?.revision ?? 0) + 1,
        state,
        sync: normalSync(sync),
        nextSeq: firstSeq + append.length,
      }),
    );
    for (const key of removals[i] ?? []) issue(outbox.delete(key));
    for (const [j, e] of append.entries()) {
      issue(
        outbox.add({
          listId: lc.listId,
          seq: firstSeq + j,
          opId: e.opId,
          delta: e.delta,
          createdMs: e.createdMs,
        }),
      );
    }
  }
  return 'committed';
}

/** Opens `name` on `factory` at the current schema, migrating it; refuses what it cannot use. */
function openDatabase(factory: IDBFactory, name: string): Promise<Db> {
  // idb's openDB always uses the global `indexedDB`; this does what it does on the factory given.
  return new Promise<Db>((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, IDB_CLIENT_STORE_SCHEMA_VERSION);
    } catch (error) {
      reject(unavailable(error));
      return;
    }
    let refused = false;
    request.addEventListener('upgradeneeded', (event) => {
      const db = wrap(request.result) as unknown as Db;
      const tx = wrap(request.transaction as IDBTransaction) as unknown as UpgradeTx;
      try {
        for (let version = event.oldVersion; version < IDB_CLIENT_STORE_SCHEMA_VERSION; version++)
          MIGRATIONS[version]?.(db, tx);
      } catch (error) {
        refused = true;
        reject(unavailable(error));
        tx.abort(); // the open then fails with AbortError, ignored below
      }
    });
    request.addEventListener('blocked', () => {
      refused = true;
      reject(
        new IdbStoreError(
          'blocked',
          `Trolley needs to upgrade its storage, but another Trolley tab still has the old version open. ${RELOAD}`,
        ),
      );
    });
    request.addEventListener('success', () => {
      const raw = request.result;
      if (refused) {
        raw.close(); // the other tab let go after all, too late for this open
        return;
      }
      const missing = STORE_NAMES.filter((s) => !raw.objectStoreNames.contains(s));
      if (missing.length > 0) {
        raw.close();
        reject(
          new IdbStoreError(
            'foreign',
            `The browser database "${name}" is not a Trolley store (it has no ${missing.join(', ')}); ` +
              'Trolley leaves it alone. Clear this site’s data in the browser’s settings, then reload.',
          ),
        );
        return;
      }
      resolve(wrap(raw) as unknown as Db);
    });
    request.addEventListener('error', (event) => {
      event.preventDefault();
      if (refused) return;
      const error = request.error;
      if (errorName(error) === 'VersionError')
        reject(
          new IdbStoreError(
            'newer_schema',
            `This tab runs an older Trolley (storage version ${IDB_CLIENT_STORE_SCHEMA_VERSION}) than the one ` +
              `that last used this browser’s storage. ${RELOAD} to get the new version.`,
            { cause: error },
          ),
        );
      else reject(unavailable(error));
    });
  });
}

function unavailable(error: unknown): IdbStoreError {
  return new IdbStoreError(
    'unavailable',
    `Trolley cannot open this browser's storage (${describe(error)}). ${RELOAD} ` +
      'In a private window, or with storage turned off for this site, Trolley cannot keep lists on this device.',
    { cause: error },
  );
}

function closedError(): Error {
  return new Error('IdbClientStore used after close()');
}

/** Every key of a list's outbox: [listId, seq] for any seq. */
function outboxRange(listId: string): IDBKeyRange {
  return IDBKeyRange.bound([listId, -Infinity], [listId, Infinity]);
}

function abortQuietly(tx: IDBPTransaction<TrolleyDb, StoreName[], 'readwrite'>): void {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted (a failed request aborts it): nothing was written either way.
  }
}

function isCommitMessage(data: unknown): data is CommitMessage {
  return (
    typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'trolley-store-commit'
  );
}

function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name } = error as { name?: unknown };
  return typeof name === 'string' ? name : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : `${error.name}: ${error.message}`;
  return String(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Sync metadata as stored and returned: absent optional fields, not undefined or false ones. */
function normalSync(s: SyncMeta): SyncMeta {
  return {
    inSync: s.inSync,
    replicas: s.replicas,
    lastSyncMs: s.lastSyncMs,
    ...(s.lastSyncedHash === undefined ? {} : { lastSyncedHash: s.lastSyncedHash }),
    ...(s.joinedOnly === true ? { joinedOnly: true } : {}),
  };
}

function copyEntry(e: OutboxEntry): OutboxEntry {
  return { opId: e.opId, delta: e.delta.slice(), createdMs: e.createdMs };
}

function copySync(s: SyncMeta): SyncMeta {
  return normalSync({
    ...s,
    ...(s.lastSyncedHash === undefined ? {} : { lastSyncedHash: s.lastSyncedHash.slice() }),
  });
}

/** A queued change must not see the caller's later edits to its arrays. */
/** The meta record as stored and returned (a store made before writer IDs has no secret). */
function copyMeta(meta: ClientMeta): ClientMeta {
  return {
    replicaId: meta.replicaId,
    ...(meta.writerSecret === undefined ? {} : { writerSecret: meta.writerSecret.slice() }),
  };
}

function copyChange(change: ClientChange): ClientChange {
  const copyList = (lc: ListChange): ListChange => ({
    ...lc,
    ...(lc.state === undefined ? {} : { state: lc.state.slice() }),
    ...(lc.append === undefined ? {} : { append: lc.append.map(copyEntry) }),
    ...(lc.removeOpIds === undefined ? {} : { removeOpIds: [...lc.removeOpIds] }),
    ...(lc.sync === undefined ? {} : { sync: copySync(lc.sync) }),
  });
  return {
    ...(change.meta === undefined ? {} : { meta: copyMeta(change.meta) }),
    ...(change.writer === undefined
      ? {}
      : { writer: { ...change.writer, writerSecret: change.writer.writerSecret.slice() } }),
    ...(change.lists === undefined ? {} : { lists: change.lists.map(copyList) }),
  };
}
