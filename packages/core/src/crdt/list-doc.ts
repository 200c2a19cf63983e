// The shopping-list document: a delta-state CRDT (Almeida, Shoker, Baquero 2018) built from a
// causal context and dot stores, after the "causal CRDTs" of §6 of that paper.
//
//   list   = title: MV register · deleted: enable-wins flag · items: add-wins OR-map
//            journal: bounded grow-only set of history entries (journal.ts)
//   item   = display name, note: MV registers · base: MV register (a "set wanted")
//            wanted, bought: counters made of one dot per contribution
//
// Every part is a dot store under one shared causal context, so that removing an item removes
// exactly the dots the remover had seen: a concurrent add keeps its own dots (add wins), an old
// increment never comes back after a re-add (its dot is in the context), and counters count each
// contribution once. Registers keep every concurrent value; the read model shows the greatest.
//
// A ListDoc is either a full state or a partial one. A partial doc (a delta) speaks only for what
// it mentions: the items in its map (an empty item is a mention that says "none of the dots my
// context covers survive") and the title and flag when present. merge() is one function for
// every pair; for a key one side does not mention, that side's context counts as empty.

import { assert } from '../errors.ts';
import { CausalContext, ReplicaTable, dot, dotCounter, dotReplica, translate, type Dot } from './dots.ts';
import { Journal } from './journal.ts';
import { RemovalLog } from './removal-log.ts';

export type DotFun<V> = Map<Dot, V>;

export const itemFields = ['display', 'note', 'base', 'wanted', 'bought'] as const;
export type ItemField = (typeof itemFields)[number];

/**
 * The five dot stores of an item. Each is made on first use through its getter: most items use
 * two or three, and an item's memory is what a large list is made of. Hot paths read a store
 * with `peek`, which makes nothing.
 */
export class ItemStore {
  private s0: DotFun<string> | undefined = undefined;
  private s1: DotFun<string> | undefined = undefined;
  private s2: DotFun<number> | undefined = undefined;
  private s3: DotFun<number> | undefined = undefined;
  private s4: DotFun<number> | undefined = undefined;

  get display(): DotFun<string> {
    return (this.s0 ??= new Map());
  }
  get note(): DotFun<string> {
    return (this.s1 ??= new Map());
  }
  get base(): DotFun<number> {
    return (this.s2 ??= new Map());
  }
  get wanted(): DotFun<number> {
    return (this.s3 ??= new Map());
  }
  get bought(): DotFun<number> {
    return (this.s4 ??= new Map());
  }

  /** Store i (in itemFields order) if it holds anything, without making it. */
  peek(i: number): DotFun<unknown> | undefined {
    const s = i === 0 ? this.s0 : i === 1 ? this.s1 : i === 2 ? this.s2 : i === 3 ? this.s3 : this.s4;
    return s !== undefined && s.size > 0 ? s : undefined;
  }

  /** Store i (in itemFields order), made if needed. */
  store(i: number): DotFun<unknown> {
    return i === 0
      ? this.display
      : i === 1
        ? this.note
        : i === 2
          ? this.base
          : i === 3
            ? this.wanted
            : this.bought;
  }
}

/** Index of each field in itemFields, for ItemStore.peek and store. */
export const FIELD_DISPLAY = 0;
export const FIELD_NOTE = 1;
export const FIELD_BASE = 2;
export const FIELD_WANTED = 3;
export const FIELD_BOUGHT = 4;

export const emptyItem = (): ItemStore => new ItemStore();

export function itemIsEmpty(item: ItemStore): boolean {
  for (let i = 0; i < itemFields.length; i++) if (item.peek(i) !== undefined) return false;
  return true;
}

export function forEachItemDot(item: ItemStore, f: (d: Dot) => void): void {
  for (let i = 0; i < itemFields.length; i++) {
    const s = item.peek(i);
    if (s !== undefined) for (const d of s.keys()) f(d);
  }
}

export class ListDoc {
  readonly ctx = new CausalContext();
  readonly items = new Map<string, ItemStore>();
  readonly removals: RemovalLog;
  /** Who did what and when: the last historyEntriesMax entries. */
  readonly journal: Journal;
  /** Undefined in a partial doc that does not mention the title. */
  title: DotFun<string> | undefined;
  /** Undefined in a partial doc that does not mention the flag. */
  deleted: DotFun<true> | undefined;

  constructor(
    readonly full: boolean,
    readonly replicas: ReplicaTable = new ReplicaTable(),
  ) {
    this.removals = new RemovalLog(replicas);
    this.journal = new Journal(replicas);
    if (full) {
      this.title = new Map();
      this.deleted = new Map();
    }
  }

  static empty(): ListDoc {
    return new ListDoc(true);
  }

  /** The item entry for `key`, created empty (a mention) if absent. For building deltas. */
  mention(key: string): ItemStore {
    let item = this.items.get(key);
    if (item === undefined) {
      item = emptyItem();
      this.items.set(key, item);
    }
    return item;
  }

  clone(): ListDoc {
    const c = new ListDoc(this.full);
    merge(c, this);
    return c;
  }
}

/** Joins `b` into `a` (a := a ⊔ b). `b` is not changed. */
export function merge(a: ListDoc, b: ListDoc): void {
  const fwd = a.replicas.translationFrom(b.replicas); // b's indices → a's
  const rev = reverseTranslation(a.replicas, b.replicas); // a's indices → b's (-1: unknown to b)

  for (const [key, bItem] of b.items) {
    let aItem = a.items.get(key);
    const aSpeaks = a.full || aItem !== undefined;
    if (aItem === undefined) {
      aItem = emptyItem();
      a.items.set(key, aItem);
    }
    for (let i = 0; i < itemFields.length; i++) {
      const bStore = bItem.peek(i);
      if (bStore !== undefined)
        joinDotFun(aItem.store(i), aSpeaks ? a.ctx : undefined, bStore, b.ctx, fwd, rev);
      else {
        // b holds nothing here: a keeps only what b's context has not seen.
        const aStore = aItem.peek(i);
        if (aStore !== undefined) dropCovered(aStore, b.ctx, rev);
      }
    }
    if (a.full && itemIsEmpty(aItem)) a.items.delete(key);
  }
  if (b.full) {
    for (const [key, aItem] of a.items) {
      if (b.items.has(key)) continue;
      for (let i = 0; i < itemFields.length; i++) {
        const aStore = aItem.peek(i);
        if (aStore !== undefined) dropCovered(aStore, b.ctx, rev);
      }
      if (itemIsEmpty(aItem)) a.items.delete(key);
    }
  }

  if (b.title !== undefined) {
    const aSpeaks = a.title !== undefined;
    a.title ??= new Map();
    joinDotFun(a.title, aSpeaks ? a.ctx : undefined, b.title, b.ctx, fwd, rev);
  }
  if (b.deleted !== undefined) {
    const aSpeaks = a.deleted !== undefined;
    a.deleted ??= new Map();
    joinDotFun(a.deleted, aSpeaks ? a.ctx : undefined, b.deleted, b.ctx, fwd, rev);
  }

  a.removals.join(b.removals, fwd);
  a.journal.join(b.journal, fwd);
  a.ctx.join(b.ctx, fwd);
}

function reverseTranslation(a: ReplicaTable, b: ReplicaTable): number[] | undefined {
  if (a === b) return undefined;
  const names = a.names;
  const out = new Array<number>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = b.lookup(names[i] as string) ?? -1;
  return out;
}

function covered(ctx: CausalContext, d: Dot, rev: readonly number[] | undefined): Dot | undefined {
  // Returns d in b's table if b's context has it, else undefined.
  if (rev === undefined) return ctx.has(d) ? d : undefined;
  const r = rev[dotReplica(d)] ?? -1;
  if (r < 0) return undefined;
  const bd = dot(r, dotCounter(d));
  return ctx.has(bd) ? bd : undefined;
}

/**
 * The causal join of two dot functions (Almeida et al. §6.1), in place on `a`:
 * keep a dot that both hold, or that one holds and the other's context has not seen.
 * `aCtx` undefined means `a` does not speak for this entry (its context counts as empty).
 */
function joinDotFun<V>(
  a: DotFun<V>,
  aCtx: CausalContext | undefined,
  b: DotFun<V>,
  bCtx: CausalContext,
  fwd: readonly number[] | undefined,
  rev: readonly number[] | undefined,
): void {
  if (a.size > 0) {
    for (const d of a.keys()) {
      const bd = covered(bCtx, d, rev);
      if (bd !== undefined && !b.has(bd)) a.delete(d);
    }
  }
  for (const [bd, v] of b) {
    const d = translate(bd, fwd);
    if (a.has(d)) continue;
    if (aCtx !== undefined && aCtx.has(d)) continue;
    a.set(d, v);
  }
}

function dropCovered(a: DotFun<unknown>, bCtx: CausalContext, rev: readonly number[] | undefined): void {
  for (const d of a.keys()) if (covered(bCtx, d, rev) !== undefined) a.delete(d);
}

/**
 * What a peer whose causal context is `peer` is missing from `state`, as a partial doc whose
 * size grows with what the peer misses, not with the list: the items holding a dot the peer has
 * not seen or touched by a removal it has not seen (each in full), the title and the flag, and
 * the unseen removal records, under the state's whole context. When the removal records cannot
 * tell the whole story (the peer is behind the pruned horizon, or missed a delete of the whole
 * list) the answer is the full state. `peerTable` names the replicas of `peer`.
 */
export function missingFor(state: ListDoc, peer: CausalContext, peerTable: ReplicaTable): ListDoc {
  assert(state.full, 'missingFor is asked of a full state');
  const toPeer = reverseTranslation(state.replicas, peerTable);
  if (!state.removals.coveredBy((r) => peerTop(peer, toPeer, r))) return state.clone();

  const keys = new Set<string>();
  const records: [Dot, string][] = [];
  for (const [d, key] of state.removals.records) {
    if (covered(peer, d, toPeer) !== undefined) continue;
    if (key === '') return state.clone(); // a whole-list delete the peer missed
    keys.add(key);
    records.push([d, key]);
  }
  for (const [key, item] of state.items) {
    if (!keys.has(key) && holdsUnseen(item, peer, toPeer)) keys.add(key);
  }

  const out = new ListDoc(false, state.replicas);
  out.ctx.join(state.ctx, undefined);
  out.title = new Map(state.title);
  out.deleted = new Map(state.deleted);
  for (const key of keys) {
    const item = state.items.get(key);
    const copy = out.mention(key);
    if (item !== undefined)
      for (let i = 0; i < itemFields.length; i++) {
        const from = item.peek(i);
        if (from !== undefined) copyInto(copy.store(i), from);
      }
  }
  for (const [d, key] of records) out.removals.add(d, key);
  for (const [d, entry] of state.journal.entries)
    if (covered(peer, d, toPeer) === undefined) out.journal.add(d, entry);
  return out;
}

/** The peer's version-vector entry for replica r of the state's table. */
function peerTop(peer: CausalContext, toPeer: readonly number[] | undefined, r: number): number {
  const p = toPeer === undefined ? r : (toPeer[r] ?? -1);
  return p < 0 ? 0 : (peer.vv[p] ?? 0);
}

/** Whether the item holds a dot the peer's context lacks. */
function holdsUnseen(item: ItemStore, peer: CausalContext, toPeer: readonly number[] | undefined): boolean {
  for (let i = 0; i < itemFields.length; i++) {
    const store = item.peek(i);
    if (store !== undefined)
      for (const d of store.keys()) if (covered(peer, d, toPeer) === undefined) return true;
  }
  return false;
}

function copyInto<V>(to: DotFun<V>, from: DotFun<V>): void {
  for (const [d, v] of from) to.set(d, v);
}
