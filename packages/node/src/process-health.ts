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
  stop(): void;
}

export function watchProcessHealth(): ProcessHealth {
  const stalls = new Map<number, number>(stallBucketsMs.map((b) => [b, 0]));
  let stallMs = 0;
  let stallMaxMs = 0;
  let expected = performance.now() + tickMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    expected = now + tickMs;
    if (late < stallBucketsMs[0]) return;
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
    stop: () => {
      clearInterval(timer);
      observer.disconnect();
    },
  };
}
