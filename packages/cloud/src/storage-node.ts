// A storage node: replica, coordinator and the background mechanisms of Dynamo in one state
// machine (DeCandia et al. 2007). Sans-IO: frames come in through handle(), go out through the
// NodeTransport; time comes from the Clock, chance from the Random; state lives in the ListStore.
// The same code runs over ZeroMQ and SQLite in production and in the deterministic simulator.
//
//   replica       joins what it is sent into its copy (a CRDT join: twice is once); answers after commit
//   coordinator   §4.5  N/R/W quorums; cloud-ok after W commits, "unknown" at the deadline
//   sloppy quorum §4.6  a down owner is replaced by the next healthy node, with a hint naming it
//   handoff       §4.6  hints are persisted, replayed when the owner is alive, deleted once it has them
//   read repair   §5    replicas that answered a read with less get the merged state
//   membership    §4.8  gossip of members and ring every gossipIntervalMs; local failure detection
//   anti-entropy  §4.7  Merkle comparison of one partition per round with one other replica, throttled
//   transfer      §4.9  lists this node holds but no longer replicates (ring change, fallback copies)
//                       are pushed to their owners and deleted once all of them have acknowledged
//                       holding exactly what this node holds (the hash in their acknowledgement)
//
// Trust (Trust part 2): every frame comes with its sender as the transport authenticated it (a
// Peer). A frame from a role that may not send it (sender-rules.ts) is refused; a reply counts
// only from the node that was asked; gossip speaks for its sender only (membership.ts); ring
// changes come from operators, and one that would leave the ring with none of its nodes or fewer
// than N of them needs `force`.

import {
  ListDoc,
  checkWrite,
  knownFrom,
  listIdForLog,
  writerIdOf,
  decodeContext,
  decodeList,
  decodeMessage,
  decodeRing,
  encodeList,
  encodeMessage,
  encodeRing,
  extendedPreferenceList,
  hashEquals,
  limits,
  md5,
  merge,
  missingFor,
  parseNodeId,
  partitionOf,
  preferenceList,
  applyRingChange,
  describeRingChange,
  type Clock,
  type ContextWithTable,
  type ListId,
  type Message,
  type MessageOf,
  type MessageType,
  type NodeId,
  type OpId,
  type Random,
  type RingChange,
  type RingState,
  type WireErrorName,
  type WriteRefusal,
} from '@trolley/core';
import { BoundedMap } from './bounded-map.ts';
import { RefusalLog } from './refusal-log.ts';
import { Membership } from './membership.ts';
import { bucketOf, differingBuckets, merkleTree, same } from './merkle.ts';
import type { Logger, ListStore, NodeTransport, Peer, ReplyTo } from './ports.ts';
import type { Quorum } from './quorum.ts';
import { nodeSenderRules, senderAllowed } from './sender-rules.ts';

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

export interface StorageNodeOptions {
  id: NodeId;
  /** Where peers reach this node (gossiped). */
  address: string;
  /** The ring to start with; undefined: wait to learn one by gossip. */
  ring: RingState | undefined;
  quorum: Quorum;
  store: ListStore;
  transport: NodeTransport;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Other nodes to gossip with at first (IDs and addresses). */
  seeds?: readonly { id: string; address: string }[];
  config?: Partial<NodeConfig>;
  /** Called when this node adopts a newer ring (to persist it). */
  onRingChange?: (ring: RingState) => void;
  /** Counters kept by the transport (frames refused before they reach us), for stats. */
  transportStats?: () => Record<string, number>;
  /**
   * Called when a client's write this node coordinated becomes cloud-ok, with the write itself:
   * the hook for live updates (the process sends it to every proxy, which pushes it to watchers).
   */
  onWriteAcknowledged?: (listId: ListId, delta: Uint8Array) => void;
  /**
   * Whether a node ID is a member of the cluster: in production, whether the keyring holds a key
   * for it. Gossip about others is skipped, and a ring change adding one refused. Default: all are.
   */
  isMember?: (id: string) => boolean;
}

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

interface Target {
  node: NodeId;
  /** Set when `node` stands in for a down owner (sloppy quorum). */
  hintFor?: NodeId;
}

interface PendingPut {
  kind: 'put';
  replyTo: ReplyTo;
  requestId: number;
  opId: OpId;
  listId: ListId;
  delta: Uint8Array;
  deadlineMs: number;
  acks: number;
  replicas: number;
  replied: boolean;
  outstanding: number;
  peerRequests: number[];
}

interface Reply {
  node: NodeId;
  doc: ListDoc | undefined;
  hash: Uint8Array | undefined;
}

interface PendingGet {
  kind: 'get';
  replyTo: ReplyTo;
  requestId: number;
  listId: ListId;
  deadlineMs: number;
  /** The caller's causal context, decoded once (undefined: it has nothing). */
  asked: ContextWithTable | undefined;
  replicas: NodeId[];
  replies: Reply[];
  merged: ListDoc | undefined;
  mergedHash: Uint8Array | undefined;
  replied: boolean;
  peerRequests: number[];
  /** Set when R replicas have answered: answer then, or when all have, whichever comes first. */
  graceUntilMs: number | undefined;
  /**
   * An internal read (the write check's, see coordinatePut): instead of answering a client, hand
   * the merged state on (undefined: fewer than R replicas answered by the deadline).
   */
  then?: (merged: ListDoc | undefined) => void;
}

type Pending = PendingPut | PendingGet;

/**
 * A background request in flight, by our request ID: a hint delivery, a transfer, or the read of
 * an owner's copy of a list being handed over (see onTransferAck).
 */
interface Background {
  kind: 'hint' | 'transfer' | 'read-back';
  node: NodeId;
  key: ListId;
  hintId?: number;
  untilMs: number;
}

export class StorageNode {
  readonly id: NodeId;
  readonly counters: NodeCounters = {
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
  readonly membership: Membership;
  private ringState: RingState | undefined;
  private ringBytes: Uint8Array | undefined;
  private readonly config: NodeConfig;
  private readonly quorum: Quorum;
  private readonly store: ListStore;
  private readonly transport: NodeTransport;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  /** Warnings about refused client writes, rate limited (a flood of them is one line a reason). */
  private readonly refusals: RefusalLog;
  private readonly onRingChange: ((ring: RingState) => void) | undefined;
  private readonly transportStats: (() => Record<string, number>) | undefined;
  private readonly onWriteAcknowledged: ((listId: ListId, delta: Uint8Array) => void) | undefined;
  private readonly isMember: (id: string) => boolean;
  private readonly cache = new BoundedMap<string, ListDoc>(limits.cachedListsMax);
  /** Merged states of recent reads of lists this node does not hold (for the write check). */
  private readonly recentReads = new BoundedMap<string, ListDoc>(limits.cachedListsMax);
  /** Partitions of recently used keys, valid for partitionCacheCount partitions (see partition()). */
  private partitionCache = new BoundedMap<string, number>(limits.cachedListsMax);
  private partitionCacheCount = 0;
  private readonly acknowledged = new BoundedMap<OpId, number>(limits.recentOperationsMax);
  /** Coordinator requests in flight, by our own ID. */
  private readonly pending = new Map<number, Pending>();
  /** Requests sent to peers (one ID per peer, so a reply names its replica and counts once). */
  private readonly peerRequests = new Map<number, { pending: number; node: NodeId }>();
  private readonly background = new Map<number, Background>();
  /** Transfers: per key, the owners that have acknowledged the pushed state. */
  private readonly transferAcks = new Map<string, { hash: Uint8Array; acked: Set<string> }>();
  private antiEntropy: { requestId: number; peer: NodeId; partition: number; untilMs: number } | undefined;
  private antiEntropyCursor = 0;
  private nextRequestId = 1;
  private next = { gossip: 0, handoff: 0, antiEntropy: 0, transfer: 0 };

  constructor(options: StorageNodeOptions) {
    this.id = options.id;
    this.config = { ...defaultNodeConfig, ...options.config };
    this.quorum = options.quorum;
    this.store = options.store;
    this.transport = options.transport;
    this.clock = options.clock;
    this.random = options.random;
    this.log = options.logger;
    this.refusals = new RefusalLog({ logger: this.log, clock: this.clock });
    this.onRingChange = options.onRingChange;
    this.transportStats = options.transportStats;
    this.onWriteAcknowledged = options.onWriteAcknowledged;
    this.isMember = options.isMember ?? (() => true);
    const now = this.clock.monotonicMs();
    // Start the heartbeat from the wall clock, so that a restarted node is seen as newer at once.
    this.membership = new Membership(
      { id: this.id, address: options.address, heartbeat: this.clock.wallMs() },
      this.config,
      now,
    );
    for (const s of options.seeds ?? []) if (s.id !== this.id) this.learn(s.id, s.address, now);
    if (options.ring !== undefined) this.setRing(options.ring);
    // Spread the background work of different nodes over time.
    const jitter = this.randomInt(1000);
    this.next = { gossip: now, handoff: now + jitter, antiEntropy: now + 2 * jitter, transfer: now + jitter };
  }

  get ring(): RingState | undefined {
    return this.ringState;
  }

  /**
   * Every inbound frame: client requests via a proxy, peer requests, peers' replies and operators'
   * requests. `from` is the sender as the transport authenticated it; nothing in the frame that
   * claims the same is believed.
   */
  handle(frame: Uint8Array, replyTo: ReplyTo, from: Peer): void {
    this.counters.framesIn++;
    const decoded = decodeMessage(frame);
    if (!decoded.ok) {
      this.counters.rejected++;
      this.log.warn('frame rejected', {
        code: decoded.error.code,
        reason: decoded.error.message,
        bytes: frame.length,
      });
      return;
    }
    const m = decoded.value;
    if (!senderAllowed(m.type, from.role))
      return this.refusePeerFrame(m, replyTo, from, `a ${from.role} may not send ${m.type} to a node`);
    switch (m.type) {
      case 'put':
        return this.coordinatePut(m, replyTo);
      case 'get':
        return this.coordinateGet(m, replyTo);
      case 'replica-put':
        return this.replicaPut(m, replyTo, undefined);
      case 'hinted-put':
        return this.replicaPut(m, replyTo, m.target);
      case 'replica-get':
        return this.replicaGet(m, replyTo);
      case 'admin-read': {
        const stored = this.store.get(m.listId);
        return this.send(replyTo, {
          type: 'admin-read-reply',
          requestId: m.requestId,
          state: stored?.state,
          hash: stored?.hash,
        });
      }
      case 'stats':
        return this.send(replyTo, {
          type: 'stats-reply',
          requestId: m.requestId,
          json: JSON.stringify(this.stats()),
        });
      case 'replica-put-reply':
        return this.onReplicaPutReply(m, from);
      case 'replica-get-reply':
        return this.onReplicaGetReply(m, from);
      case 'error':
        return this.onPeerError(m, from);
      case 'gossip':
      case 'gossip-reply':
        return this.onGossip(m, replyTo, from);
      case 'ae-root':
        return this.onAntiEntropyRoot(m, replyTo);
      case 'ae-buckets':
        return this.onAntiEntropyBuckets(m, replyTo, from);
      case 'ae-keys':
        return this.onAntiEntropyKeys(m, replyTo);
      case 'ae-keys-reply':
        return this.onAntiEntropyKeysReply(m, replyTo);
      case 'ring-change':
        return this.onRingChangeRequest(m, replyTo, from);
      case 'hello':
      case 'hello-reply':
      case 'put-reply':
      case 'get-reply':
      case 'admin-read-reply':
      case 'stats-reply':
      case 'node-hello':
      case 'ring-change-reply':
      case 'watch':
      case 'changed':
      case 'gateway-hello':
        this.counters.rejected++;
        this.log.warn('unexpected message', { type: m.type });
        return;
    }
  }

  /**
   * A frame its sender may not send (sender-rules.ts), or not like this (a gossip naming another
   * sender): counted, logged at warn (rate limited: a flood is a few lines a second), and, if
   * it is a request, answered `refused`.
   */
  private refusePeerFrame(m: Message, replyTo: ReplyTo, from: Peer, detail: string): void {
    this.counters.peerFramesRefused++;
    this.refusals.warn('peer frame refused', `peer_${from.role}_${m.type}`, {
      role: from.role,
      id: from.id,
      type: m.type,
      detail,
    });
    if (nodeSenderRules[m.type]?.request === true) this.sendError(replyTo, m.requestId, 'refused', detail);
  }

  /** Deadlines and the periodic mechanisms. Call often (every 10 ms or so). */
  tick(): void {
    const wall = this.clock.wallMs();
    const now = this.clock.monotonicMs();
    for (const [id, p] of this.pending) {
      if (p.kind === 'get' && !p.replied && p.graceUntilMs !== undefined && now >= p.graceUntilMs) {
        this.answerGet(p);
        if (p.replies.length === p.replicas.length) this.finish(id);
        continue;
      }
      if (wall < p.deadlineMs) continue;
      this.finish(id);
      if (p.replied) continue;
      if (p.kind === 'put') {
        this.replyUnknown(p);
      } else if (p.then !== undefined) {
        p.replied = true;
        p.then(undefined);
      } else {
        this.sendError(
          p.replyTo,
          p.requestId,
          'deadline_exceeded',
          `only ${p.replies.length} of R=${this.quorum.r} replicas answered in time`,
        );
      }
    }
    for (const [id, b] of this.background) if (now >= b.untilMs) this.background.delete(id);
    if (this.antiEntropy !== undefined && now >= this.antiEntropy.untilMs) this.antiEntropy = undefined;
    if (now >= this.next.gossip) {
      this.next.gossip = now + this.config.gossipIntervalMs;
      this.refusals.flush();
      this.gossip();
    }
    if (now >= this.next.handoff) {
      this.next.handoff = now + this.config.handoffIntervalMs;
      this.handOff();
    }
    if (now >= this.next.transfer) {
      this.next.transfer = now + this.config.transferIntervalMs;
      this.transferAway();
    }
    if (now >= this.next.antiEntropy) {
      this.next.antiEntropy = now + this.config.antiEntropyIntervalMs;
      this.startAntiEntropy();
    }
  }

  stats(): Record<string, unknown> {
    const ring = this.ringState;
    const now = this.clock.monotonicMs();
    return {
      nodeId: this.id,
      ringVersion: ring?.version ?? 0,
      ringNodes: ring?.nodes.map((n) => n.id) ?? [],
      ringWeights: Object.fromEntries(ring?.nodes.map((n) => [n.id, n.weight]) ?? []),
      // Tells apart two rings of the same version (operators wait for one ring everywhere).
      ringHash: this.ringBytes === undefined ? '' : hexOf(md5(this.ringBytes).subarray(0, 8)),
      partitionsOwned: ring === undefined ? 0 : ring.owners.filter((o) => o === this.id).length,
      partitionsHeld: this.store.countByPartition().size,
      keys: this.store.count(),
      hints: this.store.hintCount(),
      pending: this.pending.size,
      members: this.membership
        .view()
        .map((m) => ({ id: m.id, address: m.address, liveness: this.membership.liveness(m.id, now) })),
      counters: this.counters,
      transport: this.transportStats?.() ?? {},
    };
  }

  // ---- placement -------------------------------------------------------------------------------

  /**
   * The partition of a key under the current ring. partitionOf hashes the key (MD5, then bigint
   * arithmetic), and every write asks several times (placement, the store row, the hint); the
   * answer depends only on the key and Q, so it is remembered per key and forgotten when Q changes.
   */
  private partition(listId: string): number {
    const count = (this.ringState as RingState).partitionCount;
    if (count !== this.partitionCacheCount) {
      this.partitionCache = new BoundedMap(limits.cachedListsMax);
      this.partitionCacheCount = count;
    }
    let p = this.partitionCache.get(listId);
    if (p === undefined) {
      p = partitionOf(listId, count);
      this.partitionCache.set(listId, p);
    }
    return p;
  }

  /** The key's N owners, each down one replaced by the next healthy node with a hint (§4.6). */
  private targets(listId: string): Target[] {
    const ring = this.ringState as RingState;
    const p = this.partition(listId);
    const owners = preferenceList(ring, p, this.quorum.n);
    const now = this.clock.monotonicMs();
    const out: Target[] = [];
    const missing: NodeId[] = [];
    for (const o of owners) {
      if (this.membership.isDown(o, now)) missing.push(o);
      else out.push({ node: o });
    }
    if (missing.length > 0) {
      for (const candidate of extendedPreferenceList(ring, p)) {
        const hintFor = missing[0];
        if (hintFor === undefined) break;
        if (owners.includes(candidate) || this.membership.isDown(candidate, now)) continue;
        out.push({ node: candidate, hintFor });
        missing.shift();
      }
    }
    return out;
  }

  private owns(listId: string): boolean {
    const ring = this.ringState;
    return (
      ring !== undefined && preferenceList(ring, this.partition(listId), this.quorum.n).includes(this.id)
    );
  }

  // ---- coordinator -----------------------------------------------------------------------------

  private coordinatePut(m: MessageOf<'put'>, replyTo: ReplyTo): void {
    this.counters.puts++;
    if (!this.admit(m, replyTo)) return;
    const doc = decodeList(m.delta);
    if (!doc.ok) {
      this.counters.rejected++;
      return this.sendError(replyTo, m.requestId, 'malformed', doc.error.message);
    }
    if (this.acknowledged.has(m.opId)) {
      // A retry of an operation already acknowledged: W replicas have it; say so again.
      this.counters.duplicateOps++;
      this.counters.putsOk++;
      return this.send(replyTo, {
        type: 'put-reply',
        requestId: m.requestId,
        outcome: 'ok',
        acks: this.quorum.w,
        replicas: this.quorum.n,
      });
    }
    const refusal = this.checkClientWrite(m.listId, doc.value, m);
    if (refusal === undefined) return this.writeQuorum(m, replyTo, doc.value);
    if (refusal.code !== 'refused') return this.refuseWrite(m, replyTo, refusal);
    // This node may not have seen what the client has (it was down, or is not a replica of the
    // list): read the replicas (R of them) before refusing, and check again against what they hold.
    this.counters.writeCheckReads++;
    this.startRead(m.listId, m.deadlineMs, {
      replyTo,
      requestId: 0,
      then: (merged) => {
        const again = merged === undefined ? refusal : this.checkClientWrite(m.listId, doc.value, m, merged);
        if (again === undefined) this.writeQuorum(m, replyTo, doc.value);
        else this.refuseWrite(m, replyTo, again);
      },
    });
  }

  private refuseWrite(m: MessageOf<'put'>, replyTo: ReplyTo, refusal: WriteRefusal): void {
    if (refusal.code === 'refused') this.counters.writesRefused++;
    else this.counters.writesOverLimit++;
    this.refusals.warn('client write refused', `write_${refusal.code}`, {
      list: listIdForLog(m.listId),
      detail: refusal.message,
    });
    this.sendError(replyTo, m.requestId, refusal.code, refusal.message);
  }

  /** The write itself (§4.5): to the N targets (sloppy, §4.6), answered at W acknowledgements. */
  private writeQuorum(m: MessageOf<'put'>, replyTo: ReplyTo, doc: ListDoc): void {
    const targets = this.targets(m.listId);
    const id = this.nextRequestId++;
    const p: PendingPut = {
      kind: 'put',
      replyTo,
      requestId: m.requestId,
      opId: m.opId,
      listId: m.listId,
      delta: m.delta,
      deadlineMs: m.deadlineMs,
      acks: 0,
      replicas: this.quorum.n,
      replied: false,
      outstanding: targets.length,
      peerRequests: [],
    };
    this.pending.set(id, p);
    if (targets.length < this.quorum.w)
      this.log.info('too few healthy nodes for W', { list: listIdForLog(m.listId), healthy: targets.length });
    for (const t of targets) {
      if (t.hintFor !== undefined) this.counters.hintedWrites++;
      if (t.node === this.id) {
        this.storeWrite(m.listId, doc, m.delta, t.hintFor).then(
          () => this.onAck(id),
          (e: unknown) => this.onNack(id, e),
        );
        continue;
      }
      const requestId = this.peerRequest(p, id, t.node);
      const common = { requestId, listId: m.listId, opId: m.opId, deadlineMs: m.deadlineMs, doc: m.delta };
      this.sendTo(
        t.node,
        t.hintFor === undefined
          ? { type: 'replica-put', ...common }
          : { type: 'hinted-put', ...common, target: t.hintFor },
      );
    }
    if (targets.length === 0) this.onNack(id, 'no healthy node');
  }

  /**
   * The write check (crdt/write-check.ts) against what this node knows of the list: its own copy,
   * and, failing that, joined with the merged state of a recent read it coordinated (a coordinator
   * that is not a replica of the list has no copy of its own).
   */
  private checkClientWrite(
    listId: ListId,
    delta: ListDoc,
    m: MessageOf<'put'>,
    read: ListDoc | undefined = this.recentReads.get(listId),
  ): WriteRefusal | undefined {
    const writer = m.writer === undefined || m.writer.length === 0 ? undefined : writerIdOf(m.writer);
    const local = this.load(listId);
    const bytes = this.store.get(listId)?.state.byteLength ?? 0;
    const refusal = checkWrite(delta, m.delta.byteLength, writer, knownFrom(local, bytes));
    if (refusal?.code !== 'refused' || read === undefined) return refusal;
    const both = local.clone();
    merge(both, read);
    return checkWrite(delta, m.delta.byteLength, writer, knownFrom(both, bytes));
  }

  private peerRequest(p: Pending, pending: number, node: NodeId): number {
    const requestId = this.nextRequestId++;
    this.peerRequests.set(requestId, { pending, node });
    p.peerRequests.push(requestId);
    return requestId;
  }

  /**
   * The peer request a reply answers, consumed so that a duplicated reply counts once. Only the
   * node asked may answer: a reply from another is ignored (a stray reply) and leaves the request
   * waiting (else any node could answer for a replica that never stored the write, or cancel its
   * answer).
   */
  private takePeerRequest(
    m: { type: MessageType; requestId: number },
    from: Peer,
  ): { pending: number; node: NodeId } | undefined {
    const r = this.peerRequests.get(m.requestId);
    if (r === undefined) return undefined;
    if (r.node !== from.id) {
      this.strayReply(m.type, from, r.node);
      return undefined;
    }
    this.peerRequests.delete(m.requestId);
    return r;
  }

  /** The background write or read a reply answers, if `from` is the node it was sent to. */
  private backgroundFor(m: { type: MessageType; requestId: number }, from: Peer): Background | undefined {
    const b = this.background.get(m.requestId);
    if (b === undefined || b.node === from.id) return b;
    this.strayReply(m.type, from, b.node);
    return undefined;
  }

  /**
   * Counted and logged at debug only: after a restart, a node's first request IDs meet the answers
   * to its previous run's, so a stray reply is usually no attack, and warning of each would teach
   * operators to ignore warnings.
   */
  private strayReply(type: MessageType, from: Peer, asked: NodeId): void {
    this.counters.strayReplies++;
    this.log.debug('reply from a node not asked ignored', { type, id: from.id, asked });
  }

  private finish(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    for (const r of p.peerRequests) this.peerRequests.delete(r);
  }

  private onAck(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined || p.kind !== 'put') return;
    p.acks++;
    p.outstanding--;
    if (!p.replied && p.acks >= this.quorum.w) {
      p.replied = true;
      this.counters.putsOk++;
      this.acknowledged.set(p.opId, this.clock.wallMs());
      this.onWriteAcknowledged?.(p.listId, p.delta);
      this.send(p.replyTo, {
        type: 'put-reply',
        requestId: p.requestId,
        outcome: 'ok',
        acks: p.acks,
        replicas: p.replicas,
      });
    }
    // Every target has answered and fewer than W acknowledged (fewer targets than W were
    // healthy): the outcome stays unknown, and the caller must hear so, now, as in onNack.
    if (!p.replied && p.outstanding <= 0) this.replyUnknown(p);
    if (p.outstanding <= 0) this.finish(id);
  }

  private replyUnknown(p: PendingPut): void {
    p.replied = true;
    this.counters.putsUnknown++;
    this.send(p.replyTo, {
      type: 'put-reply',
      requestId: p.requestId,
      outcome: 'unknown',
      acks: p.acks,
      replicas: p.replicas,
    });
  }

  private onNack(id: number, cause: unknown): void {
    this.log.info('replica write failed', { requestId: id, cause: String(cause) });
    const p = this.pending.get(id);
    if (p === undefined || p.kind !== 'put') return;
    p.outstanding--;
    // Not enough replicas left to reach W: the outcome stays unknown (some may have applied it).
    if (!p.replied && p.acks + Math.max(0, p.outstanding) < this.quorum.w) this.replyUnknown(p);
    if (p.outstanding <= 0) this.finish(id);
  }

  private onReplicaPutReply(m: MessageOf<'replica-put-reply'>, from: Peer): void {
    if (this.background.has(m.requestId)) {
      const bg = this.backgroundFor(m, from);
      if (bg !== undefined) this.onBackgroundAck(m.requestId, bg, m.hash);
      return;
    }
    const r = this.takePeerRequest(m, from);
    if (r !== undefined) this.onAck(r.pending);
  }

  private onPeerError(m: MessageOf<'error'>, from: Peer): void {
    if (this.background.has(m.requestId)) {
      if (this.backgroundFor(m, from) !== undefined) this.background.delete(m.requestId);
      return;
    }
    const r = this.takePeerRequest(m, from);
    const p = r === undefined ? undefined : this.pending.get(r.pending);
    if (r === undefined || p === undefined) return;
    if (p.kind === 'put') this.onNack(r.pending, `${m.code}: ${m.message}`);
    else this.log.info('replica read refused', { node: r.node, code: m.code, message: m.message });
  }

  private coordinateGet(m: MessageOf<'get'>, replyTo: ReplyTo): void {
    this.counters.gets++;
    if (!this.admit(m, replyTo)) return;
    const decoded = m.context.length > 0 ? decodeContext(m.context) : undefined;
    if (decoded?.ok === false) {
      this.counters.rejected++;
      return this.sendError(replyTo, m.requestId, 'malformed', 'the context does not decode');
    }
    this.startRead(m.listId, m.deadlineMs, { replyTo, requestId: m.requestId, asked: decoded?.value });
  }

  /** A quorum read (§4.5): for a client (`replyTo`), or for this node's own use (`then`). */
  private startRead(
    listId: ListId,
    deadlineMs: number,
    o: {
      replyTo: ReplyTo;
      requestId: number;
      asked?: ContextWithTable | undefined;
      then?: PendingGet['then'];
    },
  ): void {
    const replicas = this.targets(listId).map((t) => t.node);
    const id = this.nextRequestId++;
    const p: PendingGet = {
      kind: 'get',
      replyTo: o.replyTo,
      requestId: o.requestId,
      listId,
      deadlineMs,
      asked: o.asked,
      replicas,
      replies: [],
      merged: undefined,
      mergedHash: undefined,
      replied: false,
      peerRequests: [],
      graceUntilMs: undefined,
      ...(o.then === undefined ? {} : { then: o.then }),
    };
    this.pending.set(id, p);
    for (const node of replicas) {
      if (node === this.id) continue;
      const requestId = this.peerRequest(p, id, node);
      this.sendTo(node, { type: 'replica-get', requestId, listId, deadlineMs });
    }
    if (replicas.includes(this.id)) {
      const stored = this.store.get(listId);
      this.onReplicaState(id, this.id, stored?.state, stored?.hash);
    }
  }

  private onReplicaGetReply(m: MessageOf<'replica-get-reply'>, from: Peer): void {
    if (this.background.has(m.requestId)) {
      const bg = this.backgroundFor(m, from);
      if (bg !== undefined) this.onReadBack(m.requestId, bg, m.state);
      return;
    }
    const r = this.takePeerRequest(m, from);
    if (r !== undefined) this.onReplicaState(r.pending, r.node, m.state, m.hash);
  }

  private onReplicaState(
    id: number,
    node: NodeId,
    state: Uint8Array | undefined,
    hash: Uint8Array | undefined,
  ): void {
    const p = this.pending.get(id);
    if (p === undefined || p.kind !== 'get') return;
    let doc: ListDoc | undefined;
    if (state !== undefined) {
      const decoded = decodeList(state);
      if (!decoded.ok || !decoded.value.full) {
        this.counters.rejected++;
        this.log.warn('replica state rejected', {
          node,
          reason: decoded.ok ? 'not a full state' : decoded.error.message,
        });
        return;
      }
      doc = decoded.value;
    }
    p.replies.push({ node, doc, hash });
    if (!p.replied && p.replies.length >= Math.min(this.quorum.r, p.replicas.length)) {
      // R have answered. Wait a moment for the rest, so that the answer can tell the client
      // whether its state is on all N replicas; answer at once when they are all in.
      if (p.replies.length === p.replicas.length || this.config.readGraceMs === 0) this.answerGet(p);
      else p.graceUntilMs ??= this.clock.monotonicMs() + this.config.readGraceMs;
    } else if (p.replied) this.repair(p, p.replies[p.replies.length - 1] as Reply);
    // Unanswered (fewer replicas than R): keep it for tick() to refuse at the deadline.
    if (p.replied && p.replies.length === p.replicas.length) this.finish(id);
  }

  private answerGet(p: PendingGet): void {
    if (p.replies.length < this.quorum.r) return; // fewer healthy replicas than R: wait for the deadline
    const merged = ListDoc.empty();
    for (const r of p.replies) if (r.doc !== undefined) merge(merged, r.doc);
    const mergedHash = md5(encodeList(merged));
    p.merged = merged;
    p.mergedHash = mergedHash;
    // What a later put through this node may be checked against, when it holds no copy itself.
    if (!this.owns(p.listId)) this.recentReads.set(p.listId, merged);
    p.replied = true;
    if (p.then !== undefined) {
      p.then(merged);
      for (const r of p.replies) this.repair(p, r);
      return;
    }
    let delta: ListDoc = merged;
    if (p.asked !== undefined) delta = missingFor(merged, p.asked.ctx, p.asked.replicas);
    const empty = merged.ctx.dotCount === 0;
    const inSync = p.replies.filter((r) =>
      r.hash === undefined ? empty : hashEquals(r.hash, mergedHash),
    ).length;
    this.send(p.replyTo, {
      type: 'get-reply',
      requestId: p.requestId,
      delta: encodeList(delta),
      answered: p.replies.length,
      inSync,
      replicas: this.quorum.n,
    });
    for (const r of p.replies) this.repair(p, r);
  }

  /**
   * Read repair (§5): a replica that answered with less gets the merged state, in full. Not the
   * difference (missingFor against its answer): that delta carries the whole merged context and
   * is only correct joined into a state that still holds everything the answer held, and by the
   * time it lands the replica may hold less (a crash lost uncommitted writes it had answered with,
   * or its fallback copy was transferred away and dropped). Joined into less, the context would
   * claim dots whose values never arrive: writes lost for good, and spread by later full-state
   * pushes (anti-entropy, transfers) to the other replicas.
   */
  private repair(p: PendingGet, r: Reply): void {
    const merged = p.merged;
    if (merged === undefined || merged.ctx.dotCount === 0) return;
    if (r.hash !== undefined && hashEquals(r.hash, p.mergedHash)) return;
    this.counters.readRepairs++;
    if (r.node === this.id) {
      this.applyLocal(p.listId, merged).catch((e: unknown) =>
        this.log.warn('read repair failed', { cause: String(e) }),
      );
      return;
    }
    this.sendTo(r.node, this.backgroundPut(0, p.listId, encodeList(merged)));
  }

  // ---- replica ---------------------------------------------------------------------------------

  private replicaPut(
    m: MessageOf<'replica-put'> | MessageOf<'hinted-put'>,
    replyTo: ReplyTo,
    hintFor: string | undefined,
  ): void {
    if (this.ringState === undefined) {
      // A new or wiped node, before gossip brings the ring: without it there is no partition to
      // file the list (or a hint) under. Refuse; the sender tries again or goes elsewhere.
      if (m.requestId !== 0)
        this.sendError(replyTo, m.requestId, 'unavailable', 'this node has not learned the ring yet; retry');
      return;
    }
    if (this.clock.wallMs() >= m.deadlineMs) {
      // Never apply a write late: its coordinator has already answered without us.
      this.counters.lateRejected++;
      return this.sendError(
        replyTo,
        m.requestId,
        'deadline_exceeded',
        'the write arrived after its deadline',
      );
    }
    if (hintFor !== undefined && !this.ringState.nodes.some((n) => n.id === hintFor)) {
      // A hint is for an owner in the ring. One for anyone else could never be handed off: it
      // would sit here, a share of hintsPerNodeMax, until that node left a ring it was never in.
      this.counters.hintsDropped++;
      return this.sendError(
        replyTo,
        m.requestId,
        'invalid_argument',
        `node ${hintFor} is not in ring version ${this.ringState.version}: no hint is held for it`,
      );
    }
    const doc = decodeList(m.doc);
    if (!doc.ok) {
      this.counters.rejected++;
      return this.sendError(replyTo, m.requestId, 'malformed', doc.error.message);
    }
    if (hintFor !== undefined && this.store.hintCount() >= limits.hintsPerNodeMax) {
      this.counters.overloaded++;
      return this.sendError(replyTo, m.requestId, 'overloaded', 'this node holds too many hints');
    }
    this.counters.replicaWrites++;
    this.storeWrite(
      m.listId,
      doc.value,
      m.doc,
      hintFor === undefined ? undefined : parseNodeId(hintFor),
    ).then(
      (hash) => {
        if (m.requestId !== 0)
          this.send(replyTo, { type: 'replica-put-reply', requestId: m.requestId, hash });
      },
      (e: unknown) => {
        if (m.requestId !== 0) this.sendError(replyTo, m.requestId, 'storage_failed', String(e));
      },
    );
  }

  /** A replica write, plus a durable hint when this node stands in for `hintFor`. */
  private async storeWrite(
    listId: ListId,
    doc: ListDoc,
    bytes: Uint8Array,
    hintFor: NodeId | undefined,
  ): Promise<Uint8Array> {
    if (hintFor === undefined) return this.applyLocal(listId, doc);
    this.counters.hintsStored++;
    const [hash] = await Promise.all([
      this.applyLocal(listId, doc),
      this.store.addHint({
        target: hintFor,
        key: listId,
        partition: this.partition(listId),
        doc: bytes,
        createdMs: this.clock.wallMs(),
      }),
    ]);
    return hash;
  }

  private replicaGet(m: MessageOf<'replica-get'>, replyTo: ReplyTo): void {
    if (this.clock.wallMs() >= m.deadlineMs) {
      this.counters.lateRejected++;
      return;
    }
    const stored = this.store.get(m.listId);
    this.send(replyTo, {
      type: 'replica-get-reply',
      requestId: m.requestId,
      state: stored?.state,
      hash: stored?.hash,
    });
  }

  /** Joins `doc` into this node's copy of the list; resolves with the new hash once committed. */
  private async applyLocal(listId: ListId, doc: ListDoc): Promise<Uint8Array> {
    const state = this.load(listId);
    merge(state, doc);
    const bytes = encodeList(state);
    const hash = md5(bytes);
    try {
      await this.store.put({ key: listId, partition: this.partition(listId), state: bytes, hash });
    } catch (e) {
      this.counters.storeFailures++;
      this.cache.delete(listId); // re-read what is durable next time
      throw e;
    }
    return hash;
  }

  private load(listId: ListId): ListDoc {
    const cached = this.cache.get(listId);
    if (cached !== undefined) return cached;
    const stored = this.store.get(listId);
    let doc = ListDoc.empty();
    if (stored !== undefined) {
      const decoded = decodeList(stored.state);
      if (decoded.ok && decoded.value.full) doc = decoded.value;
      else
        this.log.error('stored state does not decode; starting from peers', { list: listIdForLog(listId) });
    }
    this.cache.set(listId, doc);
    return doc;
  }

  // ---- membership and the ring (§4.8) ----------------------------------------------------------

  private gossip(): void {
    const now = this.clock.monotonicMs();
    this.membership.beat(now);
    const others = this.membership.others();
    const peer = others[this.randomInt(others.length)];
    if (peer !== undefined) this.sendGossip(peer, 'gossip');
  }

  private sendGossip(peer: string, type: 'gossip' | 'gossip-reply', requestId = 0): void {
    const m: Message = {
      type,
      requestId,
      from: this.id,
      members: this.membership.view(),
      ring: this.ringBytes ?? new Uint8Array(0),
    };
    this.transport.send(peer, encodeMessage(m));
  }

  /**
   * A member's view (push-pull). Only a node may gossip, and only as itself: `from` in the frame
   * must be the authenticated sender, whose own entry is the one that may move its address.
   */
  private onGossip(m: MessageOf<'gossip'> | MessageOf<'gossip-reply'>, replyTo: ReplyTo, from: Peer): void {
    if (m.from !== from.id)
      return this.refusePeerFrame(m, replyTo, from, `a ${m.type} that names ${m.from} as its sender`);
    this.counters.gossipIn++;
    const merged = this.membership.merge(m.members, this.clock.monotonicMs(), {
      sender: from.id,
      heartbeatMax: this.clock.wallMs() + this.config.heartbeatAheadMsMax,
      isMember: this.isMember,
    });
    this.counters.heartbeatsRefused += merged.heartbeatsRefused;
    this.counters.membersRefused += merged.membersRefused;
    if (merged.heartbeatsRefused + merged.membersRefused > 0)
      this.refusals.warn('gossip entries refused', 'gossip_entries', {
        id: from.id,
        heartbeatsAhead: merged.heartbeatsRefused,
        notMembers: merged.membersRefused,
      });
    // The transport learns addresses as membership holds them after the merge: a third party's
    // word about a known member's address was not taken, so it must not reach the transport either.
    for (const x of m.members) {
      const address = this.membership.address(x.id);
      if (address !== undefined) this.learnAddress(x.id, address);
    }
    if (m.ring.length > 0) {
      const ring = decodeRing(m.ring);
      if (ring.ok) this.considerRing(ring.value, m.ring);
      else this.counters.rejected++;
    }
    if (m.type === 'gossip') this.sendGossip(m.from, 'gossip-reply');
  }

  private learn(id: string, address: string, now: number): void {
    this.membership.introduce(id, address, now);
    this.learnAddress(id, address);
  }

  private learnAddress(id: string, address: string): void {
    if (id !== this.id) this.transport.learnAddress?.(id, address);
  }

  /** Adopts `ring` if it is newer (higher version; equal versions: the greater encoding). */
  private considerRing(ring: RingState, bytes: Uint8Array): void {
    const mine = this.ringState;
    if (mine !== undefined) {
      if (ring.version < mine.version) return;
      if (ring.version === mine.version && compareBytes(bytes, this.ringBytes as Uint8Array) <= 0) return;
    }
    this.setRing(ring);
    this.log.info('ring adopted', { version: ring.version, nodes: ring.nodes.length });
  }

  private setRing(ring: RingState): void {
    const changed = this.ringState !== undefined;
    this.ringState = ring;
    this.ringBytes = encodeRing(ring);
    this.antiEntropyCursor = 0;
    if (changed) this.counters.ringChanges++;
    this.onRingChange?.(ring);
    this.next.transfer = this.clock.monotonicMs(); // move what no longer belongs here soon
  }

  /** The ring as encoded, for hellos to proxies. */
  encodedRing(): Uint8Array | undefined {
    return this.ringBytes;
  }

  /**
   * An operator's ring change. Idempotent: a change the current ring already reflects (a node
   * added again with the same weight, a node removed that is not there) is answered with the
   * current version and changes nothing, so an operator may repeat it — after a lost reply, or
   * after a concurrent change on the same base ring won the gossip (see admin.ts).
   */
  private onRingChangeRequest(m: MessageOf<'ring-change'>, replyTo: ReplyTo, from: Peer): void {
    const ring = this.ringState;
    if (ring === undefined)
      return this.sendError(replyTo, m.requestId, 'unavailable', 'this node has no ring yet');
    // A node nobody holds a key for could never talk to the others: its share would be unreachable.
    const stranger = m.add.find((a) => !this.isMember(a.id));
    if (stranger !== undefined)
      return this.sendError(
        replyTo,
        m.requestId,
        'invalid_argument',
        `no key for node ${stranger.id} in the keyring; add its key to every node's keyring first`,
      );
    let change: RingChange;
    let next: RingState;
    try {
      change = {
        add: m.add.map((a) => ({ id: parseNodeId(a.id), weight: a.weight })),
        remove: m.remove.map((id) => parseNodeId(id)),
      };
      next = applyRingChange(ring, change);
    } catch (e) {
      return this.sendError(replyTo, m.requestId, 'malformed', e instanceof Error ? e.message : String(e));
    }
    const risk = next === ring || m.force === true ? undefined : this.ringChangeRisk(ring, next);
    if (risk !== undefined)
      return this.sendError(
        replyTo,
        m.requestId,
        'invalid_argument',
        `${risk}; pass --force to make this change anyway`,
      );
    const now = this.clock.monotonicMs();
    for (const a of m.add) this.learn(a.id, a.address, now);
    if (next !== ring) {
      this.setRing(next);
      this.counters.operatorRingChanges++;
      const before = new Set<string>(ring.nodes.map((n) => n.id));
      const after = new Set<string>(next.nodes.map((n) => n.id));
      this.log.warn('ring changed by operator', {
        operator: from.id,
        version: next.version,
        added: [...after].filter((id) => !before.has(id)),
        removed: [...before].filter((id) => !after.has(id)),
        change: describeRingChange(change),
        force: m.force === true,
      });
    }
    // Tell everyone now rather than waiting for gossip to wander (also after a no-op: a repeated
    // change is often a sign that some node has not heard of the ring yet).
    for (const peer of this.membership.others()) this.sendGossip(peer, 'gossip');
    this.send(replyTo, { type: 'ring-change-reply', requestId: m.requestId, ringVersion: next.version });
  }

  /**
   * Why an operator should not make this change without insisting, or undefined. A ring with none
   * of today's nodes owns every list on nodes that hold none of them: until transfers finish,
   * every read finds nothing, and one mistyped command would do it. A ring of fewer than N nodes
   * cannot keep N copies of anything: every write would be short of replicas for good.
   */
  private ringChangeRisk(ring: RingState, next: RingState): string | undefined {
    const before = new Set<string>(ring.nodes.map((n) => n.id));
    if (!next.nodes.some((n) => before.has(n.id)))
      return `the new ring keeps none of the current ring's nodes (${[...before].join(', ')})`;
    if (next.nodes.length < this.quorum.n)
      return `the new ring would have ${next.nodes.length} node${next.nodes.length === 1 ? '' : 's'}, fewer than N=${this.quorum.n} copies of each list need`;
    return undefined;
  }

  // ---- hinted handoff (§4.6) -------------------------------------------------------------------

  private handOff(): void {
    const ring = this.ringState;
    if (this.store.hintCount() === 0 || ring === undefined) return;
    const now = this.clock.monotonicMs();
    const ringNodes = new Set<string>(ring.nodes.map((n) => n.id));
    for (const target of this.membership.ids()) {
      if (target === this.id) continue;
      if (!ringNodes.has(target)) {
        this.dropHints(target);
        continue;
      }
      if (this.membership.liveness(target, now) !== 'alive') continue;
      for (const hint of this.store.hintsFor(target, limits.transfersInFlightMax)) {
        if (this.background.size >= limits.transfersInFlightMax) return;
        if ([...this.background.values()].some((b) => b.hintId === hint.id)) continue;
        const requestId = this.nextRequestId++;
        this.background.set(requestId, {
          kind: 'hint',
          node: target as NodeId,
          key: hint.key as ListId,
          hintId: hint.id,
          untilMs: now + this.config.backgroundDeadlineMs,
        });
        this.sendTo(target as NodeId, this.backgroundPut(requestId, hint.key as ListId, hint.doc));
      }
    }
  }

  /**
   * Deletes the hints held for a node that left the ring, alive or not: they could never be handed
   * off, and the lists they are about are held here as well, so they move by transfer instead.
   */
  private dropHints(target: string): void {
    for (const hint of this.store.hintsFor(target, limits.transfersInFlightMax)) {
      if ([...this.background.values()].some((b) => b.hintId === hint.id)) continue;
      this.counters.hintsDropped++;
      this.inBackground(this.store.deleteHint(hint.id), 'delete hint');
    }
  }

  private onBackgroundAck(requestId: number, b: Background, hash: Uint8Array): void {
    if (b.kind === 'read-back') return; // not what it asked for; its own answer may still come
    this.background.delete(requestId);
    if (b.kind === 'hint' && b.hintId !== undefined) {
      this.counters.hintsDelivered++;
      this.inBackground(this.store.deleteHint(b.hintId), 'delete hint');
      return;
    }
    if (b.kind === 'transfer') this.onTransferAck(b.node, b.key, hash);
  }

  // ---- transfer: lists held but not replicated here (§4.9 and fallback copies) -----------------

  private transferAway(): void {
    const ring = this.ringState;
    if (ring === undefined) return;
    const now = this.clock.monotonicMs();
    for (const [p] of this.store.countByPartition()) {
      const owners = preferenceList(ring, p, this.quorum.n);
      if (owners.includes(this.id)) continue;
      for (const { key } of this.store.partitionEntries(p)) {
        const stored = this.store.get(key);
        if (stored === undefined) continue;
        let t = this.transferAcks.get(key);
        if (t === undefined || !hashEquals(t.hash, stored.hash)) {
          t = { hash: stored.hash, acked: new Set() };
          this.transferAcks.set(key, t);
        }
        for (const owner of owners) {
          if (t.acked.has(owner) || this.membership.isDown(owner, now)) continue;
          if (this.background.size >= limits.transfersInFlightMax) return;
          // Pushed and not answered yet, or its copy is being read back: nothing to push until then.
          if (
            [...this.background.values()].some((b) => b.kind !== 'hint' && b.key === key && b.node === owner)
          )
            continue;
          const requestId = this.nextRequestId++;
          this.background.set(requestId, {
            kind: 'transfer',
            node: owner,
            key: key as ListId,
            untilMs: now + this.config.backgroundDeadlineMs,
          });
          this.counters.transfersSent++;
          this.sendTo(owner, this.backgroundPut(requestId, key as ListId, stored.state));
        }
        this.maybeDropTransferred(key);
      }
    }
  }

  /**
   * An owner acknowledged a list pushed to it, with the hash of its copy after joining ours. Only
   * a copy equal to ours proves that it holds everything we hold: then, and only then, the owner
   * counts as having the list. Any other hash leaves the list here — the owner had writes we never
   * saw (the usual case after a ring change: coordinators already write to it), or it did not keep
   * what we sent — and we read its copy back and join it into ours, so that the next push (the
   * next transfer round) can be acknowledged as equal.
   */
  private onTransferAck(owner: NodeId, key: ListId, hash: Uint8Array): void {
    const stored = this.store.get(key);
    if (stored === undefined) return;
    if (!hashEquals(hash, stored.hash)) {
      this.counters.transferAcksMismatched++;
      this.readBack(owner, key);
      return;
    }
    let t = this.transferAcks.get(key);
    if (t === undefined || !hashEquals(t.hash, stored.hash)) {
      // Our copy changed since the round began: the owners' earlier acknowledgements were of another state.
      t = { hash: stored.hash, acked: new Set() };
      this.transferAcks.set(key, t);
    }
    t.acked.add(owner);
    this.maybeDropTransferred(key);
  }

  /** Reads an owner's copy of a list being handed over (one read per owner and list at a time). */
  private readBack(owner: NodeId, key: ListId): void {
    if (this.background.size >= limits.transfersInFlightMax) return; // the next mismatch asks again
    if (
      [...this.background.values()].some((b) => b.kind === 'read-back' && b.key === key && b.node === owner)
    )
      return;
    const requestId = this.nextRequestId++;
    this.background.set(requestId, {
      kind: 'read-back',
      node: owner,
      key,
      untilMs: this.clock.monotonicMs() + this.config.backgroundDeadlineMs,
    });
    const deadlineMs = this.clock.wallMs() + this.config.backgroundDeadlineMs;
    this.sendTo(owner, { type: 'replica-get', requestId, listId: key, deadlineMs });
  }

  /** An owner's copy, read back: joined into ours (a join loses nothing), then pushed again soon. */
  private onReadBack(requestId: number, b: Background, state: Uint8Array | undefined): void {
    if (b.kind !== 'read-back') return;
    this.background.delete(requestId);
    if (state === undefined || this.store.get(b.key) === undefined) return; // dropped meanwhile: not again
    const doc = decodeList(state);
    if (!doc.ok || !doc.value.full) {
      this.counters.rejected++;
      this.log.warn('replica state rejected', { node: b.node, reason: 'read back for a transfer' });
      return;
    }
    this.applyLocal(b.key, doc.value).then(
      () => {
        this.next.transfer = this.clock.monotonicMs();
      },
      (e: unknown) => this.log.warn("joining an owner's copy failed; will retry", { cause: String(e) }),
    );
  }

  /** Deletes a list every owner has acknowledged, unless it changed or became ours meanwhile. */
  private maybeDropTransferred(key: string): void {
    const ring = this.ringState;
    const t = this.transferAcks.get(key);
    const stored = this.store.get(key);
    if (ring === undefined || t === undefined || stored === undefined) return;
    if (this.owns(key) || !hashEquals(stored.hash, t.hash)) return;
    const owners = preferenceList(ring, this.partition(key), this.quorum.n);
    if (!owners.every((o) => t.acked.has(o))) return;
    this.transferAcks.delete(key);
    this.cache.delete(key);
    this.counters.transferredAway++;
    this.inBackground(this.store.delete(key), 'delete transferred list');
  }

  private backgroundPut(requestId: number, listId: ListId, doc: Uint8Array): Message {
    const opId = '00000000000000000000000000000000' as OpId;
    return {
      type: 'replica-put',
      requestId,
      listId,
      opId,
      deadlineMs: this.clock.wallMs() + this.config.backgroundDeadlineMs,
      doc,
    };
  }

  // ---- anti-entropy (§4.7) ---------------------------------------------------------------------

  /** Partitions this node replicates under the current ring. */
  private replicatedPartitions(): number[] {
    const ring = this.ringState;
    if (ring === undefined) return [];
    const out: number[] = [];
    for (let p = 0; p < ring.partitionCount; p++)
      if (preferenceList(ring, p, this.quorum.n).includes(this.id)) out.push(p);
    return out;
  }

  private startAntiEntropy(): void {
    const ring = this.ringState;
    if (ring === undefined || this.antiEntropy !== undefined) return;
    // Round-robin over the replicated partitions this node holds data in. Visiting empty ones
    // too made a round of Q partitions (1,024 by default) take Q intervals: a replica that missed
    // a write stayed behind for many minutes. An empty partition here loses nothing: a replica
    // that holds data in it visits it, and pushes what this node lacks.
    const held = this.store.countByPartition();
    const mine = this.replicatedPartitions().filter((p) => held.has(p));
    if (mine.length === 0) return;
    const now = this.clock.monotonicMs();
    const partition = mine[this.antiEntropyCursor++ % mine.length] as number;
    const peers = preferenceList(ring, partition, this.quorum.n).filter(
      (n) => n !== this.id && this.membership.liveness(n, now) === 'alive',
    );
    // Peers in turn, not at random: every other replica of a held partition is visited within
    // (N − 1) sweeps, so a wiped replica is refilled in a bounded time.
    const peer = peers[Math.floor(this.antiEntropyCursor / mine.length) % Math.max(1, peers.length)];
    if (peer === undefined) return;
    const requestId = this.nextRequestId++;
    this.antiEntropy = { requestId, peer, partition, untilMs: now + this.config.backgroundDeadlineMs };
    this.counters.antiEntropyRounds++;
    this.sendTo(peer, { type: 'ae-root', requestId, partition, root: this.tree(partition).root });
  }

  private tree(partition: number): ReturnType<typeof merkleTree> {
    return merkleTree(this.store.partitionEntries(partition));
  }

  private validPartition(p: number): boolean {
    return (
      this.ringState !== undefined && Number.isSafeInteger(p) && p >= 0 && p < this.ringState.partitionCount
    );
  }

  private onAntiEntropyRoot(m: MessageOf<'ae-root'>, replyTo: ReplyTo): void {
    if (!this.validPartition(m.partition)) return;
    const tree = this.tree(m.partition);
    const buckets = same(tree.root, m.root) ? [] : tree.buckets;
    this.send(replyTo, { type: 'ae-buckets', requestId: m.requestId, partition: m.partition, buckets });
  }

  private onAntiEntropyBuckets(m: MessageOf<'ae-buckets'>, replyTo: ReplyTo, from: Peer): void {
    const ae = this.antiEntropy;
    if (ae === undefined || ae.requestId !== m.requestId || ae.partition !== m.partition) return;
    if (ae.peer !== from.id) return this.strayReply(m.type, from, ae.peer);
    if (m.buckets.length === 0) {
      this.counters.antiEntropyAgreed++;
      this.antiEntropy = undefined;
      return;
    }
    const tree = this.tree(m.partition);
    const entries = this.store.partitionEntries(m.partition);
    for (const bucket of differingBuckets(tree.buckets, m.buckets)) {
      const mine = entries.filter((e) => bucketOf(e.key) === bucket).slice(0, limits.antiEntropyKeysMax);
      this.send(replyTo, {
        type: 'ae-keys',
        requestId: m.requestId,
        partition: m.partition,
        bucket,
        entries: mine.map((e) => ({ key: e.key as ListId, hash: e.hash })),
      });
    }
    this.antiEntropy = undefined;
  }

  /** The peer's side: push what the asker lacks, and say what we lack. */
  private onAntiEntropyKeys(m: MessageOf<'ae-keys'>, replyTo: ReplyTo): void {
    if (!this.validPartition(m.partition)) return;
    const theirs = new Map(m.entries.map((e) => [e.key as string, e.hash]));
    const mine = this.store.partitionEntries(m.partition).filter((e) => bucketOf(e.key) === m.bucket);
    const mineByKey = new Map(mine.map((e) => [e.key, e.hash]));
    const wanted: ListId[] = [];
    for (const [key, hash] of theirs) {
      const own = mineByKey.get(key);
      if (own === undefined || !hashEquals(own, hash)) wanted.push(key as ListId);
    }
    let pushed = 0;
    for (const e of mine) {
      if (pushed >= limits.antiEntropyRepairsPerRoundMax) break;
      const their = theirs.get(e.key);
      if (their !== undefined && hashEquals(their, e.hash)) continue;
      const stored = this.store.get(e.key);
      if (stored === undefined) continue;
      pushed++;
      this.counters.antiEntropyRepairs++;
      this.send(replyTo, this.backgroundPut(0, e.key as ListId, stored.state));
    }
    this.send(replyTo, {
      type: 'ae-keys-reply',
      requestId: m.requestId,
      partition: m.partition,
      wanted: wanted.slice(0, limits.antiEntropyRepairsPerRoundMax),
    });
  }

  /** The asker's side: push the peer the keys it lacks, back along the route the reply came by. */
  private onAntiEntropyKeysReply(m: MessageOf<'ae-keys-reply'>, replyTo: ReplyTo): void {
    for (const key of m.wanted.slice(0, limits.antiEntropyRepairsPerRoundMax)) {
      const stored = this.store.get(key);
      if (stored === undefined) continue;
      this.counters.antiEntropyRepairs++;
      this.send(replyTo, this.backgroundPut(0, key, stored.state));
    }
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Checks ring, deadline and the in-flight limit; answers and returns false when refused. */
  private admit(m: { requestId: number; deadlineMs: number }, replyTo: ReplyTo): boolean {
    if (this.ringState === undefined) {
      this.sendError(replyTo, m.requestId, 'unavailable', 'this node has not learned the ring yet; retry');
      return false;
    }
    const now = this.clock.wallMs();
    if (now >= m.deadlineMs) {
      this.counters.lateRejected++;
      this.sendError(replyTo, m.requestId, 'deadline_exceeded', 'the request arrived after its deadline');
      return false;
    }
    if (m.deadlineMs - now > limits.deadlineMsMax) {
      this.sendError(
        replyTo,
        m.requestId,
        'malformed',
        `deadlines may be at most ${limits.deadlineMsMax} ms away`,
      );
      return false;
    }
    if (this.pending.size >= limits.pendingRequestsMax) {
      this.counters.overloaded++;
      this.sendError(replyTo, m.requestId, 'overloaded', 'too many requests in flight; retry with backoff');
      return false;
    }
    return true;
  }

  /**
   * A store write nobody waits for (deleting a delivered hint or a transferred list). If its
   * commit fails (a full disk), the hint or list simply stays and is dealt with again later; the
   * failure is counted and logged, never left as an unhandled rejection.
   */
  private inBackground(write: Promise<void>, what: string): void {
    write.catch((e: unknown) => {
      this.counters.storeFailures++;
      this.log.warn('background store write failed; will retry', { what, cause: String(e) });
    });
  }

  private randomInt(n: number): number {
    if (n <= 1) return 0;
    const b = this.random.fill(new Uint8Array(4));
    const x = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
    return x % n;
  }

  private send(to: ReplyTo, m: Message): void {
    this.transport.reply(to, encodeMessage(m));
  }

  private sendTo(node: NodeId, m: Message): void {
    this.transport.send(node, encodeMessage(m));
  }

  private sendError(to: ReplyTo, requestId: number, code: WireErrorName, message: string): void {
    this.send(to, { type: 'error', requestId, code, message });
  }
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}
