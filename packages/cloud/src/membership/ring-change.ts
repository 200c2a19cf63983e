// Ring changes by an operator (Dynamo §4.8, §4.9): add or remove nodes at runtime. The new ring is
// adopted here and gossiped to every member at once; partitions then move by transfer (handover).
// Only operators may ask (sender-rules.ts); a change that would leave the ring with none of its
// nodes, or fewer than N of them, needs `force`.

import {
  applyRingChange,
  describeRingChange,
  parseNodeId,
  type MessageOf,
  type RingChange,
  type RingState,
} from '@trolley/core';
import type { Peer, ReplyTo } from '../ports.ts';
import type { NodeContext } from '../node/context.ts';
import type { Gossip } from './gossip.ts';

/**
 * An operator's ring change. Idempotent: a change the current ring already reflects (a node
 * added again with the same weight, a node removed that is not there) is answered with the
 * current version and changes nothing, so an operator may repeat it — after a lost reply, or
 * after a concurrent change on the same base ring won the gossip (see admin.ts).
 */
export function onRingChangeRequest(
  ctx: NodeContext,
  gossip: Gossip,
  isMember: (id: string) => boolean,
  m: MessageOf<'ring-change'>,
  replyTo: ReplyTo,
  from: Peer,
): void {
  const ring = ctx.ring;
  if (ring === undefined)
    return ctx.replyError(replyTo, m.requestId, 'unavailable', 'this node has no ring yet');
  // A node nobody holds a key for could never talk to the others: its share would be unreachable.
  const stranger = m.add.find((a) => !isMember(a.id));
  if (stranger !== undefined)
    return ctx.replyError(
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
    return ctx.replyError(replyTo, m.requestId, 'malformed', e instanceof Error ? e.message : String(e));
  }
  const risk = next === ring || m.force === true ? undefined : ringChangeRisk(ring, next, ctx.quorum.n);
  if (risk !== undefined)
    return ctx.replyError(
      replyTo,
      m.requestId,
      'invalid_argument',
      `${risk}; pass --force to make this change anyway`,
    );
  const now = ctx.clock.monotonicMs();
  for (const a of m.add) gossip.learn(a.id, a.address, now);
  if (next !== ring) {
    gossip.adopt(next);
    ctx.counters.operatorRingChanges++;
    const before = new Set<string>(ring.nodes.map((n) => n.id));
    const after = new Set<string>(next.nodes.map((n) => n.id));
    ctx.log.warn('ring changed by operator', {
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
  gossip.toAll();
  ctx.reply(replyTo, { type: 'ring-change-reply', requestId: m.requestId, ringVersion: next.version });
}

/**
 * Why an operator should not make this change without insisting, or undefined. A ring with none
 * of today's nodes owns every list on nodes that hold none of them: until transfers finish,
 * every read finds nothing, and one mistyped command would do it. A ring of fewer than N nodes
 * cannot keep N copies of anything: every write would be short of replicas for good.
 */
export function ringChangeRisk(ring: RingState, next: RingState, n: number): string | undefined {
  const before = new Set<string>(ring.nodes.map((x) => x.id));
  if (!next.nodes.some((x) => before.has(x.id)))
    return `the new ring keeps none of the current ring's nodes (${[...before].join(', ')})`;
  if (next.nodes.length < n)
    return `the new ring would have ${next.nodes.length} node${next.nodes.length === 1 ? '' : 's'}, fewer than N=${n} copies of each list need`;
  return undefined;
}
