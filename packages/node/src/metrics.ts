// Prometheus metrics for a Trolley process (storage node, proxy, gateway), with prom-client. Most
// figures are what the process already counts (the node's and proxy's counters, the store's and
// the process health's figures), read at scrape time: nothing is counted twice. What has no
// counter yet — how long each kind of request took, a committed batch's size and time — comes
// from the logic's observer ports (cloud/src/observer.ts, SqliteListStore's onDurable) into the
// histograms here. Every name is in docs/METRICS.md; the names follow Prometheus's conventions
// (snake case, a `trolley_<process>_` prefix, base units, `_total` for counters).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestKind, RequestObserver, RequestOutcome } from '@trolley/cloud';
import type { ProcessHealth } from './process-health.ts';

/** Seconds; from a fast local commit (~1 ms) to a write that waited out its deadline (~5 s). */
export const latencyBucketsS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Labels and value of one series of a labelled metric. */
export type Series<L extends string> = readonly [Partial<Record<L, string>>, number];

/** camelCase → snake_case (`hintsStored` → `hints_stored`), for metric names made from counter names. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * One process's registry: Node's default metrics (CPU, memory, GC, event-loop delay: prom-client's
 * `nodejs_eventloop_lag_*`, measured with perf_hooks.monitorEventLoopDelay), the process health's
 * stall counters, and whatever the process registers through the helpers below.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(
    /** The metric name prefix of this process, e.g. `trolley_node`. */
    readonly prefix: string,
    health?: ProcessHealth,
  ) {
    collectDefaultMetrics({ register: this.registry });
    if (health !== undefined) {
      this.counter(
        'trolley_process_event_loop_stall_seconds_total',
        'Time the event loop ran late by at least 20 ms, summed (process-health.ts).',
        () => (health.read()['loopStallMs'] ?? 0) / 1000,
      );
      this.counters(
        'trolley_process_event_loop_stalls_total',
        'Event-loop stalls of at least min_ms milliseconds.',
        ['min_ms'],
        () =>
          Object.entries(health.read()).flatMap(([k, v]): Series<'min_ms'>[] => {
            const m = /^loopStalls(\d+)ms$/.exec(k);
            return m === null ? [] : [[{ min_ms: m[1] as string }, v]];
          }),
      );
    }
  }

  /** A counter whose value is read at scrape time from what the process already counts. */
  counter(name: string, help: string, read: () => number): void {
    this.counters(name, help, [], () => [[{}, read()]]);
  }

  /** A labelled counter read at scrape time (every series it reads; none it does not). */
  counters<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => readonly Series<L>[],
  ): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges(name, help, [], () => [[{}, read()]]);
  }

  /** A labelled gauge read at scrape time. */
  gauges<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => readonly Series<L>[],
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  }

  /**
   * Every field of a counters object as its own counter, `<prefix>_<snake_case>_total`, read at
   * scrape time; `help` has a line for each field (the compiler sees that none is missing).
   */
  countersOf<T extends object>(
    help: { readonly [K in keyof T]: string },
    read: () => T,
    prefix: string = this.prefix,
  ): void {
    for (const key of Object.keys(help) as (keyof T & string)[])
      this.counter(`${prefix}_${snakeCase(key)}_total`, help[key], () => Number(read()[key]));
  }

  /** `<prefix>_info{…} 1`: who this process is, as labels (Prometheus's info-metric pattern). */
  info(labels: Record<string, string>): void {
    new Gauge({
      name: `${this.prefix}_info`,
      help: 'Always 1; the labels say which process this is.',
      labelNames: Object.keys(labels),
      registers: [this.registry],
    }).set(labels, 1);
  }

  /**
   * `<prefix>_requests_total{kind,outcome,cause}` (every request, refusals by cause) and
   * `<prefix>_request_duration_seconds{kind,outcome}` (every request answered, not refused: the
   * time from its arrival to its answer), fed by an observer the logic is given. The `kinds` this
   * process serves start at 0 (outcome ok), so that a rate is defined before the first request.
   */
  requestObserver(kinds: readonly RequestKind[]): RequestObserver {
    const requests = new Counter({
      name: `${this.prefix}_requests_total`,
      help: 'Requests finished, by kind and outcome; refused ones by cause (the error code answered).',
      labelNames: ['kind', 'outcome', 'cause'] as const,
      registers: [this.registry],
    });
    const duration = new Histogram({
      name: `${this.prefix}_request_duration_seconds`,
      help: 'Time from a request’s arrival to its answer, by kind and outcome (refusals not included).',
      labelNames: ['kind', 'outcome'] as const,
      buckets: [...latencyBucketsS],
      registers: [this.registry],
    });
    for (const kind of kinds) {
      requests.inc({ kind, outcome: 'ok', cause: '' }, 0);
      duration.zero({ kind, outcome: 'ok' });
    }
    return {
      request: (kind: RequestKind, outcome: RequestOutcome, ms: number, cause?: string) => {
        requests.inc({ kind, outcome, cause: cause ?? '' });
        if (outcome !== 'refused') duration.observe({ kind, outcome }, Math.max(0, ms) / 1000);
      },
    };
  }

  /** The exposition (Prometheus text format 0.0.4) and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
