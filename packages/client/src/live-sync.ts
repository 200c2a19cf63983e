// Keeps lists fresh while a person looks at them (`trolley watch`, the menu, the web app). The
// SyncLoop (sync-loop.ts) decides when to sync (poll when idle, gather a burst of local edits, back
// off with jitter while the cloud is away); this driver owns the one timer, runs the rounds and
// reports each one. It is shared by Node and the browser: time, randomness and the timer come in
// through ports (`LiveSyncEnv`), so the package stays free of I/O.
//
// A round: pick up what other processes or tabs committed to the same store (`refresh`: a
// `trolley item add` in another terminal), then sync each watched list (push its outbox, pull what
// others changed).
//
// Live updates: a `ChangeFeed` delivers "list X changed in the cloud" notices (pushed by the cloud
// through a watch lease); each ends any backoff and pulls at once (SyncLoop.remoteChange). Polling
// stays as the safety net for notices lost while disconnected.

import type { ListId } from '@trolley/core';
import type { Clock, Random } from '@trolley/core';
import type { CloudPort } from './ports.ts';
import { SyncLoop, attemptResult, type SyncLoopPhase } from './sync-loop.ts';
import { addSyncSummary, emptySyncSummary, type SyncSummary, type TrolleyClient } from './trolley-client.ts';

/** A source of "list X changed in the cloud" notices: the seam for pushed live updates. */
export interface ChangeFeed {
  /**
   * Starts delivering notices. `watching()` says which lists matter at the moment (it may change:
   * the menu opens and creates lists); a notice for any other list may be dropped. Returns stop.
   */
  start(
    watching: () => readonly ListId[],
    onChanged: (listId: ListId, delta?: Uint8Array) => void,
  ): () => void;
}

/** No notices: polling alone. */
export const pollingOnly: ChangeFeed = { start: () => () => undefined };

/** One timer at a time, as the host provides it (setTimeout/clearTimeout in Node and browsers). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What a LiveSync needs from its host. The clock's monotonic time drives the loop. */
export interface LiveSyncEnv {
  clock: Clock;
  random: Random;
  timers: Timers;
}

export interface LiveSyncOptions {
  /** Pause between rounds while all is well (polling). */
  pollMs: number;
  /** Per request (each put and get) of a round. */
  timeoutMs: number;
  /** Pause after a local edit before pushing it, gathering a burst into one push. Default 100 ms. */
  changeDelayMs?: number;
  /** Where pushed notices come from; default pollingOnly. */
  feed?: ChangeFeed;
  /** Called after each round (for a status line). Must not throw. */
  onRound?: (round: LiveRound) => void;
}

export interface LiveRound {
  /** Every put was acknowledged and every get answered. */
  ok: boolean;
  summary: SyncSummary;
  phase: SyncLoopPhase;
  /** Failed rounds in a row. */
  failures: number;
  /** Milliseconds until the next round, as planned now. */
  nextInMs: number;
  /** The first failure of the round, for a person to read. */
  problem?: string;
}

export class LiveSync {
  private readonly loop: SyncLoop;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly stops: (() => void)[] = [];
  private lastProblem: string | undefined;

  constructor(
    private readonly client: TrolleyClient,
    private readonly cloud: CloudPort,
    /** The lists to keep fresh, asked at every round. */
    private readonly watching: () => readonly ListId[],
    private readonly options: LiveSyncOptions,
    private readonly env: LiveSyncEnv,
  ) {
    this.loop = new SyncLoop(env.random, env.clock.monotonicMs(), {
      idleIntervalMs: options.pollMs,
      changeDelayMs: options.changeDelayMs ?? 100,
      backoffBaseMs: 1_000,
      backoffMaxMs: 10_000,
    });
  }

  private now(): number {
    return this.env.clock.monotonicMs();
  }

  /** Starts the rounds (the first at once) and the feed. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const feed = this.options.feed ?? pollingOnly;
    this.stops.push(feed.start(this.watching, (listId, delta) => this.onChanged(listId, delta)));
    this.stops.push(
      this.client.subscribe((event) => {
        // An edit made in this process: push it soon (the loop gathers a burst into one push).
        if (event.origin === 'local' && this.watching().includes(event.listId)) {
          this.loop.localChange(this.now());
          this.schedule();
        }
      }),
    );
    this.schedule();
  }

  /**
   * The cloud says `listId` changed: join the pushed write at once when the notice carries it
   * (people see it without waiting for a pull), then pull now, ending any backoff (the cloud is
   * evidently there). This is what a pushed change notification calls; see the header.
   */
  onChanged(listId: ListId, delta?: Uint8Array): void {
    if (this.stopped || !this.watching().includes(listId)) return;
    if (delta !== undefined) void this.client.receivePushed(listId, delta).catch(() => undefined);
    this.loop.remoteChange(this.now());
    this.schedule();
  }

  /** Stops the timer and the feed; waits for a running round. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.env.timers.clearTimeout(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const due = this.loop.nextDueMs();
    if (due === undefined) return; // a round is running; it schedules the next when it ends
    this.env.timers.clearTimeout(this.timer);
    this.timer = this.env.timers.setTimeout(() => void this.round(), Math.max(0, due - this.now()));
  }

  private async round(): Promise<void> {
    if (this.stopped || !this.loop.tick(this.now())) return this.schedule();
    const run = this.syncWatched().then((summary) => {
      const result = attemptResult(summary);
      this.loop.finished(this.now(), result);
      const next = this.loop.nextDueMs();
      this.options.onRound?.({
        ok: result.ok,
        summary,
        phase: this.loop.phase,
        failures: this.loop.consecutiveFailures,
        nextInMs: next === undefined ? 0 : Math.max(0, next - this.now()),
        ...(this.lastProblem === undefined ? {} : { problem: this.lastProblem }),
      });
    });
    this.running = run;
    await run;
    this.running = undefined;
    this.schedule();
  }

  /** One round; never rejects (a failure is counted in the summary, as syncOnce counts them). */
  private async syncWatched(): Promise<SyncSummary> {
    const total = emptySyncSummary();
    try {
      await this.client.refresh();
      for (const listId of this.watching()) {
        if (!this.client.has(listId)) continue;
        addSyncSummary(
          total,
          await this.client.syncList(this.cloud, listId, { timeoutMs: this.options.timeoutMs }),
        );
      }
    } catch (error) {
      // The local store failed (refresh, or a list forgotten by another process meanwhile).
      total.errors += 1;
      this.lastProblem = error instanceof Error ? error.message : String(error);
      return total;
    }
    this.lastProblem = total.failures[0]?.message;
    return total;
  }
}
