// Running seeds: one run is safety phase, liveness phase, checkers; a run set adds up the figures
// and fails as vacuous if a fault path was never taken (RELIABILITY.md, Antithesis-style coverage).

import { checkFinalState } from './checkers.ts';
import { defaultClientConfig } from './client.ts';
import { Simulation, coverageNames, defaultSimConfig, type Coverage, type SimConfig } from './simulation.ts';

export interface RunReport {
  seed: number;
  failures: string[];
  operations: number;
  acknowledged: number;
  lost: number;
  faultCycles: number;
  /** Virtual ms from healing to quiescence (undefined: did not converge). */
  convergeMs: number | undefined;
  coverage: Coverage;
  ringChange: string | undefined;
  clients: number;
  virtualMs: number;
  events: number;
  /** Deepest microtask drain step at which something happened (scheduler.ts). */
  activityDepthMax: number;
  /** Equal on every replay of the seed. */
  trace: string;
}

export type SimOverrides = Partial<Omit<SimConfig, 'seed'>>;

/** A heavier profile for soak runs (`npm run sim -- --long`): longer, busier, always a ring change. */
export const longProfile: SimOverrides = {
  safetyMs: 60_000,
  clientCount: 4,
  listCount: 5,
  ringChangeChance: 1,
  client: { ...defaultClientConfig, opEveryMs: [50, 300] },
};

export async function runSeed(seed: number, overrides: SimOverrides = {}): Promise<RunReport> {
  const sim = new Simulation({ ...defaultSimConfig, ...overrides, seed: seed >>> 0 });
  await sim.safety();
  const convergeMs = await sim.liveness();
  const failures = [...sim.history.failures, ...sim.trustFailures()];
  let acknowledged = sim.history.acknowledged().length;
  let lost = 0;
  if (!sim.aborted) {
    const nodes = [...sim.slots.values()].map((s) => ({
      id: s.id,
      store: s.store.reopen(),
      ring: s.node?.ring,
    }));
    const pending = await sim.pendingDeltas();
    const verdict = checkFinalState(nodes, sim.history, sim.config.quorum.n, pending);
    failures.push(...verdict.failures);
    acknowledged = verdict.acknowledged;
    lost = verdict.lost;
  }
  const net = sim.network;
  return {
    seed: seed >>> 0,
    failures,
    operations: sim.history.all().length,
    acknowledged,
    lost,
    faultCycles: sim.faultCycles,
    convergeMs,
    coverage: sim.coverage(),
    ringChange: sim.ringChange,
    clients: sim.clients.length,
    virtualMs: sim.scheduler.nowMs,
    events: sim.scheduler.events,
    activityDepthMax: sim.scheduler.activityDepthMax,
    trace: `${net.trace.toString(16).padStart(8, '0')}-${sim.scheduler.events}`,
  };
}

export interface RunSetSummary {
  seeds: number;
  failed: RunReport[];
  acknowledged: number;
  lost: number;
  faultCycles: number;
  convergeP50Ms: number | undefined;
  convergeP99Ms: number | undefined;
  coverage: Coverage;
  /** Coverage events that never happened: the run set is vacuous for them. */
  vacuous: (keyof Coverage)[];
  figure: string;
}

export function summarize(reports: readonly RunReport[]): RunSetSummary {
  const coverage: Coverage = {
    hintedWrites: 0,
    hintsDelivered: 0,
    antiEntropyRepairs: 0,
    lateApplied: 0,
    changesShown: 0,
  };
  for (const r of reports) for (const k of coverageNames) coverage[k] += r.coverage[k];
  const times = reports
    .map((r) => r.convergeMs)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  const pct = (p: number): number | undefined =>
    times.length === 0
      ? undefined
      : times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  const acknowledged = reports.reduce((s, r) => s + r.acknowledged, 0);
  const lost = reports.reduce((s, r) => s + r.lost, 0);
  const faultCycles = reports.reduce((s, r) => s + r.faultCycles, 0);
  const p50 = pct(50);
  const p99 = pct(99);
  const vacuous = coverageNames.filter((k) => coverage[k] === 0);
  const figure =
    `sim: cloud-ok writes lost ${lost} of ${acknowledged} over ${reports.length} seeds (${faultCycles} fault cycles); ` +
    `converge after heal p50 ${p50 ?? '-'} ms p99 ${p99 ?? '-'} ms (virtual); ` +
    `coverage: hinted ${coverage.hintedWrites}, delivered ${coverage.hintsDelivered}, ` +
    `AE repairs ${coverage.antiEntropyRepairs}, late-applied ${coverage.lateApplied}, ` +
    `changes shown to watchers ${coverage.changesShown}`;
  return {
    seeds: reports.length,
    failed: reports.filter((r) => r.failures.length > 0),
    acknowledged,
    lost,
    faultCycles,
    convergeP50Ms: p50,
    convergeP99Ms: p99,
    coverage,
    vacuous,
    figure,
  };
}

/** The lines printed for a failed run: what broke, and the one command that replays it. */
export function describeFailure(r: RunReport, replayArgs = ''): string {
  return [
    `seed ${r.seed} FAILED (${r.failures.length} problems; ring change: ${r.ringChange ?? 'none'}):`,
    ...r.failures.map((f) => `  - ${f}`),
    `  reproduce with: SIM_SEED=${r.seed} npm run sim${replayArgs}`,
  ].join('\n');
}
