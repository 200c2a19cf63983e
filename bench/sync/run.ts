// Sync benchmark (`npm run bench:sync`), per docs/PERFORMANCE.md: the bytes the cloud sends to
// bring a client up to date after k remote changes on an n-item list, against the size of those k
// changes themselves (what a naive "replay every update" sync would ship).
//
// Setup, per n ∈ {10, 100, 1,000, 5,000} and seed: a client and a remote replica build an n-item
// list together, alternating operations and shipping every delta (encodeList → decodeList →
// apply), from the CRDT benchmark's seeded stream generator (../crdt/stream.ts) steered to hover
// around n live items. Both hold the same state. Then, per k ∈ {1, 10, 100, 1,000}, on fresh
// copies of both, the remote alone makes k changes (the same generator, forked with a seed:
// adds of new names, adds to live items, re-adds of removed ones, increase / decrease / set,
// buys, removes). The baseline is the sum of those k encoded deltas.
//
// What is measured is exactly what a storage node sends for a `get` (storage-node.ts
// coordinateGet → answerGet): the node decodes the replicas' stored states and merges them into
// ListDoc.empty(); it decodes the caller's context (the client sends encodeContext(state.ctx,
// state.replicas), trolley-client.ts); it answers encodeList(missingFor(merged, ctx, table)).
// Here the "merged" state is the remote's state through encode/decode, and the context goes
// through encodeContext/decodeContext as on the wire. The client then decodes and applies the
// answer, and its canonical encoding must equal the remote's byte for byte (and the k deltas
// applied one by one must reach the same bytes too); otherwise the benchmark exits non-zero.
//
// A peer behind the removal-record horizon (limits.removalRecordsMax records are kept; the k
// changes made more) is sent the full state: the table says so per row ("full"). Each n also has
// one row built to cross the horizon on purpose: HORIZON_REMOVES remove + re-add pairs.
//
// Figures are bytes, deterministic per seed; each cell is the median over SEEDS seeds (the ratio's
// range is shown too). No timing is asserted or needed.
// Output: progress on stderr, a table on stdout, then one JSON line (the last stdout line).

import { performance } from 'node:perf_hooks';
import {
  ListDoc,
  ListReplica,
  decodeContext,
  decodeList,
  encodeContext,
  encodeList,
  limits,
  merge,
  missingFor,
  type ReplicaId,
} from '@trolley/core';
import { trolleyApply } from '../crdt/impls.ts';
import { median, table } from '../common.ts';
import { Rng, StreamGenerator, type Op, type Policy, type Profile } from '../crdt/stream.ts';

const SIZES = [10, 100, 1_000, 5_000] as const;
const CHANGES = [1, 10, 100, 1_000] as const;
const SEEDS = [0x51c0_0001, 0x51c0_0002, 0x51c0_0003];
/** Remove + re-add pairs of the row built to cross the horizon: more removals than are kept. */
const HORIZON_REMOVES = limits.removalRecordsMax + 44;

const CLIENT = 'client-phone' as ReplicaId;
const REMOTE = 'remote-laptop' as ReplicaId;
const everything: Policy = { owns: () => true, shares: () => true };

const log = (line: string): void => {
  process.stderr.write(`[bench:sync] ${line}\n`);
};

class BenchFailure extends Error {}

/** The stream generator steered to hover around n live items (adds and removes balance there). */
function profileFor(n: number): Profile {
  return { name: 'small', ops: 0, target: () => n, below: [0.6, 0.05], above: [0.08, 0.32] };
}

function decodeOrThrow(bytes: Uint8Array): ListDoc {
  const d = decodeList(bytes);
  if (!d.ok) throw new BenchFailure(`a delta does not decode: ${d.error.message}`);
  return d.value;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const copy = (id: ReplicaId, r: ListReplica): ListReplica => new ListReplica(id, r.state.clone());

interface Base {
  client: ListReplica;
  remote: ListReplica;
  gen: StreamGenerator;
  ops: number;
}

/** Client and remote build an n-item list together, shipping every delta both ways. */
function buildBase(n: number, seed: number): Base {
  const gen = new StreamGenerator(new Rng(seed), profileFor(n));
  const client = new ListReplica(CLIENT);
  const remote = new ListReplica(REMOTE);
  let ops = 0;
  while (gen.model.size < n || ops < n) {
    const [from, to] = ops % 2 === 0 ? [client, remote] : [remote, client];
    to.apply(decodeOrThrow(encodeList(trolleyApply(from, gen.next()))));
    ops++;
  }
  if (!sameBytes(encodeList(client.state), encodeList(remote.state)))
    throw new BenchFailure(`n=${n}: client and remote differ after building the base list`);
  return { client, remote, gen, ops };
}

/** k remove + re-add pairs on live items: each removal leaves one record, re-adds leave none. */
function horizonOps(gen: StreamGenerator, pairs: number): Op[] {
  const keys = [...gen.model.keys()];
  const ops: Op[] = [];
  for (let i = 0; i < pairs; i++) {
    const key = keys[i % keys.length] as string;
    const item = gen.model.get(key);
    if (item === undefined) throw new BenchFailure('horizon ops: live item vanished');
    ops.push({ kind: 'remove', key, name: item.name });
    ops.push({ kind: 'add', key, name: item.name, qty: 1 + (i % 5) });
  }
  return ops;
}

interface Cell {
  n: number;
  k: number;
  horizonCase: boolean;
  /** Removal records the k changes made (records that a behind peer may need). */
  removals: number;
  /** Σ of the k encoded change deltas (the baseline). */
  changeBytes: number;
  /** The cloud's answer to the client's get (encodeList(missingFor(state, clientCtx))). */
  deltaBytes: number;
  /** The client's get request context (encodeContext), for reference. */
  askBytes: number;
  fullBytes: number;
  /** The answer was the full state (the client was behind the removal-record horizon). */
  full: boolean;
  /** Items in the answer. */
  itemsSent: number;
  liveItems: number;
}

function runCell(base: Base, n: number, k: number, seed: number, horizonCase: boolean): Cell {
  const client = copy(CLIENT, base.client);
  const remote = copy(REMOTE, base.remote);
  const gen = base.gen.fork(seed, everything, '');
  const ops = horizonCase ? horizonOps(gen, k / 2) : gen.take(k);

  // The remote's k changes, each encoded as it travels (the baseline).
  const changes: Uint8Array[] = [];
  let removals = 0;
  for (const op of ops) {
    const delta = trolleyApply(remote, op);
    removals += delta.removals.size;
    changes.push(encodeList(delta));
  }
  const changeBytes = changes.reduce((s, c) => s + c.length, 0);

  // What the cloud answers: stored state decoded and merged (answerGet), the caller's context
  // decoded (coordinateGet), the missing part encoded.
  const stored = encodeList(remote.state);
  const merged = ListDoc.empty();
  merge(merged, decodeOrThrow(stored));
  const ask = encodeContext(client.state.ctx, client.state.replicas);
  const asked = decodeContext(ask);
  if (!asked.ok) throw new BenchFailure(`the client's context does not decode: ${asked.error.message}`);
  const answer = missingFor(merged, asked.value.ctx, asked.value.replicas);
  const answerBytes = encodeList(answer);

  // The client applies the answer: it must hold exactly the remote's state.
  const viaReplay = copy(CLIENT, client);
  client.apply(decodeOrThrow(answerBytes));
  const want = stored;
  if (!sameBytes(encodeList(client.state), want))
    throw new BenchFailure(
      `n=${n} k=${k} seed=${seed.toString(16)}: the client differs from the remote after applying the cloud's delta`,
    );
  for (const c of changes) viaReplay.apply(decodeOrThrow(c));
  if (!sameBytes(encodeList(viaReplay.state), want))
    throw new BenchFailure(`n=${n} k=${k}: replaying the k changes does not reach the remote's state`);

  return {
    n,
    k: ops.length,
    horizonCase,
    removals,
    changeBytes,
    deltaBytes: answerBytes.length,
    askBytes: ask.length,
    fullBytes: stored.length,
    full: answer.full,
    itemsSent: answer.items.size,
    liveItems: remote.state.items.size,
  };
}

interface Row {
  n: number;
  k: number;
  horizonCase: boolean;
  removals: number;
  changeBytes: number;
  deltaBytes: number;
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  fullBytes: number;
  deltaOverFull: number;
  askBytes: number;
  itemsSent: number;
  liveItems: number;
  /** Seeds (of SEEDS.length) in which the answer was the full state. */
  fullAnswers: number;
}

function summarise(cells: readonly Cell[]): Row {
  const first = cells[0] as Cell;
  const ratios = cells.map((c) => c.deltaBytes / c.changeBytes);
  const round = (x: number, d = 3): number => Number(x.toFixed(d));
  return {
    n: first.n,
    k: first.k,
    horizonCase: first.horizonCase,
    removals: median(cells.map((c) => c.removals)),
    changeBytes: median(cells.map((c) => c.changeBytes)),
    deltaBytes: median(cells.map((c) => c.deltaBytes)),
    ratio: round(median(ratios)),
    ratioMin: round(Math.min(...ratios)),
    ratioMax: round(Math.max(...ratios)),
    fullBytes: median(cells.map((c) => c.fullBytes)),
    deltaOverFull: round(median(cells.map((c) => c.deltaBytes / c.fullBytes))),
    askBytes: median(cells.map((c) => c.askBytes)),
    itemsSent: median(cells.map((c) => c.itemsSent)),
    liveItems: median(cells.map((c) => c.liveItems)),
    fullAnswers: cells.filter((c) => c.full).length,
  };
}

const kb = (b: number): string => (b < 10_000 ? `${Math.round(b)} B` : `${(b / 1024).toFixed(1)} KB`);

function main(): void {
  const started = performance.now();
  const rows: Row[] = [];
  for (const n of SIZES) {
    const bases = SEEDS.map((seed) => {
      const t0 = performance.now();
      const base = buildBase(n, seed);
      log(
        `n=${n} seed ${seed.toString(16)}: base list built in ${base.ops} shipped operations ` +
          `(${Math.round(performance.now() - t0)} ms, ${kb(encodeList(base.remote.state).length)})`,
      );
      return base;
    });
    const plan: { k: number; horizon: boolean }[] = [
      ...CHANGES.map((k) => ({ k, horizon: false })),
      { k: 2 * HORIZON_REMOVES, horizon: true },
    ];
    for (const { k, horizon } of plan) {
      const cells = bases.map((b, i) => runCell(b, n, k, (SEEDS[i] as number) + 1_000 * k + n, horizon));
      const row = summarise(cells);
      rows.push(row);
      log(
        `n=${n} k=${row.k}${horizon ? ' (horizon case)' : ''}: delta ${kb(row.deltaBytes)} vs changes ` +
          `${kb(row.changeBytes)} (${row.ratio}×), full state ${kb(row.fullBytes)}, ` +
          `full answers ${row.fullAnswers}/${cells.length}; client verified equal`,
      );
    }
  }

  const header = [
    'n items',
    'k changes',
    'removals',
    'Σ k changes',
    'cloud delta',
    'delta ÷ Σ',
    '(range)',
    'full state',
    'delta ÷ full',
    'items sent',
    'ask ctx',
    'answer',
  ];
  const body = rows.map((r) => [
    `${r.n.toLocaleString('en')}`,
    `${r.k.toLocaleString('en')}${r.horizonCase ? ' rm+re-add' : ''}`,
    `${r.removals}`,
    kb(r.changeBytes),
    kb(r.deltaBytes),
    `${r.ratio.toFixed(3)}×`,
    `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}`,
    kb(r.fullBytes),
    `${r.deltaOverFull.toFixed(3)}`,
    `${r.itemsSent}`,
    `${r.askBytes} B`,
    r.fullAnswers === 0
      ? 'delta'
      : r.fullAnswers === SEEDS.length
        ? 'FULL (behind horizon)'
        : `FULL in ${r.fullAnswers}/${SEEDS.length}`,
  ]);
  const out: string[] = [];
  out.push(
    `Sync bytes: what the cloud sends a client (encodeList(missingFor(state, client context)), as ` +
      `storage-node.ts answers a get) after k remote changes on an n-item list, against the sum of ` +
      `those k encoded changes. Medians over ${SEEDS.length} seeds; every answer verified: the client ` +
      `ends byte-identical to the remote.`,
  );
  out.push(
    `removals: removal records the k changes made; more than ${limits.removalRecordsMax} ` +
      `(limits.removalRecordsMax) puts the client behind the horizon, and it gets the FULL state. ` +
      `"rm+re-add": ${HORIZON_REMOVES} remove + re-add pairs, built to cross it. ask ctx: the client's ` +
      `encoded causal context (its get request).`,
  );
  out.push('');
  out.push(table(header, body));
  out.push('');
  out.push(`${rows.length} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${out.join('\n')}\n`);

  const json = {
    bench: 'sync',
    seeds: SEEDS.length,
    removalRecordsMax: limits.removalRecordsMax,
    cases: rows.map((r) => ({
      n: r.n,
      k: r.k,
      horizonCase: r.horizonCase,
      removals: r.removals,
      changesBytes: r.changeBytes,
      deltaBytes: r.deltaBytes,
      deltaOverChanges: r.ratio,
      deltaOverChangesMin: r.ratioMin,
      deltaOverChangesMax: r.ratioMax,
      fullStateBytes: r.fullBytes,
      deltaOverFull: r.deltaOverFull,
      askBytes: r.askBytes,
      itemsSent: r.itemsSent,
      fullAnswers: r.fullAnswers,
    })),
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

try {
  main();
} catch (e) {
  log(e instanceof BenchFailure ? `FAILED: ${e.message}` : `FAILED: ${String(e)}`);
  if (!(e instanceof BenchFailure) && e instanceof Error && e.stack !== undefined) log(e.stack);
  process.exit(1);
}
