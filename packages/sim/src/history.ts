// What happened in a run, as the checkers need it: every operation a client performed (its Effect
// in the intent model, the dots it created, the delta that carries it), which of them the cloud
// acknowledged (cloud-ok), and the "late-applied" coverage event.
//
// Which effects a replica has incorporated is decided by delta containment: a state S holds an
// operation iff joining the operation's delta into S changes nothing (S ⊔ D = S). If S joined D,
// that holds by idempotence; if it holds, S equals a state that joined D, so the intent model
// with the operation counted describes S. A causal context alone would not do: a later operation
// that supersedes a write puts the write's dot in its own delta's context, so a replica can hold
// every dot of an operation it never received. (As a fast filter, S must hold all the dots the
// operation created.) Operations that create no dot cannot be traced; the ones that change
// nothing (no writes, nothing superseded) do not matter to the model, and the clients skip the
// only others — edits that would do nothing but lower a deleted flag (see client.ts).

import {
  decodeList,
  dot,
  encodeList,
  merge,
  type ListDoc,
  type ListId,
  type OpId,
  type ReplicaId,
} from '@trolley/core';
import { storedDoc, type StoredList } from '@trolley/cloud';
import type { Effect, Op } from '@trolley/core/testing/intent-model';

/** The dots an operation created: counters (from, to] of one replica. */
export interface FreshDots {
  replica: ReplicaId;
  from: number;
  to: number;
}

export interface OperationRecord {
  id: number;
  client: string;
  listId: ListId;
  op: Op;
  effect: Effect;
  fresh: FreshDots | undefined;
  /** The encoded delta sent to the cloud (undefined: nothing to send). */
  delta: Uint8Array | undefined;
  opId: OpId | undefined;
  issuedMs: number;
  /** When the client saw cloud-ok. */
  ackedMs: number | undefined;
  /** The delta, decoded once (for containment checks). */
  decoded?: ListDoc;
}

/** True if `doc`'s context holds every dot the operation created. */
export function holdsDots(doc: ListDoc, fresh: FreshDots): boolean {
  const r = doc.replicas.lookup(fresh.replica);
  if (r === undefined) return false;
  for (let c = fresh.from + 1; c <= fresh.to; c++) if (!doc.ctx.has(dot(r, c))) return false;
  return true;
}

/**
 * True if the full state `doc` holds the operation: joining its delta changes nothing.
 * `encoded` is encodeList(doc), if the caller has it.
 */
export function incorporates(doc: ListDoc, record: OperationRecord, encoded?: Uint8Array): boolean {
  if (record.fresh === undefined || record.delta === undefined) return false;
  if (!holdsDots(doc, record.fresh)) return false;
  if (record.decoded === undefined) {
    const d = decodeList(record.delta);
    if (!d.ok) throw d.error;
    record.decoded = d.value;
  }
  const joined = doc.clone();
  merge(joined, record.decoded);
  return sameBytes(encodeList(joined), encoded ?? encodeList(doc));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Watch {
  record: OperationRecord;
  /** Nodes that held the operation when the client gave up on it. */
  holders: Set<string>;
}

export class History {
  private readonly byList = new Map<ListId, OperationRecord[]>();
  private nextId = 0;
  /** Operations the client saw as unknown (timeout, "unknown", error), awaiting a late apply. */
  private readonly watches = new Map<string, Watch[]>();
  lateApplied = 0;
  unknownOutcomes = 0;
  /** `changed` notices shown to watchers. */
  shownCount = 0;
  /** The distinct deltas shown to watchers, by list (the live-update check, checkers.ts). */
  private readonly shownDeltas = new Map<ListId, Map<string, Uint8Array>>();
  failures: string[] = [];

  constructor(private readonly now: () => number) {}

  newId(): number {
    return this.nextId++;
  }

  add(record: OperationRecord): void {
    let list = this.byList.get(record.listId);
    if (list === undefined) {
      list = [];
      this.byList.set(record.listId, list);
    }
    list.push(record);
  }

  of(listId: ListId): readonly OperationRecord[] {
    return this.byList.get(listId) ?? [];
  }

  lists(): ListId[] {
    return [...this.byList.keys()];
  }

  all(): OperationRecord[] {
    return [...this.byList.values()].flat();
  }

  acknowledged(): OperationRecord[] {
    return this.all().filter((r) => r.ackedMs !== undefined);
  }

  /**
   * The effects of `listId` that the full state `doc` holds (traceable ones only). `known` holds
   * the IDs already found in this replica (a state only grows, so they stay held); it is updated.
   */
  seenBy(listId: ListId, doc: ListDoc, known: Set<number>): Map<number, Effect> {
    const seen = new Map<number, Effect>();
    let encoded: Uint8Array | undefined;
    for (const r of this.of(listId)) {
      if (r.fresh === undefined) continue;
      if (!known.has(r.id)) {
        if (!holdsDots(doc, r.fresh)) continue;
        encoded ??= encodeList(doc);
        if (!incorporates(doc, r, encoded)) continue;
        known.add(r.id);
      }
      seen.set(r.id, r.effect);
    }
    return seen;
  }

  /**
   * The client saw no cloud-ok for this attempt (timeout, "unknown", an error). `holders` names
   * the nodes that already hold the operation; if another node applies it before the client sends
   * it again, the original attempt took effect after the client gave up: a late apply.
   */
  gaveUp(record: OperationRecord, holders: Set<string>): void {
    this.unknownOutcomes++;
    if (record.fresh === undefined) return;
    this.retried(record);
    let list = this.watches.get(record.listId);
    if (list === undefined) {
      list = [];
      this.watches.set(record.listId, list);
    }
    list.push({ record, holders });
  }

  /** The client sends the operation again: from now on a new apply may be the retry's doing. */
  retried(record: OperationRecord): void {
    const list = this.watches.get(record.listId);
    if (list === undefined) return;
    const i = list.findIndex((w) => w.record === record);
    if (i >= 0) list.splice(i, 1);
  }

  /** A node's store was written: counts late applies of watched operations. */
  onStorePut(node: string, key: string, read: () => StoredList | undefined): void {
    const list = this.watches.get(key);
    if (list === undefined || list.length === 0) return;
    let doc: ListDoc | undefined;
    let state: Uint8Array | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i] as Watch;
      if (w.holders.has(node)) continue;
      if (doc === undefined) {
        const stored = read();
        const decoded = stored === undefined ? undefined : storedDoc(stored);
        if (decoded?.ok !== true) return this.fail(`node ${node} stored an undecodable state for ${key}`);
        doc = decoded.value;
        state = encodeList(doc);
      }
      if (incorporates(doc, w.record, state)) {
        this.lateApplied++;
        list.splice(i, 1);
      }
    }
  }

  /** A watcher was shown `delta` (a `changed` notice), before or without its cloud-ok. */
  shown(listId: ListId, delta: Uint8Array): void {
    this.shownCount++;
    let deltas = this.shownDeltas.get(listId);
    if (deltas === undefined) {
      deltas = new Map();
      this.shownDeltas.set(listId, deltas);
    }
    const key = Array.from(delta, (b) => b.toString(16).padStart(2, '0')).join('');
    if (!deltas.has(key)) deltas.set(key, delta);
  }

  /** The distinct deltas watchers of `listId` were shown. */
  shownOf(listId: ListId): Uint8Array[] {
    return [...(this.shownDeltas.get(listId)?.values() ?? [])];
  }

  fail(message: string): void {
    if (this.failures.length < 20) this.failures.push(`${message} (at ${this.now()} ms)`);
  }
}
