// The write coordinator (Dynamo §4.5, sloppy quorum §4.6): checks a client's write against what
// this node knows of the list (crdt/write-check.ts), sends it to the key's N targets — a down
// owner replaced by the next healthy node, which gets a hinted-put — and answers cloud-ok after W
// commits, "unknown" when W can no longer be reached or at the deadline (put-core.ts decides).
// Live before durable: a write that passed the check is handed to the live-update hook at once,
// before any replica has it on disk (docs/ARCHITECTURE.md, "Live updates", says why that can
// neither lose nor invent a change); the writer's answer still waits for W.
// The put's path runs downward: the key's partition is computed once here, the targets once in
// writeQuorum, and both are handed on.

import {
  ListDoc,
  checkWrite,
  decodeList,
  knownFrom,
  limits,
  listIdForLog,
  merge,
  partitionOf,
  writerIdOf,
  type ListId,
  type MessageOf,
  type OpId,
  type ReplicaId,
  type WriteRefusal,
} from '@trolley/core';
import { BoundedMap } from '../bounded-map.ts';
import { targets } from '../placement.ts';
import type { ReplyTo } from '../ports.ts';
import type { Replica } from '../replica/replica.ts';
import { admit } from '../node/admission.ts';
import { refusalCause } from '../observer.ts';
import type { NodeContext } from '../node/context.ts';
import type { Answer, RequestTable } from '../node/requests.ts';
import type { GetCoordinator } from './get-coordinator.ts';
import { putAck, putDeadline, putNack, putTally, type PutStep, type PutTally } from './put-core.ts';
import { PutTraces, type PutTrace } from './put-traces.ts';

interface PendingPut {
  replyTo: ReplyTo;
  requestId: number;
  opId: OpId;
  listId: ListId;
  delta: Uint8Array;
  deadlineMs: number;
  tally: PutTally;
  peerRequests: number[];
  trace: PutTrace;
}

export class PutCoordinator {
  private readonly pending = new Map<number, PendingPut>();
  private nextId = 1;
  /** Operations acknowledged recently: a retry is answered ok again without writing. */
  private readonly acknowledged = new BoundedMap<OpId, number>(limits.recentOperationsMax);
  /** The last puts coordinated, with where their time went (stats). */
  readonly traces = new PutTraces();

  constructor(
    private readonly ctx: NodeContext,
    private readonly requests: RequestTable,
    private readonly replica: Replica,
    private readonly reads: GetCoordinator,
    /** Client requests this node is coordinating, all kinds (for admission). */
    private readonly inFlight: () => number,
    /** Called when a client's write passed the check, before any replica has it (live updates). */
    private readonly onAccepted: ((listId: ListId, delta: Uint8Array) => void) | undefined,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  coordinate(m: MessageOf<'put'>, replyTo: ReplyTo): void {
    const { ctx } = this;
    const startMs = ctx.clock.monotonicMs();
    ctx.counters.puts++;
    if (!admit(ctx, m, replyTo, this.inFlight()) || ctx.ring === undefined) return;
    const doc = decodeList(m.delta);
    if (!doc.ok) {
      ctx.counters.rejected++;
      ctx.observer.request('put', 'refused', 0, 'malformed');
      return ctx.replyError(replyTo, m.requestId, 'malformed', doc.error.message);
    }
    if (this.acknowledged.has(m.opId)) {
      // A retry of an operation already acknowledged: W replicas have it; say so again.
      ctx.counters.duplicateOps++;
      ctx.counters.putsOk++;
      ctx.observer.request('put', 'ok', ctx.clock.monotonicMs() - startMs);
      return ctx.reply(replyTo, {
        type: 'put-reply',
        requestId: m.requestId,
        outcome: 'ok',
        acks: ctx.quorum.w,
        replicas: ctx.quorum.n,
      });
    }
    const partition = partitionOf(m.listId, ctx.ring.partitionCount);
    const writer = m.writer === undefined || m.writer.length === 0 ? undefined : writerIdOf(m.writer);
    const refusal = this.check(m.listId, doc.value, m, writer);
    if (refusal === undefined) return this.writeQuorum(m, replyTo, doc.value, partition, startMs);
    if (refusal.code !== 'refused') return this.refuse(m, replyTo, refusal);
    // This node may not have seen what the client has (it was down, or is not a replica of the
    // list): read the replicas (R of them) before refusing, and check again against what they hold.
    ctx.counters.writeCheckReads++;
    this.reads.read(m.listId, partition, m.deadlineMs, {
      replyTo,
      requestId: 0,
      then: (merged) => {
        const again = merged === undefined ? refusal : this.check(m.listId, doc.value, m, writer, merged);
        if (again === undefined) this.writeQuorum(m, replyTo, doc.value, partition, startMs);
        else this.refuse(m, replyTo, again);
      },
    });
  }

  private refuse(m: MessageOf<'put'>, replyTo: ReplyTo, refusal: WriteRefusal): void {
    const { ctx } = this;
    if (refusal.code === 'refused') ctx.counters.writesRefused++;
    else ctx.counters.writesOverLimit++;
    ctx.observer.request('put', 'refused', 0, refusalCause(refusal.code));
    ctx.refusals.warn('client write refused', `write_${refusal.code}`, {
      list: listIdForLog(m.listId),
      detail: refusal.message,
    });
    ctx.replyError(replyTo, m.requestId, refusal.code, refusal.message);
  }

  /**
   * The write check (crdt/write-check.ts) against what this node knows of the list: its own copy,
   * and, failing that, joined with the merged state of a recent read it coordinated (a coordinator
   * that is not a replica of the list has no copy of its own).
   */
  private check(
    listId: ListId,
    delta: ListDoc,
    m: MessageOf<'put'>,
    writer: ReplicaId | undefined,
    read: ListDoc | undefined = this.reads.recentReads.get(listId),
  ): WriteRefusal | undefined {
    // A node without a copy (not a replica of the list) checks against nothing of its own, and
    // does not fill the replica's cache with empty lists.
    const held = this.replica.holds(listId);
    const local = held ? this.replica.load(listId) : ListDoc.empty();
    // What the copy takes stored is at least its encoded size; near the limit, encode to know.
    let bytes = held ? this.replica.storedBytes(listId, false) : 0;
    if (bytes + m.delta.byteLength > limits.listBytesWriteMax) bytes = this.replica.storedBytes(listId, true);
    const refusal = checkWrite(delta, m.delta.byteLength, writer, knownFrom(local, bytes));
    if (refusal?.code !== 'refused' || read === undefined) return refusal;
    const both = local.clone();
    merge(both, read);
    return checkWrite(delta, m.delta.byteLength, writer, knownFrom(both, bytes));
  }

  /** The write itself (§4.5): to the N targets (sloppy, §4.6), answered at W acknowledgements. */
  private writeQuorum(
    m: MessageOf<'put'>,
    replyTo: ReplyTo,
    doc: ListDoc,
    partition: number,
    startMs: number,
  ): void {
    const { ctx } = this;
    const ring = ctx.ring;
    if (ring === undefined) return; // never forgotten once learned
    const now = ctx.clock.monotonicMs();
    const to = targets(ring, partition, ctx.quorum.n, (n) => ctx.membership.isDown(n, now));
    const id = this.nextId++;
    const p: PendingPut = {
      replyTo,
      requestId: m.requestId,
      opId: m.opId,
      listId: m.listId,
      delta: m.delta,
      deadlineMs: m.deadlineMs,
      tally: putTally(ctx.quorum.w, to.length),
      peerRequests: [],
      trace: {
        opId: m.opId,
        startMs,
        sentMs: now,
        localMs: undefined,
        remoteMs: [],
        answeredMs: 0,
        outcome: '',
      },
    };
    this.pending.set(id, p);
    if (to.length < ctx.quorum.w)
      ctx.log.info('too few healthy nodes for W', { list: listIdForLog(m.listId), healthy: to.length });
    // Live before durable: the write passed the check, so watchers may join it now; only the
    // writer's answer waits for the replicas' commits. Announced first, before the replica-puts
    // are queued: the watchers' path is the one a person waits on, and the replicas' work (a join
    // and a commit on each) would otherwise run on the same cores while the notice travels.
    this.onAccepted?.(m.listId, m.delta);
    let local: (typeof to)[number] | undefined;
    for (const t of to) {
      if (t.hintFor !== undefined) ctx.counters.hintedWrites++;
      if (t.node === ctx.id) {
        local = t;
        continue;
      }
      const requestId = this.requests.open(t.node, { answer: (a) => this.onAnswer(id, a) });
      p.peerRequests.push(requestId);
      const common = { requestId, listId: m.listId, opId: m.opId, deadlineMs: m.deadlineMs, doc: m.delta };
      ctx.send(
        t.node,
        t.hintFor === undefined
          ? { type: 'replica-put', ...common }
          : { type: 'hinted-put', ...common, target: t.hintFor },
      );
    }
    // This node's own copy joins it once that burst has left: the join (merge, digest) is the
    // coordinator's largest work, and no replica or watcher need wait for it.
    if (local !== undefined) {
      const { hintFor } = local;
      ctx.afterSends(() => {
        this.replica.write(m.listId, partition, doc, m.delta, hintFor).then(
          () => {
            p.trace.localMs = ctx.clock.monotonicMs() - p.trace.sentMs;
            this.onAck(id);
          },
          (e: unknown) => this.onNack(id, e),
        );
      });
    }
    if (to.length === 0) this.onNack(id, 'no healthy node');
  }

  private onAnswer(id: number, a: Answer): 'done' | 'keep' {
    const p = this.pending.get(id);
    if (p !== undefined && a.type === 'replica-put-reply')
      p.trace.remoteMs.push(this.ctx.clock.monotonicMs() - p.trace.sentMs);
    if (a.type === 'replica-put-reply') this.onAck(id);
    else if (a.type === 'error') this.onNack(id, `${a.code}: ${a.message}`);
    else return 'keep';
    return 'done';
  }

  private onAck(id: number): void {
    const p = this.pending.get(id);
    if (p !== undefined) this.step(id, p, putAck(p.tally));
  }

  private onNack(id: number, cause: unknown): void {
    this.ctx.log.info('replica write failed', { requestId: id, cause: String(cause) });
    const p = this.pending.get(id);
    if (p !== undefined) this.step(id, p, putNack(p.tally));
  }

  private step(id: number, p: PendingPut, s: PutStep): void {
    const { ctx } = this;
    p.tally = s.tally;
    if (s.answer === 'ok') {
      ctx.counters.putsOk++;
      this.acknowledged.set(p.opId, ctx.clock.wallMs());
    } else if (s.answer === 'unknown') ctx.counters.putsUnknown++;
    if (s.answer !== undefined) {
      p.trace.answeredMs = ctx.clock.monotonicMs();
      p.trace.outcome = s.answer;
      this.traces.add(p.trace);
      ctx.observer.request('put', s.answer, p.trace.answeredMs - p.trace.startMs);
    }
    if (s.answer !== undefined)
      ctx.reply(p.replyTo, {
        type: 'put-reply',
        requestId: p.requestId,
        outcome: s.answer,
        acks: s.tally.acks,
        replicas: ctx.quorum.n,
      });
    if (s.done) this.finish(id);
  }

  /** Deadlines: a write not acknowledged by W in time is unknown. */
  tick(): void {
    const wall = this.ctx.clock.wallMs();
    for (const [id, p] of this.pending) if (wall >= p.deadlineMs) this.step(id, p, putDeadline(p.tally));
  }

  private finish(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    for (const r of p.peerRequests) this.requests.cancel(r);
  }
}
