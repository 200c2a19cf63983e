// Preference lists (Dynamo §4.3): the nodes that store a key are the owners of its partition and
// of the partitions that follow it clockwise, distinct physical nodes only. Any node or proxy
// computes them from the ring alone. With `skip` (nodes believed down), the list is the first n
// nodes not skipped: the "first N healthy nodes" of the sloppy quorum (§4.6), where a node past
// the top N holds the write with a hint for the skipped owner.

import { TrolleyError } from '../errors.ts';
import type { NodeId } from './node-id.ts';
import { checkPartition, partitionOf } from './position.ts';
import type { RingState } from './ring.ts';

/**
 * Up to n distinct nodes met walking clockwise from `partition` (its owner first), leaving out
 * any node for which `skip` returns true. Fewer than n only when the ring has too few nodes left.
 */
export function preferenceList(
  ring: RingState,
  partition: number,
  n: number,
  skip?: (id: NodeId) => boolean,
): NodeId[] {
  checkPartition(partition, ring.partitionCount);
  if (!Number.isInteger(n) || n < 0)
    throw new TrolleyError('invalid_argument', `preference list length ${n}: it must be an integer ≥ 0`);
  const list: NodeId[] = [];
  const met = new Set<NodeId>();
  const q = ring.partitionCount;
  for (let step = 0; step < q && list.length < n && met.size < ring.nodes.length; step++) {
    const owner = ring.owners[(partition + step) % q] as NodeId;
    if (met.has(owner)) continue;
    met.add(owner);
    if (skip === undefined || !skip(owner)) list.push(owner);
  }
  return list;
}

/** The preference list of the partition that holds `key` (a list ID). */
export function preferenceListForKey(
  ring: RingState,
  key: string,
  n: number,
  skip?: (id: NodeId) => boolean,
): NodeId[] {
  return preferenceList(ring, partitionOf(key, ring.partitionCount), n, skip);
}

/**
 * Every node that owns a partition, in the order met walking clockwise from `partition`: the
 * preference list followed by the fallbacks that hinted handoff (§4.6) tries in turn.
 */
export function extendedPreferenceList(ring: RingState, partition: number): NodeId[] {
  return preferenceList(ring, partition, ring.nodes.length);
}
