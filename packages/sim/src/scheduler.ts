// The discrete-event scheduler: a binary heap of (virtual time, sequence, action). Virtual time
// jumps from event to event; ties run in the order they were scheduled, so a run is a pure
// function of its seed. After each event the scheduler lets pending promise callbacks run (the
// storage node awaits its store's commits) by yielding to the microtask queue a fixed number of
// times. Nothing else is asynchronous in a run (no timers, no I/O), so the interleaving is the
// same on every replay. How deep those promise chains actually go is measured (`noteActivity`
// from the network and the stores records the drain step at which a side effect happened), and
// the test asserts that the deepest seen stays well inside `drainSteps`.

interface Event {
  atMs: number;
  seq: number;
  action: () => void;
}

export class Scheduler {
  /** Virtual milliseconds since the start of the run. */
  nowMs = 0;
  /** Events run so far. */
  events = 0;
  /** Deepest microtask drain step at which a side effect was observed (0: during the event). */
  activityDepthMax = 0;
  private depth = 0;
  private readonly heap: Event[] = [];
  private seq = 0;

  constructor(readonly drainSteps = 40) {}

  /** Runs `action` at virtual time `atMs` (not before now). */
  at(atMs: number, action: () => void): void {
    this.push({ atMs: Math.max(atMs, this.nowMs), seq: this.seq++, action });
  }

  after(delayMs: number, action: () => void): void {
    this.at(this.nowMs + delayMs, action);
  }

  /** Called by the network and the stores on every side effect, to measure drain depth. */
  noteActivity(): void {
    if (this.depth > this.activityDepthMax) this.activityDepthMax = this.depth;
  }

  get pendingEvents(): number {
    return this.heap.length;
  }

  /**
   * Runs events up to and including `endMs`, or until `stop()` (checked after each event) says so.
   * Leaves the clock at `endMs` unless stopped early.
   */
  async runUntil(endMs: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.atMs > endMs) break;
      this.pop();
      this.nowMs = top.atMs;
      this.events++;
      this.depth = 0;
      top.action();
      await this.drain();
      if (stop?.() === true) return;
    }
    this.nowMs = Math.max(this.nowMs, endMs);
  }

  /** Lets promise callbacks queued by the last event (and the ones they queue) run. */
  async drain(): Promise<void> {
    for (let i = 1; i <= this.drainSteps; i++) {
      this.depth = i;
      await Promise.resolve();
    }
    this.depth = 0;
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent] as Event)) break;
      h[i] = h[parent] as Event;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Event;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < h.length && before(h[l] as Event, best)) {
        m = l;
        best = h[l] as Event;
      }
      if (r < h.length && before(h[r] as Event, best)) {
        m = r;
        best = h[r] as Event;
      }
      if (m === i) break;
      h[i] = best;
      i = m;
    }
    h[i] = last;
  }
}

function before(a: Event, b: Event): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
