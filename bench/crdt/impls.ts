// The three CRDT implementations under one small interface, for the CRDT benchmark.
//
// Each adapter turns a stream operation into that library's update, encoded to bytes exactly as
// it would travel, and applies received bytes on a peer. What is measured through it:
// - perform + receive: a local operation, its encoding, and decode + apply on a second replica;
// - missingFor + receiveMissing: what one replica ships so that a diverged peer catches up;
// - encodedDoc: the whole document as it would be stored.
//
// Modelling (one list of items keyed by normalised name):
// - Trolley: our delta-state CRDT (ListReplica); each operation returns a delta, sent as
//   encodeList(delta) and applied with decodeList + apply. Catch-up: missingFor(peer ctx, table).
// - Yjs: a root Y.Map of items; each item a Y.Map with `name` (string) and, for `wanted` and
//   `bought`, a nested Y.Map from clientID to that client's contribution (the sum is the total):
//   a per-client counter, so concurrent increments add. "Set" adjusts our own contribution by the
//   difference. Updates are the bytes of doc.on('update'); catch-up is
//   encodeStateAsUpdate(doc, encodeStateVector(peer)).
// - Automerge 3: the root map holds the items; each item a map with `name` (ImmutableString: in
//   Automerge 3 a plain string is collaborative text) and `wanted`, `bought` as Counters; "set"
//   increments by the difference. Updates are getLastLocalChange(); catch-up ships the changes made
//   since the heads both sides last shared (getChangesSince(doc, sharedHeads)), which is what
//   Automerge's sync protocol sends once it knows the shared heads: the closest equivalent of "ship
//   what the other misses" without the protocol's extra round trips and Bloom filter.

import * as Automerge from '@automerge/automerge';
import * as Y from 'yjs';
import { ListReplica, decodeList, encodeList, newReplicaId, type ListDoc } from '@trolley/core';
import type { Model, Op, Rng } from './stream.ts';

export type ImplName = 'trolley' | 'yjs' | 'automerge';

export interface Replica {
  /** Performs `op` locally and returns its update, encoded as it travels. */
  perform(op: Op): Uint8Array;
  /** Decodes and applies an update from a peer. */
  receive(update: Uint8Array): void;
  /** Notes that this replica and `peer` hold the same state now (a sync session remembers). */
  markSynced(peer: Replica): void;
  /** What `peer` is missing from this replica, encoded as it travels (one or more messages). */
  missingFor(peer: Replica): Uint8Array[];
  /** Decodes and applies what a peer found this replica was missing. */
  receiveMissing(messages: readonly Uint8Array[]): void;
  /** The whole document, encoded for storage. */
  encodedDoc(): Uint8Array;
  /** The list as a person sees it. */
  read(): Model;
}

export interface Impl {
  readonly name: ImplName;
  /** Two empty replicas of one list, with distinct identities drawn from `rng`. */
  pair(rng: Rng): [Replica, Replica];
}

function peerOf<T>(peer: Replica, kind: abstract new (...args: never[]) => T): T {
  if (!(peer instanceof kind)) throw new Error('a peer of another implementation');
  return peer;
}

// ---- Trolley -----------------------------------------------------------------------------------

class TrolleyReplica implements Replica {
  constructor(readonly replica: ListReplica) {}

  perform(op: Op): Uint8Array {
    return encodeList(this.delta(op));
  }

  private delta(op: Op): ListDoc {
    return trolleyApply(this.replica, op);
  }

  receive(update: Uint8Array): void {
    const doc = decodeList(update);
    if (!doc.ok) throw doc.error;
    this.replica.apply(doc.value);
  }

  markSynced(): void {}

  missingFor(peer: Replica): Uint8Array[] {
    const { state } = peerOf(peer, TrolleyReplica).replica;
    return [encodeList(this.replica.missingFor(state.ctx, state.replicas))];
  }

  receiveMissing(messages: readonly Uint8Array[]): void {
    for (const m of messages) this.receive(m);
  }

  encodedDoc(): Uint8Array {
    return encodeList(this.replica.state);
  }

  read(): Model {
    const view = this.replica.view();
    if (view.deleted) throw new Error('the list reads as deleted');
    return new Map(view.items.map((i) => [i.key, { name: i.name, wanted: i.wanted, bought: i.bought }]));
  }
}

/** A stream operation on our CRDT: the delta it makes (the live benchmark uses this too). */
export function trolleyApply(r: ListReplica, op: Op): ListDoc {
  switch (op.kind) {
    case 'add':
      return r.addItem(op.name, op.qty);
    case 'increase':
      return r.increaseWanted(op.name, op.by);
    case 'decrease':
      return r.decreaseWanted(op.name, op.by);
    case 'set':
      return r.setWanted(op.name, op.to);
    case 'buy':
      return r.buy(op.name, op.units);
    case 'remove':
      return r.removeItem(op.name);
  }
}

export const trolley: Impl = {
  name: 'trolley',
  pair(rng) {
    const random = { fill: (b: Uint8Array) => rng.fill(b) };
    return [
      new TrolleyReplica(new ListReplica(newReplicaId(random))),
      new TrolleyReplica(new ListReplica(newReplicaId(random))),
    ];
  },
};

// ---- Yjs ---------------------------------------------------------------------------------------

export type YItem = Y.Map<string | Y.Map<number>>;
const REMOTE = Symbol('remote');

class YjsReplica implements Replica {
  readonly doc = new Y.Doc();
  private readonly items: Y.Map<YItem>;
  private readonly me: string;
  private lastUpdate: Uint8Array | undefined;

  constructor(clientID: number) {
    this.doc.clientID = clientID;
    this.me = String(clientID);
    this.items = this.doc.getMap<YItem>('items');
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.lastUpdate = update;
    });
  }

  perform(op: Op): Uint8Array {
    this.lastUpdate = undefined;
    this.doc.transact(() => yjsApply(this.items, this.me, op));
    if (this.lastUpdate === undefined) throw new Error(`yjs: ${op.kind} produced no update`);
    return this.lastUpdate;
  }

  receive(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, REMOTE);
  }

  markSynced(): void {}

  missingFor(peer: Replica): Uint8Array[] {
    const other = peerOf(peer, YjsReplica);
    return [Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(other.doc))];
  }

  receiveMissing(messages: readonly Uint8Array[]): void {
    for (const m of messages) this.receive(m);
  }

  encodedDoc(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  read(): Model {
    return yjsRead(this.items);
  }
}

/**
 * Applies `op` to a Yjs list (`items`, modelled as above) as the client whose key in the
 * per-client counters is `me` (its clientID). Call it inside a transaction.
 */
export function yjsApply(items: Y.Map<YItem>, me: string, op: Op): void {
  if (op.kind === 'add' && !items.has(op.key)) {
    const item: YItem = new Y.Map();
    items.set(op.key, item);
    item.set('name', op.name);
    const wanted = new Y.Map<number>();
    item.set('wanted', wanted);
    item.set('bought', new Y.Map<number>());
    wanted.set(me, op.qty);
    return;
  }
  if (op.kind === 'remove') {
    items.delete(op.key);
    return;
  }
  const item = items.get(op.key);
  if (item === undefined) throw new Error(`yjs: no item ${op.key}`);
  /** Changes this client's contribution to a per-client counter. */
  const adjust = (c: Y.Map<number>, by: number): void => {
    c.set(me, (c.get(me) ?? 0) + by);
  };
  switch (op.kind) {
    case 'add':
      return adjust(counter(item, 'wanted'), op.qty);
    case 'increase':
      return adjust(counter(item, 'wanted'), op.by);
    case 'decrease':
      return adjust(counter(item, 'wanted'), -op.by);
    case 'set': {
      const wanted = counter(item, 'wanted');
      return adjust(wanted, op.to - total(wanted));
    }
    case 'buy':
      return adjust(counter(item, 'bought'), op.units);
  }
}

/** A Yjs list as a person sees it. */
export function yjsRead(items: Y.Map<YItem>): Model {
  const out: Model = new Map();
  for (const [key, item] of items) {
    const name = item.get('name');
    if (typeof name !== 'string') throw new Error(`yjs: item ${key} without a name`);
    out.set(key, { name, wanted: total(counter(item, 'wanted')), bought: total(counter(item, 'bought')) });
  }
  return out;
}

function counter(item: YItem, field: 'wanted' | 'bought'): Y.Map<number> {
  const c = item.get(field);
  if (!(c instanceof Y.Map)) throw new Error(`yjs: item without ${field}`);
  return c;
}

function total(c: Y.Map<number>): number {
  let sum = 0;
  for (const v of c.values()) sum += v;
  return sum;
}

export const yjs: Impl = {
  name: 'yjs',
  pair(rng) {
    const a = rng.uint32();
    let b = rng.uint32();
    while (b === a) b = rng.uint32();
    return [new YjsReplica(a), new YjsReplica(b)];
  },
};

// ---- Automerge ---------------------------------------------------------------------------------

export interface AmItem {
  name: Automerge.ImmutableString;
  wanted: Automerge.Counter;
  bought: Automerge.Counter;
}
export type AmList = Record<string, AmItem>;

class AutomergeReplica implements Replica {
  private doc: Automerge.Doc<AmList>;
  /** Per peer, the heads both held when last in sync (the sync protocol's sharedHeads). */
  private readonly sharedHeads = new Map<Replica, Automerge.Heads>();

  constructor(actor: string) {
    this.doc = Automerge.init<AmList>({ actor });
  }

  perform(op: Op): Uint8Array {
    this.doc = Automerge.change(this.doc, (d) => amApply(d, op));
    const change = Automerge.getLastLocalChange(this.doc);
    if (change === undefined) throw new Error(`automerge: ${op.kind} made no change`);
    return change;
  }

  receive(update: Uint8Array): void {
    [this.doc] = Automerge.applyChanges(this.doc, [update]);
  }

  markSynced(peer: Replica): void {
    this.sharedHeads.set(peer, Automerge.getHeads(this.doc));
  }

  missingFor(peer: Replica): Uint8Array[] {
    peerOf(peer, AutomergeReplica);
    return Automerge.getChangesSince(this.doc, this.sharedHeads.get(peer) ?? []);
  }

  receiveMissing(messages: readonly Uint8Array[]): void {
    [this.doc] = Automerge.applyChanges(this.doc, [...messages]);
  }

  encodedDoc(): Uint8Array {
    return Automerge.save(this.doc);
  }

  read(): Model {
    return amRead(this.doc);
  }
}

/** An Automerge list (a map of items, modelled as above) as a person sees it. */
export function amRead(items: AmList): Model {
  const out: Model = new Map();
  for (const [key, item] of Object.entries(items)) {
    out.set(key, { name: item.name.toString(), wanted: item.wanted.value, bought: item.bought.value });
  }
  return out;
}

/** Applies `op` to an Automerge list (a map of items) inside a change callback. */
export function amApply(d: AmList, op: Op): void {
  const item = d[op.key];
  if (op.kind === 'add' && item === undefined) {
    d[op.key] = {
      name: new Automerge.ImmutableString(op.name),
      wanted: new Automerge.Counter(op.qty),
      bought: new Automerge.Counter(0),
    };
    return;
  }
  if (item === undefined) throw new Error(`automerge: no item ${op.key}`);
  switch (op.kind) {
    case 'add':
      item.wanted.increment(op.qty);
      return;
    case 'increase':
      item.wanted.increment(op.by);
      return;
    case 'decrease':
      item.wanted.decrement(op.by);
      return;
    case 'set':
      item.wanted.increment(op.to - item.wanted.value);
      return;
    case 'buy':
      item.bought.increment(op.units);
      return;
    case 'remove':
      delete d[op.key];
      return;
  }
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export const automerge: Impl = {
  name: 'automerge',
  pair(rng) {
    const a = hex(rng.fill(new Uint8Array(16)));
    let b = hex(rng.fill(new Uint8Array(16)));
    while (b === a) b = hex(rng.fill(new Uint8Array(16)));
    return [new AutomergeReplica(a), new AutomergeReplica(b)];
  },
};

export const impls: readonly Impl[] = [trolley, yjs, automerge];
