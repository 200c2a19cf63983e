// The storage node's durable ListStore (ports.ts) on one SQLite database file, via better-sqlite3.
//
// Durability as synchronous=FULL, with the fsync off the event loop. A storage node acknowledges a
// write as part of a quorum ("cloud-ok", RELIABILITY.md), so the write must survive not only a
// kill -9 (which every synchronous level survives in WAL mode) but a power loss or kernel crash.
// In WAL mode, SQLite's FULL is NORMAL (the WAL is synced before each checkpoint, the database
// after it, the WAL header when the WAL is reused) plus one fsync of the WAL after every commit —
// the fsync that makes a single-row commit about 13× slower on this machine, and that, run inside
// the commit, held the whole event loop (every request waited behind every disk flush). So the
// connection runs at NORMAL and this store makes that one fsync itself: fdatasync of the -wal file
// on libuv's thread pool, after the commit and before any of its writes is acknowledged. A commit
// is acknowledged only once an fdatasync that began after it has returned; the frames it wrote are
// then on disk, which is what FULL promised. Meanwhile the loop serves requests, and the next
// batch commits (to the page cache) while the last one's fsync runs: one fsync acknowledges every
// commit made before it began. If an fsync fails, nothing it covered is acknowledged, and the store
// refuses writes from then on (after a failed fsync the kernel may have dropped the dirty pages: a
// later fsync succeeding proves nothing), with a message saying to restart the node.
//
// Group commit: writes do not commit one by one. `put`, `append`, `delete`, `addHint` and
// `deleteHint` add to a pending batch and return a promise. The first write of a batch schedules a
// flush (setImmediate, or `groupCommitDelayMs` later); meanwhile every other write the event loop
// delivers joins the batch. The flush runs ONE transaction with every pending write (several puts of
// one key coalesce: the last wins), then its writes wait for the fsync above. If the transaction
// throws (SQLITE_FULL, say), it is rolled back and every promise of the batch rejects with that
// error: none of those writes may be acknowledged. The store stays usable and the next batch tries
// again. A batch reaching `batchMax` writes is flushed at once.
//
// Reads are synchronous and see every write made, committed or not (the port's rule): a pending
// overlay (key → list, or null for a delete; pending hints; pending hint deletes) is consulted
// before the database, and a failed batch is dropped from it so reads no longer show it.
//
// Hint ids are handed out here, at addHint, so that an uncommitted hint can be read and deleted
// like any other; they continue from SQLite's AUTOINCREMENT high-water mark (sqlite_sequence), so an
// id is never reused across restarts even when the newest hint was deleted.
//
// Schema: PRAGMA user_version is the schema version; MIGRATIONS[i] takes version i to i + 1 inside
// one transaction. A database newer than this code, not a Trolley list store, or failing
// PRAGMA integrity_check is refused with a SqliteStoreError saying what to do.

import type Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { integrityReport, openSqlite, type SqliteKind } from './sqlite-open.ts';
import { assert } from '@trolley/core';
import type { ListHead, ListStore, StoredDelta, StoredHint, StoredList } from '@trolley/cloud';

export interface SqliteListStoreOptions {
  /**
   * How long the first write of a batch waits for company before the batch commits. 0 (default)
   * commits on the next turn of the event loop (setImmediate), which already gathers every write
   * that arrived meanwhile; a few ms more trades each write's latency for bigger batches.
   */
  groupCommitDelayMs?: number;
  /** Writes in one batch at most; the write that reaches it commits the batch at once. Default 1000. */
  batchMax?: number;
  /** How long a statement waits for another connection's lock before SQLITE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
  /** Run PRAGMA integrity_check on open; it reads the whole file, O(size). Default true. */
  integrityCheckOnOpen?: boolean;
  /**
   * Told of every committed batch once it is durable: its writes, and the ms from the start of its
   * commit to the end of the fdatasync that acknowledged it (for metrics).
   */
  onDurable?: (batch: { writes: number; ms: number }) => void;
}

export { SqliteStoreError, type SqliteStoreErrorCode } from './sqlite-open.ts';

/** PRAGMA application_id of a list store ('TRLS'), so another database is never mistaken for one. */
const APPLICATION_ID = 0x54524c53;

/** MIGRATIONS[i] takes the schema from version i to i + 1. Append only: never edit a shipped one. */
const MIGRATIONS: readonly string[] = [
  `
  PRAGMA application_id = ${APPLICATION_ID};
  CREATE TABLE lists (
    key TEXT PRIMARY KEY,
    partition INTEGER NOT NULL,
    state BLOB NOT NULL,
    hash BLOB NOT NULL
  );
  CREATE INDEX lists_by_partition ON lists (partition, key);
  CREATE TABLE hints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    partition INTEGER NOT NULL,
    doc BLOB NOT NULL,
    created_ms INTEGER NOT NULL
  );
  CREATE INDEX hints_by_target ON hints (target, id);
  `,
  // 1 → 2: a write stores its delta, not the whole list (issue 13). A list is its head (partition,
  // digest: small, rewritten by every write), its snapshot (the state as last written whole) and
  // the deltas appended since. The digests of version 1 were MD5s of the whole state; they stay
  // until the list's next write, and meanwhile differ from the other replicas' new digests, so
  // anti-entropy exchanges those lists once (a join that changes nothing) and rewrites them.
  `
  CREATE TABLE heads (
    key TEXT PRIMARY KEY,
    partition INTEGER NOT NULL,
    hash BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX heads_by_partition ON heads (partition, key);
  CREATE TABLE snapshots (
    key TEXT PRIMARY KEY,
    state BLOB NOT NULL
  );
  CREATE TABLE deltas (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    delta BLOB NOT NULL
  );
  CREATE INDEX deltas_by_key ON deltas (key, id);
  INSERT INTO heads (key, partition, hash) SELECT key, partition, hash FROM lists;
  INSERT INTO snapshots (key, state) SELECT key, state FROM lists;
  DROP TABLE lists;
  `,
];

/** The schema version this code writes. */
export const LIST_STORE_SCHEMA_VERSION = MIGRATIONS.length;

const KIND: SqliteKind = {
  what: 'list store',
  applicationId: APPLICATION_ID,
  migrations: MIGRATIONS,
  corruptAdvice:
    'Stop the node, move the file and its -wal and -shm files aside (keep them for inspection), and start the node again with an empty store: anti-entropy and hinted handoff will copy its lists back from the other replicas.',
  foreignAdvice: 'Point the node at its own data file.',
};

const defaults = { groupCommitDelayMs: 0, batchMax: 1_000, busyTimeoutMs: 5_000 };

interface HeadRow {
  partition: number;
  hash: Buffer;
}
interface HintRow {
  id: number;
  target: string;
  key: string;
  partition: number;
  doc: Buffer;
  created_ms: number;
}
interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}
/** A list's writes in a batch: a new head, and a whole state and/or deltas to store. */
interface PendingList {
  partition: number;
  hash: Uint8Array;
  /** The state put whole in this batch (the committed snapshot and deltas are then dropped). */
  state: Uint8Array | undefined;
  /** Deltas appended in this batch (after `state` when there is one). */
  deltas: Uint8Array[];
}

/** Writes not yet committed: what the next flush writes and what reads consult first. */
interface Batch {
  /** key → what to write of the list, or null to delete it. */
  lists: Map<string, PendingList | null>;
  /** Hints added in this batch, in id order. */
  hints: Map<number, StoredHint>;
  /** Committed hints to delete. */
  hintDeletes: Set<number>;
  waiters: Waiter[];
}

/** A batch committed to the WAL, not yet acknowledged: how many writes, and when its commit began (performance.now()). */
interface CommittedBatch {
  writes: number;
  startMs: number;
}

const emptyBatch = (): Batch => ({ lists: new Map(), hints: new Map(), hintDeletes: new Set(), waiters: [] });

/** A view, not a copy: better-sqlite3 returns a fresh Buffer per read; callers see a plain Uint8Array. */
const bytes = (buffer: Buffer): Uint8Array =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

/** Key order of merged partition listings: code-unit order, which equals SQLite's BINARY order for ASCII keys. */
const compareKeys = (a: { key: string }, b: { key: string }): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

/** Adds `delta` to a partition's count, dropping partitions that reach zero. */
function addCount(counts: Map<number, number>, partition: number, delta: number): void {
  const n = (counts.get(partition) ?? 0) + delta;
  if (n === 0) counts.delete(partition);
  else counts.set(partition, n);
}

export class SqliteListStore implements ListStore {
  /** Opens (creating if needed) the store at `path`, migrating its schema; refuses a bad file. */
  static open(path: string, options: SqliteListStoreOptions = {}): SqliteListStore {
    const db = openSqlite(path, KIND, options);
    return new SqliteListStore(db, options);
  }

  private readonly db: Database.Database;
  private readonly groupCommitDelayMs: number;
  private readonly batchMax: number;
  private pending: Batch = emptyBatch();
  private cancelScheduledFlush: (() => void) | undefined;
  private nextHintId: number;
  private closed = false;
  private counters = { batches: 0, writes: 0, failedBatches: 0, syncs: 0 };
  /** The -wal file, opened for fdatasync (fsync works on a read-only descriptor on Linux). */
  private readonly walFd: number;
  /** Writes committed to the WAL and waiting for an fdatasync that begins after their commit. */
  private unsynced: Waiter[] = [];
  /** The writes an fdatasync running on the thread pool will acknowledge; undefined when none runs. */
  private syncing: Waiter[] | undefined;
  /** The batches of `unsynced` and of `syncing`: their sizes and when their commit began (onDurable). */
  private unsyncedBatches: CommittedBatch[] = [];
  private syncingBatches: CommittedBatch[] = [];
  private readonly onDurable: ((batch: { writes: number; ms: number }) => void) | undefined;
  /** Why the store refuses writes: an fsync failed. */
  private syncFailure: Error | undefined;
  /**
   * Committed lists per partition (only partitions holding any), and their total. Counted once at
   * open, then kept up to date by each committed batch: anti-entropy and transfers ask every
   * second, and a GROUP BY over every row costs ~60 ms at a million lists.
   */
  private readonly committedByPartition: Map<number, number>;
  private committedTotal = 0;

  private readonly selectHead;
  private readonly selectSnapshot;
  private readonly selectDeltas;
  private readonly upsertHead;
  private readonly updateHash;
  private readonly upsertSnapshot;
  private readonly insertDelta;
  private readonly deleteHead;
  private readonly deleteSnapshot;
  private readonly deleteDeltas;
  private readonly selectPartitionEntries;
  private readonly countListsByPartition;
  private readonly insertHint;
  private readonly deleteHintById;
  private readonly selectHints;
  private readonly hintExists;
  private readonly countHints;
  private readonly commitBatch: (batch: Batch) => Map<number, number>;

  private constructor(db: Database.Database, options: SqliteListStoreOptions) {
    this.db = db;
    // FULL's per-commit WAL fsync is made by this store, off the event loop (see the top).
    db.pragma('synchronous = NORMAL');
    db.prepare('SELECT count(*) FROM sqlite_schema').get(); // the -wal file exists from the first read
    this.walFd = openSync(`${db.name}-wal`, 'r');
    this.groupCommitDelayMs = options.groupCommitDelayMs ?? defaults.groupCommitDelayMs;
    this.batchMax = options.batchMax ?? defaults.batchMax;
    this.onDurable = options.onDurable;
    assert(this.groupCommitDelayMs >= 0, 'groupCommitDelayMs must not be negative');
    assert(Number.isInteger(this.batchMax) && this.batchMax >= 1, 'batchMax must be a positive integer');

    this.selectHead = db.prepare<[string], HeadRow>('SELECT partition, hash FROM heads WHERE key = ?');
    this.selectSnapshot = db.prepare<[string], { state: Buffer }>(
      'SELECT state FROM snapshots WHERE key = ?',
    );
    this.selectDeltas = db.prepare<[string], { delta: Buffer }>(
      'SELECT delta FROM deltas WHERE key = ? ORDER BY id',
    );
    this.upsertHead = db.prepare<[string, number, Uint8Array]>(
      `INSERT INTO heads (key, partition, hash) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET partition = excluded.partition, hash = excluded.hash`,
    );
    this.updateHash = db.prepare<[Uint8Array, string]>('UPDATE heads SET hash = ? WHERE key = ?');
    this.upsertSnapshot = db.prepare<[string, Uint8Array]>(
      `INSERT INTO snapshots (key, state) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET state = excluded.state`,
    );
    this.insertDelta = db.prepare<[string, Uint8Array]>('INSERT INTO deltas (key, delta) VALUES (?, ?)');
    this.deleteHead = db.prepare<[string]>('DELETE FROM heads WHERE key = ?');
    this.deleteSnapshot = db.prepare<[string]>('DELETE FROM snapshots WHERE key = ?');
    this.deleteDeltas = db.prepare<[string]>('DELETE FROM deltas WHERE key = ?');
    this.selectPartitionEntries = db.prepare<[number], { key: string; hash: Buffer }>(
      'SELECT key, hash FROM heads WHERE partition = ? ORDER BY key',
    );
    this.countListsByPartition = db.prepare<[], { partition: number; n: number }>(
      'SELECT partition, count(*) AS n FROM heads GROUP BY partition',
    );
    this.insertHint = db.prepare<[number, string, string, number, Uint8Array, number]>(
      'INSERT INTO hints (id, target, key, partition, doc, created_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.deleteHintById = db.prepare<[number]>('DELETE FROM hints WHERE id = ?');
    this.selectHints = db.prepare<[string, number], HintRow>(
      'SELECT id, target, key, partition, doc, created_ms FROM hints WHERE target = ? ORDER BY id LIMIT ?',
    );
    this.hintExists = db.prepare<[number], { id: number }>('SELECT id FROM hints WHERE id = ?');
    this.countHints = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM hints');

    const highWater = db
      .prepare<[], { n: number }>(
        `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'hints'), 0),
                    coalesce((SELECT max(id) FROM hints), 0)) AS n`,
      )
      .get();
    this.nextHintId = (highWater?.n ?? 0) + 1;

    this.committedByPartition = new Map(
      this.countListsByPartition.all().map((row) => [row.partition, row.n]),
    );
    for (const n of this.committedByPartition.values()) this.committedTotal += n;

    this.commitBatch = db.transaction((batch: Batch): Map<number, number> => {
      /** partition → change in its list count, applied to the counts once the batch committed. */
      const moved = new Map<number, number>();
      const move = (partition: number, delta: number): void => {
        moved.set(partition, (moved.get(partition) ?? 0) + delta);
      };
      for (const [key, list] of batch.lists) {
        if (list !== null && list.state === undefined) {
          // Deltas for a list already held: a new digest and the rows; its count does not change.
          if (this.updateHash.run(list.hash, key).changes !== 1)
            throw new Error(`append to a list the store does not hold (${key})`);
          for (const delta of list.deltas) this.insertDelta.run(key, delta);
          continue;
        }
        const before = this.selectHead.get(key);
        if (before !== undefined) move(before.partition, -1);
        if (list === null || list.state !== undefined) this.deleteDeltas.run(key);
        if (list === null) {
          this.deleteHead.run(key);
          this.deleteSnapshot.run(key);
          continue;
        }
        this.upsertHead.run(key, list.partition, list.hash);
        if (list.state !== undefined) this.upsertSnapshot.run(key, list.state);
        for (const delta of list.deltas) this.insertDelta.run(key, delta);
        move(list.partition, +1);
      }
      for (const h of batch.hints.values()) {
        this.insertHint.run(h.id, h.target, h.key, h.partition, h.doc, h.createdMs);
      }
      for (const id of batch.hintDeletes) this.deleteHintById.run(id);
      return moved;
    });
  }

  get(key: string): StoredList | undefined {
    const pending = this.pending.lists.get(key);
    if (pending === null) return undefined;
    if (pending?.state !== undefined)
      return {
        key,
        partition: pending.partition,
        state: pending.state,
        deltas: [...pending.deltas],
        hash: pending.hash,
      };
    const head = this.selectHead.get(key);
    const snapshot = this.selectSnapshot.get(key);
    if (head === undefined || snapshot === undefined) return undefined;
    const deltas = this.selectDeltas.all(key).map((row) => bytes(row.delta));
    if (pending !== undefined) deltas.push(...pending.deltas);
    return {
      key,
      partition: head.partition,
      state: bytes(snapshot.state),
      deltas,
      hash: pending?.hash ?? bytes(head.hash),
    };
  }

  head(key: string): ListHead | undefined {
    const pending = this.pending.lists.get(key);
    if (pending === null) return undefined;
    if (pending !== undefined) return { key, partition: pending.partition, hash: pending.hash };
    const row = this.selectHead.get(key);
    return row === undefined ? undefined : { key, partition: row.partition, hash: bytes(row.hash) };
  }

  put(list: Omit<StoredList, 'deltas'>): Promise<void> {
    this.assertOpen();
    this.pending.lists.set(list.key, {
      partition: list.partition,
      hash: new Uint8Array(list.hash),
      state: new Uint8Array(list.state),
      deltas: [],
    });
    return this.enqueue();
  }

  append({ key, partition, delta, hash }: StoredDelta): Promise<void> {
    this.assertOpen();
    let pending = this.pending.lists.get(key);
    if (pending === undefined) {
      // No read here: the commit checks that the list is held (its UPDATE of the head finds it).
      pending = { partition, hash, state: undefined, deltas: [] };
      this.pending.lists.set(key, pending);
    }
    assert(pending !== null, 'append to a list deleted in this batch');
    pending.deltas.push(new Uint8Array(delta));
    pending.hash = new Uint8Array(hash);
    return this.enqueue();
  }

  delete(key: string): Promise<void> {
    this.assertOpen();
    this.pending.lists.set(key, null);
    return this.enqueue();
  }

  partitionEntries(partition: number): { key: string; hash: Uint8Array }[] {
    const pending = this.pending.lists;
    const entries = this.selectPartitionEntries
      .all(partition)
      .filter((row) => !pending.has(row.key))
      .map((row) => ({ key: row.key, hash: bytes(row.hash) }));
    let added = false;
    for (const [key, list] of pending) {
      if (list !== null && list.partition === partition) {
        entries.push({ key, hash: list.hash });
        added = true;
      }
    }
    return added ? entries.sort(compareKeys) : entries;
  }

  count(): number {
    let n = this.committedTotal;
    for (const [key, list] of this.pending.lists) {
      n += (list === null ? 0 : 1) - (this.selectHead.get(key) === undefined ? 0 : 1);
    }
    return n;
  }

  countByPartition(): Map<number, number> {
    const counts = new Map(this.committedByPartition);
    for (const [key, list] of this.pending.lists) {
      const committed = this.selectHead.get(key);
      if (committed !== undefined) addCount(counts, committed.partition, -1);
      if (list !== null) addCount(counts, list.partition, +1);
    }
    return counts;
  }

  addHint(hint: Omit<StoredHint, 'id'>): Promise<number> {
    this.assertOpen();
    const id = this.nextHintId++;
    this.pending.hints.set(id, { ...hint, id, doc: new Uint8Array(hint.doc) });
    return this.enqueue().then(() => id);
  }

  hintsFor(target: string, max: number): StoredHint[] {
    if (max <= 0) return [];
    const { hints: added, hintDeletes } = this.pending;
    const hints: StoredHint[] = this.selectHints
      .all(target, max + hintDeletes.size)
      .filter((row) => !hintDeletes.has(row.id))
      .map((row) => ({
        id: row.id,
        target: row.target,
        key: row.key,
        partition: row.partition,
        doc: bytes(row.doc),
        createdMs: row.created_ms,
      }));
    // Pending hints have ids above every committed one, so they come after, in id order.
    for (const hint of added.values()) {
      if (hints.length >= max) break;
      if (hint.target === target) hints.push({ ...hint });
    }
    return hints.slice(0, max);
  }

  deleteHint(id: number): Promise<void> {
    this.assertOpen();
    // A hint added in this batch is simply never written; a committed one is deleted at the flush.
    if (!this.pending.hints.delete(id)) this.pending.hintDeletes.add(id);
    return this.enqueue();
  }

  hintCount(): number {
    let n = (this.countHints.get()?.n ?? 0) + this.pending.hints.size;
    for (const id of this.pending.hintDeletes) if (this.hintExists.get(id) !== undefined) n -= 1;
    return n;
  }

  /**
   * Commits every pending write in one transaction now, then settles their promises: all resolve,
   * or, if the transaction fails, all reject with its error and the writes are forgotten.
   */
  flush(): void {
    this.cancelScheduledFlush?.();
    this.cancelScheduledFlush = undefined;
    const batch = this.pending;
    if (batch.waiters.length === 0) return;
    this.pending = emptyBatch();
    const startMs = performance.now();
    let moved: Map<number, number>;
    try {
      if (this.syncFailure !== undefined) throw this.syncFailure;
      moved = this.commitBatch(batch); // better-sqlite3 rolls the transaction back if it throws
    } catch (error) {
      this.counters.failedBatches += 1;
      for (const waiter of batch.waiters) waiter.reject(error);
      return;
    }
    for (const [partition, delta] of moved) {
      addCount(this.committedByPartition, partition, delta);
      this.committedTotal += delta;
    }
    this.counters.batches += 1;
    this.counters.writes += batch.waiters.length;
    this.unsynced.push(...batch.waiters);
    this.unsyncedBatches.push({ writes: batch.waiters.length, startMs });
    this.sync();
  }

  /**
   * Committed batches, the writes they held, batches that failed (mean batch = writes ÷ batches),
   * and the fdatasyncs that acknowledged them (several batches may share one).
   */
  stats(): { batches: number; writes: number; failedBatches: number; syncs: number } {
    return { ...this.counters };
  }

  /** Starts an fdatasync of the WAL for every commit not yet synced, unless one is running. */
  private sync(): void {
    if (this.syncing !== undefined || this.unsynced.length === 0) return;
    const group = this.unsynced;
    const batches = this.unsyncedBatches;
    this.unsynced = [];
    this.unsyncedBatches = [];
    this.syncing = group;
    this.syncingBatches = batches;
    fdatasync(this.walFd, (error) => {
      this.syncing = undefined;
      this.syncingBatches = [];
      if (this.closed) {
        // close() synced and settled everything, this group too; the descriptor is ours to close.
        closeSync(this.walFd);
        return;
      }
      this.settleSynced(group, error, batches);
      this.sync();
    });
  }

  private settleSynced(group: Waiter[], error: Error | null, batches: readonly CommittedBatch[]): void {
    this.counters.syncs += 1;
    if (error === null) {
      const now = performance.now();
      for (const b of batches) this.onDurable?.({ writes: b.writes, ms: now - b.startMs });
      for (const waiter of group) waiter.resolve();
      return;
    }
    this.syncFailure = new Error(
      `fsync of the list store's write-ahead log failed (${error.message}); this node accepts no ` +
        'more writes: restart it (the writes it did not acknowledge are the cloud’s to repair)',
      { cause: error },
    );
    for (const waiter of [...group, ...this.unsynced.splice(0)]) waiter.reject(this.syncFailure);
  }

  /** The output of PRAGMA integrity_check: 'ok' when the file is sound. */
  integrityCheck(): string {
    return integrityReport(this.db);
  }

  /** Settings in force, for logs and tests. */
  info(): { path: string; journalMode: string; synchronous: number; schemaVersion: number } {
    return {
      path: this.db.name,
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      schemaVersion: Number(this.db.pragma('user_version', { simple: true })),
    };
  }

  /** Commits what is pending (settling its promises), then closes the database. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    // Sync here whatever is committed, including what a running fdatasync covers: it settles now.
    const running = this.syncing;
    const waiting = [...(running ?? []), ...this.unsynced.splice(0)];
    const batches = [...this.syncingBatches, ...this.unsyncedBatches.splice(0)];
    let error: Error | null = null;
    try {
      fdatasyncSync(this.walFd);
    } catch (e) {
      error = e as Error;
    }
    this.settleSynced(waiting, error, batches);
    this.closed = true;
    if (running === undefined) closeSync(this.walFd);
    this.db.close();
  }

  private enqueue(): Promise<void> {
    const batch = this.pending;
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.waiters.length >= this.batchMax) this.flush();
    else if (batch.waiters.length === 1) this.scheduleFlush();
    return done;
  }

  private scheduleFlush(): void {
    if (this.groupCommitDelayMs > 0) {
      const timer = setTimeout(() => this.flush(), this.groupCommitDelayMs);
      this.cancelScheduledFlush = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(() => this.flush());
      this.cancelScheduledFlush = () => clearImmediate(immediate);
    }
  }

  private assertOpen(): void {
    assert(!this.closed, 'SqliteListStore written after close()');
  }
}
