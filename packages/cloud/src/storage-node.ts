// A storage node: replica, coordinator and the background mechanisms of Dynamo (DeCandia et al.
// 2007), each its own module, as riak_core/riak_kv do. This file only dispatches frames and ticks
// the mechanisms; it owns no mechanism's state. Sans-IO: frames come in through handle(), go out
// through the NodeTransport; time comes from the Clock, chance from the Random; state lives in the
// ListStore. The same code runs over ZeroMQ and SQLite in production and in the deterministic
// simulator.
//
//   replica       replica/replica.ts                joins what it is sent into its copy (a CRDT join:
//                                                   twice is once); answers after commit
//   coordinator   coordinator/put-coordinator.ts    §4.5 N/R/W quorums; cloud-ok after W commits,
//                 coordinator/get-coordinator.ts    "unknown" at the deadline; quorum cores pure
//                 coordinator/{put,get}-core.ts     (put-core, get-core)
//   placement     placement.ts                      §4.3 targets; a down owner is replaced by the
//                                                   next healthy node, with a hint naming it (§4.6)
//   read repair   coordinator/get-core.ts           §5 replicas that answered a read with less get
//                                                   the merged state
//   handover      handover/handover.ts              §4.6 hints are persisted, replayed when the owner
//                                                   is alive, deleted once it has them; §4.9 lists
//                                                   held but no longer replicated here are pushed to
//                                                   their owners, deleted once all of them hold
//                                                   exactly what this node holds
//   membership    membership/gossip.ts              §4.8 gossip of members and ring every
//                 membership/ring-change.ts         gossipIntervalMs; operators' ring changes;
//                 membership.ts                     local failure detection
//   anti-entropy  anti-entropy/anti-entropy.ts      §4.7 Merkle comparison of one partition per round
//                                                   with one other replica, throttled
//
// The mechanisms share a small context (node/context.ts) and one request table
// (node/requests.ts) that returns every answer to the mechanism that asked.
//
// Trust (Trust part 2): every frame comes with its sender as the transport authenticated it (a
// Peer). A frame from a role that may not send it (sender-rules.ts) is refused; a reply counts
// only from the node that was asked (the request table); gossip speaks for its sender only
// (membership.ts); ring changes come from operators, and one that would leave the ring with none
// of its nodes or fewer than N of them needs `force`.

import {
  foreignMessage,
  hexOf,
  md5,
  type Clock,
  type ListId,
  type NodeId,
  type Random,
  type RingState,
  type AdminMessage,
  type ClientMessage,
  type Message,
  type Result,
} from '@trolley/core';
import { AntiEntropy } from './anti-entropy/anti-entropy.ts';
import { GetCoordinator } from './coordinator/get-coordinator.ts';
import { PutCoordinator } from './coordinator/put-coordinator.ts';
import { Handover } from './handover/handover.ts';
import { Gossip } from './membership/gossip.ts';
import { onRingChangeRequest } from './membership/ring-change.ts';
import { Membership } from './membership.ts';
import { defaultNodeConfig, type NodeConfig, type NodeCounters } from './node/config.ts';
import { NodeContext, type Digest } from './node/context.ts';
import { noObserver, type NodeObserver } from './observer.ts';
import type { PausesDuring } from './coordinator/put-traces.ts';
import type { ProxyCounters } from './proxy.ts';
import { RequestTable } from './node/requests.ts';
import type { Logger, ListStore, NodeTransport, Peer, ReplyTo } from './ports.ts';
import type { Quorum } from './quorum.ts';
import { RefusalLog } from './refusal-log.ts';
import { Replica } from './replica/replica.ts';
import { nodeDecoders, senderAllowed, type PeerMessage } from './sender-rules.ts';

export { defaultNodeConfig, type NodeConfig, type NodeCounters } from './node/config.ts';
export type { Digest } from './node/context.ts';
export type { PausesDuring } from './coordinator/put-traces.ts';

/**
 * A node's front (its own client port, served in its process by the proxy's state machine:
 * node/src/node-server.ts), as the node's `stats` show it: `front` there, null without one. Read
 * from the front's Proxy as it is (watchCounts, inFlightCounts, counters), nothing counted again.
 */
export interface FrontStats {
  /** Where clients dial it, as the node's hellos advertise it and `locate` names it (tcp://host:port#KEY). */
  address: string;
  /** Now: clients (connections) watching lists there, the lists watched, (client, list) watches. */
  watches: { clients: number; lists: number; entries: number };
  /** Now: clients with puts or gets in flight there, and those requests. */
  inFlight: { clients: number; requests: number };
  /** Since the node started: the front's counters, as a proxy's `stats` name them (ProxyCounters). */
  counters: ProxyCounters;
  /** CURVE handshakes its port refused since the node started. */
  handshakesRefused: number;
}

/**
 * A node's `front` as another process reads it from the node's stats (`trolley cluster status`, the
 * cluster page): untrusted JSON, so each figure is null when absent or of the wrong type.
 */
export interface FrontReading {
  address: string | null;
  watchClients: number | null;
  watchedLists: number | null;
  watchEntries: number | null;
  /** Since the node started: puts and gets forwarded, notices sent to watchers, frames refused. */
  forwarded: number | null;
  notified: number | null;
  rejected: number | null;
}

/** Reads a stats `front` (FrontStats); null when it is not an object: no front, or an older node. */
export function readFrontStats(v: unknown): FrontReading | null {
  const obj = (x: unknown): Record<string, unknown> | undefined =>
    typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const f = obj(v);
  if (f === undefined) return null;
  const watches = obj(f['watches']);
  const counters = obj(f['counters']);
  return {
    address: typeof f['address'] === 'string' ? f['address'] : null,
    watchClients: num(watches?.['clients']),
    watchedLists: num(watches?.['lists']),
    watchEntries: num(watches?.['entries']),
    forwarded: num(counters?.['forwarded']),
    notified: num(counters?.['notified']),
    rejected: num(counters?.['rejected']),
  };
}

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
  /**
   * MD5 (16 bytes), for every hash of list state (stored hashes, Merkle trees, read answers).
   * Default: core's pure md5; the node process passes node:crypto's (native, faster).
   */
  digest?: Digest;
  /** Other nodes to gossip with at first (IDs and addresses). */
  seeds?: readonly { id: string; address: string }[];
  config?: Partial<NodeConfig>;
  /** Called when this node adopts a newer ring (to persist it). */
  onRingChange?: (ring: RingState) => void;
  /** Counters kept by the transport (frames refused before they reach us), for stats. */
  transportStats?: () => Record<string, number>;
  /** The node's front, for stats (`front`); absent or null: it has none. */
  frontStats?: () => FrontStats | null;
  /** GC and event-loop stall time that overlapped a stretch of the monotonic clock (slow puts in stats). */
  pausesDuring?: PausesDuring;
  /**
   * Called when a client's write this node coordinates has passed the write check, with the write
   * itself as sent, before any replica has committed it (live before durable): the hook for live
   * updates (the process sends it to every proxy, which pushes it to watchers). The writer's
   * answer (cloud-ok at W commits, or unknown) is not changed by it. A retry of an operation
   * already acknowledged is answered from memory and not announced again.
   */
  onWriteAccepted?: (listId: ListId, delta: Uint8Array) => void;
  /**
   * Called when a client's write another node coordinates reaches this node as a replica-put or
   * hinted-put (it passed that coordinator's write check), with the write as sent, before it is
   * committed: live updates for the clients watching at this node's own front.
   */
  onReplicaWrite?: (listId: ListId, delta: Uint8Array) => void;
  /**
   * Whether a node ID is a member of the cluster: in production, whether the keyring holds a key
   * for it. Gossip about others is skipped, and a ring change adding one refused. Default: all are.
   */
  isMember?: (id: string) => boolean;
  /** Told of every request finished here, for metrics (observer.ts). Default: nobody. */
  observer?: NodeObserver;
}

export class StorageNode {
  readonly id: NodeId;
  readonly counters: NodeCounters;
  readonly membership: Membership;
  private readonly ctx: NodeContext;
  private readonly requests: RequestTable;
  private readonly replica: Replica;
  private readonly reads: GetCoordinator;
  private readonly writes: PutCoordinator;
  private readonly handover: Handover;
  private readonly antiEntropy: AntiEntropy;
  private readonly gossip: Gossip;
  private readonly isMember: (id: string) => boolean;
  private readonly transportStats: (() => Record<string, number>) | undefined;
  private readonly frontStats: (() => FrontStats | null) | undefined;
  private readonly pausesDuring: PausesDuring | undefined;

  constructor(options: StorageNodeOptions) {
    this.id = options.id;
    const config = { ...defaultNodeConfig, ...options.config };
    const clock = options.clock;
    const now = clock.monotonicMs();
    // Start the heartbeat from the wall clock, so that a restarted node is seen as newer at once.
    this.membership = new Membership(
      { id: this.id, address: options.address, heartbeat: clock.wallMs() },
      config,
      now,
    );
    const ctx = new NodeContext({
      id: options.id,
      config,
      quorum: options.quorum,
      store: options.store,
      transport: options.transport,
      clock,
      random: options.random,
      logger: options.logger,
      digest: options.digest ?? md5,
      membership: this.membership,
      refusals: new RefusalLog({ logger: options.logger, clock }),
      observer: options.observer ?? noObserver,
    });
    this.ctx = ctx;
    this.counters = ctx.counters;
    this.isMember = options.isMember ?? (() => true);
    this.transportStats = options.transportStats;
    this.frontStats = options.frontStats;
    this.pausesDuring = options.pausesDuring;
    this.requests = new RequestTable(ctx);
    this.replica = new Replica(ctx, options.onReplicaWrite);
    const inFlight = (): number => this.reads.size + this.writes.size;
    this.reads = new GetCoordinator(ctx, this.requests, this.replica, inFlight);
    this.writes = new PutCoordinator(
      ctx,
      this.requests,
      this.replica,
      this.reads,
      inFlight,
      options.onWriteAccepted,
    );
    this.handover = new Handover(ctx, this.requests, this.replica);
    this.antiEntropy = new AntiEntropy(ctx, this.requests, this.replica);
    this.gossip = new Gossip(ctx, { isMember: this.isMember, onRingChange: options.onRingChange });
    for (const s of options.seeds ?? []) if (s.id !== this.id) this.gossip.learn(s.id, s.address, now);
    if (options.ring !== undefined) this.gossip.adopt(options.ring);
    // Spread the background work of different nodes over time.
    const jitter = ctx.randomInt(1000);
    this.gossip.start(now);
    this.handover.start(now + jitter, now + jitter);
    this.antiEntropy.start(now + 2 * jitter);
  }

  get ring(): RingState | undefined {
    return this.ctx.ring;
  }

  /** Client puts and gets this node is coordinating now. */
  get pending(): number {
    return this.reads.size + this.writes.size;
  }

  /**
   * Every inbound frame: client requests via a proxy, peer requests, peers' replies and operators'
   * requests. `from` is the sender as the transport authenticated it; nothing in the frame that
   * claims the same is believed.
   */
  handle(frame: Uint8Array, replyTo: ReplyTo, from: Peer): void {
    this.ctx.counters.framesIn++;
    // Each role's frames are read as the planes that role speaks (sender-rules.ts), no other.
    switch (from.role) {
      case 'proxy':
      case 'client':
        return this.fromClients(this.accept(nodeDecoders[from.role](frame), frame, replyTo, from), replyTo);
      case 'node':
        return this.fromNodes(this.accept(nodeDecoders.node(frame), frame, replyTo, from), replyTo, from);
      case 'operator':
        return this.fromOperators(
          this.accept(nodeDecoders.operator(frame), frame, replyTo, from),
          replyTo,
          from,
        );
    }
  }

  /**
   * The message, if it decoded in its sender's planes and its sender may send it; else undefined,
   * the frame counted and logged (a frame of another plane, or a type of its plane its sender may
   * not send, is refused as from a peer that may not send it: answered `refused` if a request).
   */
  private accept<M extends Message>(
    decoded: Result<M>,
    frame: Uint8Array,
    replyTo: ReplyTo,
    from: Peer,
  ): M | undefined {
    const { ctx } = this;
    if (!decoded.ok) {
      const foreign = foreignMessage(frame, decoded.error);
      if (foreign !== undefined) {
        ctx.refusePeerFrame(foreign, replyTo, from, `a ${from.role} may not send ${foreign.type} to a node`);
        return undefined;
      }
      ctx.counters.rejected++;
      ctx.log.warn('frame rejected', {
        code: decoded.error.code,
        reason: decoded.error.message,
        bytes: frame.length,
      });
      return undefined;
    }
    const m = decoded.value;
    if (!senderAllowed(m.type, from.role)) {
      ctx.refusePeerFrame(m, replyTo, from, `a ${from.role} may not send ${m.type} to a node`);
      return undefined;
    }
    return m;
  }

  /** A client's request, forwarded by a proxy (client plane). */
  private fromClients(m: ClientMessage | undefined, replyTo: ReplyTo): void {
    switch (m?.type) {
      case undefined:
        return;
      case 'put':
        return this.writes.coordinate(m, replyTo);
      case 'get':
        return this.reads.coordinate(m, replyTo);
      case 'hello':
      case 'hello-reply':
      case 'put-reply':
      case 'get-reply':
      case 'error':
      case 'watch':
      case 'changed':
      case 'locate':
      case 'locate-reply':
      case 'gateway-hello':
        return this.unexpected(m.type);
    }
  }

  /** Another node's request or reply (replica, gossip and anti-entropy planes). */
  private fromNodes(m: PeerMessage | undefined, replyTo: ReplyTo, from: Peer): void {
    switch (m?.type) {
      case undefined:
        return;
      case 'replica-put':
        return this.replica.put(m, replyTo, undefined);
      case 'hinted-put':
        return this.replica.put(m, replyTo, m.target);
      case 'replica-get':
        return this.replica.get(m, replyTo);
      case 'replica-put-reply':
      case 'replica-get-reply':
      case 'ae-buckets':
      case 'ae-keys-reply':
      case 'error':
        return this.requests.route(m, replyTo, from);
      case 'gossip':
      case 'gossip-reply':
        return this.gossip.onGossip(m, replyTo, from);
      case 'ae-root':
        return this.antiEntropy.onRoot(m, replyTo);
      case 'ae-keys':
        return this.antiEntropy.onKeys(m, replyTo, from);
      case 'node-hello':
        return this.unexpected(m.type);
    }
  }

  /** An operator's request (admin plane). */
  private fromOperators(m: AdminMessage | undefined, replyTo: ReplyTo, from: Peer): void {
    const { ctx } = this;
    switch (m?.type) {
      case undefined:
        return;
      case 'admin-read': {
        const held = this.replica.held(m.listId);
        return ctx.reply(replyTo, {
          type: 'admin-read-reply',
          requestId: m.requestId,
          state: held?.state,
          hash: held?.hash,
        });
      }
      case 'stats':
        return ctx.reply(replyTo, {
          type: 'stats-reply',
          requestId: m.requestId,
          json: JSON.stringify(this.stats()),
        });
      case 'ring-change':
        return onRingChangeRequest(ctx, this.gossip, this.isMember, m, replyTo, from);
      case 'admin-read-reply':
      case 'stats-reply':
      case 'ring-change-reply':
      case 'error':
        return this.unexpected(m.type);
    }
  }

  private unexpected(type: string): void {
    this.ctx.counters.rejected++;
    this.ctx.log.warn('unexpected message', { type });
  }

  /** Deadlines and the periodic mechanisms. Call often (every 10 ms or so). */
  tick(): void {
    const now = this.ctx.clock.monotonicMs();
    this.writes.tick();
    this.reads.tick();
    this.requests.tick(now);
    this.gossip.tick(now);
    this.handover.tick(now);
    this.antiEntropy.tick(now);
  }

  stats(): Record<string, unknown> {
    const { ctx } = this;
    const ring = ctx.ring;
    const ringBytes = ctx.ringBytes;
    const now = ctx.clock.monotonicMs();
    const leaving = this.handover.leaving();
    return {
      nodeId: this.id,
      ringVersion: ring?.version ?? 0,
      ringNodes: ring?.nodes.map((n) => n.id) ?? [],
      ringWeights: Object.fromEntries(ring?.nodes.map((n) => [n.id, n.weight]) ?? []),
      // Tells apart two rings of the same version (operators wait for one ring everywhere).
      ringHash: ringBytes === undefined ? '' : hexOf(ctx.digest(ringBytes).subarray(0, 8)),
      partitionsOwned: ring === undefined ? 0 : ring.owners.filter((o) => o === this.id).length,
      partitionsHeld: ctx.store.countByPartition().size,
      // The ring itself (ring-codec.ts, in hex) and what is still to hand over after a ring
      // change: [partition, lists held here] for each partition held here but not replicated here.
      ring: ringBytes === undefined ? '' : hexOf(ringBytes),
      replicas: ctx.quorum.n,
      leaving,
      keys: ctx.store.count(),
      hints: ctx.store.hintCount(),
      // Lists held here that belong elsewhere: `leaving`, summed (0 on every node: handover done).
      keysToHandOver: leaving.reduce((sum, [, lists]) => sum + lists, 0),
      pending: this.pending,
      members: this.membership
        .view()
        .map((m) => ({ id: m.id, address: m.address, liveness: this.membership.liveness(m.id, now) })),
      counters: this.counters,
      transport: this.transportStats?.() ?? {},
      // Its own client port (`trolley node --front`), where direct clients and their watches are.
      front: this.frontStats?.() ?? null,
      // The last puts coordinated here: their spread, and where the slowest 0.1% spent their time.
      putTimes: this.writes.traces.report(this.pausesDuring),
    };
  }

  /** The ring as encoded, for hellos to proxies. */
  encodedRing(): Uint8Array | undefined {
    return this.ctx.ringBytes;
  }
}
