// The read coordinator (Dynamo §4.5, read repair §5): sends replica-get to the key's N targets,
// feeds their answers to the get core (get-core.ts) and carries out its actions — answer the
// caller, repair replicas that answered with less. Also the quorum read the put coordinator makes
// before refusing a write it knows too little to check (see put-coordinator.ts).

import {
  decodeContext,
  decodeList,
  encodeList,
  limits,
  missingFor,
  partitionOf,
  type ContextWithTable,
  type ListDoc,
  type ListId,
  type MessageOf,
  type NodeId,
} from '@trolley/core';
import { BoundedMap } from '../bounded-map.ts';
import { owns, targets } from '../placement.ts';
import type { ReplyTo } from '../ports.ts';
import type { Replica } from '../replica/replica.ts';
import { admit } from '../node/admission.ts';
import type { NodeContext } from '../node/context.ts';
import { listDigest } from '../replica/list-digest.ts';
import type { Answer, RequestTable } from '../node/requests.ts';
import { getDone, getGraceOver, getReply, getState, type GetAction, type GetState } from './get-core.ts';

interface PendingGet {
  replyTo: ReplyTo;
  requestId: number;
  listId: ListId;
  partition: number;
  deadlineMs: number;
  /** Monotonic ms when the read began (its latency, for the observer). */
  startMs: number;
  /** The caller's causal context, decoded once (undefined: it has nothing). */
  asked: ContextWithTable | undefined;
  core: GetState;
  peerRequests: number[];
  /**
   * An internal read (the write check's, see put-coordinator.ts): instead of answering a client,
   * hand the merged state on (undefined: fewer than R replicas answered by the deadline).
   */
  then?: (merged: ListDoc | undefined) => void;
}

export class GetCoordinator {
  private readonly pending = new Map<number, PendingGet>();
  private nextId = 1;
  private readonly digestOf = (state: ListDoc): Uint8Array => listDigest(state, this.ctx.digest);
  /** Merged states of recent reads of lists this node does not hold (for the write check). */
  readonly recentReads = new BoundedMap<string, ListDoc>(limits.cachedListsMax);

  constructor(
    private readonly ctx: NodeContext,
    private readonly requests: RequestTable,
    private readonly replica: Replica,
    /** Client requests this node is coordinating, all kinds (for admission). */
    private readonly inFlight: () => number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  coordinate(m: MessageOf<'get'>, replyTo: ReplyTo): void {
    const { ctx } = this;
    ctx.counters.gets++;
    if (!admit(ctx, m, replyTo, this.inFlight()) || ctx.ring === undefined) return;
    const decoded = m.context.length > 0 ? decodeContext(m.context) : undefined;
    if (decoded?.ok === false) {
      ctx.counters.rejected++;
      ctx.observer.request('get', 'refused', 0, 'malformed');
      return ctx.replyError(replyTo, m.requestId, 'malformed', 'the context does not decode');
    }
    const partition = partitionOf(m.listId, ctx.ring.partitionCount);
    this.read(m.listId, partition, m.deadlineMs, { replyTo, requestId: m.requestId, asked: decoded?.value });
  }

  /** A quorum read (§4.5): for a client (`replyTo`), or for this node's own use (`then`). */
  read(
    listId: ListId,
    partition: number,
    deadlineMs: number,
    o: {
      replyTo: ReplyTo;
      requestId: number;
      asked?: ContextWithTable | undefined;
      then?: PendingGet['then'];
    },
  ): void {
    const { ctx } = this;
    const ring = ctx.ring;
    if (ring === undefined) return; // admitted: a ring is known
    const now = ctx.clock.monotonicMs();
    const replicas = targets(ring, partition, ctx.quorum.n, (n) => ctx.membership.isDown(n, now)).map(
      (t) => t.node,
    );
    const id = this.nextId++;
    const p: PendingGet = {
      replyTo: o.replyTo,
      requestId: o.requestId,
      listId,
      partition,
      deadlineMs,
      startMs: now,
      asked: o.asked,
      core: getState(ctx.quorum.r, replicas),
      peerRequests: [],
      ...(o.then === undefined ? {} : { then: o.then }),
    };
    this.pending.set(id, p);
    for (const node of replicas) {
      if (node === ctx.id) continue;
      const requestId = this.requests.open(node, {
        answer: (a) => this.onAnswer(id, node, a),
      });
      p.peerRequests.push(requestId);
      ctx.send(node, { type: 'replica-get', requestId, listId, deadlineMs });
    }
    if (replicas.includes(ctx.id)) {
      const held = this.replica.held(listId);
      this.onReplicaState(id, ctx.id, held?.state, held?.hash);
    }
  }

  private onAnswer(id: number, node: NodeId, a: Answer): 'done' | 'keep' {
    if (a.type === 'replica-get-reply') this.onReplicaState(id, node, a.state, a.hash);
    else if (a.type === 'error')
      this.ctx.log.info('replica read refused', { node, code: a.code, message: a.message });
    else return 'keep';
    return 'done';
  }

  private onReplicaState(
    id: number,
    node: NodeId,
    state: Uint8Array | undefined,
    hash: Uint8Array | undefined,
  ): void {
    const { ctx } = this;
    const p = this.pending.get(id);
    if (p === undefined) return;
    let doc: ListDoc | undefined;
    if (state !== undefined) {
      const decoded = decodeList(state);
      if (!decoded.ok || !decoded.value.full) {
        ctx.counters.rejected++;
        ctx.log.warn('replica state rejected', {
          node,
          reason: decoded.ok ? 'not a full state' : decoded.error.message,
        });
        return;
      }
      doc = decoded.value;
    }
    const actions = getReply(
      p.core,
      { node, doc, hash },
      { nowMs: ctx.clock.monotonicMs(), graceMs: ctx.config.readGraceMs, digest: this.digestOf },
    );
    this.act(p, actions);
    if (getDone(p.core)) this.finish(id);
  }

  private act(p: PendingGet, actions: readonly GetAction[]): void {
    const { ctx } = this;
    for (const a of actions) {
      if (a.kind === 'repair') {
        this.repair(p, a.node, a.merged, a.mergedBytes);
        continue;
      }
      const ring = ctx.ring;
      // What a later put through this node may be checked against, when it holds no copy itself.
      if (ring !== undefined && !owns(ring, p.partition, ctx.quorum.n, ctx.id))
        this.recentReads.set(p.listId, a.merged);
      if (p.then !== undefined) {
        p.then(a.merged);
        continue;
      }
      ctx.observer.request('get', 'ok', ctx.clock.monotonicMs() - p.startMs);
      ctx.observer.read(a.answered, a.inSync);
      ctx.reply(p.replyTo, {
        type: 'get-reply',
        requestId: p.requestId,
        delta:
          p.asked === undefined
            ? a.mergedBytes
            : encodeList(missingFor(a.merged, p.asked.ctx, p.asked.replicas)),
        answered: a.answered,
        inSync: a.inSync,
        replicas: ctx.quorum.n,
      });
    }
  }

  /** Read repair (§5; see get-core.ts for why in full): to the replica, as a push of its own kind. */
  private repair(p: PendingGet, node: NodeId, merged: ListDoc, mergedBytes: Uint8Array): void {
    const { ctx } = this;
    ctx.counters.readRepairs++;
    if (node === ctx.id) {
      this.replica
        .join(p.listId, p.partition, merged)
        .catch((e: unknown) => ctx.log.warn('read repair failed', { cause: String(e) }));
      return;
    }
    const requestId = this.requests.openBackground(node, { answer: repairAnswered });
    ctx.send(node, ctx.pushMessage('read-repair', requestId, p.listId, mergedBytes));
  }

  /** Grace periods and deadlines. */
  tick(): void {
    const { ctx } = this;
    const wall = ctx.clock.wallMs();
    const now = ctx.clock.monotonicMs();
    for (const [id, p] of this.pending) {
      const core = p.core;
      if (!core.replied && core.graceUntilMs !== undefined && now >= core.graceUntilMs) {
        this.act(p, getGraceOver(core, this.digestOf));
        if (core.replies.length === core.replicas.length) this.finish(id);
        continue;
      }
      if (wall < p.deadlineMs) continue;
      this.finish(id);
      if (core.replied) continue;
      core.replied = true;
      if (p.then !== undefined) p.then(undefined);
      else {
        ctx.observer.request('get', 'timeout', now - p.startMs);
        ctx.replyError(
          p.replyTo,
          p.requestId,
          'deadline_exceeded',
          `only ${core.replies.length} of R=${ctx.quorum.r} replicas answered in time`,
        );
      }
    }
  }

  private finish(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    for (const r of p.peerRequests) this.requests.cancel(r);
  }
}

/** A repaired replica's answer: nothing more to do (a failed repair is made again by the next read). */
function repairAnswered(a: Answer): 'done' | 'keep' {
  return a.type === 'replica-put-reply' || a.type === 'error' ? 'done' : 'keep';
}
