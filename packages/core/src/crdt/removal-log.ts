// Removal records: the part of a list's state that lets sync send a small delta to a peer that
// missed a removal. A removal deletes dots and adds none to the store, so a peer's causal context
// alone cannot tell the sender that the peer still holds something removed. Every removal that
// adds no dot of its own (remove item, uncheck, clear a note, clear bought, delete list) therefore
// takes a fresh dot and records (dot → item key, or '' for the whole list).
//
// The log is bounded: it keeps the removalRecordsMax greatest records by (counter, replica name),
// a total order, so the kept set is a deterministic function of all records ever seen and every
// replica that has seen the same records keeps the same ones. The greatest counter of each
// replica among pruned records is the horizon: a peer whose context does not cover the horizon
// may have missed a pruned record, and is sent the full state instead.

import { dotCounter, dotReplica, translate, type Dot, type ReplicaTable } from './dots.ts';
import { limits } from '../limits.ts';

export const WHOLE_LIST = '';

export class RemovalLog {
  /** dot → item key ('' for the whole list). */
  readonly records = new Map<Dot, string>();
  /** Per replica, the greatest counter of a pruned record (0 or missing: nothing pruned). */
  readonly horizon: number[] = [];
  /** Min-heap of record dots by (counter, name): the root is the next to prune (made on first use). */
  private heap: Dot[] | undefined;

  constructor(
    private readonly replicas: ReplicaTable,
    private readonly recordsMax: number = limits.removalRecordsMax,
  ) {}

  get size(): number {
    return this.records.size;
  }

  add(d: Dot, key: string): void {
    if (this.records.has(d)) return;
    const h = (this.heap ??= []);
    if (h.length < this.recordsMax) {
      this.records.set(d, key);
      this.push(d);
      return;
    }
    // Full: the least of the kept records and the new one is pruned. A record pruned before may
    // come back from a peer; being below every record kept, it is pruned again at once, so the
    // kept set stays the top of everything seen.
    const root = h[0];
    if (root === undefined || this.less(d, root)) {
      this.raiseHorizon(d);
      return;
    }
    this.records.delete(root);
    this.raiseHorizon(root);
    this.records.set(d, key);
    this.siftDown(d);
  }

  /** Joins another log (its dots translated through `map`). */
  join(other: RemovalLog, map: readonly number[] | undefined): void {
    for (let r = 0; r < other.horizon.length; r++) {
      const c = other.horizon[r] ?? 0;
      if (c === 0) continue;
      const to = map === undefined ? r : (map[r] ?? 0);
      if (c > (this.horizon[to] ?? 0)) this.horizon[to] = c;
    }
    for (const [d, key] of other.records) this.add(translate(d, map), key);
  }

  /**
   * True when a peer has seen every pruned record, so the kept records tell the whole story.
   * `peerTop(r)` is the peer's version-vector entry for replica r of this log's table.
   */
  coveredBy(peerTop: (r: number) => number): boolean {
    for (let r = 0; r < this.horizon.length; r++) {
      const c = this.horizon[r] ?? 0;
      if (c > 0 && peerTop(r) < c) return false;
    }
    return true;
  }

  private less(a: Dot, b: Dot): boolean {
    return recordPrunedFirst(a, b, this.replicas);
  }

  private push(d: Dot): void {
    const h = (this.heap ??= []);
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Dot;
      if (!this.less(d, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = d;
  }

  /** Puts `d` at the root, in place of the record pruned, and moves it down to its place. */
  private siftDown(d: Dot): void {
    const h = this.heap ?? [];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.less(h[r] as Dot, h[l] as Dot) ? r : l;
      if (!this.less(h[c] as Dot, d)) break;
      h[i] = h[c] as Dot;
      i = c;
    }
    h[i] = d;
  }

  private raiseHorizon(d: Dot): void {
    const rep = dotReplica(d);
    if (dotCounter(d) > (this.horizon[rep] ?? 0)) this.horizon[rep] = dotCounter(d);
  }
}

/**
 * The order the log prunes records in (least first): lower counter, then greater replica name.
 * Whatever keeps a sum over the kept records (the cloud's list digest) follows this order too.
 */
export function recordPrunedFirst(a: Dot, b: Dot, names: ReplicaTable): boolean {
  const ca = dotCounter(a);
  const cb = dotCounter(b);
  if (ca !== cb) return ca < cb;
  return names.name(dotReplica(a)) > names.name(dotReplica(b));
}
