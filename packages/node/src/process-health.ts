// What slows a server process down besides its work: event-loop stalls (a commit, a big encode, a
// burst that runs long) and garbage-collection pauses. Kept as cumulative counters, so a reader
// (the cluster benchmark, an operator) takes two readings and subtracts them to explain a window:
// where did the p99.9 write's time go. Cheap: one timer every 20 ms (unref'd) and the runtime's own
// GC entries.

import { PerformanceObserver, constants } from 'node:perf_hooks';

/** Stalls at least this long are counted in each bucket. */
const stallBucketsMs = [20, 50, 100, 250] as const;
const tickMs = 20;

export interface ProcessHealth {
  /** Cumulative figures (subtract two readings for a window). */
  read(): Record<string, number>;
  /**
   * GC pause and event-loop stall time (ms) overlapping [fromMs, toMs] of performance.now(), from
   * the last pausesKept of each (stalls are seen ≥ 20 ms, each known only once it has ended).
   */
  pausesDuring(fromMs: number, toMs: number): { gcMs: number; stallMs: number };
  stop(): void;
}

/** Recent pauses of each kind remembered for pausesDuring (a ring: older ones are forgotten). */
const pausesKept = 512;

/** [start, end] intervals of performance.now(), the last pausesKept. */
class Intervals {
  private readonly starts = new Float64Array(pausesKept);
  private readonly ends = new Float64Array(pausesKept);
  private n = 0;

  add(start: number, end: number): void {
    const i = this.n++ % pausesKept;
    this.starts[i] = start;
    this.ends[i] = end;
  }

  overlap(from: number, to: number): number {
    let ms = 0;
    for (let i = 0; i < Math.min(this.n, pausesKept); i++) {
      const o = Math.min(to, this.ends[i] as number) - Math.max(from, this.starts[i] as number);
      if (o > 0) ms += o;
    }
    return ms;
  }
}

export function watchProcessHealth(): ProcessHealth {
  const stalls = new Map<number, number>(stallBucketsMs.map((b) => [b, 0]));
  let stallMs = 0;
  let stallMaxMs = 0;
  const stallTimes = new Intervals();
  const gcTimes = new Intervals();
  let expected = performance.now() + tickMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    expected = now + tickMs;
    if (late < stallBucketsMs[0]) return;
    stallTimes.add(now - late, now);
    stallMs += late;
    stallMaxMs = Math.max(stallMaxMs, late);
    for (const b of stallBucketsMs) if (late >= b) stalls.set(b, (stalls.get(b) ?? 0) + 1);
  }, tickMs);
  timer.unref();

  let gcCount = 0;
  let gcMs = 0;
  let gcMaxMs = 0;
  let gcMajorMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcTimes.add(e.startTime, e.startTime + e.duration);
      gcCount++;
      gcMs += e.duration;
      gcMaxMs = Math.max(gcMaxMs, e.duration);
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcMajorMs += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  return {
    read: () => ({
      ...Object.fromEntries(stallBucketsMs.map((b) => [`loopStalls${b}ms`, stalls.get(b) ?? 0])),
      loopStallMs: Math.round(stallMs),
      loopStallMaxMs: Math.round(stallMaxMs),
      gcPauses: gcCount,
      gcPauseMs: Math.round(gcMs * 10) / 10,
      gcPauseMaxMs: Math.round(gcMaxMs * 10) / 10,
      gcMajorMs: Math.round(gcMajorMs * 10) / 10,
    }),
    pausesDuring: (fromMs, toMs) => ({
      gcMs: gcTimes.overlap(fromMs, toMs),
      stallMs: stallTimes.overlap(fromMs, toMs),
    }),
    stop: () => {
      clearInterval(timer);
      observer.disconnect();
    },
  };
}
