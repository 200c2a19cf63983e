// Dots and causal contexts (Almeida, Shoker, Baquero, "Delta State Replicated Data Types", §5).
//
// A dot (replica, counter) names one event. A causal context is the set of dots a replica has
// seen, kept compact as a version vector (every counter up to vv[r] seen) plus a "cloud" of dots
// beyond it; a dot that fills the gap above vv[r] is folded into the vector at once.
//
// Inside one process a replica is a small index into a ReplicaTable, and a dot is packed into one
// float64 as index·2^32 + counter so that maps and sets of dots are cheap. Tables differ between
// documents; merge() translates.

import { assert } from '../errors.ts';
import { limits } from '../limits.ts';

export type Dot = number;

const SHIFT = 2 ** 32;

export const dot = (replica: number, counter: number): Dot => replica * SHIFT + counter;
export const dotReplica = (d: Dot): number => Math.floor(d / SHIFT);
export const dotCounter = (d: Dot): number => d % SHIFT;

/** Replica names of one document, each given a small index in order of first sight. */
export class ReplicaTable {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();

  intern(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      assert(i < limits.replicasPerListMax, 'replica table within limit (checked by callers)');
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }

  lookup(name: string): number | undefined {
    return this.index.get(name);
  }

  name(i: number): string {
    const n = this.names[i];
    assert(n !== undefined, 'replica index in table');
    return n;
  }

  get size(): number {
    return this.names.length;
  }

  /** Index translation from `other` into this table, interning names as needed. */
  translationFrom(other: ReplicaTable): number[] | undefined {
    if (other === this) return undefined;
    const names = other.names;
    const out = new Array<number>(names.length);
    for (let i = 0; i < names.length; i++) out[i] = this.intern(names[i] as string);
    return out;
  }
}

/** Rewrites a dot through a translation array (undefined means the same table). */
export function translate(d: Dot, map: readonly number[] | undefined): Dot {
  if (map === undefined) return d;
  const r = map[dotReplica(d)];
  assert(r !== undefined, 'dot replica in translated table');
  return dot(r, dotCounter(d));
}

export class CausalContext {
  /** vv[r]: every counter 1..vv[r] of replica r has been seen (0 or missing: none). */
  readonly vv: number[] = [];
  /** Seen dots that are not contiguous with the vector. Change it only through add and join. */
  readonly cloud = new Set<Dot>();
  /**
   * Per replica, how many cloud dots it has, and the greatest counter it ever put in the cloud.
   * A cloud dot leaves only when the vector covers it, so max(vv[r], cloudTop[r]) is the greatest
   * counter seen: maxCounter and join need not walk the cloud (their cost stays flat as it grows).
   */
  private readonly cloudCount: number[] = [];
  private readonly cloudTop: number[] = [];

  has(d: Dot): boolean {
    return dotCounter(d) <= (this.vv[dotReplica(d)] ?? 0) || this.cloud.has(d);
  }

  add(d: Dot): void {
    const r = dotReplica(d);
    const c = dotCounter(d);
    const top = this.vv[r] ?? 0;
    if (c <= top) return;
    if (c === top + 1) {
      this.vv[r] = c;
      this.compact(r);
    } else if (!this.cloud.has(d)) {
      this.cloud.add(d);
      this.cloudCount[r] = (this.cloudCount[r] ?? 0) + 1;
      if (c > (this.cloudTop[r] ?? 0)) this.cloudTop[r] = c;
    }
  }

  /** Folds the cloud's dots of replica r into the vector while they are contiguous. */
  private compact(r: number): void {
    let n = this.cloudCount[r] ?? 0;
    if (n === 0) return;
    let top = this.vv[r] ?? 0;
    for (;;) {
      const next = dot(r, top + 1);
      if (!this.cloud.delete(next)) break;
      top++;
      n--;
    }
    this.vv[r] = top;
    this.cloudCount[r] = n;
  }

  /** Highest counter of replica r seen anywhere in this context. */
  maxCounter(r: number): number {
    return Math.max(this.vv[r] ?? 0, (this.cloudCount[r] ?? 0) > 0 ? (this.cloudTop[r] ?? 0) : 0);
  }

  /** Joins `other` (whose dots are translated through `map`) into this context. */
  join(other: CausalContext, map: readonly number[] | undefined): void {
    let touched: number[] | undefined; // pairs: replica, its vector entry before
    for (let r = 0; r < other.vv.length; r++) {
      const c = other.vv[r] ?? 0;
      if (c === 0) continue;
      const to = map === undefined ? r : (map[r] ?? -1);
      assert(to >= 0, 'replica in translation');
      const before = this.vv[to] ?? 0;
      if (c > before) {
        this.vv[to] = c;
        (touched ??= []).push(to, before);
      }
    }
    for (const d of other.cloud) this.add(translate(d, map));
    if (touched === undefined) return;
    for (let i = 0; i < touched.length; i += 2) {
      // Only a replica whose vector entry rose can have cloud dots the vector now covers: look up
      // the counters it rose over, or walk the cloud if that is shorter.
      const r = touched[i] as number;
      const n = this.cloudCount[r] ?? 0;
      if (n === 0) continue;
      const top = this.vv[r] ?? 0;
      const from = (touched[i + 1] as number) + 1;
      const to = Math.min(top, this.cloudTop[r] ?? 0);
      if (to - from < this.cloud.size) {
        for (let c = from; c <= to; c++) this.dropFromCloud(r, c);
      } else {
        for (const d of this.cloud)
          if (dotReplica(d) === r && dotCounter(d) <= top) this.dropFromCloud(r, dotCounter(d));
      }
      this.compact(r);
    }
  }

  private dropFromCloud(r: number, c: number): void {
    if (this.cloud.delete(dot(r, c))) this.cloudCount[r] = (this.cloudCount[r] ?? 1) - 1;
  }

  clone(): CausalContext {
    const c = new CausalContext();
    for (let r = 0; r < this.vv.length; r++) c.vv[r] = this.vv[r] ?? 0;
    for (const d of this.cloud) c.add(d);
    return c;
  }

  /** Calls `f` for every dot in this context that `other` lacks. */
  forEachMissingFrom(other: CausalContext, map: readonly number[] | undefined, f: (d: Dot) => void): void {
    for (let r = 0; r < this.vv.length; r++) {
      const top = this.vv[r] ?? 0;
      const to = map === undefined ? r : map[r];
      const theirs = to === undefined ? 0 : (other.vv[to] ?? 0);
      for (let c = theirs + 1; c <= top; c++) {
        if (to === undefined || !other.cloud.has(dot(to, c))) f(dot(r, c));
      }
    }
    for (const d of this.cloud) {
      const to = map === undefined ? dotReplica(d) : map[dotReplica(d)];
      if (to === undefined || !other.has(dot(to, dotCounter(d)))) f(d);
    }
  }

  /** Number of dots this context holds (vector ranges plus cloud). */
  get dotCount(): number {
    let n = this.cloud.size;
    for (const c of this.vv) n += c ?? 0;
    return n;
  }
}
