// A storage node's configuration (the timing of its mechanisms) and its counters (stats()):
// every knob with its meaning, trade-off and default; every counter with what it counts. The
// counter names are read by tests, the simulator and the node process: add, never rename.

/** Timing of the background mechanisms. Every knob: meaning, trade-off, default. */
export interface NodeConfig {
  /** Gossip to one random member this often. Faster: quicker convergence, more traffic. */
  gossipIntervalMs: number;
  /** No heartbeat rise for this long: suspect. */
  suspectAfterMs: number;
  /** No heartbeat rise for this long: down (skipped by sloppy quorum). Shorter: faster failover, more false downs. */
  downAfterMs: number;
  /** Try to deliver hints this often. */
  handoffIntervalMs: number;
  /** Start one anti-entropy exchange (one partition, one peer) this often. */
  antiEntropyIntervalMs: number;
  /** Push lists this node should not hold this often. */
  transferIntervalMs: number;
  /** Deadline for background writes (repairs, hints, transfers). */
  backgroundDeadlineMs: number;
  /**
   * After R replicas answered a read, wait this long for the others before answering, so the
   * answer can say the state is on all N ("all replicas"). Costs up to this much read latency
   * while a replica is slow or down; 0 answers at R.
   */
  readGraceMs: number;
  /**
   * Gossiped heartbeats above this node's wall clock plus this are refused (membership.ts). A
   * heartbeat starts from its node's wall clock (ms) and rises by one per gossip round, so an
   * honest one is never ahead of the wall clock by more than the clocks' skew. Larger: tolerates
   * worse clocks; smaller: a forger can push a heartbeat less far ahead.
   */
  heartbeatAheadMsMax: number;
}

export const defaultNodeConfig: NodeConfig = {
  gossipIntervalMs: 1_000,
  suspectAfterMs: 2_500,
  downAfterMs: 5_000,
  handoffIntervalMs: 500,
  antiEntropyIntervalMs: 1_000,
  transferIntervalMs: 1_000,
  backgroundDeadlineMs: 5_000,
  readGraceMs: 20,
  heartbeatAheadMsMax: 10 * 60_000,
};

export interface NodeCounters {
  framesIn: number;
  rejected: number;
  lateRejected: number;
  puts: number;
  putsOk: number;
  putsUnknown: number;
  gets: number;
  replicaWrites: number;
  readRepairs: number;
  storeFailures: number;
  duplicateOps: number;
  /** Client writes refused by the write check (crdt/write-check.ts): a claim or dot not theirs. */
  writesRefused: number;
  /** Client writes refused because they would take a list past its limits. */
  writesOverLimit: number;
  /** Quorum reads made because this node knew too little to take a client write (then checked again). */
  writeCheckReads: number;
  overloaded: number;
  hintedWrites: number;
  hintsStored: number;
  hintsDelivered: number;
  antiEntropyRounds: number;
  antiEntropyAgreed: number;
  antiEntropyRepairs: number;
  transfersSent: number;
  transferredAway: number;
  /** Rings adopted: by an operator's change here, or newer ones learned by gossip. */
  ringChanges: number;
  /** Ring changes an operator made through this node (each logged at warn). */
  operatorRingChanges: number;
  gossipIn: number;
  /** Frames refused for their sender: a role that may not send them (sender-rules.ts), or gossip naming another sender. */
  peerFramesRefused: number;
  /**
   * Replies ignored because they came from another node than the one asked: answers to a previous
   * run's requests after a restart (request IDs start again), or a node answering for another.
   */
  strayReplies: number;
  /** Gossiped heartbeats refused for being too far ahead of this node's wall clock. */
  heartbeatsRefused: number;
  /** Gossiped members refused because the keyring does not know them. */
  membersRefused: number;
  /** Transfer acknowledgements whose hash is not that of the list as this node holds it (the list is kept). */
  transferAcksMismatched: number;
  /** Hints refused or deleted because their target is not a node of the ring. */
  hintsDropped: number;
}

export function zeroCounters(): NodeCounters {
  return {
    framesIn: 0,
    rejected: 0,
    lateRejected: 0,
    puts: 0,
    putsOk: 0,
    putsUnknown: 0,
    gets: 0,
    replicaWrites: 0,
    readRepairs: 0,
    storeFailures: 0,
    duplicateOps: 0,
    writesRefused: 0,
    writesOverLimit: 0,
    writeCheckReads: 0,
    overloaded: 0,
    hintedWrites: 0,
    hintsStored: 0,
    hintsDelivered: 0,
    antiEntropyRounds: 0,
    antiEntropyAgreed: 0,
    antiEntropyRepairs: 0,
    transfersSent: 0,
    transferredAway: 0,
    ringChanges: 0,
    operatorRingChanges: 0,
    gossipIn: 0,
    peerFramesRefused: 0,
    strayReplies: 0,
    heartbeatsRefused: 0,
    membersRefused: 0,
    transferAcksMismatched: 0,
    hintsDropped: 0,
  };
}
