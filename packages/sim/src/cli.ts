// The simulator's command line (the only file of this package that may touch Node):
//
//   SIM_SEED=<seed> npm run sim        replay one seed, with a trace of its faults
//   npm run sim -- --seeds N           run N random seeds (--first S: seeds S … S+N−1 instead)
//   npm run sim:soak                   10,000 seeds (--seeds 10000), on every core
//   ... -- --jobs J                    J worker threads (default: the machine's parallelism, for
//                                      more than 50 seeds; each seed is one whole run in one thread,
//                                      so a seed replays the same whatever J is)
//   npm run sim                        run the regression and fixed seeds
//   ... -- --long                      the heavier soak profile (run.ts longProfile); a seed
//                                      found with it replays with it: SIM_SEED=<s> npm run sim -- --long
//
// Prints the figure line; exits 1 if any run failed or the run set was vacuous.

import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  describeFailure,
  longProfile,
  runSeed,
  summarize,
  type RunReport,
  type SimOverrides,
} from './run.ts';
import { fixedSeeds, regressionSeeds } from './regression-seeds.ts';

function seedsToRun(argv: readonly string[]): { seeds: number[]; verbose: boolean } {
  const env = process.env['SIM_SEED'];
  if (env !== undefined && env !== '') {
    const seed = Number(env);
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
      console.error(`SIM_SEED must be an integer in 0..4294967295, got ${JSON.stringify(env)}`);
      process.exit(2);
    }
    return { seeds: [seed], verbose: true };
  }
  const i = argv.indexOf('--seeds');
  if (i >= 0) {
    const n = Number(argv[i + 1]);
    if (!Number.isSafeInteger(n) || n < 1) {
      console.error('--seeds takes a positive whole number');
      process.exit(2);
    }
    const f = argv.indexOf('--first');
    const first = f >= 0 ? Number(argv[f + 1]) : undefined;
    if (first !== undefined && (!Number.isSafeInteger(first) || first < 0 || first + n - 1 > 0xffffffff)) {
      console.error('--first takes a seed in 0..4294967295 (and room for the N seeds after it)');
      process.exit(2);
    }
    const seeds = Array.from({ length: n }, (_, i) =>
      first === undefined ? randomInt(0, 0xffffffff) : first + i,
    );
    return { seeds, verbose: false };
  }
  return { seeds: [...regressionSeeds.map((r) => r.seed), ...fixedSeeds], verbose: false };
}

/**
 * Unhandled promise rejections are process crashes in production (Node's default). The run's
 * promise chains never yield to the macrotask queue, so a rejection surfaces only after the run:
 * wait one macrotask after each seed and charge it to that seed.
 */
let unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

const profile: SimOverrides = (
  isMainThread ? process.argv.includes('--long') : (workerData as { long: boolean }).long
)
  ? longProfile
  : {};

async function runOne(seed: number, verbose: boolean): Promise<RunReport> {
  const trace = verbose ? { trace: (line: string) => console.log(`  ${line}`) } : {};
  const report = await runSeed(seed, { ...profile, ...trace });
  await new Promise((resolve) => setImmediate(resolve));
  for (const e of unhandled)
    report.failures.push(
      `unhandled rejection (a crash of a production process): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
  unhandled = [];
  return report;
}

function jobsFor(argv: readonly string[], seeds: number): number {
  const i = argv.indexOf('--jobs');
  if (i >= 0) {
    const j = Number(argv[i + 1]);
    if (!Number.isSafeInteger(j) || j < 1 || j > 256) {
      console.error('--jobs takes a whole number from 1 to 256');
      process.exit(2);
    }
    return j;
  }
  return seeds > 50 ? Math.max(1, availableParallelism()) : 1;
}

/** One line per seed for small sets; for large ones, failures and a progress line now and then. */
function printReport(report: RunReport, ms: number, quiet: boolean): void {
  const status = report.failures.length === 0 ? 'ok' : 'FAILED';
  if (!quiet || report.failures.length > 0)
    console.log(
      `seed ${report.seed}: ${status} — ${report.operations} ops, ${report.acknowledged} cloud-ok, ${report.faultCycles} faults, ` +
        `ring change ${report.ringChange ?? 'none'}, converged ${report.convergeMs ?? '-'} ms, ` +
        `coverage ${JSON.stringify(report.coverage)}, trace ${report.trace}, ${ms} ms real`,
    );
  if (report.failures.length > 0)
    console.log(describeFailure(report, profile === longProfile ? ' -- --long' : ''));
}

/** Runs `seeds` on `jobs` worker threads, calling `done` as each finishes. */
async function inWorkers(
  seeds: readonly number[],
  jobs: number,
  done: (report: RunReport, ms: number) => void,
): Promise<void> {
  let next = 0;
  const work = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { long: profile === longProfile } });
      const feed = (): void => {
        const seed = seeds[next++];
        if (seed === undefined) void worker.terminate().then(() => resolve());
        else worker.postMessage(seed);
      };
      worker.on('message', (m: { report: RunReport; ms: number }) => {
        done(m.report, m.ms);
        feed();
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, work));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { seeds, verbose } = seedsToRun(argv);
  const jobs = verbose ? 1 : jobsFor(argv, seeds.length);
  const quiet = seeds.length > 200;
  const reports: RunReport[] = [];
  const started = performance.now();
  const progressEvery = Math.max(1, Math.round(seeds.length / 50));
  const record = (report: RunReport, ms: number): void => {
    reports.push(report);
    printReport(report, ms, quiet);
    if (quiet && (reports.length % progressEvery === 0 || reports.length === seeds.length)) {
      const s = summarize(reports);
      const elapsed = (performance.now() - started) / 1000;
      console.log(
        `progress: ${reports.length}/${seeds.length} seeds, ${s.failed.length} failed, ` +
          `${reports.reduce((n, r) => n + r.operations, 0)} operations, ${s.faultCycles} faults, ` +
          `${s.acknowledged} cloud-ok (${s.lost} lost), coverage ${JSON.stringify(s.coverage)}, ` +
          `${elapsed.toFixed(0)} s (${((elapsed / reports.length) * (seeds.length - reports.length)).toFixed(0)} s to go)`,
      );
    }
  };
  if (jobs > 1) {
    console.log(`${seeds.length} seeds on ${jobs} worker threads`);
    await inWorkers(seeds, jobs, record);
  } else
    for (const seed of seeds) {
      const t0 = performance.now();
      record(await runOne(seed, verbose), Math.round(performance.now() - t0));
    }
  const summary = summarize(reports);
  console.log(summary.figure);
  console.log(
    `${seeds.length} seeds in ${Math.round(performance.now() - started)} ms real; ` +
      `${reports.reduce((n, r) => n + r.operations, 0)} operations, ` +
      `${reports.reduce((n, r) => n + r.clients, 0)} real clients, ${summary.faultCycles} fault cycles`,
  );
  let bad = summary.failed.length > 0;
  if (summary.failed.length > 0)
    console.log(
      `failed seeds: ${summary.failed.map((r) => r.seed).join(' ')} (replay: SIM_SEED=<seed> npm run sim${profile === longProfile ? ' -- --long' : ''})`,
    );
  if (summary.vacuous.length > 0 && seeds.length > 1) {
    console.log(`VACUOUS: these fault paths were never taken: ${summary.vacuous.join(', ')}`);
    bad = true;
  }
  process.exitCode = bad ? 1 : 0;
}

if (isMainThread) await main();
else
  parentPort?.on('message', (seed: number) => {
    void (async () => {
      const t0 = performance.now();
      const report = await runOne(seed, false);
      parentPort?.postMessage({ report, ms: Math.round(performance.now() - t0) });
    })();
  });
