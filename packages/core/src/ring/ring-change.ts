// Ring changes as an operator asks for them (Dynamo §4.8: "an administrator uses a command line
// tool … to issue a membership change"): nodes to add (or reweight) and nodes to remove. A change
// is stated as the ring it wants, not as a step, so it is idempotent: a ring that already reflects
// it is left alone (no new version), and a change that lost a race with another one (two rings of
// the same version; gossip keeps one) can simply be issued again against the ring that won.

import { TrolleyError } from '../errors.ts';
import { isNodeId, type NodeId } from './node-id.ts';
import { rebalance, type RingNode, type RingState } from './ring.ts';

export interface RingChange {
  /** Nodes that should be in the ring with this weight (added, or reweighted if present). */
  readonly add: readonly RingNode[];
  /** Nodes that should not be in the ring. */
  readonly remove: readonly NodeId[];
}

/** Why a change cannot be made, whatever the ring, or undefined if it can. */
export function ringChangeProblem(change: RingChange): string | undefined {
  if (change.add.length === 0 && change.remove.length === 0) return 'the change adds and removes nothing';
  const added = new Set<string>();
  for (const n of change.add) {
    if (!isNodeId(n.id)) return `not a node ID: ${JSON.stringify(n.id)}`;
    if (added.has(n.id)) return `node ${n.id} is added twice`;
    added.add(n.id);
  }
  for (const id of change.remove) {
    if (!isNodeId(id)) return `not a node ID: ${JSON.stringify(id)}`;
    if (added.has(id)) return `node ${id} is both added and removed`;
  }
  return undefined;
}

/**
 * The part of `change` that a ring with these nodes does not reflect yet: added nodes that are
 * missing or have another weight, removed nodes still present. Empty (add and remove both empty)
 * when the ring reflects the whole change.
 */
export function pendingRingChange(nodes: readonly RingNode[], change: RingChange): RingChange {
  const weights = new Map<string, number>(nodes.map((n) => [n.id, n.weight]));
  return {
    add: change.add.filter((n) => weights.get(n.id) !== n.weight),
    remove: change.remove.filter((id) => weights.has(id)),
  };
}

/** True when a ring with these nodes reflects every part of `change`. */
export function ringReflects(nodes: readonly RingNode[], change: RingChange): boolean {
  const pending = pendingRingChange(nodes, change);
  return pending.add.length === 0 && pending.remove.length === 0;
}

/** The node list `change` asks for, starting from `nodes` (unsorted; rebalance sorts). */
export function changedNodes(nodes: readonly RingNode[], change: RingChange): RingNode[] {
  const replaced = new Set<string>([...change.remove, ...change.add.map((n) => n.id)]);
  return [
    ...nodes.filter((n) => !replaced.has(n.id)),
    ...change.add.map((n) => ({ id: n.id, weight: n.weight })),
  ];
}

/**
 * The ring after `change`: `ring` itself (same version, same object) when it already reflects the
 * change, else rebalance to the changed node list (version + 1). Throws TrolleyError
 * ('invalid_argument') for a change that cannot be made (see ringChangeProblem, and rebalance's
 * checks: at least one node, no more nodes than partitions, valid weights).
 */
export function applyRingChange(ring: RingState, change: RingChange): RingState {
  const problem = ringChangeProblem(change);
  if (problem !== undefined) throw new TrolleyError('invalid_argument', problem);
  if (ringReflects(ring.nodes, change)) return ring;
  return rebalance(ring, changedNodes(ring.nodes, change));
}

/** "add n4 (weight 1), remove n2": a change for messages to operators. */
export function describeRingChange(change: RingChange): string {
  const parts = [
    ...change.add.map((n) => `add ${n.id} (weight ${n.weight})`),
    ...change.remove.map((id) => `remove ${id}`),
  ];
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}
