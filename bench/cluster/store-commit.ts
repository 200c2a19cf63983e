// Storage-node commit benchmark (`npm run store -w bench`): what group commit buys under
// synchronous=FULL (RELIABILITY.md: FULL makes a single-row commit ~13× slower than NORMAL).
//
// Three ways to upsert lists, in one process, on one machine, with the same settings: one SQLite
// file in WAL mode with synchronous=FULL, the storage node's schema (created by SqliteListStore),
// 200-byte states with 16-byte hashes, scattered random keys from a seeded generator:
//   raw full   — better-sqlite3, one row per transaction (one fsync per write): the baseline;
//   raw batch  — better-sqlite3, 1000 rows per transaction: the ceiling, with no waiting writers;
//   group      — SqliteListStore with 64 concurrent writers, each awaiting its put before the next:
//                writes acknowledged per second, and the mean batch (writes per commit).
// After a short uncounted warm-up, each mode runs for 2 s on a fresh database, 3 times, modes
// interleaved; figures are medians, and the table shows the spread.
// Output: a table, then one JSON line (the last stdout line). Progress goes to stderr.
// Set STORE_BENCH_DIR to run somewhere other than os.tmpdir() (which must not be a tmpfs, where
// fsync is free and the comparison means nothing).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteListStore } from '@trolley/node';
import { rng } from '../common.ts';

export interface StoreCommitOptions {
  /** How long each run writes. Default 2000. */
  durationMs?: number;
  /** Runs per mode; the median is reported. Default 3. */
  repeats?: number;
  /** Concurrent writers against SqliteListStore. Default 64. */
  writers?: number;
  /** Rows per transaction in the raw batch mode. Default 1000. */
  batchRows?: number;
  /** Where the database files go. Default STORE_BENCH_DIR or os.tmpdir(). */
  dir?: string;
  seed?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface StoreCommitFigures {
  bench: 'store';
  rawFullPerSec: number;
  rawBatchPerSec: number;
  groupCommitPerSec: number;
  ratioGroupVsRawFull: number;
  /** Writes per commit under group commit. */
  groupCommitMeanBatch: number;
  /** Every run's writes/s per mode, in run order: fsync latency on a shared disk varies a lot. */
  runsPerSec: { rawFull: number[]; rawBatch: number[]; group: number[] };
}

const STATE_BYTES = 200;
const PARTITIONS = 64;

interface Row {
  key: string;
  partition: number;
  state: Uint8Array;
  hash: Uint8Array;
}

/**
 * Rows with random UUID-shaped keys (scattered across the key index) and random bytes, from a
 * seeded mulberry32: the same stream for every mode.
 */
function rowSource(seed: number): () => Row {
  const next = rng(seed);
  const fill = (n: number): Uint8Array => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const word = next();
      for (let j = 0; j < 4 && i + j < n; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return bytes;
  };
  return () => {
    const id = Buffer.from(fill(16)).toString('hex');
    const key = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    return { key, partition: next() % PARTITIONS, state: fill(STATE_BYTES), hash: fill(16) };
  };
}

interface Run {
  perSec: number;
  meanBatch: number;
}

/** A fresh database with the storage node's schema; removed after `body`. */
async function withDatabase<T>(dir: string, body: (path: string) => Promise<T> | T): Promise<T> {
  const folder = mkdtempSync(join(dir, 'trolley-store-bench-'));
  try {
    const path = join(folder, 'node.db');
    SqliteListStore.open(path).close();
    return await body(path);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function rawRun(path: string, durationMs: number, rowsPerTransaction: number, seed: number): Run {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // A table of its own, shaped as a list row was before the store kept deltas (one row a write).
    db.exec(`CREATE TABLE IF NOT EXISTS raw_lists (
      key TEXT PRIMARY KEY, partition INTEGER NOT NULL, state BLOB NOT NULL, hash BLOB NOT NULL)`);
    const upsert = db.prepare<[string, number, Uint8Array, Uint8Array]>(
      `INSERT INTO raw_lists (key, partition, state, hash) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET partition = excluded.partition, state = excluded.state, hash = excluded.hash`,
    );
    const next = rowSource(seed);
    const batch = db.transaction((rows: Row[]) => {
      for (const r of rows) upsert.run(r.key, r.partition, r.state, r.hash);
    });
    let written = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      if (rowsPerTransaction === 1) {
        const r = next();
        upsert.run(r.key, r.partition, r.state, r.hash); // autocommit: one transaction, one fsync
      } else {
        batch(Array.from({ length: rowsPerTransaction }, next));
      }
      written += rowsPerTransaction;
      now = performance.now();
    }
    return { perSec: (written * 1000) / (now - start), meanBatch: rowsPerTransaction };
  } finally {
    db.close();
  }
}

async function groupRun(path: string, durationMs: number, writers: number, seed: number): Promise<Run> {
  const store = SqliteListStore.open(path);
  try {
    const next = rowSource(seed);
    let acked = 0;
    const start = performance.now();
    const deadline = start + durationMs;
    const writer = async (): Promise<void> => {
      while (performance.now() < deadline) {
        await store.put(next());
        acked += 1;
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    const elapsedMs = performance.now() - start;
    const stats = store.stats();
    return { perSec: (acked * 1000) / elapsedMs, meanBatch: stats.writes / stats.batches };
  } finally {
    store.close();
  }
}

/**
 * The upper median: for an even count the higher middle value, not the mean of the two (unlike
 * common.ts's median). The default 3 runs per mode make it the plain median.
 */
const upperMedian = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Runs the three modes and returns their medians (also for the combined cluster benchmark). */
export async function runStoreCommitBench(options: StoreCommitOptions = {}): Promise<StoreCommitFigures> {
  const durationMs = options.durationMs ?? 2_000;
  const repeats = options.repeats ?? 3;
  const writers = options.writers ?? 64;
  const batchRows = options.batchRows ?? 1_000;
  const dir = options.dir ?? process.env['STORE_BENCH_DIR'] ?? tmpdir();
  const seed = options.seed ?? 0x5eed_5703;
  const log = options.log ?? ((line: string) => process.stderr.write(`[bench:store] ${line}\n`));

  // Warm-up, not counted: the first group-commit run was consistently about half as fast (JIT).
  const warmupMs = Math.min(500, durationMs);
  await withDatabase(dir, (path) => rawRun(path, warmupMs, 1, seed));
  await withDatabase(dir, (path) => rawRun(path, warmupMs, batchRows, seed));
  await withDatabase(dir, (path) => groupRun(path, warmupMs, writers, seed));

  const runs = { rawFull: [] as Run[], rawBatch: [] as Run[], group: [] as Run[] };
  for (let i = 0; i < repeats; i++) {
    const runSeed = seed + i;
    runs.rawFull.push(await withDatabase(dir, (path) => rawRun(path, durationMs, 1, runSeed)));
    log(`run ${i + 1}/${repeats} raw full: ${runs.rawFull.at(-1)?.perSec.toFixed(0)}/s`);
    runs.rawBatch.push(await withDatabase(dir, (path) => rawRun(path, durationMs, batchRows, runSeed)));
    log(`run ${i + 1}/${repeats} raw batch: ${runs.rawBatch.at(-1)?.perSec.toFixed(0)}/s`);
    runs.group.push(await withDatabase(dir, (path) => groupRun(path, durationMs, writers, runSeed)));
    log(`run ${i + 1}/${repeats} group commit: ${runs.group.at(-1)?.perSec.toFixed(0)}/s`);
  }
  const rawFullPerSec = upperMedian(runs.rawFull.map((r) => r.perSec));
  const groupCommitPerSec = upperMedian(runs.group.map((r) => r.perSec));
  return {
    bench: 'store',
    rawFullPerSec: Math.round(rawFullPerSec),
    rawBatchPerSec: Math.round(upperMedian(runs.rawBatch.map((r) => r.perSec))),
    groupCommitPerSec: Math.round(groupCommitPerSec),
    ratioGroupVsRawFull: Number((groupCommitPerSec / rawFullPerSec).toFixed(2)),
    groupCommitMeanBatch: Number(upperMedian(runs.group.map((r) => r.meanBatch)).toFixed(1)),
    runsPerSec: {
      rawFull: runs.rawFull.map((r) => Math.round(r.perSec)),
      rawBatch: runs.rawBatch.map((r) => Math.round(r.perSec)),
      group: runs.group.map((r) => Math.round(r.perSec)),
    },
  };
}

async function main(): Promise<void> {
  const figures = await runStoreCommitBench();
  const rows: [string, number, number[], string][] = [
    ['raw better-sqlite3, 1 row per transaction', figures.rawFullPerSec, figures.runsPerSec.rawFull, '1'],
    [
      'raw better-sqlite3, 1000 rows per transaction',
      figures.rawBatchPerSec,
      figures.runsPerSec.rawBatch,
      '1000',
    ],
    [
      'SqliteListStore, 64 writers (group commit)',
      figures.groupCommitPerSec,
      figures.runsPerSec.group,
      String(figures.groupCommitMeanBatch),
    ],
  ];
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const n = (x: number): string => x.toLocaleString('en-US');
  out(`store commit, WAL + synchronous=FULL, ${STATE_BYTES}-byte states, median of 3 × 2 s`);
  out(`${'mode'.padEnd(48)}${'writes/s'.padStart(10)}${'min–max'.padStart(18)}${'mean batch'.padStart(12)}`);
  for (const [mode, perSec, all, batch] of rows) {
    const range = `${n(Math.min(...all))}–${n(Math.max(...all))}`;
    out(`${mode.padEnd(48)}${n(perSec).padStart(10)}${range.padStart(18)}${batch.padStart(12)}`);
  }
  out(`group commit ÷ raw single-row: ${figures.ratioGroupVsRawFull}×`);
  const { runsPerSec: _runs, ...headline } = figures;
  out(JSON.stringify(headline));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
