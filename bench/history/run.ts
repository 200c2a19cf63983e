// History benchmark (`npm run bench:history`): what the list's history (core crdt/journal.ts, the
// last 100 "who did what and when" entries carried in list encoding version 4) costs, against the
// same workload without it, side by side in one process.
//
// The workload (workload.ts): 3 devices share one list of about 40 items; 1,000 seeded actions
// (add, increase, buy, check off, remove, rename), each done by one device, its delta encoded,
// then decoded and applied by the other two. "With": every device has a display name (its
// ListReplica has an author), so every action records an entry, as the apps do. "Without": the
// same replicas with no author, so nothing is recorded — exactly the path of a list before history
// existed (no entry, no entry dot), not a flag added for the benchmark.
//
// What it measures, per variant, in CPU time of the process (on a shared machine, waiting for a
// core does not count; each phase is timed as a whole, not per operation):
// - state bytes: device 0's state encoded at the end (what a store keeps, what a full sync sends);
// - delta bytes: the mean encoded delta of an action (what travels per change);
// - action: the stream, per action: perform it (build the delta, join it into the state), encode
//   the delta, and decode and apply it on the two other devices;
// - delivery: the stream's deltas decoded and applied, in order, by a fresh replica, per delta
//   (the median of DELIVERY_LOOPS replays);
// - decode / encode of the full state;
// - sync: two replicas diverged by 200 different actions each (devices 0 and 1, from the end of
//   the stream) each compute what the other misses, encode, decode and apply it, both directions;
//   its bytes; and join: the plain state join of the two (merge of a copy of one with the other).
// Every run starts from fresh replicas and runs both variants phase by phase (which goes first
// alternates between runs). Each figure is the median of REPEATS runs after a warm-up, and each
// ratio the median of the runs' own ratios (both variants measured minutes apart at most). Every
// run is checked: all devices see the same list, the replayed deltas give it too, and both
// variants see the same list (title, names, quantities): history changes nothing a person sees
// of the items. Output: a table, then one JSON line (the last stdout line) with the ratios
// with ÷ without. Progress goes to stderr.

import { performance } from 'node:perf_hooks';
import { ListReplica, decodeList, encodeList, merge, newReplicaId, type ListDoc } from '@trolley/core';
import { envNumber, median, seededRandom, table } from '../common.ts';
import { DEVICE_NAMES, generateBranch, generateStream, kinds, type Action, type Step } from './workload.ts';

const ACTIONS = 1_000;
const BRANCH_ACTIONS = 200;
const REPEATS = envNumber('HISTORY_REPEATS', 9);
/** Full-state encodes, then decodes, per run (the run's figure is the mean of each loop). */
const CODEC_LOOPS = 200;
/** Replays of the stream's deltas per run (the run's figure is their median). */
const DELIVERY_LOOPS = 5;
/** Syncs and joins per run, of fresh copies each (the run's figure is the mean of each loop). */
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

/** CPU time of this process, ms (on a shared machine, waiting for a core does not count). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** One variant through one run: each phase timed as a whole, in CPU time. */
class Side {
  private readonly clock = { ms: 0 };
  private readonly devices: ListReplica[];
  private readonly withHistory: boolean;
  private readonly deltas: Uint8Array[] = [];
  private full: Uint8Array = new Uint8Array(0);
  private seen = '';
  readonly figures = {} as Omit<Run, 'seen' | 'entries'>;

  constructor(
    readonly variant: Variant,
    private readonly ids: readonly string[],
  ) {
    this.withHistory = variant === 'with';
    this.devices = ids.map((id, i) => device(id, DEVICE_NAMES[i] as string, this.withHistory, this.clock));
  }

  /** The stream: each action on its device, its delta encoded, decoded and applied by the other two. */
  stream(steps: readonly Step[]): void {
    const t0 = cpuMs();
    for (const step of steps) {
      this.clock.ms = step.atMs;
      const me = this.devices[step.device] as ListReplica;
      const bytes = encodeList(perform(me, step.action));
      for (const peer of this.devices) if (peer !== me) peer.apply(decoded(bytes));
      this.deltas.push(bytes);
    }
    this.figures.actionNs = ((cpuMs() - t0) * 1e6) / steps.length;
    let bytes = 0;
    for (const d of this.deltas) bytes += d.length;
    this.figures.deltaBytes = bytes / steps.length;
    const seen = this.devices.map(seenOf);
    if (new Set(seen).size !== 1) throw new Error(`${this.variant}: the devices disagree after the stream`);
    this.seen = seen[0] as string;
    this.full = encodeList((this.devices[0] as ListReplica).state);
    this.figures.stateBytes = this.full.length;
  }

  /** The stream's deltas, decoded and applied in order by a fresh replica, DELIVERY_LOOPS times. */
  delivery(): void {
    const times: number[] = [];
    for (let k = 0; k < DELIVERY_LOOPS; k++) {
      const r = new ListReplica('fresh' as ReplicaId);
      const t0 = cpuMs();
      for (const d of this.deltas) r.apply(decoded(d));
      times.push(cpuMs() - t0);
      if (seenOf(r) !== this.seen) throw new Error(`${this.variant}: the replayed deltas give another list`);
    }
    this.figures.deliveryNs = (median(times) * 1e6) / this.deltas.length;
  }

  /** The full state encoded, then decoded, CODEC_LOOPS times each. */
  codec(): void {
    const state = (this.devices[0] as ListReplica).state;
    let t0 = cpuMs();
    for (let i = 0; i < CODEC_LOOPS; i++) encodeList(state);
    this.figures.encodeNs = ((cpuMs() - t0) * 1e6) / CODEC_LOOPS;
    t0 = cpuMs();
    for (let i = 0; i < CODEC_LOOPS; i++) decoded(this.full);
    this.figures.decodeNs = ((cpuMs() - t0) * 1e6) / CODEC_LOOPS;
  }

  /**
   * Devices 0 and 1 go on apart, each with its own branch (not timed); then MERGE_LOOPS syncs of
   * fresh copies of the pair (both ways, encoded), and as many plain joins of their states.
   */
  merge(branches: readonly [Step[], Step[]]): void {
    const [a0, b0] = [0, 1].map((i) => {
      const r = device(
        this.ids[i] as string,
        DEVICE_NAMES[i] as string,
        this.withHistory,
        this.clock,
        this.devices[i]?.state.clone(),
      );
      for (const step of branches[i] as Step[]) {
        this.clock.ms = step.atMs;
        perform(r, step.action);
      }
      return r;
    }) as [ListReplica, ListReplica];
    const pairs = Array.from({ length: MERGE_LOOPS }, (): [ListReplica, ListReplica] => [
      new ListReplica(a0.replicaId, a0.state.clone()),
      new ListReplica(b0.replicaId, b0.state.clone()),
    ]);
    let bytes = 0;
    let t0 = cpuMs();
    for (const [a, b] of pairs) {
      const toB = encodeList(a.missingFor(b.state.ctx, b.state.replicas));
      const toA = encodeList(b.missingFor(a.state.ctx, a.state.replicas));
      b.apply(decoded(toB));
      a.apply(decoded(toA));
      bytes = toA.length + toB.length;
    }
    this.figures.syncNs = ((cpuMs() - t0) * 1e6) / MERGE_LOOPS;
    this.figures.syncBytes = bytes;
    const copies = pairs.map(() => a0.state.clone());
    t0 = cpuMs();
    for (const j of copies) merge(j, b0.state);
    this.figures.joinNs = ((cpuMs() - t0) * 1e6) / MERGE_LOOPS;
    const [a, b] = pairs[0] as [ListReplica, ListReplica];
    if (seenOf(a) !== seenOf(b)) throw new Error(`${this.variant}: the replicas disagree after syncing`);
    if (Buffer.compare(encodeList(copies[0] as ListDoc), encodeList(a.state)) !== 0)
      throw new Error(`${this.variant}: the join and the sync disagree`);
    this.seen += seenOf(a);
  }

  result(): Run {
    return {
      ...this.figures,
      entries: (this.devices[0] as ListReplica).state.journal.size,
      seen: this.seen,
    };
  }
}

/** One run of both variants, phase by phase; `first` goes first in each phase. */
function runPair(
  ids: readonly string[],
  steps: readonly Step[],
  branches: readonly [Step[], Step[]],
  first: Variant,
): Record<Variant, Run> {
  const sides = (first === 'with' ? variants : [...variants].reverse()).map((v) => new Side(v, ids));
  for (const side of sides) side.stream(steps);
  for (const side of sides) side.delivery();
  for (const side of sides) side.codec();
  for (const side of sides) side.merge(branches);
  const [x, y] = sides as [Side, Side];
  return x.variant === 'with'
    ? { with: x.result(), without: y.result() }
    : { with: y.result(), without: x.result() };
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
  runPair(ids, steps, branches, 'with');
  const runs: Record<Variant, Run[]> = { with: [], without: [] };
  for (let rep = 0; rep < REPEATS; rep++) {
    const pair = runPair(ids, steps, branches, rep % 2 === 0 ? 'with' : 'without');
    for (const v of variants) {
      const run = pair[v];
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
    ['action: perform, encode, 2 peers apply', 'actionNs', 0, 'ns'],
    ['delivery: decode + apply a delta', 'deliveryNs', 0, 'ns'],
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
    // The ratio of each run (both variants measured in the same moments), then their median.
    const ratio =
      m === 'entries' ? Number.NaN : median(runs.with.map((r, i) => r[m] / (runs.without[i] as Run)[m]));
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
      `(fresh replicas each run; CPU time), Node ${process.version}, ${seconds.toFixed(0)} s in all`,
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
