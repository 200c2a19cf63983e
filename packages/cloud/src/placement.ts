// Placement (Dynamo §4.2, §4.3, §4.6), pure, as riak_core_apl: where a key lives under a ring.
// A key's partition is computed once per request (partitionOf hashes the key: MD5, then bigint
// arithmetic) and handed to everything that needs it, rather than recomputed or cached.

import { extendedPreferenceList, preferenceList, type NodeId, type RingState } from '@trolley/core';

export interface Target {
  node: NodeId;
  /** Set when `node` stands in for a down owner (sloppy quorum). */
  hintFor?: NodeId;
}

/** The partition's N owners, each down one replaced by the next healthy node with a hint (§4.6). */
export function targets(
  ring: RingState,
  partition: number,
  n: number,
  isDown: (node: NodeId) => boolean,
): Target[] {
  const owners = preferenceList(ring, partition, n);
  const out: Target[] = [];
  const missing: NodeId[] = [];
  for (const o of owners) {
    if (isDown(o)) missing.push(o);
    else out.push({ node: o });
  }
  if (missing.length > 0) {
    for (const candidate of extendedPreferenceList(ring, partition)) {
      const hintFor = missing[0];
      if (hintFor === undefined) break;
      if (owners.includes(candidate) || isDown(candidate)) continue;
      out.push({ node: candidate, hintFor });
      missing.shift();
    }
  }
  return out;
}

/** Whether `node` is one of the partition's N owners. */
export function owns(ring: RingState, partition: number, n: number, node: NodeId): boolean {
  return preferenceList(ring, partition, n).includes(node);
}
