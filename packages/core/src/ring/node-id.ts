// Node IDs: the names of physical nodes in the ring (Dynamo §4.2, §4.8). An ID is chosen by the
// operator (`cloud-1`, `eu-west.a`), carried in the ring and in gossip, and compared by code
// units, so every machine sorts and hashes it the same way.

import { TrolleyError } from '../errors.ts';
import { ringLimits } from './ring-limits.ts';

export type NodeId = string & { readonly __nodeId: true };

const nodeIdPattern = /^[A-Za-z0-9_.-]+$/;

export function isNodeId(text: string): text is NodeId {
  return text.length >= 1 && text.length <= ringLimits.nodeIdLengthMax && nodeIdPattern.test(text);
}

export function parseNodeId(text: string): NodeId {
  if (!isNodeId(text))
    throw new TrolleyError(
      'invalid_argument',
      `not a node ID (1 to ${ringLimits.nodeIdLengthMax} of A-Z a-z 0-9 _ . -): ${JSON.stringify(text)}`,
    );
  return text;
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
