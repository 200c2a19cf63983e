// SyncLoop: when the driver is told to sync. No timers: the test is the clock.

import { describe, expect, it } from 'vitest';
import { SeededRandom } from './testing/seeded.ts';
import { SyncLoop, attemptResult, syncLoopDefaults } from './sync-loop.ts';
import type { SyncSummary } from './trolley-client.ts';

const ok = { ok: true, outboxLeft: 0 };
const failed = { ok: false, outboxLeft: 3 };
const options = { idleIntervalMs: 30_000, changeDelayMs: 100, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

/** Runs one sync at `now` with `result`; returns the next due time. */
function syncAt(loop: SyncLoop, now: number, result: { ok: boolean; outboxLeft: number }): number {
  expect(loop.tick(now)).toBe(true);
  expect(loop.nextDueMs()).toBeUndefined();
  expect(loop.phase).toBe('syncing');
  expect(loop.tick(now)).toBe(false); // one sync at a time
  loop.finished(now, result);
  return loop.nextDueMs() ?? Number.NaN;
}

describe('SyncLoop', () => {
  it('syncs at once on start, then every idleIntervalMs while all goes well', () => {
    const loop = new SyncLoop(new SeededRandom(1), 0, options);
    expect(loop.nextDueMs()).toBe(0);
    expect(syncAt(loop, 0, ok)).toBe(30_000);
    expect(loop.tick(29_999)).toBe(false);
    expect(syncAt(loop, 30_000, ok)).toBe(60_000);
    expect(loop.phase).toBe('waiting');
  });

  it('backs off exponentially with jitter in [step/2, step), capped, and resets on success', () => {
    const loop = new SyncLoop(new SeededRandom(7), 0, options);
    let now = 0;
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const due = syncAt(loop, now, failed);
      delays.push(due - now);
      now = due;
    }
    delays.forEach((delay, i) => {
      const step = Math.min(60_000, 1_000 * 2 ** i);
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThan(step);
    });
    expect(loop.phase).toBe('backing-off');
    expect(loop.consecutiveFailures).toBe(10);
    expect(syncAt(loop, now, ok) - now).toBe(30_000);
    expect(loop.consecutiveFailures).toBe(0);
    // Two devices with different seeds do not retry in step.
    const other = new SyncLoop(new SeededRandom(8), 0, options);
    expect(syncAt(other, 0, failed)).not.toBe(delays[0]);
  });

  it('a local change brings the next sync to changeDelayMs, but does not cut a backoff short', () => {
    const loop = new SyncLoop(new SeededRandom(1), 0, options);
    syncAt(loop, 0, ok);
    loop.localChange(5_000);
    expect(loop.nextDueMs()).toBe(5_100);
    loop.localChange(5_050); // a burst keeps the earliest due time
    expect(loop.nextDueMs()).toBe(5_100);
    const backoffDue = syncAt(loop, 5_100, failed);
    loop.localChange(5_200);
    expect(loop.nextDueMs()).toBe(backoffDue);
  });

  it('a change during a sync, or an outbox left over, syncs again right after', () => {
    const loop = new SyncLoop(new SeededRandom(1), 0, options);
    expect(loop.tick(0)).toBe(true);
    loop.localChange(10);
    loop.finished(20, ok);
    expect(loop.nextDueMs()).toBe(120);
    expect(syncAt(loop, 120, { ok: true, outboxLeft: 2 })).toBe(220);
  });

  it('online() and remoteChange() end a backoff at once', () => {
    const loop = new SyncLoop(new SeededRandom(1), 0, options);
    syncAt(loop, 0, failed);
    syncAt(loop, loop.nextDueMs() ?? 0, failed);
    loop.online(2_000);
    expect(loop.nextDueMs()).toBe(2_000);
    expect(loop.phase).toBe('waiting');
    syncAt(loop, 2_000, failed);
    loop.remoteChange(2_500);
    expect(loop.nextDueMs()).toBe(2_500);
    // While a sync runs, a remote change asks for another right after it.
    expect(loop.tick(2_500)).toBe(true);
    loop.remoteChange(2_600);
    loop.finished(2_700, ok);
    expect(loop.nextDueMs()).toBe(2_800);
  });

  it('idleIntervalMs Infinity turns polling off; defaults are documented values', () => {
    const loop = new SyncLoop(new SeededRandom(1), 0, { idleIntervalMs: Infinity });
    expect(syncAt(loop, 0, ok)).toBe(Infinity);
    loop.localChange(10);
    expect(loop.nextDueMs()).toBe(10 + syncLoopDefaults.changeDelayMs);
    expect(() => new SyncLoop(new SeededRandom(1), 0, { backoffMaxMs: 10 })).toThrow(/backoffMaxMs/);
  });

  it('reads a sync summary: any unknown or error is a failure', () => {
    const base: SyncSummary = {
      lists: 2,
      pushed: 1,
      acknowledged: 1,
      unknown: 0,
      pulled: 2,
      changed: 0,
      errors: 0,
      outboxLeft: 0,
      failures: [],
    };
    expect(attemptResult(base)).toEqual({ ok: true, outboxLeft: 0 });
    expect(attemptResult({ ...base, unknown: 1, outboxLeft: 1 })).toEqual({ ok: false, outboxLeft: 1 });
    expect(attemptResult({ ...base, errors: 1 })).toEqual({ ok: false, outboxLeft: 0 });
  });
});
