// Who may write what: the check a coordinator makes of every client write before any replica
// stores it (docs/PROTOCOL.md §3, "who may write what").
//
// A delta-CRDT join trusts the causal context it is given (Almeida et al. §5): a context that
// claims a dot says "that event happened, and whatever I do not carry of it is gone". One crafted
// context claiming another device's future dots would make every replica drop that device's later
// changes as already seen-and-removed; one crafted dot under another device's name would collide
// with its next change. So a client write may
//   1. carry new dots (in items, title, flag, removal records or history entries) only of its own writer ID — the
//      hash of a secret the put carries (ids.ts) — or of a legacy replica ID (no secret exists);
//   2. claim in its context, beyond its own dots, only dots the cloud already knows — events that
//      happened — so a removal removes only what exists;
//   3. not take the list past its limits.
// Why it holds: every dot in any cloud context is, by induction over the writes that put it there,
// a dot its writer made (1) or a claim of one already known (2), or a writer's claim on its own
// name. An honest device makes its next dot above every dot of its name it has seen, and only it
// makes dots of its name, so no cloud context ever covers that dot before it arrives: nothing a
// client sends can hide an honest device's later change. Under sloppy quorum the check is made
// against what the coordinator knows (its copy, and the merged contexts of recent reads); a
// coordinator that has not seen what the client has refuses with `refused`, the client pulls
// (read repair brings the coordinator up to date) and tries again, so an honest write is delayed,
// never lost, and never acknowledged without being readable.

import { limits } from '../limits.ts';
import { isWriterId, type ReplicaId } from '../ids.ts';
import { dot, dotCounter, dotReplica, type CausalContext, type Dot, type ReplicaTable } from './dots.ts';
import { forEachItemDot, itemFields, itemIsEmpty, type ListDoc } from './list-doc.ts';

export interface WriteRefusal {
  /** `refused`: a dot of another writer, or a claim of an unknown change. */
  code: 'refused' | 'limit_exceeded';
  message: string;
}

/** What the checker knows of the list: a causal context and its replica names, and the item count. */
export interface KnownList {
  ctx: CausalContext;
  replicas: ReplicaTable;
  /** Keys of the live items known (for the item limit). */
  hasItem: (key: string) => boolean;
  itemCount: number;
  /** The list's encoded size as stored (for listBytesWriteMax). */
  bytes: number;
  /** Where a dot (in this list's replica table) stands in the state, if it does (dotRoles). */
  roleOf: (d: Dot) => string | undefined;
}

/** Each content dot of a doc, with the place it stands: an item's field, the title, the flag, a removal record. */
export function forEachDotRole(doc: ListDoc, f: (d: Dot, role: string) => void): void {
  for (const [key, item] of doc.items)
    for (let i = 0; i < itemFields.length; i++)
      for (const d of item.peek(i)?.keys() ?? []) f(d, `${itemFields[i]}:${key}`);
  for (const d of doc.title?.keys() ?? []) f(d, 'title');
  for (const d of doc.deleted?.keys() ?? []) f(d, 'deleted');
  for (const [d, key] of doc.removals.records) f(d, `removal:${key}`);
  for (const d of doc.journal.entries.keys()) f(d, 'history');
}

/** The dots a delta carries as content (not only in its context), by replica index. */
export function payloadDots(delta: ListDoc): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  const add = (d: Dot): void => {
    const r = dotReplica(d);
    let set = out.get(r);
    if (set === undefined) {
      set = new Set();
      out.set(r, set);
    }
    set.add(dotCounter(d));
  };
  for (const item of delta.items.values()) forEachItemDot(item, add);
  if (delta.title !== undefined) for (const d of delta.title.keys()) add(d);
  if (delta.deleted !== undefined) for (const d of delta.deleted.keys()) add(d);
  for (const d of delta.removals.records.keys()) add(d);
  for (const d of delta.journal.entries.keys()) add(d);
  return out;
}

/**
 * Checks a client's delta against what the cloud knows of the list; `writer` is the replica ID its
 * secret proves (undefined: none). Undefined when the write may go ahead.
 */
export function checkWrite(
  delta: ListDoc,
  deltaBytes: number,
  writer: ReplicaId | undefined,
  known: KnownList,
): WriteRefusal | undefined {
  const payload = payloadDots(delta);
  // 1. New dots only of the writer (or of a legacy replica, which nobody can prove).
  for (const r of payload.keys()) {
    const name = delta.replicas.name(r);
    if (name !== writer && isWriterId(name))
      return { code: 'refused', message: `the delta carries new changes of another writer (${name})` };
  }
  // 2. Claims only of known dots, except on the writer's own name.
  const refusal = (name: string): WriteRefusal => ({
    code: 'refused',
    message: `the delta claims changes of ${name} that the cloud does not know (pull, then push again)`,
  });
  const ctx = delta.ctx;
  for (let r = 0; r < ctx.vv.length; r++) {
    const top = ctx.vv[r] ?? 0;
    if (top === 0) continue;
    const name = delta.replicas.name(r);
    if (name === writer) continue;
    const k = known.replicas.lookup(name);
    const knownTop = k === undefined ? 0 : (known.ctx.vv[k] ?? 0);
    if (top <= knownTop) continue;
    const own = payload.get(r);
    // Each counter above knownTop must be carried or known individually: more of them than both
    // together can hold means at least one is neither (and bounds the loop below).
    if (top - knownTop > (own?.size ?? 0) + known.ctx.cloud.size) return refusal(name);
    for (let c = knownTop + 1; c <= top; c++)
      if (!own?.has(c) && !knownHas(known, k, c)) return refusal(name);
  }
  for (const d of ctx.cloud) {
    const r = dotReplica(d);
    const name = delta.replicas.name(r);
    if (name === writer) continue;
    const c = dotCounter(d);
    if (payload.get(r)?.has(c) === true) continue;
    if (!knownHas(known, known.replicas.lookup(name), c)) return refusal(name);
  }
  // 3. A dot names one event: one the cloud already holds may come again (a retry), but not in
  //    another place (a dot in two places makes a state no decoder accepts).
  let clash: WriteRefusal | undefined;
  forEachDotRole(delta, (d, role) => {
    if (clash !== undefined) return;
    const k = known.replicas.lookup(delta.replicas.name(dotReplica(d)));
    if (k === undefined || !knownHas(known, k, dotCounter(d))) return;
    const there = known.roleOf(dot(k, dotCounter(d)));
    if (there !== undefined && there !== role)
      clash = { code: 'refused', message: 'the delta reuses a change the cloud holds elsewhere' };
  });
  if (clash !== undefined) return clash;
  // 4. The item limit, counting the items this delta would add.
  let added = 0;
  for (const [key, item] of delta.items) if (!itemIsEmpty(item) && !known.hasItem(key)) added++;
  if (added > 0 && known.itemCount + added > limits.itemsPerListMax)
    return {
      code: 'limit_exceeded',
      message: `the list would hold more than ${limits.itemsPerListMax} items`,
    };
  if (known.bytes + deltaBytes > limits.listBytesWriteMax)
    return {
      code: 'limit_exceeded',
      message: `the list would take more than ${limits.listBytesWriteMax} bytes`,
    };
  return undefined;
}

/** What a full state knows, for checkWrite; `bytes` is its encoded size as stored. */
export function knownFrom(state: ListDoc, bytes: number): KnownList {
  let roles: Map<Dot, string> | undefined; // built on first use: only a retried dot asks
  return {
    roleOf: (d) => {
      if (roles === undefined) {
        const map = new Map<Dot, string>();
        forEachDotRole(state, (x, role) => map.set(x, role));
        roles = map;
      }
      return roles.get(d);
    },
    ctx: state.ctx,
    replicas: state.replicas,
    hasItem: (key) => state.items.has(key),
    itemCount: state.items.size,
    bytes,
  };
}

function knownHas(known: KnownList, k: number | undefined, counter: number): boolean {
  if (k === undefined) return false;
  return counter <= (known.ctx.vv[k] ?? 0) || known.ctx.cloud.has(dot(k, counter));
}
