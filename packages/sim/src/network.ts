// The simulated network between the simulator's endpoints (storage nodes, the proxy, clients and
// the operator). Every frame is a scheduled event: its fate is drawn from the run's generator when
// it is sent — lost (drop rate), doubled (duplicate rate), and how long it takes (a short delay,
// sometimes a long one, so frames overtake each other) — and partitions are checked both when it
// is sent and when it arrives. Partitions are silent, as with firewall drop rules: nothing tells
// the sender. A cut either loses the frames that meet it, or holds them and delivers them after
// the partition heals, as ZeroMQ over TCP does (RELIABILITY.md: "queued requests were delivered
// seconds later, after healing, and replies arrived for requests long given up on").

import type { Prng } from './prng.ts';
import type { Scheduler } from './scheduler.ts';

/** The fault mix of the moment. */
export interface Weather {
  /** Chance that a frame is lost. */
  dropRate: number;
  /** Chance that a frame arrives twice. */
  duplicateRate: number;
  /** Chance that a frame takes the slow path (reordering). */
  slowRate: number;
  /** Upper bound of the ordinary delay, ms (lower bound 1 ms). */
  delayMsMax: number;
  /** Upper bound of the slow path, ms. */
  slowMsMax: number;
}

export const calm: Weather = { dropRate: 0, duplicateRate: 0, slowRate: 0, delayMsMax: 3, slowMsMax: 0 };

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  cut: number;
  duplicated: number;
}

export class SimNetwork {
  weather: Weather = calm;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, cut: 0, duplicated: 0 };
  /** FNV-1a over every delivery (time, ends, size, a few bytes): equal on every replay of a seed. */
  trace = 0x811c9dc5;
  private readonly blocked = new Set<string>();
  /** Frames held by a holding partition, in the order they met it. */
  private held: { from: string; to: string; frame: Uint8Array; deliver: (frame: Uint8Array) => void }[] = [];
  /** Whether the current cut holds frames (true) or loses them. */
  private holding = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Prng,
  ) {}

  /** Cuts the link between a and b (both directions). */
  cut(a: string, b: string): void {
    this.blocked.add(pairKey(a, b));
  }

  /** Cuts every link between members of different groups. Endpoints in no group are untouched. */
  split(groups: readonly (readonly string[])[]): void {
    for (let i = 0; i < groups.length; i++)
      for (let j = i + 1; j < groups.length; j++)
        for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) this.cut(a, b);
  }

  /** Whether frames meeting the cut are held until it heals (else lost). */
  holdFrames(hold: boolean): void {
    this.holding = hold;
  }

  /** Removes every cut; held frames go on their way, in order, a little apart. */
  healAll(): void {
    this.blocked.clear();
    const held = this.held;
    this.held = [];
    held.forEach((h, i) =>
      this.scheduler.after(1 + i, () => {
        if (!this.linkUp(h.from, h.to)) return this.meetCut(h.from, h.to, h.frame, h.deliver);
        this.arrive(h.from, h.to, h.frame, h.deliver);
      }),
    );
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  linkUp(a: string, b: string): boolean {
    return this.blocked.size === 0 || !this.blocked.has(pairKey(a, b));
  }

  /** Sends `frame` from `from` to `to`; `deliver` runs on arrival (the receiver checks it is up). */
  transmit(from: string, to: string, frame: Uint8Array, deliver: (frame: Uint8Array) => void): void {
    this.stats.sent++;
    this.scheduler.noteActivity();
    if (!this.linkUp(from, to)) return this.meetCut(from, to, frame, deliver);
    const w = this.weather;
    if (this.rng.chance(w.dropRate)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.rng.chance(w.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const delay = this.rng.chance(w.slowRate)
        ? this.rng.range(w.delayMsMax, Math.max(w.delayMsMax, w.slowMsMax))
        : this.rng.range(1, Math.max(1, w.delayMsMax));
      const copy = i === 0 ? frame : frame.slice();
      this.scheduler.after(delay, () => {
        if (!this.linkUp(from, to)) return this.meetCut(from, to, copy, deliver);
        this.arrive(from, to, copy, deliver);
      });
    }
  }

  /** Frames held by the current partition (delivered when it heals). */
  get heldFrames(): number {
    return this.held.length;
  }

  private meetCut(from: string, to: string, frame: Uint8Array, deliver: (frame: Uint8Array) => void): void {
    this.stats.cut++;
    if (this.holding) this.held.push({ from, to, frame, deliver });
  }

  private arrive(from: string, to: string, frame: Uint8Array, deliver: (frame: Uint8Array) => void): void {
    this.stats.delivered++;
    this.fold(from, to, frame);
    deliver(frame);
  }

  private fold(from: string, to: string, frame: Uint8Array): void {
    let h = this.trace;
    const mix = (x: number): void => {
      h = Math.imul(h ^ (x & 0xff), 0x01000193) >>> 0;
    };
    const now = this.scheduler.nowMs;
    mix(now);
    mix(now >>> 8);
    mix(now >>> 16);
    for (let i = 0; i < from.length; i++) mix(from.charCodeAt(i));
    for (let i = 0; i < to.length; i++) mix(to.charCodeAt(i));
    mix(frame.length);
    mix(frame.length >>> 8);
    for (let i = 0; i < Math.min(8, frame.length); i++) mix(frame[i] as number);
    if (frame.length > 8) mix(frame[frame.length - 1] as number);
    this.trace = h;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
