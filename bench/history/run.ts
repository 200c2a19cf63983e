// History benchmark (`npm run bench:history`): what the list's history (core crdt/journal.ts, the
// last 100 "who did what and when" entries carried in list encoding version 3) costs, against the
// same workload without it, side by side in one process.
//
// The workload (workload.ts): 3 devices share one list of about 40 items; 1,000 seeded actions
// (add, increase, buy, check off, remove, rename), each done by one device, its delta encoded,
// then decoded and applied by the other two. "With": every device has a display name (its
// ListReplica has an author), so every action records an entry, as the apps do. "Without": the
// same replicas with no author, so nothing is recorded — exactly the path of a list before history
// existed (no entry, no entry dot), not a flag added for the benchmark.
//
// What it measures, per variant:
// - state bytes: device 0's state encoded at the end (what a store keeps, what a full sync sends);
// - delta bytes: the mean encoded delta of an action (what travels per change);
// - action: perform the action (build the delta, join it into the state) and encode the delta;
// - delivery: decode a delta and apply it on a peer (mean of the two peers);
// - decode / encode of the full state;
// - sync: two replicas diverged by 200 different actions each (devices 0 and 1, from the end of
//   the stream) each compute what the other misses, encode, decode and apply it, both directions;
//   its bytes; and join: the plain state join of the two (merge of a copy of one with the other).
// Every run starts from fresh replicas; the two variants alternate which goes first; every figure
// is the median of REPEATS runs after a warm-up (within a run, the action and delivery figures are
// means over the stream; the codec, sync and join figures medians of their loops, so that a
// collection pause on a shared machine moves them less). Every run is checked: all devices see the same
// list, and both variants see the same list (title, names, quantities) — history changes nothing
// a person sees of the items. Output: a table, then one JSON line (the last stdout line) with the
// ratios with ÷ without. Progress goes to stderr.

import { performance } from 'node:perf_hooks';
import { ListReplica, decodeList, encodeList, merge, newReplicaId, type ListDoc } from '@trolley/core';
import { envNumber, median, seededRandom, table } from '../common.ts';
import { DEVICE_NAMES, generateBranch, generateStream, kinds, type Action, type Step } from './workload.ts';

const ACTIONS = 1_000;
const BRANCH_ACTIONS = 200;
const REPEATS = envNumber('HISTORY_REPEATS', 9);
/** Full-state encodes and decodes timed per run, one at a time (the run's figure is their median). */
const CODEC_LOOPS = 200;
/** Syncs and joins timed per run, fresh copies each (the run's figure is their median). */
const MERGE_LOOPS = 30;
const SEEDS = { stream: 0x4157_0001, branchA: 0x4157_0002, branchB: 0x4157_0003, ids: 0x4157_0004 };

type Variant = 'with' | 'without';
const variants: readonly Variant[] = ['with', 'without'];

interface Run {
  stateBytes: number;
  deltaBytes: number;
  actionNs: number;
  deliveryNs: number;
  decodeNs: number;
  encodeNs: number;
  syncNs: number;
  syncBytes: number;
  joinNs: number;
  entries: number;
  /** What a person sees, after the stream and after the merge (must agree across variants). */
  seen: string;
}

const log = (line: string): void => {
  process.stderr.write(`[bench:history] ${line}\n`);
};

/** A device's replica; with history, an author whose clock reads the current step's time. */
function device(id: string, name: string, withHistory: boolean, clock: { ms: number }, state?: ListDoc) {
  const r = new ListReplica(id as ReplicaId, state);
  if (withHistory) r.author = { name, nowMs: () => clock.ms };
  return r;
}
type ReplicaId = ListReplica['replicaId'];

function perform(r: ListReplica, a: Action): ListDoc {
  switch (a.kind) {
    case 'add':
      return r.addItem(a.name, a.qty);
    case 'increase':
      return r.increaseWanted(a.name, a.by);
    case 'buy':
      return r.buy(a.name, a.units);
    case 'check':
      return r.checkOff(a.name);
    case 'remove':
      return r.removeItem(a.name);
    case 'rename':
      return r.rename(a.title);
  }
}

/** The list as a person sees it (title, names, quantities), as one string. */
function seenOf(r: ListReplica): string {
  const v = r.view();
  return JSON.stringify([v.title, v.deleted, v.items.map((i) => [i.name, i.wanted, i.bought])]);
}

function decoded(bytes: Uint8Array): ListDoc {
  const d = decodeList(bytes);
  if (!d.ok) throw d.error;
  return d.value;
}

function runVariant(
  variant: Variant,
  ids: readonly string[],
  steps: readonly Step[],
  branches: readonly [Step[], Step[]],
): Run {
  const withHistory = variant === 'with';
  const clock = { ms: 0 };
  const devices = ids.map((id, i) => device(id, DEVICE_NAMES[i] as string, withHistory, clock));

  // The stream: each action performed and encoded on its device, delivered to the other two.
  let deltaBytes = 0;
  let actionMs = 0;
  let deliveryMs = 0;
  for (const step of steps) {
    clock.ms = step.atMs;
    const me = devices[step.device] as ListReplica;
    const t0 = performance.now();
    const bytes = encodeList(perform(me, step.action));
    const t1 = performance.now();
    for (const peer of devices) if (peer !== me) peer.apply(decoded(bytes));
    deliveryMs += performance.now() - t1;
    actionMs += t1 - t0;
    deltaBytes += bytes.length;
  }
  const seenAfterStream = devices.map(seenOf);
  if (new Set(seenAfterStream).size !== 1)
    throw new Error(`${variant}: the devices disagree after the stream`);

  // The full state: encoded and decoded CODEC_LOOPS times.
  const state = (devices[0] as ListReplica).state;
  const full = encodeList(state);
  const encodeMs: number[] = [];
  const decodeMs: number[] = [];
  for (let i = 0; i < CODEC_LOOPS; i++) {
    const t0 = performance.now();
    encodeList(state);
    const t1 = performance.now();
    decoded(full);
    decodeMs.push(performance.now() - t1);
    encodeMs.push(t1 - t0);
  }

  // Two devices diverge, each with its own branch, then sync (and, apart, join).
  const [a0, b0] = [0, 1].map((i) => {
    const r = device(
      ids[i] as string,
      DEVICE_NAMES[i] as string,
      withHistory,
      clock,
      devices[i]?.state.clone(),
    );
    for (const step of branches[i] as Step[]) {
      clock.ms = step.atMs;
      perform(r, step.action);
    }
    return r;
  }) as [ListReplica, ListReplica];
  const syncMs: number[] = [];
  const joinMs: number[] = [];
  let syncBytes = 0;
  let seenAfterMerge = '';
  for (let k = 0; k < MERGE_LOOPS; k++) {
    const a = new ListReplica(a0.replicaId, a0.state.clone());
    const b = new ListReplica(b0.replicaId, b0.state.clone());
    const t0 = performance.now();
    const toB = encodeList(a.missingFor(b.state.ctx, b.state.replicas));
    const toA = encodeList(b.missingFor(a.state.ctx, a.state.replicas));
    b.apply(decoded(toB));
    a.apply(decoded(toA));
    syncMs.push(performance.now() - t0);
    syncBytes = toA.length + toB.length;
    if (seenOf(a) !== seenOf(b)) throw new Error(`${variant}: the replicas disagree after syncing`);
    const j = a0.state.clone();
    const t1 = performance.now();
    merge(j, b0.state);
    joinMs.push(performance.now() - t1);
    if (Buffer.compare(encodeList(j), encodeList(a.state)) !== 0)
      throw new Error(`${variant}: the join and the sync disagree`);
    seenAfterMerge = seenOf(a);
  }

  return {
    stateBytes: full.length,
    deltaBytes: deltaBytes / steps.length,
    actionNs: (actionMs * 1e6) / steps.length,
    deliveryNs: (deliveryMs * 1e6) / (steps.length * (devices.length - 1)),
    decodeNs: median(decodeMs) * 1e6,
    encodeNs: median(encodeMs) * 1e6,
    syncNs: median(syncMs) * 1e6,
    syncBytes,
    joinNs: median(joinMs) * 1e6,
    entries: state.journal.size,
    seen: seenAfterStream[0] + seenAfterMerge,
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function main(): void {
  const started = performance.now();
  const { steps, model } = generateStream(SEEDS.stream, ACTIONS);
  const branches: [Step[], Step[]] = [
    generateBranch(SEEDS.branchA, model, 0, BRANCH_ACTIONS),
    generateBranch(SEEDS.branchB, model, 1, BRANCH_ACTIONS),
  ];
  const random = seededRandom(SEEDS.ids);
  const ids = DEVICE_NAMES.map(() => newReplicaId(random));
  log(
    `${steps.length} actions by ${ids.length} devices, ${model.items.size} items at the end, ` +
      `${JSON.stringify(kinds(steps))}; then ${BRANCH_ACTIONS} different actions on each of two devices`,
  );

  // Warm-up (not measured): lets the JIT settle on both paths.
  for (const v of variants) runVariant(v, ids, steps, branches);
  const runs: Record<Variant, Run[]> = { with: [], without: [] };
  for (let rep = 0; rep < REPEATS; rep++) {
    const order = rep % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const run = runVariant(v, ids, steps, branches);
      runs[v].push(run);
      log(
        `run ${rep + 1}/${REPEATS} ${v.padEnd(7)} action ${run.actionNs.toFixed(0)} ns, ` +
          `delivery ${run.deliveryNs.toFixed(0)} ns, ${run.deltaBytes.toFixed(1)} B/delta, ${run.stateBytes} B state`,
      );
    }
  }
  const seen = new Set([...runs.with, ...runs.without].map((r) => r.seen));
  if (seen.size !== 1) throw new Error('with and without history, the lists differ');

  type Metric = Exclude<keyof Run, 'seen'>;
  const med = (v: Variant, m: Metric): number => median(runs[v].map((r) => r[m]));
  const rowsOf: [string, Metric, number, string][] = [
    ['state bytes (encoded, end of stream)', 'stateBytes', 0, 'B'],
    ['delta bytes per action (mean)', 'deltaBytes', 1, 'B'],
    ['action: perform + encode delta', 'actionNs', 0, 'ns'],
    ['delivery: decode + apply delta', 'deliveryNs', 0, 'ns'],
    ['decode full state', 'decodeNs', 0, 'ns'],
    ['encode full state', 'encodeNs', 0, 'ns'],
    ['sync of diverged replicas (both ways)', 'syncNs', 0, 'ns'],
    ['sync bytes (both ways)', 'syncBytes', 0, 'B'],
    ['join of the two diverged states', 'joinNs', 0, 'ns'],
    ['history entries in the state', 'entries', 0, ''],
  ];
  const ratios: Record<string, number> = {};
  const figures: Record<string, { with: number; without: number }> = {};
  const rows = rowsOf.map(([label, m, digits, unit]) => {
    const w = med('with', m);
    const wo = med('without', m);
    figures[m] = { with: round(w, digits), without: round(wo, digits) };
    const ratio = wo > 0 ? w / wo : Number.NaN;
    if (m !== 'entries') ratios[m] = round(ratio, 2);
    return [
      label,
      `${w.toFixed(digits)} ${unit}`.trim(),
      `${wo.toFixed(digits)} ${unit}`.trim(),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—',
    ];
  });

  const seconds = (performance.now() - started) / 1000;
  console.log(
    `History benchmark: ${ACTIONS} actions by 3 devices on a ~40-item list, medians of ${REPEATS} runs ` +
      `(fresh replicas each run, variants alternating), Node ${process.version}, ${seconds.toFixed(0)} s in all`,
  );
  console.log('With: every device has a name, every action records a history entry. Without: no author.');
  console.log('');
  console.log(table(['figure', 'with history', 'without', 'with ÷ without'], rows));
  console.log('');
  console.log('Both variants ended in the same list (title, names, quantities) on every replica.');
  console.log(
    JSON.stringify({
      bench: 'history',
      ratios,
      figures,
      actions: ACTIONS,
      branchActions: BRANCH_ACTIONS,
      repeats: REPEATS,
      command: 'npm run bench:history',
      node: process.version,
      seconds: round(seconds, 1),
    }),
  );
}

try {
  main();
} catch (e) {
  process.stderr.write(
    `[bench:history] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exitCode = 1;
}
