// SqliteClientStore: the ClientStore contract (one handle, and two handles on one file as two
// processes would have), WAL with synchronous=FULL, refusal of bad files, a failed commit that
// changes nothing, and the local-ok promise itself: a client killed with SIGKILL keeps every
// operation it acknowledged, even while another process writes the same lists.

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ListDoc, TrolleyError, decodeList, listView, merge, type ListId } from '@trolley/core';
import { TrolleyClient } from '@trolley/client';
import { ManualClock, SeededRandom, clientStoreContract, newList } from '@trolley/client/testing';
import { CLIENT_STORE_SCHEMA_VERSION, SqliteClientStore } from './sqlite-client-store.ts';
import { SqliteListStore, SqliteStoreError } from './sqlite-list-store.ts';
import { writerOp } from './testing/client-writer.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'trolley-client-store-'));
}

clientStoreContract('SqliteClientStore', () => {
  const dir = tempDir();
  const path = join(dir, 'client.db');
  return Promise.resolve({
    store: SqliteClientStore.open(path),
    reopen: () => Promise.resolve(SqliteClientStore.open(path)),
    openSecond: () => Promise.resolve(SqliteClientStore.open(path)),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});

describe('SqliteClientStore', () => {
  const dirs: string[] = [];
  const stores: SqliteClientStore[] = [];

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempPath(): string {
    const dir = tempDir();
    dirs.push(dir);
    return join(dir, 'client.db');
  }

  function open(path: string): SqliteClientStore {
    const store = SqliteClientStore.open(path);
    stores.push(store);
    return store;
  }

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
      void SqliteClientStore.open(path).close();
    } catch (error) {
      if (error instanceof SqliteStoreError) return error;
      throw error;
    }
    throw new Error(`expected ${path} to be refused`);
  }

  it('opens in WAL mode with synchronous=FULL at the current schema version', () => {
    const store = open(tempPath());
    expect(store.info()).toEqual({
      journalMode: 'wal',
      synchronous: 2,
      schemaVersion: CLIENT_STORE_SCHEMA_VERSION,
    });
    expect(store.integrityCheck()).toBe('ok');
  });

  it('refuses a newer schema, a file that is not a database, a foreign database, and a node’s list store', async () => {
    const newer = tempPath();
    await SqliteClientStore.open(newer).close();
    raw(newer, (db) => db.pragma('user_version = 99'));
    expect(openError(newer)).toMatchObject({ code: 'store_schema_newer' });
    expect(openError(newer).message).toMatch(
      new RegExp(`schema version 99.*up to ${CLIENT_STORE_SCHEMA_VERSION}.*newer Trolley`, 's'),
    );

    const junk = tempPath();
    writeFileSync(junk, 'not a database\n'.repeat(300));
    expect(openError(junk)).toMatchObject({ code: 'store_corrupt' });
    expect(openError(junk).message).toContain('Move the file');

    const foreign = tempPath();
    raw(foreign, (db) => db.exec('CREATE TABLE groceries (name TEXT)'));
    expect(openError(foreign)).toMatchObject({ code: 'store_foreign' });

    const nodeStore = tempPath();
    SqliteListStore.open(nodeStore).close();
    expect(openError(nodeStore)).toMatchObject({ code: 'store_foreign' });
  });

  it('refuses a damaged database, found by PRAGMA integrity_check', async () => {
    const path = tempPath();
    const store = SqliteClientStore.open(path);
    for (let n = 1; n <= 300; n++) await store.commit({ lists: [newList(n, [n])] });
    await store.close();
    let root = 0;
    let pageSize = 0;
    raw(path, (db) => {
      root =
        db
          .prepare<[], { rootpage: number }>(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'sqlite_autoindex_outbox_1'",
          )
          .get()?.rootpage ?? 0;
      pageSize = Number(db.pragma('page_size', { simple: true }));
    });
    expect(root).toBeGreaterThan(1);
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    } finally {
      closeSync(fd);
    }
    expect(openError(path)).toMatchObject({ code: 'store_corrupt' });
  });

  it('a failed commit (a full disk) writes nothing, and the client puts the list back', async () => {
    const path = tempPath();
    const store = open(path);
    const client = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(1) });
    const id = await client.createList('Groceries');
    await client.addItem(id, 'Milk', 2);
    raw(path, (db) =>
      db.exec(`CREATE TRIGGER full BEFORE INSERT ON outbox
               BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END`),
    );
    await expect(client.buy(id, 'milk', 1)).rejects.toThrow('simulated disk full');
    expect(client.item(id, 'milk')).toMatchObject({ wanted: 2, bought: 0 });
    const [stored] = (await store.load()).lists;
    expect(stored?.revision).toBe(2);
    expect(stored?.outbox).toHaveLength(2);
    raw(path, (db) => db.exec('DROP TRIGGER full'));
    await client.buy(id, 'milk', 1);
    await client.close();
    const again = await TrolleyClient.open(open(path), {
      clock: new ManualClock(),
      random: new SeededRandom(2),
    });
    expect(again.item(id, 'milk')).toMatchObject({ wanted: 2, bought: 1 });
    expect(again.outboxSize(id)).toBe(3);
  });

  it('keeps every local-ok operation when the client is killed with SIGKILL, with a second writer alongside', async () => {
    const path = tempPath();
    // The compiled writer (`npm test` builds dist/ first): a plain Node process, as in production.
    const script = fileURLToPath(new URL('../dist/testing/client-writer.js', import.meta.url));
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    const killAfter = 300;
    // The kill comes once the child printed killAfter operations and the second process had at
    // least this many acknowledged alongside it: both events, not a time, decide when.
    const mineBeforeKill = 1;
    const child = spawn(process.execPath, [script, path, '100000'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const printed: string[] = [];
    let partial = '';
    let stderr = '';
    let listIds: [ListId, ListId] | undefined;
    // Against a hang only; should it be what kills the child, the test says so.
    let guardTripped = false;
    const guard = setTimeout(() => {
      guardTripped = true;
      child.kill('SIGKILL');
    }, 240_000);
    const killWhenDone = (): void => {
      if (printed.length >= killAfter && mine.length >= mineBeforeKill) child.kill('SIGKILL');
    };
    const ended = new Promise<string>((resolve) =>
      child.on('close', (code, signal) => resolve(signal ?? `exit ${code}`)),
    );
    // A second process on the same store (this one), adding to list A every few ms while the child
    // writes flat out. A change that loses the race for the store too often is refused having
    // changed nothing (limit_exceeded): counted, not acknowledged.
    const mine: string[] = [];
    let starved = 0;
    let stop = false;
    const second = (async () => {
      const client = await TrolleyClient.open(open(path), {
        clock: new ManualClock(),
        random: new SeededRandom(3),
      });
      while (listIds === undefined && !stop) await new Promise((r) => setTimeout(r, 5));
      if (listIds === undefined) return;
      for (let k = 0; !stop; k++) {
        try {
          await client.addItem(listIds[0], `parent-${k}`, 1);
          mine.push(`parent-${k}`);
          killWhenDone();
        } catch (error) {
          if (!(error instanceof TrolleyError && error.code === 'limit_exceeded')) throw error;
          starved += 1;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    second.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    try {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const [kind, a, b] = line.split(' ');
          if (kind === 'list') listIds = [a as ListId, b as ListId];
          else printed.push(line);
        }
        killWhenDone();
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => (stderr += chunk));
      expect(await ended, stderr).toBe('SIGKILL');
    } finally {
      clearTimeout(guard);
      stop = true;
      await second;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }

    expect(
      guardTripped,
      `hang guard: in 240 s the child printed ${printed.length} operations, the second process had ${mine.length}`,
    ).toBe(false);
    expect(printed).not.toContain('done');
    expect(printed.length).toBeGreaterThanOrEqual(killAfter);
    expect(mine.length).toBeGreaterThanOrEqual(mineBeforeKill);
    const ids = listIds as [ListId, ListId];
    const store = open(path);
    expect(store.integrityCheck()).toBe('ok');
    const client = await TrolleyClient.open(store, { clock: new ManualClock(), random: new SeededRandom(4) });
    const acked = printed.map((line) => Number(line.split(' ')[1]));
    expect(acked).toEqual(acked.map((_, i) => i)); // in order, none skipped
    const lost: string[] = [];
    for (const i of acked) {
      const op = writerOp(i);
      const item = client.item(ids[op.list], op.item);
      if (item === undefined) lost.push(`op ${i}: ${op.item} missing`);
      else if (op.kind === 'add' && item.wanted !== op.n)
        lost.push(`op ${i}: ${op.item} wants ${item.wanted}`);
      else if (op.kind === 'buy' && item.bought < 1) lost.push(`op ${i}: ${op.item} not bought`);
    }
    for (const name of mine) if (client.item(ids[0], name) === undefined) lost.push(`${name} missing`);
    // The operation after the last printed one may have committed too, nothing beyond it.
    const items = client.view(ids[0]).items.length + client.view(ids[1]).items.length;
    const adds = (upTo: number) => acked.concat([upTo]).filter((i) => writerOp(i).kind === 'add').length;
    expect(items - mine.length).toBeGreaterThanOrEqual(adds(acked.length) - 1);
    expect(items - mine.length).toBeLessThanOrEqual(adds(acked.length));
    // Every change is still on its way to the cloud: the outbox deltas alone rebuild each list.
    // Had the two processes handed out one dot twice, this join would differ from the state.
    for (const stored of (await store.load()).lists) {
      const rebuilt = ListDoc.empty();
      for (const e of stored.outbox) {
        const delta = decodeList(e.delta);
        expect(delta.ok).toBe(true);
        if (delta.ok) merge(rebuilt, delta.value);
      }
      expect(listView(rebuilt)).toEqual(client.view(stored.listId));
    }
    console.log(
      `kill -9 after ${printed.length} local-ok operations (and ${mine.length} by a second process, ` +
        `${starved} refused after losing the race): ${lost.length} lost`,
    );
    expect(lost).toEqual([]);
  });
});
