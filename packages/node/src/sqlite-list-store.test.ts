// SqliteListStore: the ListStore contract, group commit (one transaction per batch, bounded,
// all-or-nothing on failure), refusal of bad files (corrupt, foreign, newer schema), and the
// durability promise itself: a writer killed with SIGKILL keeps every write it acknowledged.

import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { listStoreContract, sampleList } from '@trolley/cloud/testing';
import { LIST_STORE_SCHEMA_VERSION, SqliteListStore, SqliteStoreError } from './sqlite-list-store.ts';
import type { SqliteListStoreOptions } from './sqlite-list-store.ts';
import { writerList } from './testing/store-writer.ts';

function contractSubject(options: SqliteListStoreOptions) {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'trolley-store-'));
    const path = join(dir, 'node.db');
    const store = SqliteListStore.open(path, options);
    return Promise.resolve({
      store,
      reopen: () => Promise.resolve(SqliteListStore.open(path, options)),
      cleanup: () => {
        store.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  };
}

listStoreContract('SqliteListStore', contractSubject({}));
listStoreContract(
  'SqliteListStore (batchMax 7, groupCommitDelayMs 2)',
  contractSubject({ batchMax: 7, groupCommitDelayMs: 2 }),
);

describe('SqliteListStore', () => {
  const dirs: string[] = [];
  const stores: SqliteListStore[] = [];

  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'trolley-store-'));
    dirs.push(dir);
    return join(dir, 'node.db');
  }

  function open(path: string, options: SqliteListStoreOptions = {}): SqliteListStore {
    const store = SqliteListStore.open(path, options);
    stores.push(store);
    return store;
  }

  /** A second, plain connection to the same file, as an operator (or a fault) would use. */
  function raw(path: string, action: (db: Database.Database) => void): void {
    const db = new Database(path);
    try {
      action(db);
    } finally {
      db.close();
    }
  }

  function openError(path: string): SqliteStoreError {
    try {
      SqliteListStore.open(path).close();
    } catch (error) {
      if (error instanceof SqliteStoreError) return error;
      throw error;
    }
    throw new Error(`expected ${path} to be refused`);
  }

  it('opens in WAL mode at synchronous=NORMAL (the store makes FULL’s commit fsync itself) at the current schema version', () => {
    const store = open(tempPath());
    expect(store.info()).toMatchObject({
      journalMode: 'wal',
      synchronous: 1,
      schemaVersion: LIST_STORE_SCHEMA_VERSION,
    });
    expect(store.integrityCheck()).toBe('ok');
  });

  it('acknowledges a write only after an fdatasync of the WAL that began after its commit; one fsync serves every commit before it', async () => {
    const path = tempPath();
    const store = open(path);
    let acked = 0;
    const first = store.put(sampleList('a', 1)).then(() => acked++);
    store.flush();
    // Committed (another connection reads it) but not acknowledged: its fsync runs on the thread pool.
    raw(path, (db) =>
      expect(db.prepare("SELECT count(*) AS n FROM heads WHERE key = 'a'").get()).toEqual({ n: 1 }),
    );
    await Promise.resolve();
    expect(acked).toBe(0);
    // Two more commits while that fsync runs: the next fsync acknowledges both.
    const later = [
      store.put(sampleList('b', 1)),
      store.append({ key: 'a', partition: 1, delta: new Uint8Array([7]), hash: new Uint8Array(16) }),
    ];
    store.flush();
    const last = store.put(sampleList('c', 1));
    store.flush();
    await Promise.all([first, ...later, last]);
    expect(acked).toBe(1);
    const stats = store.stats();
    expect(stats).toMatchObject({ batches: 3, writes: 4, failedBatches: 0 });
    expect(stats.syncs).toBeGreaterThanOrEqual(1);
    expect(stats.syncs).toBeLessThanOrEqual(2);
  });

  it('an append to a list it does not hold fails its batch (no read was made to check it)', async () => {
    const store = open(tempPath());
    await store.put(sampleList('held', 1));
    const batch = [
      store.append({ key: 'held', partition: 1, delta: new Uint8Array([1]), hash: new Uint8Array(16) }),
      store.append({ key: 'ghost', partition: 1, delta: new Uint8Array([2]), hash: new Uint8Array(16) }),
    ];
    for (const p of batch) await expect(p).rejects.toThrow(/does not hold/);
    expect(store.get('held')?.deltas).toEqual([]);
    expect(store.get('ghost')).toBeUndefined();
    expect(store.stats().failedBatches).toBe(1);
  });

  it('after a failed fsync acknowledges nothing it covered and refuses every later write, saying to restart', async () => {
    const store = open(tempPath());
    await store.put(sampleList('before', 1));
    // Take the WAL descriptor away: the next fdatasync fails (EBADF), as a failing disk's would (EIO).
    closeSync((store as unknown as { walFd: number }).walFd);
    await expect(store.put(sampleList('lost', 1))).rejects.toThrow(/fsync .* failed.*restart/s);
    await expect(store.put(sampleList('after', 1))).rejects.toThrow(/restart/);
    expect(store.stats().failedBatches).toBe(1);
    (store as unknown as { walFd: number }).walFd = openSync(`${store.info().path}-wal`, 'r');
  });

  it('commits the writes of one event-loop turn in one transaction; the last put of a key wins', async () => {
    const path = tempPath();
    const store = open(path);
    const writes = Array.from({ length: 100 }, (_, i) => store.put(sampleList(`k${i}`, i % 4)));
    for (let v = 1; v <= 10; v++) writes.push(store.put(sampleList('hot', 1, v)));
    await Promise.all(writes);
    expect(store.stats()).toMatchObject({ batches: 1, writes: 110, failedBatches: 0 });
    raw(path, (db) => {
      expect(db.prepare('SELECT count(*) AS n FROM heads').get()).toEqual({ n: 101 });
      const hot = db.prepare<[], { state: Buffer }>("SELECT state FROM snapshots WHERE key = 'hot'").get();
      expect([...(hot?.state ?? [])]).toEqual([...sampleList('hot', 1, 10).state]);
    });
  });

  it('commits a batch at once when it reaches batchMax', async () => {
    const store = open(tempPath(), { batchMax: 10 });
    const writes = Array.from({ length: 25 }, (_, i) => store.put(sampleList(`k${i}`, 0)));
    expect(store.stats().batches).toBe(2); // 2 × 10 already committed, synchronously
    await Promise.all(writes);
    expect(store.stats()).toMatchObject({ batches: 3, writes: 25, failedBatches: 0 });
  });

  it('a failed commit rejects its whole batch, hides its writes, and the next batch commits', async () => {
    const path = tempPath();
    const store = open(path);
    await store.put(sampleList('k', 1, 1));
    const hintId = await store.addHint({
      target: 'n1',
      key: 'k',
      partition: 1,
      doc: new Uint8Array(3),
      createdMs: 5,
    });
    // A trigger makes any transaction that writes 'poison' fail, as SQLITE_FULL would.
    raw(path, (db) =>
      db.exec(`CREATE TRIGGER poison BEFORE INSERT ON heads WHEN NEW.key = 'poison'
               BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END`),
    );
    const batch: Promise<unknown>[] = [
      store.put(sampleList('k', 2, 2)),
      store.put(sampleList('new', 1)),
      store.delete('k'),
      store.put(sampleList('k', 3, 3)),
      store.addHint({ target: 'n1', key: 'new', partition: 1, doc: new Uint8Array(3), createdMs: 6 }),
      store.deleteHint(hintId),
      store.put(sampleList('poison', 1)),
    ];
    expect(store.count()).toBe(3);
    const outcomes = await Promise.allSettled(batch);
    expect(outcomes.map((o) => o.status)).toEqual(Array(batch.length).fill('rejected'));
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(String(o.reason)).toContain('simulated disk full');
    }
    // Reads show the committed state again, none of the failed writes.
    expect([...(store.get('k')?.state ?? [])]).toEqual([...sampleList('k', 1, 1).state]);
    expect(store.get('new')).toBeUndefined();
    expect(store.count()).toBe(1);
    expect(store.countByPartition()).toEqual(new Map([[1, 1]]));
    expect(store.hintsFor('n1', 10).map((h) => h.id)).toEqual([hintId]);
    expect(store.stats()).toMatchObject({ batches: 2, failedBatches: 1 });

    raw(path, (db) => db.exec('DROP TRIGGER poison'));
    await Promise.all([store.put(sampleList('new', 1)), store.put(sampleList('poison', 1))]);
    expect(store.count()).toBe(3);
    expect(store.integrityCheck()).toBe('ok');
  });

  it('keeps its per-partition counts in memory, equal to the file after every batch and a reopen', async () => {
    const path = tempPath();
    const store = open(path);
    const fromFile = (): Map<number, number> => {
      let counts = new Map<number, number>();
      raw(path, (db) => {
        const rows = db.prepare('SELECT partition, count(*) AS n FROM heads GROUP BY partition').all() as {
          partition: number;
          n: number;
        }[];
        counts = new Map(rows.map((r) => [r.partition, r.n]));
      });
      return counts;
    };
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let batch = 0; batch < 30; batch++) {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const key = `k${next(60)}`;
        // Deletes, fresh keys, overwrites, and keys moving to another partition (a ring change).
        writes.push(next(4) === 0 ? store.delete(key) : store.put(sampleList(key, next(8), batch)));
      }
      await Promise.all(writes);
      const file = fromFile();
      expect(store.countByPartition()).toEqual(file);
      expect(store.count()).toBe([...file.values()].reduce((a, b) => a + b, 0));
    }
    const before = store.countByPartition();
    store.close();
    expect(open(path).countByPartition()).toEqual(before);
  });

  it('refuses a database written by a newer schema, with a clear message', () => {
    const path = tempPath();
    SqliteListStore.open(path).close();
    raw(path, (db) => db.pragma('user_version = 99'));
    const error = openError(path);
    expect(error.code).toBe('store_schema_newer');
    expect(error.message).toMatch(
      new RegExp(`schema version 99.*up to ${LIST_STORE_SCHEMA_VERSION}.*newer Trolley`, 's'),
    );
  });

  it('opens a version 1 store (whole states, no deltas) and keeps every list', async () => {
    const path = tempPath();
    raw(path, (db) => {
      db.exec(`PRAGMA application_id = ${0x54524c53};
        CREATE TABLE lists (key TEXT PRIMARY KEY, partition INTEGER NOT NULL, state BLOB NOT NULL, hash BLOB NOT NULL);
        CREATE INDEX lists_by_partition ON lists (partition, key);
        CREATE TABLE hints (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, key TEXT NOT NULL,
          partition INTEGER NOT NULL, doc BLOB NOT NULL, created_ms INTEGER NOT NULL);
        CREATE INDEX hints_by_target ON hints (target, id);
        PRAGMA user_version = 1;`);
      const insert = db.prepare('INSERT INTO lists (key, partition, state, hash) VALUES (?, ?, ?, ?)');
      for (const k of ['a', 'b']) {
        const list = sampleList(k, 3);
        insert.run(list.key, list.partition, list.state, list.hash);
      }
    });
    const store = open(path);
    expect(store.info().schemaVersion).toBe(LIST_STORE_SCHEMA_VERSION);
    for (const k of ['a', 'b']) {
      const got = store.get(k);
      expect(got && { ...got, state: [...got.state], hash: [...got.hash] }).toEqual({
        ...sampleList(k, 3),
        state: [...sampleList(k, 3).state],
        hash: [...sampleList(k, 3).hash],
      });
    }
    expect(store.countByPartition()).toEqual(new Map([[3, 2]]));
    await store.append({ key: 'a', partition: 3, delta: new Uint8Array([1, 2]), hash: new Uint8Array(16) });
    expect(store.get('a')?.deltas.map((d) => [...d])).toEqual([[1, 2]]);
  });

  it('refuses a file that is not a SQLite database as corrupt', () => {
    const path = tempPath();
    writeFileSync(path, 'this is a shopping list, not a database\n'.repeat(200));
    const error = openError(path);
    expect(error.code).toBe('store_corrupt');
    expect(error.message).toContain('move the file');
  });

  it('refuses a damaged database, found by PRAGMA integrity_check', async () => {
    const path = tempPath();
    const store = SqliteListStore.open(path);
    await Promise.all(Array.from({ length: 3_000 }, (_, i) => store.put(sampleList(`list-${i}`, i % 16))));
    expect(store.integrityCheck()).toBe('ok');
    store.close(); // checkpoints the WAL into the main file
    // Scribble over the root page of the partition index, as a bad disk sector would.
    let root = 0;
    let pageSize = 0;
    raw(path, (db) => {
      const row = db
        .prepare<[], { rootpage: number }>(
          "SELECT rootpage FROM sqlite_schema WHERE name = 'heads_by_partition'",
        )
        .get();
      root = row?.rootpage ?? 0;
      pageSize = Number(db.pragma('page_size', { simple: true }));
    });
    expect(root).toBeGreaterThan(1);
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    } finally {
      closeSync(fd);
    }
    const error = openError(path);
    expect(error.code).toBe('store_corrupt');
    expect(error.message).toContain('anti-entropy');
  });

  it('refuses a SQLite database that is not a list store', () => {
    const path = tempPath();
    raw(path, (db) => db.exec('CREATE TABLE groceries (name TEXT)'));
    expect(openError(path).code).toBe('store_foreign');
  });

  it('keeps every acknowledged write when the writing process is killed with SIGKILL', async () => {
    const path = tempPath();
    // The compiled writer (`npm test` builds dist/ first): a plain Node process, as in production.
    const script = fileURLToPath(new URL('../dist/testing/store-writer.js', import.meta.url));
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    const killAfter = 1_500;
    const child = spawn(process.execPath, [script, path, '200000', '16'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: string[] = [];
    let partial = '';
    let stderr = '';
    // Against a hang only: the kill that counts is the one after killAfter acknowledgements, however
    // long the writer takes to reach them. Should the guard kill it, the test says so.
    let guardTripped = false;
    const guard = setTimeout(() => {
      guardTripped = true;
      child.kill('SIGKILL');
    }, 240_000);
    try {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        acked.push(...lines);
        if (acked.length >= killAfter) child.kill('SIGKILL');
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => (stderr += chunk));
      const ended = await new Promise<string>((resolve) =>
        child.on('close', (code, signal) => resolve(signal ?? `exit ${code}`)),
      );
      expect(ended, stderr).toBe('SIGKILL');
    } finally {
      clearTimeout(guard);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }

    expect(guardTripped, `hang guard: the writer acknowledged only ${acked.length} writes in 240 s`).toBe(
      false,
    );
    expect(acked).not.toContain('done');
    expect(acked.length).toBeGreaterThanOrEqual(killAfter);
    const store = open(path);
    expect(store.integrityCheck()).toBe('ok');
    const lost = acked.filter((key) => {
      const got = store.get(key);
      return got === undefined || Buffer.compare(got.state, writerList(key).state) !== 0;
    });
    console.log(
      `kill -9 after ${acked.length} acknowledged writes: ${lost.length} lost, ${store.count()} lists in the store`,
    );
    expect(lost).toEqual([]);
  });
});
