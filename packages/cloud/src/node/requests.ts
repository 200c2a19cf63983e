// The request table: every request this node sends a peer gets an ID here, and every reply, error
// or expiry for that ID goes back to the mechanism that asked, and to no other. One table for
// all mechanisms, so request IDs never collide (a reply to a hint delivery cannot be taken for a
// quorum write's acknowledgement) and the trust rule lives in one place: an answer counts only
// from the node asked.

import type { MessageOf, MessageType, NodeId } from '@trolley/core';
import type { Peer, ReplyTo } from '../ports.ts';
import type { NodeContext } from './context.ts';

/** The messages that answer a peer request. */
export type Answer =
  | MessageOf<'replica-put-reply'>
  | MessageOf<'replica-get-reply'>
  | MessageOf<'ae-buckets'>
  | MessageOf<'ae-keys-reply'>
  | MessageOf<'error'>;

export interface Asker {
  /**
   * An answer from the node asked. 'keep' leaves the request waiting (not the answer it expects;
   * its own may still come); 'done' ends it. `replyTo`: the route it came by.
   */
  answer(m: Answer, replyTo: ReplyTo): 'done' | 'keep';
  /** No answer by the request's time limit (not called for requests without one, or cancelled). */
  expire?(): void;
}

interface Entry {
  node: NodeId;
  asker: Asker;
  /** Monotonic ms; undefined: the asker cancels it itself. */
  untilMs: number | undefined;
}

export class RequestTable {
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;

  constructor(private readonly ctx: NodeContext) {}

  /** A new request ID for a request to `node`; its answer goes to `asker`. */
  open(node: NodeId, asker: Asker, untilMs?: number): number {
    const id = this.nextId++;
    this.entries.set(id, { node, asker, untilMs });
    return id;
  }

  /** A request ID for a background request, expiring after the background deadline. */
  openBackground(node: NodeId, asker: Asker): number {
    return this.open(node, asker, this.ctx.clock.monotonicMs() + this.ctx.config.backgroundDeadlineMs);
  }

  /** Forgets a request: a later answer is ignored. */
  cancel(id: number): void {
    this.entries.delete(id);
  }

  /**
   * Routes an answer to its asker. Only the node asked may answer: an answer from another is
   * ignored (a stray reply) and leaves the request waiting (else any node could answer for a
   * replica that never stored the write, or cancel its answer).
   */
  route(m: Answer, replyTo: ReplyTo, from: Peer): void {
    const e = this.entries.get(m.requestId);
    if (e === undefined) return;
    if (e.node !== from.id) return this.stray(m.type, from, e.node);
    if (e.asker.answer(m, replyTo) === 'done') this.entries.delete(m.requestId);
  }

  tick(nowMs: number): void {
    for (const [id, e] of this.entries) {
      if (e.untilMs === undefined || nowMs < e.untilMs) continue;
      this.entries.delete(id);
      e.asker.expire?.();
    }
  }

  /**
   * Counted and logged at debug only: after a restart, a node's first request IDs meet the answers
   * to its previous run's, so a stray reply is usually no attack, and warning of each would teach
   * operators to ignore warnings.
   */
  private stray(type: MessageType, from: Peer, asked: NodeId): void {
    this.ctx.counters.strayReplies++;
    this.ctx.log.debug('reply from a node not asked ignored', { type, id: from.id, asked });
  }
}
