// A storage node: replica and coordinator in one state machine (Dynamo §4, §5). Sans-IO: frames
// come in through handle(), go out through the NodeTransport; time comes from the Clock; state
// lives in the ListStore. The same code runs over ZeroMQ and SQLite in production and over the
// in-memory doubles in tests and the simulator.
//
// As a replica it joins what it is sent into its copy of a list (a CRDT join: applying the same
// delta twice is applying it once) and answers only after the store has committed.
// As a coordinator (any node may be one) it writes to the N nodes of the key's preference list
// and answers cloud-ok after W commits, or "unknown" at the deadline; it reads from the N nodes,
// answers after R with what the caller is missing, and sends the merged state to the replicas
// that answered with less (read repair).

import {
  ListDoc,
  decodeContext,
  decodeList,
  decodeMessage,
  encodeList,
  encodeMessage,
  hashEquals,
  limits,
  md5,
  merge,
  missingFor,
  partitionOf,
  preferenceList,
  type Clock,
  type ListId,
  type Message,
  type MessageOf,
  type NodeId,
  type OpId,
  type RingState,
  type WireErrorName,
} from '@trolley/core';
import { BoundedMap } from './bounded-map.ts';
import type { Logger, ListStore, NodeTransport, ReplyTo } from './ports.ts';
import type { Quorum } from './quorum.ts';

export interface StorageNodeOptions {
  id: NodeId;
  ring: RingState;
  quorum: Quorum;
  store: ListStore;
  transport: NodeTransport;
  clock: Clock;
  logger: Logger;
  /** Counters kept by the transport (frames refused before they reach us), for stats. */
  transportStats?: () => Record<string, number>;
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
  overloaded: number;
}

interface PendingPut {
  kind: 'put';
  replyTo: ReplyTo;
  requestId: number;
  opId: OpId;
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
  context: Uint8Array;
  replicas: NodeId[];
  replies: Reply[];
  merged: ListDoc | undefined;
  mergedHash: Uint8Array | undefined;
  replied: boolean;
  peerRequests: number[];
}

type Pending = PendingPut | PendingGet;

export class StorageNode {
  readonly id: NodeId;
  ring: RingState;
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
    overloaded: 0,
  };
  private readonly quorum: Quorum;
  private readonly store: ListStore;
  private readonly transport: NodeTransport;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly transportStats: (() => Record<string, number>) | undefined;
  private readonly cache = new BoundedMap<string, ListDoc>(limits.cachedListsMax);
  private readonly acknowledged = new BoundedMap<OpId, number>(limits.recentOperationsMax);
  /** Coordinator requests in flight, by our own ID. */
  private readonly pending = new Map<number, Pending>();
  /** Requests sent to peers (one ID per peer, so a reply names its replica and counts once). */
  private readonly peerRequests = new Map<number, { pending: number; node: NodeId }>();
  private nextRequestId = 1;

  constructor(options: StorageNodeOptions) {
    this.id = options.id;
    this.ring = options.ring;
    this.quorum = options.quorum;
    this.store = options.store;
    this.transport = options.transport;
    this.clock = options.clock;
    this.log = options.logger;
    this.transportStats = options.transportStats;
  }

  /** Every inbound frame: client requests via a proxy, peer requests, and peers' replies. */
  handle(frame: Uint8Array, replyTo: ReplyTo): void {
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
    switch (m.type) {
      case 'put':
        this.coordinatePut(m, replyTo);
        return;
      case 'get':
        this.coordinateGet(m, replyTo);
        return;
      case 'replica-put':
        this.replicaPut(m, replyTo);
        return;
      case 'replica-get':
        this.replicaGet(m, replyTo);
        return;
      case 'admin-read': {
        const stored = this.store.get(m.listId);
        this.send(replyTo, {
          type: 'admin-read-reply',
          requestId: m.requestId,
          state: stored?.state,
          hash: stored?.hash,
        });
        return;
      }
      case 'stats':
        this.send(replyTo, {
          type: 'stats-reply',
          requestId: m.requestId,
          json: JSON.stringify(this.stats()),
        });
        return;
      case 'replica-put-reply':
        this.onReplicaPutReply(m);
        return;
      case 'replica-get-reply':
        this.onReplicaGetReply(m);
        return;
      case 'error':
        this.onPeerError(m);
        return;
      case 'hello':
      case 'hello-reply':
      case 'put-reply':
      case 'get-reply':
      case 'admin-read-reply':
      case 'stats-reply':
      case 'node-hello':
        this.counters.rejected++;
        this.log.warn('unexpected message', { type: m.type });
        return;
    }
  }

  /** Answers "unknown" for coordinator requests whose deadline has passed. Call often. */
  tick(): void {
    const now = this.clock.wallMs();
    for (const [id, p] of this.pending) {
      if (now < p.deadlineMs) continue;
      this.finish(id);
      if (p.replied) continue;
      if (p.kind === 'put') {
        this.counters.putsUnknown++;
        this.send(p.replyTo, {
          type: 'put-reply',
          requestId: p.requestId,
          outcome: 'unknown',
          acks: p.acks,
          replicas: p.replicas,
        });
      } else {
        this.sendError(
          p.replyTo,
          p.requestId,
          'deadline_exceeded',
          `only ${p.replies.length} of R=${this.quorum.r} replicas answered in time`,
        );
      }
    }
  }

  stats(): Record<string, unknown> {
    const owned = this.ring.owners.filter((o) => o === this.id).length;
    return {
      nodeId: this.id,
      ringVersion: this.ring.version,
      partitionsOwned: owned,
      partitionsHeld: this.store.countByPartition().size,
      keys: this.store.count(),
      hints: this.store.hintCount(),
      pending: this.pending.size,
      counters: this.counters,
      transport: this.transportStats?.() ?? {},
    };
  }

  // ---- coordinator -----------------------------------------------------------------------------

  private coordinatePut(m: MessageOf<'put'>, replyTo: ReplyTo): void {
    this.counters.puts++;
    if (!this.admit(m, replyTo)) return;
    const doc = decodeList(m.delta);
    if (!doc.ok) {
      this.counters.rejected++;
      this.sendError(replyTo, m.requestId, 'malformed', doc.error.message);
      return;
    }
    if (this.acknowledged.has(m.opId)) {
      // A retry of an operation already acknowledged: W replicas have it; say so again.
      this.counters.duplicateOps++;
      this.counters.putsOk++;
      this.send(replyTo, {
        type: 'put-reply',
        requestId: m.requestId,
        outcome: 'ok',
        acks: this.quorum.w,
        replicas: this.quorum.n,
      });
      return;
    }
    const replicas = this.replicasFor(m.listId);
    const id = this.nextRequestId++;
    const p: PendingPut = {
      kind: 'put',
      replyTo,
      requestId: m.requestId,
      opId: m.opId,
      deadlineMs: m.deadlineMs,
      acks: 0,
      replicas: replicas.length,
      replied: false,
      outstanding: replicas.length,
      peerRequests: [],
    };
    this.pending.set(id, p);
    for (const node of replicas) {
      if (node === this.id) {
        this.applyLocal(m.listId, doc.value).then(
          () => this.onAck(id),
          (e: unknown) => this.onNack(id, e),
        );
      } else {
        const requestId = this.peerRequest(p, id, node);
        this.sendTo(node, {
          type: 'replica-put',
          requestId,
          listId: m.listId,
          opId: m.opId,
          deadlineMs: m.deadlineMs,
          doc: m.delta,
        });
      }
    }
  }

  private peerRequest(p: Pending, pending: number, node: NodeId): number {
    const requestId = this.nextRequestId++;
    this.peerRequests.set(requestId, { pending, node });
    p.peerRequests.push(requestId);
    return requestId;
  }

  /** The peer request a reply answers, consumed so that a duplicated reply counts once. */
  private takePeerRequest(requestId: number): { pending: number; node: NodeId } | undefined {
    const r = this.peerRequests.get(requestId);
    this.peerRequests.delete(requestId);
    return r;
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
      this.send(p.replyTo, {
        type: 'put-reply',
        requestId: p.requestId,
        outcome: 'ok',
        acks: p.acks,
        replicas: p.replicas,
      });
    }
    if (p.outstanding === 0) this.finish(id);
  }

  private onNack(id: number, cause: unknown): void {
    this.log.warn('replica write failed', { requestId: id, cause: String(cause) });
    const p = this.pending.get(id);
    if (p === undefined || p.kind !== 'put') return;
    p.outstanding--;
    // Not enough replicas left to reach W: the outcome stays unknown (some may have applied it).
    if (!p.replied && p.acks + p.outstanding < this.quorum.w) {
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
    if (p.outstanding === 0) this.finish(id);
  }

  private onReplicaPutReply(m: MessageOf<'replica-put-reply'>): void {
    const r = this.takePeerRequest(m.requestId);
    if (r !== undefined) this.onAck(r.pending);
  }

  private onPeerError(m: MessageOf<'error'>): void {
    const r = this.takePeerRequest(m.requestId);
    const p = r === undefined ? undefined : this.pending.get(r.pending);
    if (r === undefined || p === undefined) return;
    if (p.kind === 'put') this.onNack(r.pending, `${m.code}: ${m.message}`);
    else this.log.info('replica read refused', { node: r.node, code: m.code, message: m.message });
  }

  private coordinateGet(m: MessageOf<'get'>, replyTo: ReplyTo): void {
    this.counters.gets++;
    if (!this.admit(m, replyTo)) return;
    if (m.context.length > 0 && !decodeContext(m.context).ok) {
      this.counters.rejected++;
      this.sendError(replyTo, m.requestId, 'malformed', 'the context does not decode');
      return;
    }
    const replicas = this.replicasFor(m.listId);
    const id = this.nextRequestId++;
    const p: PendingGet = {
      kind: 'get',
      replyTo,
      requestId: m.requestId,
      listId: m.listId,
      deadlineMs: m.deadlineMs,
      context: m.context,
      replicas,
      replies: [],
      merged: undefined,
      mergedHash: undefined,
      replied: false,
      peerRequests: [],
    };
    this.pending.set(id, p);
    for (const node of replicas) {
      if (node === this.id) continue;
      const requestId = this.peerRequest(p, id, node);
      this.sendTo(node, { type: 'replica-get', requestId, listId: m.listId, deadlineMs: m.deadlineMs });
    }
    if (replicas.includes(this.id)) {
      const stored = this.store.get(m.listId);
      this.onReplicaState(id, this.id, stored?.state, stored?.hash);
    }
  }

  private onReplicaGetReply(m: MessageOf<'replica-get-reply'>): void {
    const r = this.takePeerRequest(m.requestId);
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
    if (!p.replied && p.replies.length >= this.quorum.r) this.answerGet(p);
    else if (p.replied) this.repair(p, p.replies[p.replies.length - 1] as Reply);
    if (p.replies.length === p.replicas.length) this.finish(id);
  }

  private answerGet(p: PendingGet): void {
    const merged = ListDoc.empty();
    for (const r of p.replies) if (r.doc !== undefined) merge(merged, r.doc);
    const mergedHash = md5(encodeList(merged));
    p.merged = merged;
    p.mergedHash = mergedHash;
    p.replied = true;
    let delta: ListDoc = merged;
    if (p.context.length > 0) {
      const asked = decodeContext(p.context);
      if (asked.ok) delta = missingFor(merged, asked.value.ctx, asked.value.replicas);
    }
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
      replicas: p.replicas.length,
    });
    for (const r of p.replies) this.repair(p, r);
  }

  /** Read repair (Dynamo §5): a replica that answered with less gets what it lacks. */
  private repair(p: PendingGet, r: Reply): void {
    const merged = p.merged;
    if (merged === undefined || merged.ctx.dotCount === 0) return;
    if (r.hash !== undefined && hashEquals(r.hash, p.mergedHash)) return;
    this.counters.readRepairs++;
    const doc = r.doc === undefined ? merged : missingFor(merged, r.doc.ctx, r.doc.replicas);
    if (r.node === this.id) {
      this.applyLocal(p.listId, doc).catch((e: unknown) =>
        this.log.warn('read repair failed', { cause: String(e) }),
      );
      return;
    }
    const opId = `00000000000000000000000000000000` as OpId;
    this.sendTo(r.node, {
      type: 'replica-put',
      requestId: 0,
      listId: p.listId,
      opId,
      deadlineMs: this.clock.wallMs() + 5_000,
      doc: encodeList(doc),
    });
  }

  // ---- replica ---------------------------------------------------------------------------------

  private replicaPut(m: MessageOf<'replica-put'>, replyTo: ReplyTo): void {
    if (this.clock.wallMs() >= m.deadlineMs) {
      // Never apply a write late: its coordinator has already answered without us.
      this.counters.lateRejected++;
      this.sendError(replyTo, m.requestId, 'deadline_exceeded', 'the write arrived after its deadline');
      return;
    }
    const doc = decodeList(m.doc);
    if (!doc.ok) {
      this.counters.rejected++;
      this.sendError(replyTo, m.requestId, 'malformed', doc.error.message);
      return;
    }
    this.counters.replicaWrites++;
    this.applyLocal(m.listId, doc.value).then(
      (hash) => {
        if (m.requestId !== 0)
          this.send(replyTo, { type: 'replica-put-reply', requestId: m.requestId, hash });
      },
      (e: unknown) => {
        if (m.requestId !== 0) this.sendError(replyTo, m.requestId, 'storage_failed', String(e));
      },
    );
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
      await this.store.put({
        key: listId,
        partition: partitionOf(listId, this.ring.partitionCount),
        state: bytes,
        hash,
      });
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
      else this.log.error('stored state does not decode; starting from peers', { listId });
    }
    this.cache.set(listId, doc);
    return doc;
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private replicasFor(listId: ListId): NodeId[] {
    return preferenceList(this.ring, partitionOf(listId, this.ring.partitionCount), this.quorum.n);
  }

  /** Checks the deadline and the in-flight limit; answers and returns false when refused. */
  private admit(m: { requestId: number; deadlineMs: number }, replyTo: ReplyTo): boolean {
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
