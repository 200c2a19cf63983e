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
  readonly entries = new Map<Dot, HistoryEntry>();

  constructor(
    private readonly replicas: ReplicaTable,
    private readonly entriesMax: number = limits.historyEntriesMax,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The seq the next entry takes: one more than any held (entries pruned are below those held). */
  nextSeq(): number {
    let top = 0;
    for (const e of this.entries.values()) if (e.seq > top) top = e.seq;
    return Math.min(top + 1, limits.historySeqMax);
  }

  add(d: Dot, entry: HistoryEntry): void {
    if (this.entries.has(d)) return;
    if (this.entries.size < this.entriesMax) {
      this.entries.set(d, entry);
      return;
    }
    // Full: the least of the kept entries and the new one goes (a scan of at most entriesMax).
    let least: Dot | undefined;
    let leastEntry: HistoryEntry | undefined;
    for (const [x, e] of this.entries)
      if (leastEntry === undefined || this.less(x, e, least as Dot, leastEntry)) {
        least = x;
        leastEntry = e;
      }
    if (least === undefined || leastEntry === undefined || this.less(d, entry, least, leastEntry)) return;
    this.entries.delete(least);
    this.entries.set(d, entry);
  }

  /** Joins another journal (its dots translated through `map`). */
  join(other: Journal, map: readonly number[] | undefined): void {
    for (const [d, e] of other.entries) this.add(translate(d, map), e);
  }

  /** Entries newest first (greatest in the keep order first), each with its writer's replica name. */
  newestFirst(): { replica: string; entry: HistoryEntry }[] {
    return [...this.entries]
      .sort(([a, ea], [b, eb]) => (this.less(a, ea, b, eb) ? 1 : -1))
      .map(([d, entry]) => ({ replica: this.replicas.name(dotReplica(d)), entry }));
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
