// Which outbox entries may be joined into one push (trolley-client.ts, "outbox coalescing").
//
// Joining is always safe for the content (a join is idempotent), but not always for progress. The
// cloud refuses a write whose context claims another device's change it does not know yet
// (crdt/write-check.ts, rule 2), and live updates show a change to watchers before it is durable
// (docs/ARCHITECTURE.md, "Live updates"): a device may act on another's change that the cloud will
// only learn when that other device pushes again. Were each device to join its independent changes
// with its dependent ones, two devices that each acted on the other's not-yet-durable change
// would each push one entry claiming the other's change, and each would be refused until the
// other's went through: for ever (the simulator found it: a coordinator crash lost both originals).
//
// So a run — the entries joined into one push — is a first entry (its head) followed only by
// entries that claim no change of another device beyond what the run already claims. Then every
// change of another device a run claims happened before the run's head, and every change a run
// carries happened at or after its head: if run P claims a change carried by run Q, Q's head
// happened before P's head. That order has no cycle, so some run's claims are all known to the
// cloud, it goes through, and the rest follow: no device waits for another for ever while both
// keep pushing.

import { decodeList, dot, dotCounter, dotReplica, merge, ListDoc, type ReplicaId } from '@trolley/core';
import type { OutboxEntry } from './ports.ts';

/** Entries pushed as one: their join (a partial doc), or one entry sent as it is. */
export interface OutboxRun {
  entries: OutboxEntry[];
  /** The join of the entries' deltas (undefined: one entry that is sent as it is). */
  doc: ListDoc | undefined;
  bytes: number;
}

/**
 * The outbox cut into runs, in order. An entry that does not decode or holds a full state is a
 * run of its own, sent as it is (a full state joined into a partial doc would lose its "everything
 * absent is removed" meaning). A run stays under `bytesMax` (bytes of deltas joined) unless
 * `bytesMax` is Infinity.
 */
export function outboxRuns(outbox: readonly OutboxEntry[], self: ReplicaId, bytesMax: number): OutboxRun[] {
  const runs: OutboxRun[] = [];
  let run: OutboxRun | undefined;
  for (const e of outbox) {
    const decoded = decodeList(e.delta);
    if (!decoded.ok || decoded.value.full) {
      run = undefined;
      runs.push({ entries: [e], doc: undefined, bytes: e.delta.length });
      continue;
    }
    const delta = decoded.value;
    if (
      run?.doc === undefined ||
      run.bytes + e.delta.length > bytesMax ||
      !claimsNoMoreOfOthers(delta, run.doc, self)
    ) {
      run = { entries: [], doc: new ListDoc(false), bytes: 0 };
      runs.push(run);
    }
    merge(run.doc as ListDoc, delta);
    run.entries.push(e);
    run.bytes += e.delta.length;
  }
  return runs;
}

/** Whether every dot of a replica other than `self` that `delta`'s context claims, `run`'s claims too. */
export function claimsNoMoreOfOthers(delta: ListDoc, run: ListDoc, self: ReplicaId): boolean {
  const { vv, cloud } = delta.ctx;
  for (let r = 0; r < vv.length; r++) {
    const top = vv[r] ?? 0;
    if (top === 0) continue;
    const name = delta.replicas.name(r);
    if (name === self) continue;
    const k = run.replicas.lookup(name);
    if (k === undefined) return false;
    const runTop = run.ctx.vv[k] ?? 0;
    if (top <= runTop) continue;
    // More counters above the run's vector than its cloud holds: at least one is not claimed.
    if (top - runTop > run.ctx.cloud.size) return false;
    for (let c = runTop + 1; c <= top; c++) if (!run.ctx.has(dot(k, c))) return false;
  }
  for (const d of cloud) {
    const name = delta.replicas.name(dotReplica(d));
    if (name === self) continue;
    const k = run.replicas.lookup(name);
    if (k === undefined || !run.ctx.has(dot(k, dotCounter(d)))) return false;
  }
  return true;
}
