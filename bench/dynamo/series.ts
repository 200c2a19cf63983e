// The figures of bench:dynamo as series over time, from what the run recorded: each request's
// latency (client side) and the nodes' Prometheus counters and gauges sampled every second or so.
// Pure functions, no I/O, so the shaping can be unit-tested (series.test.ts).

import { percentile } from '../common.ts';

/** One request as the load generator saw it. */
export interface RequestSample {
  /** Seconds since the load started, when the request was sent. */
  t: number;
  kind: 'read' | 'write';
  /** Milliseconds to its answer (or to giving up). */
  ms: number;
  ok: boolean;
}

export interface LatencyPoint {
  /** Start of the window, seconds since the load started. */
  t: number;
  kind: 'read' | 'write';
  count: number;
  failed: number;
  p50: number;
  p99: number;
  p999: number;
}

/**
 * Latency percentiles per window of `windowS` seconds and kind, over the requests answered ok
 * (failed ones are counted apart). Windows with no request of a kind are left out.
 */
export function latencyWindows(samples: readonly RequestSample[], windowS: number): LatencyPoint[] {
  if (!(windowS > 0)) throw new RangeError(`windowS must be positive, got ${windowS}`);
  const groups = new Map<string, { t: number; kind: 'read' | 'write'; ms: number[]; failed: number }>();
  for (const s of samples) {
    const t = Math.floor(s.t / windowS) * windowS;
    const key = `${s.kind} ${t}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { t, kind: s.kind, ms: [], failed: 0 }));
    if (s.ok) g.ms.push(s.ms);
    else g.failed++;
  }
  const points: LatencyPoint[] = [];
  for (const g of groups.values()) {
    const sorted = Float64Array.from(g.ms).sort();
    points.push({
      t: g.t,
      kind: g.kind,
      count: sorted.length + g.failed,
      failed: g.failed,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      p999: percentile(sorted, 0.999),
    });
  }
  return points.sort((a, b) => a.t - b.t || a.kind.localeCompare(b.kind));
}

/** What one sample of the cluster read from each node that answered its scrape. */
export interface NodeReading {
  /** Cumulative counters (reset to 0 when the process restarts). */
  requests: number;
  gets: number;
  readsDivergent: number;
  /** Gauges. */
  hintsWaiting: number;
  lists: number;
}

export interface ClusterSample {
  /** Seconds since the load started. */
  t: number;
  /** Node ID → its reading; a node missing did not answer (down or cut off). */
  nodes: Record<string, NodeReading>;
}

/**
 * How much a counter grew between two readings, as Prometheus's increase() takes it: a value lower
 * than before means the process restarted and counted again from 0.
 */
export function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}

export interface ClusterPoint {
  t: number;
  /** Nodes that answered this sample and the one before. */
  nodesSeen: number;
  /** Client gets the nodes coordinated in the interval, and the share that saw divergent replicas. */
  gets: number;
  divergentShare: number;
  /** Hints waiting on all nodes that answered. */
  hintsWaiting: number;
  /** Requests per node in the interval: largest ÷ mean, and the share of nodes > 15% off the mean. */
  imbalance: number;
  outOfBalance: number;
  /** Lists held: largest node ÷ mean. */
  listsImbalance: number;
}

/** Dynamo §6.2: a node is out of balance when its load is more than this far from the mean. */
export const OUT_OF_BALANCE = 0.15;

/** largest ÷ mean of `loads` (NaN for none, or a mean of 0). */
export function maxOverMean(loads: readonly number[]): number {
  if (loads.length === 0) return Number.NaN;
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
  return mean === 0 ? Number.NaN : Math.max(...loads) / mean;
}

/** The share of `loads` more than OUT_OF_BALANCE from their mean (NaN for none). */
export function outOfBalanceShare(loads: readonly number[]): number {
  if (loads.length === 0) return Number.NaN;
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
  if (mean === 0) return Number.NaN;
  return loads.filter((x) => Math.abs(x - mean) > OUT_OF_BALANCE * mean).length / loads.length;
}

/** One point per pair of consecutive samples (the interval between them). */
export function clusterSeries(samples: readonly ClusterSample[]): ClusterPoint[] {
  const points: ClusterPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1] as ClusterSample;
    const after = samples[i] as ClusterSample;
    let gets = 0;
    let divergent = 0;
    const loads: number[] = [];
    for (const [id, b] of Object.entries(after.nodes)) {
      const a = before.nodes[id];
      if (a === undefined) continue;
      gets += increase(a.gets, b.gets);
      divergent += increase(a.readsDivergent, b.readsDivergent);
      loads.push(increase(a.requests, b.requests));
    }
    const present = Object.values(after.nodes);
    points.push({
      t: after.t,
      nodesSeen: loads.length,
      gets,
      divergentShare: gets === 0 ? Number.NaN : divergent / gets,
      hintsWaiting: present.reduce((s, n) => s + n.hintsWaiting, 0),
      imbalance: maxOverMean(loads),
      outOfBalance: outOfBalanceShare(loads),
      listsImbalance: maxOverMean(present.map((n) => n.lists)),
    });
  }
  return points;
}

/** A fault as the run did it: when it began, when it ended, when the cluster had converged. */
export interface FaultSpan {
  label: string;
  /** Seconds since the load started. */
  start: number;
  end: number;
  /** When convergence was first seen (undefined: not within the time the run gave it). */
  converged?: number;
}
