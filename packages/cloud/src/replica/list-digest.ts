// A list's digest, kept up to date at the cost of what a write changes (issue 13, item 3).
//
// The cloud compares replicas by a 16-byte digest of their state: a write's reply carries the
// replica's new digest (the coordinator reports "on all replicas" when the N agree), read repair
// and handover compare them, and anti-entropy builds its Merkle trees from them. Hashing the whole
// encoded list on every write made a write cost the size of the list. This digest is instead
//
//   digest = H( header ‖ Σ H(item) ‖ Σ H(removal record) ‖ Σ H(history entry) )
//
// where header is the canonical encoding of everything else in the state (title, deleted flag,
// causal context, removal horizon: its size grows with the list's writers, not its items), each
// item is hashed alone as canonical text (itemText: replicas by name, values in (name, counter)
// order, so equal items hash equally on every node), and the sums are additions modulo 2^128. A merge changes only the items its delta mentions, so updating the
// digest costs those items, the records it added or pruned, and the header — never the list.
//
// The digest is a function of the state alone (not of the order writes arrived in), so replicas
// holding the same state agree on it whatever their histories; ListDigest.of and every sequence of
// updates give the same value (list-digest.test.ts checks both). What an adversary can do: the sum
// is not collision resistant against chosen items (Wagner's generalised birthday finds item sets
// with equal sums), so a client could make two replicas that differ only in ITS OWN crafted items
// look equal, and they would stay different on those items. It cannot hide a difference in anyone
// else's change: any other difference changes one side's sum by a value the attacker did not choose.
//
// `H` is the node's digest port (MD5, native on Node), so the code stays pure.

import {
  ListDoc,
  dot,
  dotCounter,
  dotReplica,
  encodeList,
  itemFields,
  entryPrunedFirst,
  recordPrunedFirst,
  type Dot,
  type HistoryEntry,
  type ItemStore,
  type ReplicaTable,
} from '@trolley/core';
import type { Digest } from '../node/context.ts';

const SUM_BYTES = 16;

/** An item's hash, and its dots field by field: the same dots mean the same item, unhashed. */
interface ItemEntry {
  hash: Uint8Array;
  dots: number[];
}

export class ListDigest {
  private readonly items = new Map<string, ItemEntry>();
  private readonly itemSum = new Uint8Array(SUM_BYTES);
  /** Removal records (dots of the list's own replica table), each hashed with its item key. */
  private readonly records: KeptSum<string>;
  /** History entries (dots of the list's own replica table), each immutable. */
  private readonly entries: KeptSum<HistoryEntry>;
  private cached: Uint8Array | undefined;

  private constructor(private readonly hash: Digest) {
    this.records = new KeptSum(hash, recordText, (a, _ka, b, _kb, names) => recordPrunedFirst(a, b, names));
    this.entries = new KeptSum(hash, entryText, entryPrunedFirst);
  }

  /** The digest of a full state, from scratch: O(list). */
  static of(state: ListDoc, hash: Digest): ListDigest {
    const d = new ListDigest(hash);
    for (const [key, item] of state.items) d.setItem(key, item, state);
    d.records.follow(state.removals.records, state.replicas, undefined);
    d.entries.follow(state.journal.entries, state.replicas, undefined);
    return d;
  }

  /**
   * Brings the digest up to date after merge(state, delta) — the same `state` it describes. A full
   * delta may touch every item, so every item is looked at; a partial one touches only what it
   * mentions. An item is hashed again only if its dots changed: within one state a dot always
   * holds the value it arrived with (a join never overwrites one, and a dot names one event), so
   * equal dots, field by field, mean an equal item — comparing them costs far less than hashing.
   */
  update(state: ListDoc, delta: ListDoc): void {
    this.cached = undefined;
    if (delta.full) {
      for (const key of this.items.keys()) if (!state.items.has(key)) this.dropItem(key);
      for (const [key, item] of state.items) this.setItem(key, item, state);
    } else {
      for (const key of delta.items.keys()) {
        const item = state.items.get(key);
        if (item === undefined) this.dropItem(key);
        else this.setItem(key, item, state);
      }
    }
    // Removal records and history entries: what a partial delta brings, or from scratch for a full one.
    const brought = (dots: Iterable<Dot>): Iterable<Dot> | undefined =>
      delta.full ? undefined : inState(state, delta, dots);
    this.records.follow(state.removals.records, state.replicas, brought(delta.removals.records.keys()));
    this.entries.follow(state.journal.entries, state.replicas, brought(delta.journal.entries.keys()));
  }

  /** The 16-byte digest of the state last described. */
  value(state: ListDoc): Uint8Array {
    if (this.cached !== undefined) return this.cached;
    const header = new ListDoc(false, state.replicas);
    header.ctx.join(state.ctx, undefined);
    header.title = state.title;
    header.deleted = state.deleted;
    for (let r = 0; r < state.removals.horizon.length; r++)
      header.removals.horizon[r] = state.removals.horizon[r] ?? 0;
    const head = encodeList(header);
    const all = new Uint8Array(head.length + 3 * SUM_BYTES);
    all.set(head, 0);
    all.set(this.itemSum, head.length);
    all.set(this.records.sum, head.length + SUM_BYTES);
    all.set(this.entries.sum, head.length + 2 * SUM_BYTES);
    this.cached = this.hash(all);
    return this.cached;
  }

  private setItem(key: string, item: ItemStore, state: ListDoc): void {
    const dots = dotsOf(item);
    const old = this.items.get(key);
    if (old !== undefined && sameDots(old.dots, dots)) return;
    const hash = this.hash(itemText(key, item, state.replicas));
    if (old !== undefined) subtract(this.itemSum, old.hash);
    this.items.set(key, { hash, dots });
    add(this.itemSum, hash);
  }

  private dropItem(key: string): void {
    const old = this.items.get(key);
    if (old === undefined) return;
    subtract(this.itemSum, old.hash);
    this.items.delete(key);
  }
}

/** The digest of a full state, from scratch (what ListDigest maintains). */
export function listDigest(state: ListDoc, hash: Digest): Uint8Array {
  return ListDigest.of(state, hash).value(state);
}

/**
 * An item, canonically, as text: its key, then per field (display, note, base, wanted, bought)
 * U+0001 and each value as "replica ID U+0002 counter U+0002 value U+0003" in (ID, counter) order.
 * Unambiguous, since no key, ID or string value holds a control character (the codec refuses them).
 */
function itemText(key: string, item: ItemStore, names: ReplicaTable): string {
  let text = key;
  for (let i = 0; i < itemFields.length; i++) {
    text += '\u0001';
    const m = item.peek(i);
    if (m === undefined) continue;
    const entries: [string, number, unknown][] = [];
    for (const [d, v] of m) entries.push([names.name(dotReplica(d)), dotCounter(d), v]);
    if (entries.length > 1) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    for (const [name, counter, v] of entries) text += `${name}\u0002${counter}\u0002${String(v)}\u0003`;
  }
  return text;
}

/** An item's dots, field by field (sorted, each field closed by -1). */
function dotsOf(item: ItemStore): number[] {
  const out: number[] = [];
  for (let i = 0; i < itemFields.length; i++) {
    const m = item.peek(i);
    if (m?.size === 1) for (const d of m.keys()) out.push(d);
    else if (m !== undefined) out.push(...[...m.keys()].sort((a, b) => a - b));
    out.push(-1);
  }
  return out;
}

function sameDots(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function add(sum: Uint8Array, h: Uint8Array): void {
  let carry = 0;
  for (let i = SUM_BYTES - 1; i >= 0; i--) {
    const v = (sum[i] as number) + (h[i] as number) + carry;
    sum[i] = v & 0xff;
    carry = v >> 8;
  }
}

function subtract(sum: Uint8Array, h: Uint8Array): void {
  let borrow = 0;
  for (let i = SUM_BYTES - 1; i >= 0; i--) {
    const v = (sum[i] as number) - (h[i] as number) - borrow;
    sum[i] = v & 0xff;
    borrow = v < 0 ? 1 : 0;
  }
}

/**
 * The sum of the hashes of a bounded set a list keeps (removal records, history entries), kept up
 * to date at the cost of what a write brings. Such a set only gains what a delta carries and
 * prunes its least (removal-log.ts, journal.ts: the top K of everything ever seen, in `prunedFirst`'s
 * order), and everything it pruned sorts below everything it kept; so what left is the least of
 * what this sum holds that the set no longer does, taken from the root of a min-heap in that order.
 */
class KeptSum<V> {
  readonly sum = new Uint8Array(SUM_BYTES);
  private readonly held = new Map<Dot, { hash: Uint8Array; value: V }>();
  /** The dots held, as a min-heap in `prunedFirst`'s order. */
  private order: Dot[] = [];

  constructor(
    private readonly hash: Digest,
    private readonly textOf: (d: Dot, value: V, names: ReplicaTable) => string,
    private readonly prunedFirst: (a: Dot, va: V, b: Dot, vb: V, names: ReplicaTable) => boolean,
  ) {}

  /**
   * Follows the set after a merge: `brought`, the dots (of the state's table) a partial delta
   * carried, at their cost; undefined (a full state) from scratch, O(kept).
   */
  follow(kept: ReadonlyMap<Dot, V>, names: ReplicaTable, brought: Iterable<Dot> | undefined): void {
    if (brought === undefined) this.sync(kept, names);
    else this.added(kept, brought, names);
  }

  private sync(kept: ReadonlyMap<Dot, V>, names: ReplicaTable): void {
    for (const [d, h] of this.held) {
      if (kept.has(d)) continue;
      subtract(this.sum, h.hash);
      this.held.delete(d);
    }
    for (const [d, v] of kept) if (!this.held.has(d)) this.hold(d, v, names);
    this.order = [...this.held.keys()];
    this.order.sort((a, b) => (this.less(a, b, names) ? -1 : 1));
  }

  private added(kept: ReadonlyMap<Dot, V>, brought: Iterable<Dot>, names: ReplicaTable): void {
    const less = (a: Dot, b: Dot): boolean => this.less(a, b, names);
    for (const d of brought) {
      const v = kept.get(d);
      if (v === undefined || this.held.has(d)) continue;
      this.hold(d, v, names);
      heapPush(this.order, d, less);
    }
    for (;;) {
      const least = this.order[0];
      if (least === undefined || kept.has(least)) break;
      heapPop(this.order, less);
      const h = this.held.get(least);
      if (h === undefined) continue;
      subtract(this.sum, h.hash);
      this.held.delete(least);
    }
  }

  private hold(d: Dot, value: V, names: ReplicaTable): void {
    const h = this.hash(this.textOf(d, value, names));
    this.held.set(d, { hash: h, value });
    add(this.sum, h);
  }

  private less(a: Dot, b: Dot, names: ReplicaTable): boolean {
    const va = this.held.get(a)?.value as V;
    const vb = this.held.get(b)?.value as V;
    return this.prunedFirst(a, va, b, vb, names);
  }
}

/** The dots `ids` of `delta`'s table, in `state`'s table (those it names). */
function* inState(state: ListDoc, delta: ListDoc, ids: Iterable<Dot>): Iterable<Dot> {
  for (const bd of ids) {
    const r = state.replicas.lookup(delta.replicas.name(dotReplica(bd)));
    if (r !== undefined) yield dot(r, dotCounter(bd));
  }
}

/** A removal record as hashed: "replica ID\ncounter\nitem key" (PROTOCOL.md §4.2). */
function recordText(d: Dot, key: string, names: ReplicaTable): string {
  return `${names.name(dotReplica(d))}\n${dotCounter(d)}\n${key}`;
}

/** A history entry as hashed: the JSON array PROTOCOL.md §4.2 gives. */
function entryText(d: Dot, e: HistoryEntry, names: ReplicaTable): string {
  return JSON.stringify([
    names.name(dotReplica(d)),
    dotCounter(d),
    e.seq,
    e.atMs,
    e.who,
    e.kind,
    e.name,
    e.n,
    e.before,
    e.items.map((i) => [i.name, i.wanted, i.bought, i.note]),
  ]);
}

function heapPush(h: Dot[], d: Dot, less: (a: Dot, b: Dot) => boolean): void {
  h.push(d);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = h[parent] as Dot;
    if (!less(d, p)) break;
    h[i] = p;
    i = parent;
  }
  h[i] = d;
}

function heapPop(h: Dot[], less: (a: Dot, b: Dot) => boolean): void {
  const last = h.pop();
  if (last === undefined || h.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const r = l + 1;
    const c = r < h.length && less(h[r] as Dot, h[l] as Dot) ? r : l;
    if (!less(h[c] as Dot, last)) break;
    h[i] = h[c] as Dot;
    i = c;
  }
  h[i] = last;
}
