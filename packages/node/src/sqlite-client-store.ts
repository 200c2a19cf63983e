// The device's durable ClientStore (@trolley/client ports.ts) on one SQLite database per user home
// (the CLI's `~/.trolley`), via better-sqlite3. The browser's IndexedDB store will be its sibling.
//
// Why synchronous=FULL: an operation is acknowledged to the person ("local-ok", RELIABILITY.md) when
// its commit returns. WAL mode alone survives a kill -9 at any synchronous level; FULL also fsyncs
// the WAL on every commit, so a power cut or kernel crash cannot take back a change already shown
// as saved. A device makes a change every few seconds at most, so the fsync (a few ms) is not
// worth batching away as the storage node does with group commit: one commit is one transaction.
//
// Each commit runs in a BEGIN IMMEDIATE transaction (the write lock first, so two processes never
// interleave a read and a write), checks every revision it names, and writes all or nothing: a
// stale revision or an existing meta record rolls it back and answers 'conflict'; a malformed
// change is refused before the transaction with the TrolleyError every ClientStore gives. Both
// handles of two processes on one file see each other's commits (WAL readers see the latest
// commit when their read transaction starts); `busy_timeout` makes a writer wait for the other's
// transaction instead of failing.
//
// Schema: PRAGMA user_version is the schema version; MIGRATIONS[i] takes version i to i + 1 inside
// one transaction. A database newer than this code, not a Trolley client store, or failing
// PRAGMA integrity_check is refused with a SqliteStoreError saying what to do.

import type Database from 'better-sqlite3';
import { integrityReport, openSqlite, type SqliteKind } from './sqlite-open.ts';
import type { ListId, OpId, ReplicaId } from '@trolley/core';
import {
  checkClientChange,
  duplicateOpId,
  type ClientChange,
  type ClientSnapshot,
  type ClientStore,
  type CommitOutcome,
  type StoredClientList,
  type SyncMeta,
} from '@trolley/client';

export interface SqliteClientStoreOptions {
  /** How long a commit waits for another process's transaction before SQLITE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
  /** Run PRAGMA integrity_check on open; it reads the whole file, O(size). Default true. */
  integrityCheckOnOpen?: boolean;
}

/** PRAGMA application_id of a client store ('TRLC'), so another database is never mistaken for one. */
const APPLICATION_ID = 0x54524c43;

/** MIGRATIONS[i] takes the schema from version i to i + 1. Append only: never edit a shipped one. */
const MIGRATIONS: readonly string[] = [
  `
  PRAGMA application_id = ${APPLICATION_ID};
  CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    replica_id TEXT NOT NULL
  );
  CREATE TABLE lists (
    list_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    state BLOB NOT NULL,
    in_sync INTEGER NOT NULL,
    replicas INTEGER NOT NULL,
    last_sync_ms INTEGER NOT NULL,
    last_synced_hash BLOB,
    joined_only INTEGER NOT NULL
  );
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id TEXT NOT NULL,
    op_id TEXT NOT NULL,
    delta BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (list_id, op_id)
  );
  `,
  // Writer IDs (core ids.ts): the secret whose hash is the replica ID. NULL in stores made before.
  `ALTER TABLE meta ADD COLUMN writer_secret BLOB;`,
];

/** The schema version this code writes. */
export const CLIENT_STORE_SCHEMA_VERSION = MIGRATIONS.length;

const KIND: SqliteKind = {
  what: 'local Trolley store',
  applicationId: APPLICATION_ID,
  migrations: MIGRATIONS,
  corruptAdvice:
    'Move the file and its -wal and -shm files aside (keep them: changes that never reached the cloud are only there), then start again with an empty home and join your lists again by ID: everything that was cloud-ok comes back from the cloud.',
  foreignAdvice: 'Point --home or TROLLEY_HOME at a folder of its own.',
};

interface ListRow {
  list_id: string;
  revision: number;
  state: Buffer;
  in_sync: number;
  replicas: number;
  last_sync_ms: number;
  last_synced_hash: Buffer | null;
  joined_only: number;
}
interface OutboxRow {
  list_id: string;
  op_id: string;
  delta: Buffer;
  created_ms: number;
}

/** Thrown inside a transaction to roll it back and answer 'conflict'. */
class Conflict extends Error {}

/** A plain copy: better-sqlite3 returns Buffers, the port speaks Uint8Array. */
const bytes = (buffer: Buffer): Uint8Array => new Uint8Array(buffer);

export class SqliteClientStore implements ClientStore {
  /**
   * Opens (creating if needed) the store at `path`, migrating its schema; refuses a bad file. The
   * folder must exist (the CLI creates the home folder).
   */
  static open(path: string, options: SqliteClientStoreOptions = {}): SqliteClientStore {
    const db = openSqlite(path, KIND, options);
    return new SqliteClientStore(db);
  }

  private readonly db: Database.Database;
  private closed = false;
  private readonly loadAll: () => ClientSnapshot;
  private readonly commitChange: Database.Transaction<(change: ClientChange) => void>;

  private constructor(db: Database.Database) {
    this.db = db;
    const selectMeta = db.prepare<[], { replica_id: string; writer_secret: Buffer | null }>(
      'SELECT replica_id, writer_secret FROM meta WHERE id = 1',
    );
    const insertMeta = db.prepare<[string, Uint8Array | null]>(
      'INSERT INTO meta (id, replica_id, writer_secret) VALUES (1, ?, ?)',
    );
    const setWriter = db.prepare<[string, Uint8Array]>(
      'UPDATE meta SET replica_id = ?, writer_secret = ? WHERE id = 1 AND writer_secret IS NULL',
    );
    const selectLists = db.prepare<[], ListRow>('SELECT * FROM lists ORDER BY list_id');
    const selectOutbox = db.prepare<[], OutboxRow>(
      'SELECT list_id, op_id, delta, created_ms FROM outbox ORDER BY seq',
    );
    const selectRevision = db.prepare<[string], { revision: number }>(
      'SELECT revision FROM lists WHERE list_id = ?',
    );
    const insertList = db.prepare<[string, Uint8Array, number, number, number, Uint8Array | null, number]>(
      `INSERT INTO lists (list_id, revision, state, in_sync, replicas, last_sync_ms, last_synced_hash, joined_only)
       VALUES (?, 1, ?, ?, ?, ?, ?, ?)`,
    );
    const bumpRevision = db.prepare<[string]>('UPDATE lists SET revision = revision + 1 WHERE list_id = ?');
    const updateState = db.prepare<[Uint8Array, string]>('UPDATE lists SET state = ? WHERE list_id = ?');
    const updateSync = db.prepare<[number, number, number, Uint8Array | null, number, string]>(
      `UPDATE lists SET in_sync = ?, replicas = ?, last_sync_ms = ?, last_synced_hash = ?, joined_only = ?
       WHERE list_id = ?`,
    );
    const deleteList = db.prepare<[string]>('DELETE FROM lists WHERE list_id = ?');
    const deleteOutbox = db.prepare<[string]>('DELETE FROM outbox WHERE list_id = ?');
    const deleteEntry = db.prepare<[string, string]>('DELETE FROM outbox WHERE list_id = ? AND op_id = ?');
    const entryExists = db.prepare<[string, string], { seq: number }>(
      'SELECT seq FROM outbox WHERE list_id = ? AND op_id = ?',
    );
    const insertEntry = db.prepare<[string, string, Uint8Array, number]>(
      'INSERT INTO outbox (list_id, op_id, delta, created_ms) VALUES (?, ?, ?, ?)',
    );

    // A read transaction: the lists and the outboxes of one moment, even with a writer next door.
    this.loadAll = db.transaction((): ClientSnapshot => {
      const meta = selectMeta.get();
      const lists = new Map<string, StoredClientList>();
      for (const row of selectLists.all()) {
        const sync: SyncMeta = {
          inSync: row.in_sync,
          replicas: row.replicas,
          lastSyncMs: row.last_sync_ms,
          ...(row.last_synced_hash === null ? {} : { lastSyncedHash: bytes(row.last_synced_hash) }),
          ...(row.joined_only === 1 ? { joinedOnly: true } : {}),
        };
        lists.set(row.list_id, {
          listId: row.list_id as ListId,
          revision: row.revision,
          state: bytes(row.state),
          outbox: [],
          sync,
        });
      }
      for (const row of selectOutbox.all()) {
        lists.get(row.list_id)?.outbox.push({
          opId: row.op_id as OpId,
          delta: bytes(row.delta),
          createdMs: row.created_ms,
        });
      }
      return {
        meta:
          meta === undefined
            ? undefined
            : {
                replicaId: meta.replica_id as ReplicaId,
                ...(meta.writer_secret === null ? {} : { writerSecret: bytes(meta.writer_secret) }),
              },
        lists: [...lists.values()],
      };
    });

    const writeSync = (listId: string, s: SyncMeta): void => {
      updateSync.run(
        s.inSync,
        s.replicas,
        s.lastSyncMs,
        s.lastSyncedHash ?? null,
        s.joinedOnly ? 1 : 0,
        listId,
      );
    };

    this.commitChange = db.transaction((change: ClientChange): void => {
      if (change.meta !== undefined) {
        if (selectMeta.get() !== undefined) throw new Conflict();
        insertMeta.run(change.meta.replicaId, change.meta.writerSecret ?? null);
      }
      if (change.writer !== undefined) {
        if (setWriter.run(change.writer.replicaId, change.writer.writerSecret).changes !== 1)
          throw new Conflict();
      }
      const lists = change.lists ?? [];
      for (const lc of lists) {
        const revision = selectRevision.get(lc.listId)?.revision;
        if (revision !== lc.expectedRevision) throw new Conflict();
      }
      for (const lc of lists) {
        if (lc.forget === true) {
          deleteOutbox.run(lc.listId);
          deleteList.run(lc.listId);
          continue;
        }
        if (lc.expectedRevision === undefined) {
          // checkClientChange made sure a new list comes with a state and sync metadata.
          const s = lc.sync as SyncMeta;
          insertList.run(
            lc.listId,
            lc.state as Uint8Array,
            s.inSync,
            s.replicas,
            s.lastSyncMs,
            s.lastSyncedHash ?? null,
            s.joinedOnly ? 1 : 0,
          );
        } else {
          bumpRevision.run(lc.listId);
          if (lc.state !== undefined) updateState.run(lc.state, lc.listId);
          if (lc.sync !== undefined) writeSync(lc.listId, lc.sync);
        }
        for (const opId of lc.removeOpIds ?? []) deleteEntry.run(lc.listId, opId);
        for (const e of lc.append ?? []) {
          if (entryExists.get(lc.listId, e.opId) !== undefined) throw duplicateOpId(lc.listId, e.opId);
          insertEntry.run(lc.listId, e.opId, e.delta, e.createdMs);
        }
      }
    });
  }

  load(): Promise<ClientSnapshot> {
    if (this.closed) return Promise.reject(new Error('SqliteClientStore used after close()'));
    return Promise.resolve(this.loadAll());
  }

  commit(change: ClientChange): Promise<CommitOutcome> {
    if (this.closed) return Promise.reject(new Error('SqliteClientStore used after close()'));
    try {
      checkClientChange(change);
      // better-sqlite3 rolls the transaction back when its function throws; better-sqlite3 binds
      // the bytes at once, so the caller may reuse its arrays as soon as this returns.
      this.commitChange.immediate(change);
      return Promise.resolve('committed');
    } catch (error) {
      if (error instanceof Conflict) return Promise.resolve('conflict');
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** PRAGMA integrity_check's report: 'ok', or what is wrong. */
  integrityCheck(): string {
    return integrityReport(this.db);
  }

  /** What the connection runs with, for tests and `trolley status`. */
  info(): { journalMode: string; synchronous: number; schemaVersion: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      schemaVersion: Number(this.db.pragma('user_version', { simple: true })),
    };
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.db.close();
    }
    return Promise.resolve();
  }
}
