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
import { Simulation, defaultSimConfig } from './simulation.ts';
import { checkFinalState } from './checkers.ts';
import { ListReplica, encodeList, type ListId, type ReplicaId } from '@trolley/core';

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

describe('the live-update check', () => {
  it('fails for a change shown to a watcher that no owner holds, unless it is still in an outbox', async () => {
    const sim = new Simulation({ ...defaultSimConfig, seed: 7 });
    await sim.safety();
    expect(await sim.liveness()).toBeDefined();
    const finalNodes = () =>
      [...sim.slots.values()].map((s) => ({ id: s.id, store: s.store.reopen(), ring: s.node?.ring }));
    const listId = sim.lists[0] as ListId;
    expect(sim.history.shownOf(listId).length).toBeGreaterThan(0); // the clients did watch
    expect(checkFinalState(finalNodes(), sim.history, sim.config.quorum.n).failures).toEqual([]);

    // A change a watcher was shown, which reached no replica: the check must say so …
    const stray = new ListReplica('stray-writer' as ReplicaId).addItem('Stray', 1);
    sim.history.shown(listId, encodeList(stray));
    const lost = checkFinalState(finalNodes(), sim.history, sim.config.quorum.n);
    expect(lost.failures.filter((f) => f.startsWith('live:'))).toHaveLength(1);
    // … unless its writer still holds it in its outbox (it is not lost, only not yet sent).
    const pending = new Map([[listId, [stray]]]);
    expect(checkFinalState(finalNodes(), sim.history, sim.config.quorum.n, pending).failures).toEqual([]);
  }, 900_000);
});
