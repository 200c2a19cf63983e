// How the ring's partitions fall on its nodes: the balance figures of Dynamo §6.2 (strategy 3
// aims at Q/S partitions a node) and the partition lists that transfers and Merkle trees (§4.7)
// work through.

import { TrolleyError } from '../errors.ts';
import type { NodeId } from './node-id.ts';
import type { RingState } from './ring.ts';

/** The partitions a node owns, ascending; empty for a node outside the ring. */
export function partitionsOf(ring: RingState, node: NodeId): number[] {
  const partitions: number[] = [];
  for (const [p, owner] of ring.owners.entries()) if (owner === node) partitions.push(p);
  return partitions;
}

/** Partitions owned by each node of the ring, in node order; a node that owns none counts 0. */
export function loadByNode(ring: RingState): Map<NodeId, number> {
  const load = new Map<NodeId, number>(ring.nodes.map((n) => [n.id, 0]));
  for (const owner of ring.owners) {
    const count = load.get(owner);
    if (count === undefined) throw new TrolleyError('invalid_argument', `owner ${owner} is not a ring node`);
    load.set(owner, count + 1);
  }
  return load;
}

/** The most partitions any node owns, over the mean Q/S. 1 is perfect balance. */
export function maxOverMean(ring: RingState): number {
  const load = loadByNode(ring);
  return Math.max(...load.values()) / (ring.partitionCount / ring.nodes.length);
}

/**
 * The most any node owns relative to its weighted share Q·w/W. 1 is perfect; equals maxOverMean
 * when all weights are equal.
 */
export function maxOverShare(ring: RingState): number {
  const load = loadByNode(ring);
  const total = ring.nodes.reduce((sum, n) => sum + n.weight, 0);
  let worst = 0;
  for (const node of ring.nodes) {
    const share = (ring.partitionCount * node.weight) / total;
    worst = Math.max(worst, (load.get(node.id) ?? 0) / share);
  }
  return worst;
}
