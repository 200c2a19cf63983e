// The deterministic simulator on every `npm test`: the regression seeds (each once exposed a real
// bug), a fixed baseline, and a few fresh random seeds (printed, so a failure can be replayed with
// SIM_SEED=<seed> npm run sim). Asserts that no checker failed, that the run set is not vacuous
// (every fault path was taken somewhere), that a seed replays exactly, and that the microtask
// drain between events is deep enough. Prints the figure line.

import { describe, expect, it } from 'vitest';
import { Prng } from './prng.ts';
import { fixedSeeds, regressionSeeds } from './regression-seeds.ts';
import { describeFailure, runSeed, summarize, type RunReport } from './run.ts';
import { Scheduler } from './scheduler.ts';

const randomSeedCount = Number(process.env['SIM_RANDOM_SEEDS'] ?? 12);

describe('simulator parts', () => {
  it('the generator is a pure function of its seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(new Set(xs).size).toBe(100);
    const c = new Prng(43);
    expect(c.u32()).not.toBe(xs[0]);
    for (let i = 0; i < 1000; i++) {
      const x = a.range(3, 7);
      expect(x >= 3 && x <= 7).toBe(true);
    }
  });

  it('the scheduler runs events in time order, ties in scheduling order', async () => {
    const s = new Scheduler();
    const seen: string[] = [];
    s.at(30, () => seen.push('c'));
    s.at(10, () => seen.push('a1'));
    s.at(10, () => seen.push('a2'));
    s.at(20, () => {
      seen.push('b');
      s.after(0, () => seen.push('b-next'));
    });
    await s.runUntil(25);
    expect(seen).toEqual(['a1', 'a2', 'b', 'b-next']);
    expect(s.nowMs).toBe(25);
    await s.runUntil(100);
    expect(seen.at(-1)).toBe('c');
  });
});

describe('deterministic simulation of the cloud', () => {
  it('replays a seed exactly', async () => {
    const a = await runSeed(7);
    const b = await runSeed(7);
    expect(b.trace).toBe(a.trace);
    expect(b.coverage).toEqual(a.coverage);
    expect(b.acknowledged).toBe(a.acknowledged);
  });

  it('regression, fixed and random seeds: no checker fails, every fault path is taken', async () => {
    const random = Array.from({ length: randomSeedCount }, () => Math.floor(Math.random() * 2 ** 32));
    console.log(`sim: random seeds this run: ${random.join(' ')}`);
    const seeds = [...regressionSeeds.map((r) => r.seed), ...fixedSeeds, ...random];
    const started = performance.now();
    // An unhandled rejection would crash a production process. The run's promise chains never
    // yield to the macrotask queue, so one surfaces after its run: wait a macrotask, charge it.
    let unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const reports: RunReport[] = [];
    try {
      for (const seed of seeds) {
        const report = await runSeed(seed);
        await new Promise((resolve) => setImmediate(resolve));
        for (const e of unhandled)
          report.failures.push(`unhandled rejection (a process crash): ${String(e)}`);
        unhandled = [];
        reports.push(report);
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    const summary = summarize(reports);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${summary.figure}\nsim: ${seeds.length} seeds in ${seconds} s`);
    for (const r of summary.failed) console.log(describeFailure(r));

    expect(summary.failed.map((r) => `${r.seed}: ${r.failures[0] ?? ''}`)).toEqual([]);
    expect(summary.lost).toBe(0);
    expect(summary.vacuous).toEqual([]);
    // Every run converged after healing.
    expect(reports.filter((r) => r.convergeMs === undefined).map((r) => r.seed)).toEqual([]);
    // The drain between events (scheduler.ts) is far deeper than any promise chain seen.
    const depth = Math.max(...reports.map((r) => r.activityDepthMax));
    expect(depth).toBeLessThan(new Scheduler().drainSteps / 2);
  }, 900_000); // against a hang only: the seeds take what the machine gives them
});
