// Storage node memory benchmark (`npm run bench:memory`), per docs/PERFORMANCE.md: a storage
// node's resident memory with 0, 100k and 1M lists, which must stay flat in list count. There is
// no baseline to divide by but the node itself: the figures are RSS(100k) ÷ RSS(0) and
// RSS(1M) ÷ RSS(0), and the flatness test RSS(1M) ÷ RSS(100k) (the step from an empty node to
// any data is a one-time cost, reported apart), measured in this one run.
//
// Per N (MEMORY_BENCH_MAX=100000 skips 1M):
// 1. Fill: N small lists (~50 bytes encoded, ~225 bytes per list on disk with key, hash and
//    indexes: a title and one or two items, real encodeList states of 64 templates) written
//    straight into the node's database through SqliteListStore, exactly where `trolley node` looks for it: startNode opens DATA/<id>/<id>.db (node-server.ts)
//    and LocalCluster passes --data DIR/<id> (local-cluster.ts). Keys are seeded UUID v4s, written
//    in key order (random keys into a 1M-row B-tree would make the fill, not the node, the
//    slow part); partition = partitionOf(key, 1024), the ring LocalCluster makes.
// 2. The same file is copied to n2 and n3: all three replicas hold the same lists, which is the
//    steady state of a real N=3 cluster. Why not empty peers: anti-entropy would then push lists
//    from n1 to them for the whole run (≤200 per round per peer, 1 round/s: 1M lists take hours),
//    so n1's memory would show a repair flood of a wiped cluster rather than a node at rest with
//    N lists; why not N=1 --weak-quorum: anti-entropy would then have no peer and the Merkle
//    comparison — the part most likely to hold per-list state — would never run. With identical
//    replicas every round builds and compares one partition's tree and agrees.
// 3. A LocalCluster (1 proxy, 3 nodes, N=3 R=2 W=2, Q=1024) starts on that data. n1's RSS is read
//    from /proc/<pid>/status every second (VmRSS, VmHWM, RssAnon, RssFile) with its CPU time; a
//    preloaded module (NODE_OPTIONS=--import, as bench/cluster's profiler does) records the V8 heap
//    (process.memoryUsage) inside every node each second, to tell JS heap from native memory.
// 4. Idle for MEMORY_BENCH_IDLE_SECONDS (default 25: gossip, hellos, anti-entropy rounds), then
//    LOAD_OPS requests through the proxy (half puts of a real one-item delta to an existing list,
//    half gets with an empty context, 8 in flight, spread over the list IDs), then 5 s more.
// 5. Stop, delete the folder, next N.
// RSS idle is the median over the idle phase after its first 5 s; RSS under load is the greatest
// sample from the load's start to 5 s after it.
// Environment: MEMORY_BENCH_MAX (largest N, default 1000000), MEMORY_BENCH_DIR (default
// os.tmpdir()), MEMORY_BENCH_IDLE_SECONDS, MEMORY_BENCH_LOAD_OPS (default 600).
// Output: progress on stderr (with the nodes' own log lines), a table on stdout, then one JSON line
// (the last stdout line). Temporary folders and processes are removed on exit and on Ctrl-C.

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ListReplica,
  encodeList,
  md5,
  newListId,
  partitionOf,
  type ListId,
  type ReplicaId,
} from '@trolley/core';
import type { Quorum } from '@trolley/cloud';
import { CloudClient, SqliteListStore, nodeStats } from '@trolley/node';
import { LocalCluster, freePort } from '../../apps/cli/src/local-cluster.ts';
import { median, stopOnSignal, table } from '../common.ts';
import { Rng } from '../crdt/stream.ts';

const ALL_SIZES = [0, 100_000, 1_000_000] as const;
const MAX = Number(process.env['MEMORY_BENCH_MAX'] ?? 1_000_000);
const IDLE_SECONDS = Number(process.env['MEMORY_BENCH_IDLE_SECONDS'] ?? 25);
const LOAD_OPS = Number(process.env['MEMORY_BENCH_LOAD_OPS'] ?? 600);
const AFTER_LOAD_SECONDS = 5;
const IN_FLIGHT = 8;
const PARTITIONS = 1_024;
const QUORUM: Quorum = { n: 3, r: 2, w: 2 };
const NODES = 3;
/** Disk per list for the free-space check (state ~90 B + key, hash, two indexes; measured ~240 B). */
const DISK_BYTES_PER_LIST = 400;
const FILL_BATCH = 5_000;
const SAMPLE_KEYS = 2_000;
const TEMPLATES = 64;
const SEED = 0x3e30_0001;
/** RSS(largest N) ÷ RSS(smallest non-empty N) above which the node counts as growing with list count. */
const FLAT_LIMIT = 1.2;

const log = (line: string): void => {
  process.stderr.write(`[bench:memory] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

// ---- filling a node's database -------------------------------------------------------------------

/** Small real list states: a title and one or two items, like a fresh shopping list. */
function templates(): { state: Uint8Array; hash: Uint8Array }[] {
  const items = ['Milk', 'Bread', 'Eggs', 'Apples', 'Coffee', 'Rice', 'Tea', 'Butter'];
  const out: { state: Uint8Array; hash: Uint8Array }[] = [];
  for (let i = 0; i < TEMPLATES; i++) {
    const r = new ListReplica(`fill${i.toString(36)}` as ReplicaId);
    r.rename(`List ${i}`);
    r.addItem(items[i % items.length] as string, 1 + (i % 3), i % 4 === 0 ? 'the big one' : undefined);
    if (i % 2 === 0) r.addItem(items[(i + 3) % items.length] as string, 2);
    const state = encodeList(r.state);
    out.push({ state, hash: md5(state) });
  }
  return out;
}

interface Filled {
  /** Some of the list IDs, for the load. */
  sample: ListId[];
  fillSeconds: number;
  dbBytes: number;
  meanStateBytes: number;
}

async function fill(res: Resources, dataDir: string, n: number): Promise<Filled> {
  const rng = new Rng(SEED);
  const random = { fill: (b: Uint8Array): Uint8Array => rng.fill(b) };
  const keys: ListId[] = [];
  for (let i = 0; i < Math.max(n, SAMPLE_KEYS); i++) keys.push(newListId(random));
  const sample = keys.filter((_, i) => i % Math.max(1, Math.floor(keys.length / SAMPLE_KEYS)) === 0);
  const written = keys.slice(0, n).sort();
  keys.length = 0;

  const dir = join(dataDir, 'n1');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'n1.db');
  const t0 = performance.now();
  const store = SqliteListStore.open(file, { integrityCheckOnOpen: false, batchMax: FILL_BATCH });
  res.store = store;
  const states = templates();
  let stateBytes = 0;
  let batch: Promise<void>[] = [];
  for (let i = 0; i < written.length; i++) {
    const key = written[i] as ListId;
    const t = states[i % states.length] as { state: Uint8Array; hash: Uint8Array };
    stateBytes += t.state.length;
    batch.push(store.put({ key, partition: partitionOf(key, PARTITIONS), state: t.state, hash: t.hash }));
    if (batch.length >= FILL_BATCH) {
      await Promise.all(batch);
      batch = [];
    }
    if ((i + 1) % 100_000 === 0) log(`  fill: ${(i + 1).toLocaleString('en')} lists written`);
  }
  store.flush();
  await Promise.all(batch);
  const count = store.count();
  store.close();
  res.store = undefined;
  if (count !== n) throw new Error(`the store holds ${count} lists, expected ${n}`);
  const fillSeconds = (performance.now() - t0) / 1000;

  // The other replicas hold the same lists (see the header for why).
  for (const id of ['n2', 'n3']) {
    mkdirSync(join(dataDir, id), { recursive: true });
    copyFileSync(file, join(dataDir, id, `${id}.db`));
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, join(dataDir, id, `${id}.db-wal`));
  }
  return {
    sample,
    fillSeconds,
    dbBytes: statSync(file).size,
    meanStateBytes: n === 0 ? 0 : stateBytes / n,
  };
}

// ---- sampling ------------------------------------------------------------------------------------

type Phase = 'idle' | 'load' | 'after';

interface Sample {
  phase: Phase;
  /** Seconds since the cluster was ready. */
  t: number;
  rss: number;
  hwm: number;
  rssAnon: number;
  rssFile: number;
  /** utime + stime so far, seconds. */
  cpu: number;
}

function readProc(pid: number): Omit<Sample, 'phase' | 't'> | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      rss: kb('VmRSS'),
      hwm: kb('VmHWM'),
      rssAnon: kb('RssAnon'),
      rssFile: kb('RssFile') + kb('RssShmem'),
      cpu: (Number(rest[11]) + Number(rest[12])) / 100,
    };
  } catch {
    return undefined;
  }
}

/** The module preloaded into the cluster's processes: each node writes its V8 memory every second. */
function heapHook(dir: string): string {
  const file = join(dir, 'memory-hook.mjs');
  writeFileSync(
    file,
    `// Written by bench/memory/run.ts: a storage node records its V8 memory every second.
import { appendFileSync } from 'node:fs';
const args = process.argv.slice(2);
const at = args.indexOf('--id');
if (at >= 0) {
  const out = ${JSON.stringify(dir)} + '/heap-' + args[at + 1] + '.jsonl';
  setInterval(() => {
    const m = process.memoryUsage();
    appendFileSync(out, JSON.stringify({ ms: Date.now(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }) + '\\n');
  }, 1000).unref();
}
`,
  );
  return file;
}

interface HeapSample {
  ms: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

function readHeap(dir: string, node: string): HeapSample[] {
  const file = join(dir, `heap-${node}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HeapSample);
}

const max = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : Math.max(...xs));

// ---- one size ------------------------------------------------------------------------------------

interface Result {
  lists: number;
  fillSeconds: number;
  dbBytes: number;
  meanStateBytes: number;
  startSeconds: number;
  rssIdle: number;
  rssIdleMax: number;
  rssLoadMax: number;
  hwm: number;
  rssAnonIdle: number;
  rssFileIdle: number;
  heapUsedIdle: number;
  heapUsedMax: number;
  heapTotalIdle: number;
  externalIdle: number;
  cpuIdlePercent: number;
  peersRssIdle: number[];
  loadOk: number;
  loadFailed: number;
  loadSeconds: number;
  antiEntropyRounds: number;
  antiEntropyAgreed: number;
  antiEntropyRepairs: number;
}

async function measure(res: Resources, baseDir: string, n: number): Promise<Result> {
  const dataDir = mkdtempSync(join(baseDir, 'trolley-memory-bench-'));
  res.dirs.push(dataDir);
  log(`N=${n.toLocaleString('en')}: filling ${dataDir}`);
  const filled = await fill(res, dataDir, n);
  log(
    `N=${n.toLocaleString('en')}: ${mb(filled.dbBytes)} database in ${filled.fillSeconds.toFixed(1)} s ` +
      `(mean state ${filled.meanStateBytes.toFixed(0)} B), copied to n2 and n3; starting the cluster`,
  );

  const hook = heapHook(dataDir);
  const savedOptions = process.env['NODE_OPTIONS'];
  process.env['NODE_OPTIONS'] = `${savedOptions ?? ''} --import=${hook}`.trim();
  const t0 = performance.now();
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.plan({
      nodes: NODES,
      dataDir,
      proxyPort: await freePort(),
      quorum: QUORUM,
      partitions: PARTITIONS,
      progress: (line) => log(`  cluster: ${line}`),
    });
    res.cluster = cluster;
    await cluster.start(300_000);
  } finally {
    if (savedOptions === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = savedOptions;
  }
  const startSeconds = (performance.now() - t0) / 1000;
  const pid = cluster.nodePid(0);
  const peerPids = [cluster.nodePid(1), cluster.nodePid(2)];
  if (pid === undefined) throw new Error('n1 is not running');
  log(`N=${n.toLocaleString('en')}: cluster ready in ${startSeconds.toFixed(1)} s; n1 is pid ${pid}`);

  const samples: Sample[] = [];
  const peerSamples: number[][] = [[], []];
  let phase: Phase = 'idle';
  const ready = performance.now();
  const sampler = setInterval(() => {
    const s = readProc(pid);
    if (s !== undefined) samples.push({ phase, t: (performance.now() - ready) / 1000, ...s });
    peerPids.forEach((p, i) => {
      const ps = p === undefined ? undefined : readProc(p);
      if (ps !== undefined && phase === 'idle') peerSamples[i]?.push(ps.rss);
    });
  }, 1_000);
  res.sampler = sampler;

  for (let s = 0; s < IDLE_SECONDS; s += 5) {
    await sleep(5_000);
    const last = samples[samples.length - 1];
    if (last !== undefined)
      log(
        `  idle ${Math.round(last.t)} s: n1 RSS ${mb(last.rss)} (peak ${mb(last.hwm)}), CPU ${last.cpu.toFixed(1)} s`,
      );
  }

  // Load: puts of one-item deltas and gets, through the proxy.
  phase = 'load';
  const client = new CloudClient(cluster.clientEndpoints);
  res.client = client;
  const loadT0 = performance.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= LOAD_OPS) return;
      const listId = filled.sample[(i * 7 + w) % filled.sample.length] as ListId;
      try {
        if (i % 2 === 0) {
          const r = new ListReplica(`load${i.toString(36)}` as ReplicaId);
          const put = await client.put(listId, encodeList(r.addItem(`Item ${i % 50}`, 1 + (i % 4))));
          if (put.outcome === 'ok') ok++;
          else failed++;
        } else {
          await client.get(listId, new Uint8Array(0));
          ok++;
        }
      } catch (e) {
        failed++;
        if (failed <= 3) log(`  load: request failed: ${String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  const loadSeconds = (performance.now() - loadT0) / 1000;
  log(`  load: ${ok} ok, ${failed} failed in ${loadSeconds.toFixed(1)} s`);
  phase = 'after';
  await sleep(AFTER_LOAD_SECONDS * 1_000);
  clearInterval(sampler);
  res.sampler = undefined;

  const stats: Record<string, unknown> = await nodeStats(
    cluster.operator,
    cluster.nodeEndpoint(0),
    10_000,
  ).catch(() => ({}));
  const counters = (stats['counters'] ?? {}) as Record<string, number>;
  client.close();
  res.client = undefined;
  await cluster.stop();
  res.cluster = undefined;

  const idle = samples.filter((s) => s.phase === 'idle' && s.t >= 5);
  const loaded = samples.filter((s) => s.phase !== 'idle');
  const idleFirst = idle[0];
  const idleLast = idle[idle.length - 1];
  const cpuIdlePercent =
    idleFirst === undefined || idleLast === undefined || idleLast.t <= idleFirst.t
      ? Number.NaN
      : (100 * (idleLast.cpu - idleFirst.cpu)) / (idleLast.t - idleFirst.t);
  const heap = readHeap(dataDir, 'n1');
  const readyMs = Date.now() - (performance.now() - ready);
  const heapIdle = heap.filter((h) => {
    const t = (h.ms - readyMs) / 1000;
    return t >= 5 && t <= IDLE_SECONDS;
  });

  rmSync(dataDir, { recursive: true, force: true });
  res.dirs = res.dirs.filter((d) => d !== dataDir);

  return {
    lists: n,
    fillSeconds: filled.fillSeconds,
    dbBytes: filled.dbBytes,
    meanStateBytes: filled.meanStateBytes,
    startSeconds,
    rssIdle: median(idle.map((s) => s.rss)),
    rssIdleMax: max(idle.map((s) => s.rss)),
    rssLoadMax: max(loaded.map((s) => s.rss)),
    hwm: max(samples.map((s) => s.hwm)),
    rssAnonIdle: median(idle.map((s) => s.rssAnon)),
    rssFileIdle: median(idle.map((s) => s.rssFile)),
    heapUsedIdle: median(heapIdle.map((h) => h.heapUsed)),
    heapUsedMax: max(heap.map((h) => h.heapUsed)),
    heapTotalIdle: median(heapIdle.map((h) => h.heapTotal)),
    externalIdle: median(heapIdle.map((h) => h.external)),
    cpuIdlePercent,
    peersRssIdle: peerSamples.map((xs) => median(xs)),
    loadOk: ok,
    loadFailed: failed,
    loadSeconds,
    antiEntropyRounds: counters['antiEntropyRounds'] ?? 0,
    antiEntropyAgreed: counters['antiEntropyAgreed'] ?? 0,
    antiEntropyRepairs: counters['antiEntropyRepairs'] ?? 0,
  };
}

// ---- main ----------------------------------------------------------------------------------------

interface Resources {
  cluster: LocalCluster | undefined;
  client: CloudClient | undefined;
  store: SqliteListStore | undefined;
  sampler: NodeJS.Timeout | undefined;
  dirs: string[];
}

async function cleanup(res: Resources): Promise<void> {
  if (res.sampler !== undefined) clearInterval(res.sampler);
  res.client?.close();
  res.client = undefined;
  try {
    res.store?.close();
  } catch {
    // closing a store mid-batch during an interrupt: the folder goes anyway
  }
  res.store = undefined;
  await res.cluster?.stop();
  res.cluster = undefined;
  for (const d of res.dirs) rmSync(d, { recursive: true, force: true });
  res.dirs = [];
}

async function main(res: Resources): Promise<void> {
  const started = performance.now();
  const baseDir = process.env['MEMORY_BENCH_DIR'] ?? tmpdir();
  const fs = statfsSync(baseDir);
  const free = fs.bavail * fs.bsize;
  log(`${mb(free)} free in ${baseDir}; load average ${loadavg()[0]?.toFixed(2) ?? '?'}`);
  const sizes: number[] = [];
  const skipped: string[] = [];
  for (const n of ALL_SIZES) {
    const need = n * DISK_BYTES_PER_LIST * NODES * 2; // three copies, twice over for WAL and margin
    if (n > MAX) skipped.push(`${n.toLocaleString('en')} (MEMORY_BENCH_MAX=${MAX})`);
    else if (need > free)
      skipped.push(`${n.toLocaleString('en')} (needs ~${mb(need)} free, ${mb(free)} there)`);
    else sizes.push(n);
  }
  if (skipped.length > 0) log(`skipping N = ${skipped.join(', ')}`);

  const results: Result[] = [];
  for (const n of sizes) results.push(await measure(res, baseDir, n));

  const base = results[0];
  const ratio = (r: Result, f: (r: Result) => number): number =>
    base === undefined ? Number.NaN : Number((f(r) / f(base)).toFixed(3));
  const out: string[] = [];
  out.push(
    `Storage node memory: node n1 of a 3-node cluster (N=3 R=2 W=2, Q=${PARTITIONS}), all three holding ` +
      `the same N lists; ${IDLE_SECONDS} s idle, then ${LOAD_OPS} puts/gets through the proxy. RSS from ` +
      `/proc/<pid>/status; heap from process.memoryUsage() inside the node. Ratios: ÷ the empty node.`,
  );
  out.push('');
  const header = [
    'lists',
    'db file',
    'fill',
    'start',
    'RSS idle',
    'idle max',
    'RSS load',
    'VmHWM',
    'anon',
    'file',
    'heapUsed',
    'heapTotal',
    'external',
    'CPU idle',
    'n2/n3 idle',
    'AE rounds',
    'load ok',
    'RSS ÷ empty',
    'load ÷ empty',
  ];
  const rows = results.map((r) => [
    r.lists.toLocaleString('en'),
    mb(r.dbBytes),
    `${r.fillSeconds.toFixed(1)} s`,
    `${r.startSeconds.toFixed(1)} s`,
    mb(r.rssIdle),
    mb(r.rssIdleMax),
    mb(r.rssLoadMax),
    mb(r.hwm),
    mb(r.rssAnonIdle),
    mb(r.rssFileIdle),
    mb(r.heapUsedIdle),
    mb(r.heapTotalIdle),
    mb(r.externalIdle),
    `${r.cpuIdlePercent.toFixed(1)}%`,
    r.peersRssIdle.map((x) => (x / 2 ** 20).toFixed(0)).join('/') + ' MB',
    `${r.antiEntropyAgreed}/${r.antiEntropyRounds}`,
    `${r.loadOk}/${r.loadOk + r.loadFailed}`,
    `${ratio(r, (x) => x.rssIdle).toFixed(3)}×`,
    `${ratio(r, (x) => x.rssLoadMax).toFixed(3)}×`,
  ]);
  out.push(table(header, rows));
  out.push('');
  out.push(
    'AE rounds: anti-entropy rounds n1 started that found the peer in agreement / all it started. ' +
      'CPU idle: n1 CPU time ÷ wall time over the idle phase. anon/file: RssAnon and RssFile+RssShmem.',
  );
  const largest = results[results.length - 1];
  const r100k = results.find((r) => r.lists === 100_000);
  const r1m = results.find((r) => r.lists === 1_000_000);
  const growth = largest === undefined ? Number.NaN : ratio(largest, (x) => x.rssIdle);
  // Flat in list count: compare the largest N with the smallest non-empty one (a decade or more
  // apart). The step from an empty node to any data is reported apart: it is a one-time cost.
  const nonEmpty = results.filter((r) => r.lists > 0);
  const lo = nonEmpty[0];
  const hi = nonEmpty[nonEmpty.length - 1];
  const span = lo !== undefined && hi !== undefined && hi !== lo ? hi.rssIdle / lo.rssIdle : Number.NaN;
  const flat = Number.isNaN(span) ? (Number.isNaN(growth) ? null : growth <= FLAT_LIMIT) : span <= FLAT_LIMIT;
  if (lo !== undefined && hi !== undefined && hi !== lo)
    out.push(
      `RSS(${hi.lists.toLocaleString('en')}) ÷ RSS(${lo.lists.toLocaleString('en')}) = ${span.toFixed(3)} idle, ` +
        `${(hi.rssLoadMax / lo.rssLoadMax).toFixed(3)} under load: ` +
        (flat === true ? 'flat in list count' : `GROWS with list count (over ${FLAT_LIMIT}×)`) +
        '.',
    );
  if (base !== undefined && lo !== undefined && base.lists === 0)
    out.push(
      `Empty → ${lo.lists.toLocaleString('en')} lists: RSS ${ratio(lo, (x) => x.rssIdle).toFixed(3)}× ` +
        `(RssAnon +${mb(lo.rssAnonIdle - base.rssAnonIdle)}, V8 heapUsed ${mb(base.heapUsedIdle)} → ` +
        `${mb(lo.heapUsedIdle)}, heapTotal ${mb(base.heapTotalIdle)} → ${mb(lo.heapTotalIdle)}); ` +
        `RSS(${(largest ?? lo).lists.toLocaleString('en')}) ÷ RSS(0) = ${growth.toFixed(3)}.`,
    );
  if (skipped.length > 0) out.push(`Skipped: N = ${skipped.join(', ')}.`);
  out.push(`Run took ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  process.stdout.write(`${out.join('\n')}\n`);

  const json = {
    bench: 'memory',
    partitions: PARTITIONS,
    quorum: QUORUM,
    idleSeconds: IDLE_SECONDS,
    loadOps: LOAD_OPS,
    skipped,
    results: results.map((r) => ({
      lists: r.lists,
      dbBytes: r.dbBytes,
      fillSeconds: Number(r.fillSeconds.toFixed(1)),
      startSeconds: Number(r.startSeconds.toFixed(1)),
      rssIdleBytes: r.rssIdle,
      rssIdleMaxBytes: r.rssIdleMax,
      rssLoadMaxBytes: r.rssLoadMax,
      vmHwmBytes: r.hwm,
      rssAnonIdleBytes: r.rssAnonIdle,
      rssFileIdleBytes: r.rssFileIdle,
      heapUsedIdleBytes: r.heapUsedIdle,
      heapUsedMaxBytes: r.heapUsedMax,
      heapTotalIdleBytes: r.heapTotalIdle,
      externalIdleBytes: r.externalIdle,
      cpuIdlePercent: Number(r.cpuIdlePercent.toFixed(1)),
      peersRssIdleBytes: r.peersRssIdle,
      loadOk: r.loadOk,
      loadFailed: r.loadFailed,
      antiEntropyRounds: r.antiEntropyRounds,
      antiEntropyAgreed: r.antiEntropyAgreed,
      antiEntropyRepairs: r.antiEntropyRepairs,
      rssIdleOverEmpty: ratio(r, (x) => x.rssIdle),
      rssLoadOverEmpty: ratio(r, (x) => x.rssLoadMax),
      heapUsedIdleOverEmpty: ratio(r, (x) => x.heapUsedIdle),
    })),
    rss1mOver100k:
      r100k !== undefined && r1m !== undefined ? Number((r1m.rssIdle / r100k.rssIdle).toFixed(3)) : null,
    rssLargestOverSmallestNonEmpty: Number.isNaN(span) ? null : Number(span.toFixed(3)),
    flat,
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

const resources: Resources = {
  cluster: undefined,
  client: undefined,
  store: undefined,
  sampler: undefined,
  dirs: [],
};
stopOnSignal(log, () => cleanup(resources), 'stopping the cluster and removing temporary files');

try {
  await main(resources);
  await cleanup(resources);
  process.exit(0);
} catch (e) {
  log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  await cleanup(resources);
  process.exit(1);
}
