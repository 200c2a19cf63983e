// What the cloud's state machines tell the process about the work they finish, for its metrics: a
// port, as the clock and the store are. The logic stays free of any metrics library; the process
// (packages/node) keeps the histograms and counters and serves them to Prometheus. Each call is
// cheap and synchronous; a storage node or proxy without an observer reports to nobody.

/**
 * The kinds of request a storage node serves, each timed from its frame's arrival to its answer:
 *
 *   put, get        a client's write or read, coordinated here (§4.5): answered after W commits or
 *                   R replies (or at the deadline)
 *   replica_write   a coordinator's quorum write of a client's put, to this replica
 *   hinted_write    the same, held here for a down owner with a hint (§4.6)
 *   read_repair     a read coordinator's merged state, to this replica that answered with less (§5)
 *   handover        a hint replayed to its owner, or a list transferred after a ring change (§4.6, §4.9)
 *   anti_entropy    a list an anti-entropy exchange found this replica lacking (§4.7)
 *
 * A proxy reports put and get only: from forwarding the request to the coordinator's answer.
 */
export type RequestKind =
  'put' | 'get' | 'replica_write' | 'hinted_write' | 'read_repair' | 'handover' | 'anti_entropy';

/**
 * How a request ended: `ok`; `unknown` (a put not acknowledged by W in time: it may still apply);
 * `timeout` (a get that fewer than R replicas answered in time, or a request a proxy stopped
 * waiting for); `refused` (turned away before any work: the cause says why); `failed` (the store
 * could not commit it).
 */
export type RequestOutcome = 'ok' | 'unknown' | 'timeout' | 'refused' | 'failed';

/**
 * Why a request was refused: the wire error code it was answered with, except the write check's
 * `refused`, named `write_check` (crdt/write-check.ts: a claim or dot that is not the writer's).
 */
export type RefusalCause = string;

export interface RequestObserver {
  /** A request finished: how, after how long (ms, monotonic), and for a refusal, why. */
  request(kind: RequestKind, outcome: RequestOutcome, ms: number, cause?: RefusalCause): void;
}

export interface NodeObserver extends RequestObserver {
  /**
   * A client's read answered: how many replicas answered it and how many of those already held
   * the merged state (the others diverged, and are repaired: Dynamo §6.3's divergent versions).
   */
  read(answered: number, inSync: number): void;
}

/** The cause a refusal is counted under, from the wire code it was answered with. */
export function refusalCause(code: string): RefusalCause {
  return code === 'refused' ? 'write_check' : code;
}

/** Reports to nobody (a node or proxy built without an observer: tests, the simulator). */
export const noObserver: NodeObserver = {
  request: () => undefined,
  read: () => undefined,
};
