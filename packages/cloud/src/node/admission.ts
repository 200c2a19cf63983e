// Admission of a client request (put, get) before any work: the ring is known, the deadline is
// neither past nor absurdly far, and the node is not already coordinating too many requests. A
// refusal is answered, and reported to the observer under the wire code it was answered with.

import { limits, type WireErrorName } from '@trolley/core';
import type { ReplyTo } from '../ports.ts';
import type { NodeContext } from './context.ts';

/** Checks ring, deadline and the in-flight limit; answers and returns false when refused. */
export function admit(
  ctx: NodeContext,
  m: { type: 'put' | 'get'; requestId: number; deadlineMs: number },
  replyTo: ReplyTo,
  inFlight: number,
): boolean {
  const refuse = (code: WireErrorName, message: string): false => {
    ctx.replyError(replyTo, m.requestId, code, message);
    ctx.observer.request(m.type, 'refused', 0, code);
    return false;
  };
  if (ctx.ring === undefined) return refuse('unavailable', 'this node has not learned the ring yet; retry');
  const now = ctx.clock.wallMs();
  if (now >= m.deadlineMs) {
    ctx.counters.lateRejected++;
    return refuse('deadline_exceeded', 'the request arrived after its deadline');
  }
  if (m.deadlineMs - now > limits.deadlineMsMax)
    return refuse('malformed', `deadlines may be at most ${limits.deadlineMsMax} ms away`);
  if (inFlight >= limits.pendingRequestsMax) {
    ctx.counters.overloaded++;
    return refuse('overloaded', 'too many requests in flight; retry with backoff');
  }
  return true;
}
