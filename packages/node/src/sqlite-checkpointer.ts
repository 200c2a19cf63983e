// WAL checkpoints of a SQLite database, off the event loop.
//
// In WAL mode a commit appends pages to the -wal file; a checkpoint copies them back into the
// database file and syncs it, so that the WAL can be reused. SQLite runs one itself inside the
// commit that takes the WAL past 1,000 pages (wal_autocheckpoint): measured here, every ~320
// single-row commits one commit takes 7–10 ms instead of 0.03 ms, and a storage node's event loop
// (its live updates, every request) stands still meanwhile. SQLite's documentation offers the way
// out: turn automatic checkpoints off and run them "in a separate thread or process". So this
// runs them on a worker thread with its own connection to the file: PASSIVE checkpoints, which
// never wait for the writer (the node's connection commits on while one runs) and never block it.
//
// The node's connection keeps an automatic checkpoint only as a backstop, at `backstopPages`
// (should the worker fall far behind, or fail, the WAL still stops growing there).
//
// Durability does not change. A checkpoint syncs the WAL before copying and the database after
// (synchronous=FULL on this connection), and SQLite reuses the WAL only after a checkpoint that
// copied all of it; a worker killed mid-checkpoint is a crash, which WAL mode recovers from.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** The worker, as CommonJS source (runs the same from TypeScript sources and from dist). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true, timeout: 0 });
db.pragma('synchronous = FULL');
const closed = new Int32Array(workerData.closed);
parentPort.on('message', (m) => {
  if (m === 'close') {
    try { db.close(); } catch {}
    Atomics.store(closed, 0, 1);
    Atomics.notify(closed, 0);
    parentPort.close();
    return;
  }
  const start = performance.now();
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: row.log, checkpointed: row.checkpointed, ms: performance.now() - start });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e) });
  }
});
`;

interface CheckpointReply {
  ok: boolean;
  log?: number;
  checkpointed?: number;
  ms?: number;
  error?: string;
}

export interface CheckpointerStats {
  /** Checkpoints run on the worker. */
  checkpoints: number;
  /** Checkpoints that failed (the backstop still bounds the WAL). */
  failures: number;
  /** ms the last one took (on the worker, not the event loop). */
  lastMs: number;
}

/** The node connection's automatic checkpoint while a worker does the work (pages, 4 KiB each). */
export const backstopPages = 8_192;

/** Runs PASSIVE checkpoints of `path` on a worker thread, every `everyCommits` commits. */
export class WalCheckpointer {
  private worker: Worker | undefined;
  private closed: Int32Array | undefined;
  private running = false;
  /** The running checkpoint is the catch-up one (see the reply handler). */
  private catchingUp = false;
  private commitsSince = 0;
  private readonly counters: CheckpointerStats = { checkpoints: 0, failures: 0, lastMs: 0 };

  /** Turns the connection's own checkpoints down to the backstop. */
  constructor(
    db: Database.Database,
    private readonly everyCommits: number,
  ) {
    db.pragma(`wal_autocheckpoint = ${backstopPages}`);
    this.path = db.name;
  }

  private readonly path: string;

  /**
   * Tells of a commit; every `everyCommits`, asks the worker for a checkpoint. The worker starts at
   * the first commit (a store only read never starts one), not at the first checkpoint: starting
   * one loads a module into a new isolate, tens of ms of CPU best spent before the store is busy.
   */
  committed(): void {
    this.worker ??= this.start();
    this.commitsSince += 1;
    if (!this.running && this.commitsSince >= this.everyCommits) this.request(false);
  }

  private request(catchUp: boolean): void {
    this.commitsSince = 0;
    this.running = true;
    this.catchingUp = catchUp;
    (this.worker ??= this.start()).postMessage('checkpoint');
  }

  stats(): CheckpointerStats {
    return { ...this.counters };
  }

  /**
   * Closes the worker's connection and waits for it (at most `waitMs`), so that when this returns
   * no connection of it holds the file. Idempotent.
   */
  close(waitMs = 2_000): void {
    const worker = this.worker;
    const closed = this.closed;
    this.worker = undefined;
    if (worker === undefined || closed === undefined) return;
    worker.postMessage('close');
    Atomics.wait(closed, 0, 0, waitMs);
  }

  private start(): Worker {
    const shared = new SharedArrayBuffer(4);
    this.closed = new Int32Array(shared);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: this.path,
        closed: shared,
      },
    });
    worker.unref(); // never keeps the process alive
    worker.on('message', (r: CheckpointReply) => {
      this.running = false;
      if (r.ok) {
        this.counters.checkpoints += 1;
        this.counters.lastMs = r.ms ?? 0;
      } else this.counters.failures += 1;
      // SQLite starts the WAL over only at a write that finds it all copied back; a checkpoint
      // that commits overtook left a few frames behind. One more, at once, copies just those
      // (quick, so likely done before the next commit); then the regular rhythm again.
      if (r.ok && !this.catchingUp && this.commitsSince > 0) this.request(true);
    });
    worker.on('error', () => {
      // The worker died (it could not open the file, say): the backstop bounds the WAL; try a new
      // worker at the next checkpoint.
      this.counters.failures += 1;
      this.running = false;
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }
}
