// The two interfaces through which the client engine meets the world (DESIGN.md §4): the local
// store (SQLite in Node, IndexedDB in the browser, memory in tests) and the cloud (CloudClient
// over ZeroMQ, a WebSocket gateway later, MemoryCloud in tests). Both are asynchronous so that
// IndexedDB and the network can implement them; the engine never assumes a reply comes at once.
//
// The store is deliberately dumb: it keeps bytes and records, never decodes a list, and knows
// nothing of CRDTs. What it guarantees is atomicity and order: one `commit` is one transaction,
// commits take effect in the order they were called, and a commit whose promise resolved survives
// a crash (that resolution is what "local-ok" means, RELIABILITY.md).
//
// Several processes may open one store (a `trolley watch` and a `trolley item add` in another
// terminal). They share the device's replica ID, so two of them writing a list from stale copies
// would hand out the same dot twice, which a CRDT cannot survive. Every list therefore carries a
// revision: a change names the revision its writer last saw, and the store refuses the whole
// change ('conflict', nothing written) if the list has moved on. The writer reloads and redoes.

import type { ListId, OpId, ReplicaId } from '@trolley/core';

/** The device's own record, written once, when a store is first opened. */
export interface ClientMeta {
  /** Names this device in every list's causal context. One per store, never reused elsewhere. */
  replicaId: ReplicaId;
  /**
   * The secret whose hash is `replicaId` (a writer ID, core ids.ts), sent with every put so that
   * only this device can add changes under its name. Absent in stores made before writer IDs:
   * their replica ID is a legacy one, which the cloud cannot protect.
   */
  writerSecret?: Uint8Array;
}

/** A delta not yet known to be cloud-ok, under the operation ID that makes resending harmless. */
export interface OutboxEntry {
  /** Idempotency key: an opId always names the same bytes, from creation until removal. */
  opId: OpId;
  /** An encoded partial list doc (encodeList). */
  delta: Uint8Array;
  /** Wall-clock time of the (oldest) change it holds, for display ("pending for 3 min"). */
  createdMs: number;
}

/** What the client last learnt from the cloud about one list. */
export interface SyncMeta {
  /**
   * MD5 of the encoded local state at the last get that proved the cloud's N replicas all held
   * exactly this state; absent otherwise. The list is on all replicas while its state still has
   * this hash.
   */
  lastSyncedHash?: Uint8Array;
  /** From the last get: replicas that answered holding exactly the merged state. */
  inSync: number;
  /** From the last get: N, the replicas the cloud keeps of this list (0: never synced). */
  replicas: number;
  /** Wall-clock time of the last successful get (0: never). For display only. */
  lastSyncMs: number;
  /** Joined by ID or link and nothing of it received yet. */
  joinedOnly?: boolean;
}

/** One list as the store holds it. */
export interface StoredClientList {
  listId: ListId;
  /** Bumped by every committed change of this list; see the header. */
  revision: number;
  /** The encoded full state (encodeList). */
  state: Uint8Array;
  /** In the order the entries were appended. */
  outbox: OutboxEntry[];
  sync: SyncMeta;
}

/** Everything a store holds, as `load` returns it. */
export interface ClientSnapshot {
  /** Undefined only for a store that was never opened by an engine. */
  meta: ClientMeta | undefined;
  lists: StoredClientList[];
}

/**
 * A change to one list inside a commit. Applied in this order: the revision check, `forget`, or
 * else `state`, `removeOpIds` (unknown ones are ignored), `append` (an opId already in the outbox
 * makes the change invalid), `sync`. A new list needs `state` and `sync`.
 */
export interface ListChange {
  listId: ListId;
  /** The revision the writer last saw; undefined: the list must not exist yet. */
  expectedRevision: number | undefined;
  /** Removes the list and its outbox. Nothing else may be set alongside. */
  forget?: true;
  state?: Uint8Array;
  append?: readonly OutboxEntry[];
  removeOpIds?: readonly OpId[];
  sync?: SyncMeta;
}

/** One transaction: all of it is committed, or none of it. */
export interface ClientChange {
  /** Creates the meta record; a store that already has one answers 'conflict'. */
  meta?: ClientMeta;
  /**
   * Gives a store made before writer IDs its writer ID and secret (both set at once, replacing the
   * legacy replica ID); a store without a meta record, or with a secret already, answers
   * 'conflict'. Dots already made under the legacy ID stay as they are.
   */
  writer?: Required<ClientMeta>;
  /** At most one change per list. */
  lists?: readonly ListChange[];
}

/**
 * 'committed': durable now. 'conflict': another writer got there first (a revision moved on, or
 * the meta record exists); nothing was written; reload and redo. A malformed change (an invalid
 * combination, a duplicate opId) rejects with a TrolleyError, and an I/O failure (a full disk)
 * rejects with the store's error; in both cases nothing was written.
 */
export type CommitOutcome = 'committed' | 'conflict';

/** The device's durable store of lists. See the header for its guarantees. */
export interface ClientStore {
  /** Everything committed, as of now. Bytes returned belong to the caller. */
  load(): Promise<ClientSnapshot>;
  /** One atomic transaction; resolves once it is durable. The store copies the bytes it is given. */
  commit(change: ClientChange): Promise<CommitOutcome>;
  /** Finishes pending commits, then releases the store. Idempotent. */
  close(): Promise<void>;
}

// ---- the cloud ---------------------------------------------------------------------------------

/** The answer to a put: 'ok' is cloud-ok (W replicas committed); 'unknown' may or may not apply. */
export interface CloudPutResult {
  outcome: 'ok' | 'unknown';
  acks: number;
  replicas: number;
}

/** The answer to a get: what the caller's context lacks, and how many replicas agree. */
export interface CloudGetResult {
  /** An encoded list doc (partial or full) carrying the cloud's merged causal context. */
  delta: Uint8Array;
  answered: number;
  /** Replicas among `answered` that held exactly the merged state. */
  inSync: number;
  /** N. */
  replicas: number;
}

/**
 * The cloud as the client needs it (PROTOCOL.md §3, put and get). `CloudClient` in @trolley/node
 * satisfies this structurally. A put that cannot reach the cloud answers 'unknown' or throws; a
 * get that cannot throws; the engine treats both as "try again later", never as "failed".
 */
export interface CloudPort {
  /**
   * `writer`: the device's writer secret (ids.ts), which proves the writer ID whose new changes
   * the delta carries; without it, a delta may carry new changes only of legacy replica IDs.
   */
  put(
    listId: ListId,
    delta: Uint8Array,
    options: { timeoutMs: number; opId: OpId; writer?: Uint8Array },
  ): Promise<CloudPutResult>;
  get(listId: ListId, context: Uint8Array, options: { timeoutMs: number }): Promise<CloudGetResult>;
}
