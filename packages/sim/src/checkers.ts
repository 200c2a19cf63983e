// The checkers run on the final, durable state of a run (every node's committed store, as a
// restart would find it) against the history (history.ts). Each says which promise broke
// (RELIABILITY.md):
//
//   (a) durability  every cloud-ok write is in the final state: joining its delta into each of
//                   its list's N owner replicas changes nothing. And more strictly: the owners'
//                   state is exactly the join of every delta the clients sent (all were cloud-ok
//                   by the end), since the cloud holds nothing else. A state can pass the first
//                   test and fail the second: a context that claims a write whose value it lost
//   (b) agreement   the N owners of every list hold identical states (same hash), and no other
//                   node still holds a copy (fallback copies dropped, transfers finished)
//   (c) intent      the final view equals the intent model's view of every operation performed
//                   (specView); intentViolations names what broke (lost add, resurrection, …)
//   (d) handoff     no node holds a hint
//   (e) ring        every node has the same ring (version and owners)
//   (f) live        every change a watcher was shown (a `changed` notice, pushed before the write
//                   is known to be durable) is in every owner's final state, or still in its
//                   writer's outbox: showing a change early can neither lose nor invent one

import {
  ListDoc,
  decodeList,
  dotCounter,
  dotReplica,
  itemFields,
  encodeList,
  encodeRing,
  hashEquals,
  listView,
  md5,
  merge,
  partitionOf,
  preferenceList,
  type RingState,
} from '@trolley/core';
import { listDigest, storedDoc, type MemoryListStore } from '@trolley/cloud';
import { intentViolations, specView } from '@trolley/core/testing/intent-model';
import { plainView } from '@trolley/core/testing/subjects';
import type { History } from './history.ts';

export interface FinalNode {
  id: string;
  /** The committed contents (MemoryListStore.reopen()). */
  store: MemoryListStore;
  ring: RingState | undefined;
}

export interface Verdict {
  failures: string[];
  /** Cloud-ok writes, and how many of them the final state lacks. */
  acknowledged: number;
  lost: number;
}

/**
 * `pending`: per list, the deltas still in the clients' outboxes at the end (not yet cloud-ok).
 */
export function checkFinalState(
  nodes: readonly FinalNode[],
  history: History,
  n: number,
  pending: ReadonlyMap<string, readonly ListDoc[]> = new Map(),
): Verdict {
  const failures: string[] = [];
  const fail = (m: string): void => {
    if (failures.length < 20) failures.push(m);
  };

  // (e) one ring
  const ring = nodes[0]?.ring;
  if (ring === undefined) {
    fail('ring: a node has no ring');
    return { failures, acknowledged: history.acknowledged().length, lost: 0 };
  }
  const ringBytes = encodeRing(ring);
  for (const node of nodes) {
    const r = node.ring === undefined ? undefined : encodeRing(node.ring);
    if (r === undefined || !hashEquals(md5(r), md5(ringBytes)))
      fail(
        `ring: ${node.id} has ring version ${node.ring?.version ?? 'none'}, ${nodes[0]?.id} has ${ring.version}`,
      );
  }

  // (d) no hints
  for (const node of nodes) {
    const hints = node.store.hintCount();
    if (hints > 0) fail(`handoff: ${node.id} still holds ${hints} hints`);
  }

  let lost = 0;
  const acknowledged = history.acknowledged();
  for (const listId of history.lists()) {
    const records = history.of(listId);
    if (!records.some((r) => r.delta !== undefined)) continue;
    const owners = preferenceList(ring, partitionOf(listId, ring.partitionCount), n);
    const states = new Map<string, ListDoc>();

    // (b) owners identical, nobody else holds it
    let hash: Uint8Array | undefined;
    for (const node of nodes) {
      const stored = node.store.get(listId);
      const isOwner = owners.includes(node.id as never);
      if (!isOwner) {
        if (stored !== undefined) fail(`agreement: ${node.id} holds ${listId} but is not one of its owners`);
        continue;
      }
      if (stored === undefined) {
        fail(`agreement: owner ${node.id} does not hold ${listId}`);
        continue;
      }
      if (hash !== undefined && !hashEquals(hash, stored.hash))
        fail(`agreement: the owners of ${listId} hold different states`);
      hash ??= stored.hash;
      const doc = storedDoc(stored);
      if (!doc.ok || !doc.value.full) {
        fail(`agreement: ${node.id}'s state of ${listId} does not decode as a full state`);
        continue;
      }
      states.set(node.id, doc.value);
    }

    // (a) every cloud-ok write of this list is in every owner's state. The ideal state is the
    // join of every delta sent; a write is lost from an owner if joining its delta there changes
    // something, or if a value it wrote is live in the ideal state but not in the owner's.
    const ideal = ListDoc.empty();
    const deltas = new Map<number, ListDoc>();
    for (const record of records) {
      if (record.delta === undefined) continue;
      const delta = decodeList(record.delta);
      if (!delta.ok) {
        fail(`durability: operation ${record.id}'s delta does not decode`);
        continue;
      }
      deltas.set(record.id, delta.value);
      merge(ideal, delta.value);
    }
    const idealLive = liveDots(ideal);
    const ownerLive = new Map([...states].map(([id, doc]) => [id, liveDots(doc)]));
    for (const record of acknowledged) {
      const delta = record.listId === listId ? deltas.get(record.id) : undefined;
      if (delta === undefined) continue;
      let missing: string | undefined;
      for (const owner of owners) {
        const state = states.get(owner);
        const live = ownerLive.get(owner);
        if (state === undefined || live === undefined) {
          missing = `${owner} holds no copy`;
          break;
        }
        const lostValue = [...liveDots(delta)].find((d) => idealLive.has(d) && !live.has(d));
        if (lostValue !== undefined) {
          missing = `${owner}'s copy lacks the value ${lostValue}, though its context claims it`;
          break;
        }
        const joined = state.clone();
        merge(joined, delta);
        if (!hashEquals(md5(encodeList(joined)), md5(encodeList(state)))) {
          missing = `${owner}'s copy lacks it`;
          break;
        }
      }
      if (missing !== undefined) {
        lost++;
        fail(
          `durability: cloud-ok write lost: operation ${record.id} (${record.client}, ${JSON.stringify(record.op)}, acknowledged at ${record.ackedMs} ms) on ${listId}: ${missing}`,
        );
      }
    }
    // Strictly: the owners hold exactly the join of every delta sent (the cloud holds nothing else).
    if (hash !== undefined && !hashEquals(listDigest(ideal, md5), hash)) {
      const got = JSON.stringify(plainView(listView(states.get(owners[0] as string) ?? ListDoc.empty())));
      const want = JSON.stringify(plainView(listView(ideal)));
      fail(
        `durability: the owners' state of ${listId} is not the join of its ${deltas.size} operations' deltas` +
          (got === want ? ' (the views agree)' : `: it shows ${got}, the join shows ${want}`),
      );
    }

    // (f) live: what a watcher was shown is in every owner, or still in its writer's outbox
    for (const bytes of history.shownOf(listId)) {
      const shown = decodeList(bytes);
      if (!shown.ok) {
        fail(`live: a change shown to a watcher of ${listId} does not decode`);
        continue;
      }
      for (const owner of owners) {
        const state = states.get(owner);
        if (state === undefined) continue; // reported under (b)
        if (holds(state, shown.value)) continue;
        const withOutboxes = state.clone();
        for (const p of pending.get(listId) ?? []) merge(withOutboxes, p);
        if (holds(withOutboxes, shown.value)) continue;
        fail(
          `live: a change shown to a watcher of ${listId} is neither in owner ${owner}'s state nor in an outbox`,
        );
        break;
      }
    }

    // (c) intent: the final view is what the operations mean
    const final = states.get(owners[0] as string);
    if (final === undefined) continue;
    const view = plainView(listView(final));
    const effects = records.map((r) => r.effect);
    const expected = specView(effects);
    if (JSON.stringify(view) !== JSON.stringify(expected)) {
      const why = intentViolations(view, effects);
      fail(
        `intent: ${listId}: ${why.join('; ') || `got ${JSON.stringify(view)}, the model says ${JSON.stringify(expected)}`}`,
      );
    }
  }
  return { failures, acknowledged: acknowledged.length, lost };
}

/** True if `state` holds `delta`: joining it changes nothing. */
function holds(state: ListDoc, delta: ListDoc): boolean {
  const joined = state.clone();
  merge(joined, delta);
  return hashEquals(md5(encodeList(joined)), md5(encodeList(state)));
}

/** Every value a doc holds, named by place and dot (replica name, counter): comparable across docs. */
function liveDots(doc: ListDoc): Set<string> {
  const out = new Set<string>();
  const name = (d: number): string => `${doc.replicas.name(dotReplica(d))}:${dotCounter(d)}`;
  for (const d of doc.title?.keys() ?? []) out.add(`title ${name(d)}`);
  for (const d of doc.deleted?.keys() ?? []) out.add(`deleted ${name(d)}`);
  for (const [key, item] of doc.items)
    for (const field of itemFields) for (const d of item[field].keys()) out.add(`${key}.${field} ${name(d)}`);
  return out;
}
