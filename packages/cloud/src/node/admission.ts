// Admission of a client request (put, get) before any work: the ring is known, the deadline is
// neither past nor absurdly far, and the node is not already coordinating too many requests.

import { limits } from '@trolley/core';
import type { ReplyTo } from '../ports.ts';
import type { NodeContext } from './context.ts';

/** Checks ring, deadline and the in-flight limit; answers and returns false when refused. */
export function admit(
  ctx: NodeContext,
  m: { requestId: number; deadlineMs: number },
  replyTo: ReplyTo,
  inFlight: number,
): boolean {
  if (ctx.ring === undefined) {
    ctx.replyError(replyTo, m.requestId, 'unavailable', 'this node has not learned the ring yet; retry');
    return false;
  }
  const now = ctx.clock.wallMs();
  if (now >= m.deadlineMs) {
    ctx.counters.lateRejected++;
    ctx.replyError(replyTo, m.requestId, 'deadline_exceeded', 'the request arrived after its deadline');
    return false;
  }
  if (m.deadlineMs - now > limits.deadlineMsMax) {
    ctx.replyError(
      replyTo,
      m.requestId,
      'malformed',
      `deadlines may be at most ${limits.deadlineMsMax} ms away`,
    );
    return false;
  }
  if (inFlight >= limits.pendingRequestsMax) {
    ctx.counters.overloaded++;
    ctx.replyError(replyTo, m.requestId, 'overloaded', 'too many requests in flight; retry with backoff');
    return false;
  }
  return true;
}
