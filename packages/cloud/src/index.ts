// @trolley/cloud: Trolley's cloud as sans-IO state machines (Dynamo, DeCandia et al. 2007).

export * from './bounded-map.ts';
export * from './memory-network.ts';
export * from './observer.ts';
export * from './ports.ts';
export * from './proxy.ts';
export * from './quorum.ts';
export * from './refusal-log.ts';
export * from './sender-rules.ts';
export * from './storage-node.ts';
export * from './memory-list-store.ts';
export * from './watch-table.ts';
export { storedDoc, type HeldList } from './replica/replica.ts';
export { ListDigest, listDigest } from './replica/list-digest.ts';
