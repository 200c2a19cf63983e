// The simulator's command line (the only file of this package that may touch Node):
//
//   SIM_SEED=<seed> npm run sim        replay one seed, with a trace of its faults
//   npm run sim -- --seeds N           run N random seeds
//   npm run sim                        run the regression and fixed seeds
//   ... -- --long                      the heavier soak profile (run.ts longProfile); a seed
//                                      found with it replays with it: SIM_SEED=<s> npm run sim -- --long
//
// Prints the figure line; exits 1 if any run failed or the run set was vacuous.

import { randomInt } from 'node:crypto';
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
    return { seeds: Array.from({ length: n }, () => randomInt(0, 0xffffffff)), verbose: false };
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

const profile: SimOverrides = process.argv.includes('--long') ? longProfile : {};

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

async function main(): Promise<void> {
  const { seeds, verbose } = seedsToRun(process.argv.slice(2));
  const reports: RunReport[] = [];
  const started = performance.now();
  for (const seed of seeds) {
    const t0 = performance.now();
    const report = await runOne(seed, verbose);
    reports.push(report);
    const ms = Math.round(performance.now() - t0);
    const status = report.failures.length === 0 ? 'ok' : 'FAILED';
    console.log(
      `seed ${seed}: ${status} — ${report.operations} ops, ${report.acknowledged} cloud-ok, ${report.faultCycles} faults, ` +
        `ring change ${report.ringChange ?? 'none'}, converged ${report.convergeMs ?? '-'} ms, ` +
        `coverage ${JSON.stringify(report.coverage)}, trace ${report.trace}, ${ms} ms real`,
    );
    if (report.failures.length > 0)
      console.log(describeFailure(report, profile === longProfile ? ' -- --long' : ''));
  }
  const summary = summarize(reports);
  console.log(summary.figure);
  console.log(`${seeds.length} seeds in ${Math.round(performance.now() - started)} ms real`);
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

await main();
