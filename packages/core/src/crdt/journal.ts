// The list's history: who did what and when ("Ana bought 2 × Milk · 14:02"), and what a removal
// took away, so that it can be brought back. It travels with the list as one more part of the
// delta-state CRDT.
//
// An entry is immutable and named by a dot of the replica that made it (a fresh dot of the same
// delta as the change it describes, so it is in the causal context and sync sends it like any
// other content). The journal is a bounded grow-only set: the join of two journals is the union
// of their entries, of which the historyEntriesMax greatest by (seq, replica name, counter) are
// kept. That order is total (a dot is unique), so the kept set is top-K of every entry ever seen,
// whatever the order of joins: top-K(top-K(A ∪ B) ∪ C) = top-K(A ∪ B ∪ C), and the join is
// commutative, associative and idempotent. `seq` is a Lamport clock: one more than the greatest
// seq the replica holds, so an entry made after seeing another sorts after it, and wall clocks
// (which may be wrong) never decide what is kept; `atMs` is only shown.
//
// A peer that missed an entry that was since pruned never needs it: it is below K entries the
// peer will receive. Names are what the device calls itself: attribution, not authentication
// (the dot, which the cloud checks, says which device wrote it).

import { limits } from '../limits.ts';
import { dotCounter, dotReplica, translate, type Dot, type ReplicaTable } from './dots.ts';

/** What a change did, as history shows it. The numbers are part of the list encoding. */
export const historyKinds = [
  'add',
  'set',
  'increase',
  'decrease',
  'buy',
  'check',
  'uncheck',
  'note',
  'remove',
  'clear',
  'delete',
  'rename',
  'restore',
  'undo',
] as const;
export type HistoryKind = (typeof historyKinds)[number];

/** An item as it was when a removal took it away: enough to add it back. */
export interface RemovedItem {
  name: string;
  wanted: number;
  bought: number;
  note: string;
}

export interface HistoryEntry {
  /** Lamport clock: 1 + the greatest seq the writer had seen. */
  seq: number;
  /** The writer's wall clock, ms since 1970 (shown, never compared). */
  atMs: number;
  /** The writer's display name ('' when it has none). */
  who: string;
  kind: HistoryKind;
  /** The item's name as typed, or the list's title (rename, delete); '' when none. */
  name: string;
  /**
   * The amount: units or quantity (add, set, increase, decrease, buy, check, uncheck); items
   * taken away (remove, clear, delete) or put back (restore); for undo, the seq of the entry
   * it takes back (of the same writer).
   */
  n: number;
  /** What came before: the previous title (rename), note (note) or wanted quantity (set, as text). */
  before: string;
  /** What a removal took away (at most historyItemsPerEntryMax of them), or what restore put back. */
  items: RemovedItem[];
}

export class Journal {
  private readonly byDot = new Map<Dot, HistoryEntry>();
  /**
   * The held dots in keep order, least first: the top seq is the last, the one to prune the
   * first. An entry made here, or received live, is the greatest, so adding it is a push.
   */
  private readonly order: Dot[] = [];

  constructor(
    private readonly replicas: ReplicaTable,
    private readonly entriesMax: number = limits.historyEntriesMax,
  ) {}

  /** The entries held, by dot (read only: add and join keep the keep order). */
  get entries(): ReadonlyMap<Dot, HistoryEntry> {
    return this.byDot;
  }

  get size(): number {
    return this.byDot.size;
  }

  /** The seq the next entry takes: one more than any held (entries pruned are below those held). */
  nextSeq(): number {
    const top = this.order.length === 0 ? 0 : this.entry(this.order[this.order.length - 1] as Dot).seq;
    return Math.min(top + 1, limits.historySeqMax);
  }

  add(d: Dot, entry: HistoryEntry): void {
    if (this.byDot.has(d)) return;
    const order = this.order;
    if (order.length >= this.entriesMax) {
      // Full: the least of the kept entries and the new one goes.
      const least = order[0] as Dot;
      if (this.entriesMax === 0 || this.less(d, entry, least, this.entry(least))) return;
      order.shift();
      this.byDot.delete(least);
    }
    this.byDot.set(d, entry);
    // Where it goes: after every entry less than it (a binary search; usually the end).
    let lo = 0;
    let hi = order.length;
    if (hi > 0 && this.less(order[hi - 1] as Dot, this.entry(order[hi - 1] as Dot), d, entry)) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const x = order[mid] as Dot;
      if (this.less(x, this.entry(x), d, entry)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === order.length) order.push(d);
    else order.splice(lo, 0, d);
  }

  /** Joins another journal (its dots translated through `map`). */
  join(other: Journal, map: readonly number[] | undefined): void {
    if (other.order.length <= 4) {
      // A delta's one entry (or a few): each in its place.
      for (const d of other.order) this.add(translate(d, map), other.entry(d));
      return;
    }
    this.addAll(other.order.map((d) => [translate(d, map), other.entry(d)] as const));
  }

  /**
   * Adds many entries at once (a state's join, a decoded history): all of them, one sort, then
   * the least pruned, instead of a search each. The same as adding them one by one.
   */
  addAll(entries: readonly (readonly [Dot, HistoryEntry])[]): void {
    let added = 0;
    for (const [d, e] of entries) {
      if (this.byDot.has(d)) continue;
      this.byDot.set(d, e);
      this.order.push(d);
      added++;
    }
    if (added === 0) return;
    this.order.sort((a, b) => (a === b ? 0 : this.less(a, this.entry(a), b, this.entry(b)) ? -1 : 1));
    const over = this.order.length - this.entriesMax;
    if (over > 0) for (const x of this.order.splice(0, over)) this.byDot.delete(x);
  }

  /** Entries newest first (greatest in the keep order first), each with its writer's replica name. */
  newestFirst(): { replica: string; entry: HistoryEntry }[] {
    const out: { replica: string; entry: HistoryEntry }[] = [];
    for (let i = this.order.length - 1; i >= 0; i--) {
      const d = this.order[i] as Dot;
      out.push({ replica: this.replicas.name(dotReplica(d)), entry: this.entry(d) });
    }
    return out;
  }

  private entry(d: Dot): HistoryEntry {
    return this.byDot.get(d) as HistoryEntry;
  }

  /** The keep order: seq, then replica name, then counter. */
  private less(a: Dot, ea: HistoryEntry, b: Dot, eb: HistoryEntry): boolean {
    if (ea.seq !== eb.seq) return ea.seq < eb.seq;
    if (dotReplica(a) !== dotReplica(b)) {
      const na = this.replicas.name(dotReplica(a));
      const nb = this.replicas.name(dotReplica(b));
      if (na !== nb) return na < nb;
    }
    return dotCounter(a) < dotCounter(b);
  }
}
