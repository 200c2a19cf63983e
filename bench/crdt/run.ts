// CRDT benchmark driver (`npm run bench:crdt`): Trolley's list CRDT against Yjs and Automerge on
// one seeded stream of 10,000 shopping-list operations, per docs/PERFORMANCE.md.
//
// What it measures, per implementation and profile ("small" ≈ 50 live items, "large" ≈ 2,600):
// - time for the whole stream: replica A performs each operation, its update is encoded, then
//   decoded and applied on replica B (µs/op is that time ÷ operations);
// - bytes per update (mean over the stream) and the final encoded document size of A;
// - merge: two replicas in sync after 2,000 operations of a small-list stream diverge by 1,000
//   different operations each; both compute what the other misses, ship it and apply it (both
//   directions, computed before either side applies anything); time and total bytes shipped.
// Every run starts from fresh replicas; each figure is the median of REPEATS runs (merges: of
// REPEATS × MERGES_PER_REPEAT runs, since one merge takes only milliseconds). Every run is
// checked: A and B of every implementation must equal the plain reference model (stream.ts), so
// all three end in the same list; a difference exits non-zero.
// Output: a table, then one JSON line (the last stdout line) with ratios Trolley ÷ baseline.
// Progress goes to stderr.

import { performance } from 'node:perf_hooks';
import { median, table } from '../common.ts';
import { impls, type Impl, type ImplName } from './impls.ts';
import {
  Rng,
  describe,
  diffModels,
  generateStream,
  mergeScenario,
  profiles,
  replay,
  type MergeScenario,
  type Model,
  type Op,
  type Profile,
} from './stream.ts';

const REPEATS = 5;
/** Automerge on the large list is slow; if a full run would take longer than this, it repeats less. */
const BUDGET_SECONDS = 6 * 60;
const AUTOMERGE_LARGE_REDUCED_REPEATS = 3;
const SEEDS = { small: 0x5eed_0001, large: 0x5eed_0002, merge: 0x5eed_0003, ids: 0x5eed_0004 };
const MERGE_BASE_OPS = 2_000;
const MERGE_BRANCH_OPS = 1_000;
/** A merge takes a few ms, so each repeat runs it several times (fresh replicas each time). */
const MERGES_PER_REPEAT = 3;

type ProfileName = Profile['name'];

interface StreamRun {
  timeMs: number;
  bytesPerUpdate: number;
  docBytes: number;
}

interface MergeRun {
  timeMs: number;
  bytes: number;
}

const log = (line: string): void => {
  process.stderr.write(`[bench:crdt] ${line}\n`);
};

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) g();
}

function check(what: string, got: Model, want: Model): void {
  const diff = diffModels(got, want);
  if (diff.length > 0) throw new Error(`${what} does not match the reference model:\n  ${diff.join('\n  ')}`);
}

// ---- one run -----------------------------------------------------------------------------------

function runStream(impl: Impl, ops: readonly Op[], expected: Model, rng: Rng): StreamRun {
  const [a, b] = impl.pair(rng);
  gc();
  let updateBytes = 0;
  const t0 = performance.now();
  for (const op of ops) {
    const update = a.perform(op);
    updateBytes += update.length;
    b.receive(update);
  }
  const timeMs = performance.now() - t0;
  const docBytes = a.encodedDoc().length;
  check(`${impl.name} replica A`, a.read(), expected);
  check(`${impl.name} replica B`, b.read(), expected);
  return { timeMs, bytesPerUpdate: updateBytes / ops.length, docBytes };
}

function runMerge(impl: Impl, s: MergeScenario, rng: Rng): MergeRun {
  const [a, b] = impl.pair(rng);
  for (const op of s.base) b.receive(a.perform(op));
  a.markSynced(b);
  b.markSynced(a);
  for (const op of s.branchA) a.perform(op);
  for (const op of s.branchB) b.perform(op);
  check(`${impl.name} branch A before merging`, a.read(), s.modelA);
  check(`${impl.name} branch B before merging`, b.read(), s.modelB);
  gc();

  const t0 = performance.now();
  const toB = a.missingFor(b);
  const toA = b.missingFor(a);
  b.receiveMissing(toB);
  a.receiveMissing(toA);
  const timeMs = performance.now() - t0;

  check(`${impl.name} replica A after merging`, a.read(), s.merged);
  check(`${impl.name} replica B after merging`, b.read(), s.merged);
  let bytes = 0;
  for (const m of [...toA, ...toB]) bytes += m.length;
  return { timeMs, bytes };
}

// ---- statistics and formatting -----------------------------------------------------------------

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

// ---- main --------------------------------------------------------------------------------------

function main(): void {
  const started = performance.now();
  const profileNames: ProfileName[] = ['small', 'large'];
  const streams = new Map<ProfileName, { ops: Op[]; expected: Model }>();
  for (const p of profileNames) {
    const ops = generateStream(profiles[p], SEEDS[p]);
    const { kinds, live } = describe(ops);
    log(`stream ${p}: ${ops.length} ops, ${live} live items at the end, ${JSON.stringify(kinds)}`);
    streams.set(p, { ops, expected: replay(ops) });
  }
  const scenario = mergeScenario(SEEDS.merge, MERGE_BASE_OPS, MERGE_BRANCH_OPS);
  log(
    `merge: ${MERGE_BASE_OPS} shared ops, then ${MERGE_BRANCH_OPS} per branch; ` +
      `${scenario.merged.size} live items after merging`,
  );

  // Warm-up (not measured): lets the JIT settle on every code path.
  const small = streams.get('small');
  if (small === undefined) throw new Error('no small stream');
  const warmOps = small.ops.slice(0, 1_000);
  for (const impl of impls) runStream(impl, warmOps, replay(warmOps), new Rng(SEEDS.ids));
  log(`warm-up done (${((performance.now() - started) / 1000).toFixed(1)} s)`);

  const streamRuns = new Map<string, StreamRun[]>();
  const mergeRuns = new Map<ImplName, MergeRun[]>();
  const runsOf = (impl: ImplName, p: ProfileName): StreamRun[] => {
    const k = `${impl}/${p}`;
    let runs = streamRuns.get(k);
    if (runs === undefined) streamRuns.set(k, (runs = []));
    return runs;
  };

  let automergeLargeRepeats = REPEATS;
  let reducedNote: string | undefined;
  for (let rep = 0; rep < REPEATS; rep++) {
    const repStart = performance.now();
    // Rotate the order of implementations between repeats, so none always runs first.
    const order = impls.map((_, i) => impls[(i + rep) % impls.length] as Impl);
    for (const p of profileNames) {
      const s = streams.get(p);
      if (s === undefined) throw new Error(`no ${p} stream`);
      for (const impl of order) {
        if (impl.name === 'automerge' && p === 'large' && rep >= automergeLargeRepeats) continue;
        const run = runStream(impl, s.ops, s.expected, new Rng(SEEDS.ids + rep));
        runsOf(impl.name, p).push(run);
        log(
          `run ${rep + 1}/${REPEATS} ${p.padEnd(5)} ${impl.name.padEnd(9)} ${run.timeMs.toFixed(0).padStart(6)} ms` +
            `  ${run.bytesPerUpdate.toFixed(1)} B/update  ${run.docBytes} B doc`,
        );
      }
    }
    for (let k = 0; k < MERGES_PER_REPEAT; k++) {
      for (const impl of order) {
        const run = runMerge(impl, scenario, new Rng(SEEDS.ids + 100 * rep + k));
        let runs = mergeRuns.get(impl.name);
        if (runs === undefined) mergeRuns.set(impl.name, (runs = []));
        runs.push(run);
        log(
          `run ${rep + 1}/${REPEATS} merge ${impl.name.padEnd(9)} ${run.timeMs.toFixed(1).padStart(7)} ms  ${run.bytes} B`,
        );
      }
    }
    if (rep === 0) {
      const repSeconds = (performance.now() - repStart) / 1000;
      const projected = (performance.now() - started) / 1000 + repSeconds * (REPEATS - 1);
      if (projected > BUDGET_SECONDS) {
        automergeLargeRepeats = AUTOMERGE_LARGE_REDUCED_REPEATS;
        reducedNote =
          `Automerge large-list repeats reduced to ${automergeLargeRepeats} ` +
          `(a full run was projected at ${projected.toFixed(0)} s, over the ${BUDGET_SECONDS} s budget)`;
        log(reducedNote);
      }
    }
  }

  // ---- medians, table, JSON --------------------------------------------------------------------
  type StreamFigures = { timeMs: number; usPerOp: number; bytesPerUpdate: number; docBytes: number };
  const figures = {} as Record<ProfileName, Record<ImplName, StreamFigures & { runs: number }>>;
  const rows: string[][] = [];
  for (const p of profileNames) {
    const opsCount = streams.get(p)?.ops.length ?? NaN;
    figures[p] = {} as Record<ImplName, StreamFigures & { runs: number }>;
    for (const impl of impls) {
      const runs = runsOf(impl.name, p);
      const timeMs = median(runs.map((r) => r.timeMs));
      const f = {
        timeMs: round(timeMs, 1),
        usPerOp: round((timeMs * 1000) / opsCount, 2),
        bytesPerUpdate: round(median(runs.map((r) => r.bytesPerUpdate)), 1),
        docBytes: median(runs.map((r) => r.docBytes)),
        runs: runs.length,
      };
      figures[p][impl.name] = f;
      rows.push([
        impl.name,
        p,
        f.timeMs.toFixed(1),
        f.usPerOp.toFixed(2),
        f.bytesPerUpdate.toFixed(1),
        String(f.docBytes),
        String(f.runs),
      ]);
    }
  }
  const merge = {} as Record<ImplName, MergeRun & { runs: number }>;
  const mergeRows: string[][] = [];
  for (const impl of impls) {
    const runs = mergeRuns.get(impl.name) ?? [];
    const m = {
      timeMs: round(median(runs.map((r) => r.timeMs)), 2),
      bytes: median(runs.map((r) => r.bytes)),
      runs: runs.length,
    };
    merge[impl.name] = m;
    mergeRows.push([impl.name, 'merge', m.timeMs.toFixed(2), String(m.bytes), String(m.runs)]);
  }

  const worse = (f: (p: ProfileName) => number): number => round(Math.max(...profileNames.map(f)), 3);
  const ours = (p: ProfileName): StreamFigures => figures[p].trolley;
  const ratios = {
    timeVsYjs: worse((p) => ours(p).timeMs / figures[p].yjs.timeMs),
    timeVsAutomerge: worse((p) => ours(p).timeMs / figures[p].automerge.timeMs),
    updateBytesVsYjs: worse((p) => ours(p).bytesPerUpdate / figures[p].yjs.bytesPerUpdate),
    docBytesVsAutomerge: worse((p) => ours(p).docBytes / figures[p].automerge.docBytes),
    growthLargeOverSmall: round(ours('large').timeMs / ours('small').timeMs, 3),
    mergeTimeVsYjs: round(merge.trolley.timeMs / merge.yjs.timeMs, 3),
    mergeBytesVsYjs: round(merge.trolley.bytes / merge.yjs.bytes, 3),
  };

  const totalSeconds = (performance.now() - started) / 1000;
  console.log(
    `CRDT benchmark: ${streams.get('small')?.ops.length} ops per stream, medians of ${REPEATS} runs ` +
      `(fresh replicas each run), Node ${process.version}, ${totalSeconds.toFixed(0)} s in all`,
  );
  console.log('Time: A performs each op, encodes it; B decodes and applies it. Doc: A encoded at the end.');
  console.log('');
  console.log(
    table(['impl', 'profile', 'time ms', 'µs/op', 'B/update', 'doc bytes', 'runs'], rows, (i) => i < 2),
  );
  console.log('');
  console.log(
    `Merge: in sync after ${MERGE_BASE_OPS} small-list ops, then ${MERGE_BRANCH_OPS} different ops on each side; ` +
      'both directions (compute what the other misses, ship, decode, apply).',
  );
  console.log('');
  console.log(table(['impl', 'row', 'time ms', 'bytes', 'runs'], mergeRows, (i) => i < 2));
  console.log('');
  if (reducedNote !== undefined) console.log(`Note: ${reducedNote}.`);
  console.log('All replicas of all implementations ended in the same list as the reference model.');
  console.log(
    JSON.stringify({
      bench: 'crdt',
      ratios,
      profiles: figures,
      merge,
      ops: streams.get('small')?.ops.length,
      repeats: REPEATS,
      automergeLargeRepeats,
      command: 'npm run bench:crdt',
      node: process.version,
      seconds: round(totalSeconds, 1),
    }),
  );
}

try {
  main();
} catch (e) {
  process.stderr.write(`[bench:crdt] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
