// The partitioned ring of Trolley's cloud (Dynamo §4.2, §4.3, §6.2 strategy 3): node IDs, key
// positions, the partition → owner assignment, preference lists, balance figures and the
// ring's wire encoding. Pure functions only.

export { isNodeId, parseNodeId, compareNodeIds, type NodeId } from './node-id.ts';
export { ringLimits } from './ring-limits.ts';
export {
  keyPosition,
  partitionOf,
  partitionOfPosition,
  partitionStart,
  checkPartition,
  checkPartitionCount,
} from './position.ts';
export {
  createRing,
  rebalance,
  ownerChanges,
  ringProblem,
  type RingNode,
  type RingState,
  type RingOptions,
  type OwnerChange,
} from './ring.ts';
export {
  applyRingChange,
  changedNodes,
  describeRingChange,
  pendingRingChange,
  ringChangeProblem,
  ringReflects,
  type RingChange,
} from './ring-change.ts';
export { preferenceList, preferenceListForKey, extendedPreferenceList } from './preference-list.ts';
export { partitionsOf, loadByNode, maxOverMean, maxOverShare } from './load.ts';
export { encodeRing, decodeRing, RING_ENCODING_VERSION } from './ring-codec.ts';
