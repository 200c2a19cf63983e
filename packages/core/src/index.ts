// @trolley/core: the pure heart of Trolley. No I/O, no clocks, no randomness of its own.

export * from './errors.ts';
export * from './limits.ts';
export * from './ports.ts';
export * from './ids.ts';
export * from './crdt/dots.ts';
export * from './crdt/names.ts';
export * from './crdt/list-doc.ts';
export * from './crdt/read-model.ts';
export * from './crdt/list-replica.ts';
export * from './crdt/write-check.ts';
export { RemovalLog, WHOLE_LIST, recordPrunedFirst } from './crdt/removal-log.ts';
export * from './crdt/journal.ts';
export * from './codec/list-codec.ts';

export { PROTOCOL_VERSION } from './version.ts';
export * from './hash.ts';
export * from './protocol/messages.ts';
export * from './ring/index.ts';
