// When to sync: a small state machine with no timers of its own (DESIGN.md §4, sans-IO). Its driver
// (a Node process, a browser tab, the simulator) owns the clock and the timer: it asks
// `nextDueMs()`, sets one timer for then, calls `tick(nowMs)`, and when tick says so, runs
// `TrolleyClient.syncOnce` and reports back with `finished(nowMs, attemptResult(summary))`.
//
//   driver, in Node:
//     const loop = new SyncLoop(random, clock.monotonicMs());
//     const run = async () => {
//       if (loop.tick(clock.monotonicMs())) {
//         const summary = await client.syncOnce(cloud, { timeoutMs: 5_000 });
//         loop.finished(clock.monotonicMs(), attemptResult(summary));
//       }
//       const due = loop.nextDueMs();          // undefined while a sync runs
//       if (due !== undefined && Number.isFinite(due)) timer = setTimeout(run, due - clock.monotonicMs());
//     };
//     client.subscribe((e) => { if (e.origin === 'local') { loop.localChange(clock.monotonicMs()); reschedule(); } });
//
// Policy:
//   - after a sync that went well, the next one is `idleIntervalMs` later (polling, until live
//     updates say when; Infinity turns polling off);
//   - a local change brings the next sync to `changeDelayMs` from now, so a burst of edits goes
//     as one push; a change during a sync runs another right after it;
//   - a sync with any 'unknown' put or any error backs off: the k-th failure in a row waits
//     uniform(½, 1) × min(backoffMaxMs, backoffBaseMs · 2^(k−1)) ("equal jitter": devices that
//     lost the cloud together do not come back together, and no retry comes sooner than half the
//     step). Local changes do not shorten a backoff: the cloud is away, and hammering it helps no
//     one. `online()` and `remoteChange()` (the cloud spoke to us) end a backoff at once.
// Every knob, its meaning and default are in `SyncLoopOptions` below; times are in the driver's
// clock (monotonic in production).

import { assert, type Random } from '@trolley/core';
import type { SyncSummary } from './trolley-client.ts';

export interface SyncLoopOptions {
  /** Pause after a good sync before the next (polling). Default 30 000 ms; Infinity: no polling. */
  idleIntervalMs: number;
  /** Pause after a local change before pushing it, to gather a burst. Default 100 ms. */
  changeDelayMs: number;
  /** Backoff step of the first failure; doubles with each failure in a row. Default 1 000 ms. */
  backoffBaseMs: number;
  /** Ceiling of the backoff step (before jitter). Default 60 000 ms. */
  backoffMaxMs: number;
}

export const syncLoopDefaults: SyncLoopOptions = {
  idleIntervalMs: 30_000,
  changeDelayMs: 100,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
};

/** What the driver reports after a sync. */
export interface SyncAttemptResult {
  /** Every put was acknowledged and every get answered. */
  ok: boolean;
  /** Outbox entries still waiting (changes made during the sync, for instance). */
  outboxLeft: number;
}

/** Reads a sync summary as the loop needs it. */
export function attemptResult(summary: SyncSummary): SyncAttemptResult {
  return { ok: summary.errors === 0 && summary.unknown === 0, outboxLeft: summary.outboxLeft };
}

export type SyncLoopPhase = 'waiting' | 'syncing' | 'backing-off';

/** Doubling stops here: 2^30 steps exceed any sensible ceiling, and the count cannot overflow. */
const failureExponentMax = 30;

export class SyncLoop {
  private readonly options: SyncLoopOptions;
  private dueMs: number;
  private running = false;
  /** Failed syncs in a row; 0 when the last one went well. */
  private failures = 0;
  /** Something happened during the running sync that it may have missed. */
  private again = false;

  /** Starts due at once: a fresh process syncs first thing. */
  constructor(
    private readonly random: Random,
    nowMs: number,
    options: Partial<SyncLoopOptions> = {},
  ) {
    this.options = { ...syncLoopDefaults, ...options };
    const o = this.options;
    assert(o.idleIntervalMs > 0, 'idleIntervalMs must be positive');
    assert(o.changeDelayMs >= 0 && Number.isFinite(o.changeDelayMs), 'changeDelayMs must be finite, ≥ 0');
    assert(o.backoffBaseMs >= 1 && Number.isFinite(o.backoffBaseMs), 'backoffBaseMs must be finite, ≥ 1');
    assert(
      o.backoffMaxMs >= o.backoffBaseMs && Number.isFinite(o.backoffMaxMs),
      'backoffMaxMs ≥ backoffBaseMs',
    );
    this.dueMs = nowMs;
  }

  /** True: call syncOnce now, then `finished`. False: nothing to do yet (or a sync is running). */
  tick(nowMs: number): boolean {
    if (this.running || nowMs < this.dueMs) return false;
    this.running = true;
    this.again = false;
    return true;
  }

  /** When to call `tick` next; undefined while a sync runs (call `finished` first). */
  nextDueMs(): number | undefined {
    return this.running ? undefined : this.dueMs;
  }

  finished(nowMs: number, result: SyncAttemptResult): void {
    assert(this.running, 'SyncLoop.finished without a sync started by tick');
    this.running = false;
    if (!result.ok) {
      this.failures = Math.min(this.failures + 1, failureExponentMax + 1);
      this.dueMs = nowMs + this.backoffMs();
    } else {
      this.failures = 0;
      const more = this.again || result.outboxLeft > 0;
      this.dueMs = nowMs + (more ? this.options.changeDelayMs : this.options.idleIntervalMs);
    }
    this.again = false;
  }

  /** A change was committed locally. */
  localChange(nowMs: number): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.failures > 0) return; // backing off: see the header
    this.dueMs = Math.min(this.dueMs, nowMs + this.options.changeDelayMs);
  }

  /** The cloud said a list changed (live updates): it is reachable, so sync now. */
  remoteChange(nowMs: number): void {
    this.wake(nowMs);
  }

  /** The platform says the network is back (the browser's `online` event, say). */
  online(nowMs: number): void {
    this.wake(nowMs);
  }

  get phase(): SyncLoopPhase {
    if (this.running) return 'syncing';
    return this.failures > 0 ? 'backing-off' : 'waiting';
  }

  /** Failed syncs in a row. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  private wake(nowMs: number): void {
    this.failures = 0;
    if (this.running) this.again = true;
    else this.dueMs = Math.min(this.dueMs, nowMs);
  }

  private backoffMs(): number {
    const { backoffBaseMs, backoffMaxMs } = this.options;
    const exponent = Math.min(this.failures - 1, failureExponentMax);
    const step = Math.min(backoffMaxMs, backoffBaseMs * 2 ** exponent);
    return step / 2 + (step / 2) * this.uniform();
  }

  /** Uniform in [0, 1) from 32 random bits. */
  private uniform(): number {
    const b = this.random.fill(new Uint8Array(4));
    const bits = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
    return bits / 2 ** 32;
  }
}
