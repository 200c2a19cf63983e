// The ports through which the cloud's state machines meet the world (DESIGN.md §4). The storage
// node, coordinator and proxy logic take these through their constructors; the Node adapters
// (ZeroMQ, better-sqlite3) and the in-memory doubles implement them, and each port has one
// contract test suite that every implementation passes.

/** What a storage node knows of a list without reading its state: where it lives and its digest. */
export interface ListHead {
  /** The list ID (a UUID v4 string). */
  key: string;
  /** The ring partition the key hashes to (for anti-entropy and transfers). */
  partition: number;
  /**
   * The list's digest (16 bytes, replica/list-digest.ts): a function of the list's state alone, so
   * equal digests mean equal states, whatever order the writes came in.
   */
  hash: Uint8Array;
}

/**
 * One list's state as a storage node keeps it: a full state written whole now and then, and the
 * deltas joined into it since, so that a write stores what it changes (its delta), not the list.
 */
export interface StoredList extends ListHead {
  /** A full CRDT state, encoded (encodeList of a full ListDoc), as last written whole. */
  state: Uint8Array;
  /** Encoded deltas joined into the list since `state` was written, oldest first. The list is
   * `state` joined with every one of them (in any order: joins commute). */
  deltas: readonly Uint8Array[];
}

/** A delta to add to a stored list (ListStore.append). */
export interface StoredDelta extends ListHead {
  delta: Uint8Array;
}

/** A write held for a node that could not take it (Dynamo §4.6). Used by hinted handoff. */
export interface StoredHint {
  /** Store-assigned, increasing. */
  id: number;
  /** The node the write was meant for. */
  target: string;
  key: string;
  partition: number;
  /** An encoded ListDoc (delta or state) to deliver to `target`. */
  doc: Uint8Array;
  createdMs: number;
}

/**
 * The storage node's durable store. Reads are synchronous and see every write already made,
 * committed or not. Writes are group-committed: `put` returns a promise that resolves once the
 * write is durable (synchronous=FULL), shared by all writes of the same commit, and rejects if the
 * commit fails (for example SQLITE_FULL), in which case that write must not be acknowledged.
 */
export interface ListStore {
  get(key: string): StoredList | undefined;
  /** The list's partition and digest, without its state; undefined if not held. */
  head(key: string): ListHead | undefined;
  /** Writes a list whole: its state replaces what was stored, and the deltas stored are dropped. */
  put(list: Omit<StoredList, 'deltas'>): Promise<void>;
  /**
   * Adds a delta joined into a list already held (put before, or in this batch), with the list's
   * new digest. `partition` is the list's, as stored (the caller knows it: no read to find it).
   */
  append(list: StoredDelta): Promise<void>;
  /** Removes a list (after it has been transferred away). */
  delete(key: string): Promise<void>;
  /** Keys and hashes of one partition, in key order (for Merkle trees). */
  partitionEntries(partition: number): { key: string; hash: Uint8Array }[];
  /** Number of lists held. */
  count(): number;
  /** Number of lists per partition (only partitions holding any). */
  countByPartition(): Map<number, number>;

  addHint(hint: Omit<StoredHint, 'id'>): Promise<number>;
  /** Up to `max` hints for `target`, oldest first. */
  hintsFor(target: string, max: number): StoredHint[];
  deleteHint(id: number): Promise<void>;
  hintCount(): number;

  close(): void;
}

/**
 * What a member of the cluster is: a storage node, a proxy, or an operator (a person's tools:
 * ring changes, admin reads, stats). `client` is anyone else: an anonymous client whose requests
 * a proxy forwards, or in memory a simulated client.
 */
export type PeerRole = 'node' | 'proxy' | 'operator' | 'client';

/**
 * Who sent a frame, as the transport authenticated it: over ZeroMQ, the CURVE key the frame came
 * with (a member's credential on a ROUTER, the pinned server key on a DEALER), looked up in the
 * cluster's keyring; in memory, the endpoint's name and role. The logic trusts `id` and `role`
 * and nothing in the frame that claims the same.
 */
export interface Peer {
  role: PeerRole;
  id: string;
}

/** Where a reply goes: opaque to the logic, defined by the transport that delivered the request. */
export interface ReplyTo {
  readonly replyToBrand: never;
}

/**
 * Message transport for a storage node. Delivery is best effort: a message may be lost, and a
 * peer may be down; timeouts are the logic's business. Messages are encoded frames (protocol.ts).
 */
export interface NodeTransport {
  /** Sends a request (or a one-way message) to a peer node. */
  send(to: string, frame: Uint8Array): void;
  /** Answers a request through the route it came by (a client via a proxy, or a peer). */
  reply(to: ReplyTo, frame: Uint8Array): void;
  /** Tells the transport where a node can be reached (learned by gossip). */
  learnAddress?(node: string, address: string): void;
  /**
   * Runs `f` once the frames sent so far have left the process (a transport that writes at once
   * may run it at once, the default). A coordinator joins a write into its own copy there, after
   * the replica-puts and the live notice are on their way (put-coordinator.ts).
   */
  afterSends?(f: () => void): void;
}

/** Structured, quiet logging: a component namespace and fields, never string concatenation. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
