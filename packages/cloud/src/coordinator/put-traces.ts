// Where a coordinated write's time goes (issue 13, item 5): each put this node coordinates leaves a
// trace — the time from its frame's handling to the write check's end (decode, check, and the read
// a check may need), then from the sends to the local commit and to each remote acknowledgement,
// and to the answer. Up to `tracesMax` are kept between two reports; each stats read reports those
// answered since the last read (their spread, and the slowest 0.1% each with the garbage-collection
// and event-loop stall time that overlapped it: a port, since the process knows its pauses and the
// logic does not), so the tail of a window — a benchmark's phase — has named causes.

import type { OpId } from '@trolley/core';

export interface PutTrace {
  opId: OpId;
  /** Monotonic ms: the put's frame handled; its replicas asked (after the write check). */
  startMs: number;
  sentMs: number;
  /** Ms after sentMs: the local replica's commit (undefined if this node is not a target). */
  localMs: number | undefined;
  /** Ms after sentMs: each remote acknowledgement, in arrival order. */
  remoteMs: number[];
  /** Monotonic ms: the answer sent (ok or unknown). */
  answeredMs: number;
  outcome: string;
}

/** GC and event-loop stall time (ms) that overlapped an interval of the monotonic clock. */
export type PausesDuring = (fromMs: number, toMs: number) => { gcMs: number; stallMs: number };

const round = (x: number): number => Math.round(x * 100) / 100;

export class PutTraces {
  private readonly ring: PutTrace[] = [];
  private next = 0;

  constructor(private readonly tracesMax = 4_096) {}

  add(t: PutTrace): void {
    if (this.ring.length < this.tracesMax) this.ring.push(t);
    else this.ring[this.next] = t;
    this.next = (this.next + 1) % this.tracesMax;
  }

  /**
   * The traces kept since the last report (then forgotten): their spread, and the slowest 0.1% (at
   * least one) broken down.
   */
  report(pauses: PausesDuring | undefined): Record<string, unknown> {
    const all = this.ring.splice(0).sort((a, b) => b.answeredMs - b.startMs - (a.answeredMs - a.startMs));
    this.next = 0;
    const n = all.length;
    const at = (q: number): number => {
      const t = all[Math.min(n - 1, Math.floor((1 - q) * n))];
      return t === undefined ? 0 : round(t.answeredMs - t.startMs);
    };
    const slowest = all.slice(0, Math.max(1, Math.ceil(n / 1000))).map((t) => {
      const p = pauses?.(t.startMs, t.answeredMs);
      return {
        opId: t.opId,
        totalMs: round(t.answeredMs - t.startMs),
        checkMs: round(t.sentMs - t.startMs),
        localCommitMs: t.localMs === undefined ? null : round(t.localMs),
        remoteAckMs: t.remoteMs.map(round),
        outcome: t.outcome,
        gcMs: p === undefined ? null : round(p.gcMs),
        stallMs: p === undefined ? null : round(p.stallMs),
      };
    });
    return { traced: n, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), slowest };
  }
}
