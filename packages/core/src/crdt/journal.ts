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
  'create',
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
  /** The item's name as typed, or the list's title (rename, delete, create); '' when none. */
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
   * The held dots and their entries in keep order, least first: the top seq is the last, the one
   * to prune the first. An entry made here, or received live, is the greatest: adding it is a push.
   */
  private readonly dots: Dot[] = [];
  private readonly kept: HistoryEntry[] = [];

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
    const top = this.kept.length === 0 ? 0 : (this.kept[this.kept.length - 1] as HistoryEntry).seq;
    return Math.min(top + 1, limits.historySeqMax);
  }

  add(d: Dot, entry: HistoryEntry): void {
    if (this.byDot.has(d)) return;
    const { dots, kept } = this;
    if (dots.length >= this.entriesMax) {
      // Full: the least of the kept entries and the new one goes.
      if (this.entriesMax === 0 || this.less(d, entry, dots[0] as Dot, kept[0] as HistoryEntry)) return;
      this.byDot.delete(dots[0] as Dot);
      dots.shift();
      kept.shift();
    }
    this.byDot.set(d, entry);
    // Where it goes: after every entry less than it (a binary search; usually the end).
    const n = dots.length;
    if (n === 0 || this.less(dots[n - 1] as Dot, kept[n - 1] as HistoryEntry, d, entry)) {
      dots.push(d);
      kept.push(entry);
      return;
    }
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.less(dots[mid] as Dot, kept[mid] as HistoryEntry, d, entry)) lo = mid + 1;
      else hi = mid;
    }
    dots.splice(lo, 0, d);
    kept.splice(lo, 0, entry);
  }

  /** Joins another journal (its dots translated through `map`). */
  join(other: Journal, map: readonly number[] | undefined): void {
    const n = other.dots.length;
    if (n <= 4) {
      // A delta's one entry (or a few): each in its place.
      for (let i = 0; i < n; i++)
        this.add(translate(other.dots[i] as Dot, map), other.kept[i] as HistoryEntry);
      return;
    }
    this.addAll(other.dots.map((d, i) => [translate(d, map), other.kept[i] as HistoryEntry] as const));
  }

  /**
   * Adds many entries at once (a state's join, a decoded history): all of them, one sort, then
   * the least pruned, instead of a search each. The same as adding them one by one.
   */
  addAll(entries: readonly (readonly [Dot, HistoryEntry])[]): void {
    const all: (readonly [Dot, HistoryEntry])[] = [];
    for (const [d, e] of entries) {
      if (this.byDot.has(d)) continue;
      this.byDot.set(d, e);
      all.push([d, e]);
    }
    if (all.length === 0) return;
    for (let i = 0; i < this.dots.length; i++) all.push([this.dots[i] as Dot, this.kept[i] as HistoryEntry]);
    all.sort((a, b) => (a[0] === b[0] ? 0 : this.less(a[0], a[1], b[0], b[1]) ? -1 : 1));
    const over = Math.max(0, all.length - this.entriesMax);
    for (let i = 0; i < over; i++) this.byDot.delete((all[i] as readonly [Dot, HistoryEntry])[0]);
    this.dots.length = 0;
    this.kept.length = 0;
    for (let i = over; i < all.length; i++) {
      const [d, e] = all[i] as readonly [Dot, HistoryEntry];
      this.dots.push(d);
      this.kept.push(e);
    }
  }

  /** Entries newest first (greatest in the keep order first), each with its writer's replica name. */
  newestFirst(): { replica: string; entry: HistoryEntry }[] {
    const out: { replica: string; entry: HistoryEntry }[] = [];
    for (let i = this.dots.length - 1; i >= 0; i--)
      out.push({
        replica: this.replicas.name(dotReplica(this.dots[i] as Dot)),
        entry: this.kept[i] as HistoryEntry,
      });
    return out;
  }

  /** The keep order: seq, then replica name, then counter. */
  private less(a: Dot, ea: HistoryEntry, b: Dot, eb: HistoryEntry): boolean {
    return entryPrunedFirst(a, ea, b, eb, this.replicas);
  }
}

/**
 * The journal's keep order (least first, pruned first): seq, then replica name, then counter.
 * Whatever keeps a sum over the kept entries (the cloud's list digest) follows this order too.
 */
export function entryPrunedFirst(
  a: Dot,
  ea: HistoryEntry,
  b: Dot,
  eb: HistoryEntry,
  names: ReplicaTable,
): boolean {
  if (ea.seq !== eb.seq) return ea.seq < eb.seq;
  if (dotReplica(a) !== dotReplica(b)) {
    const na = names.name(dotReplica(a));
    const nb = names.name(dotReplica(b));
    if (na !== nb) return na < nb;
  }
  return dotCounter(a) < dotCounter(b);
}
