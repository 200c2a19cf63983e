// @trolley/sim: the deterministic simulator (DESIGN.md §4; TigerBeetle's VOPR). The production
// storage nodes and proxy run over a simulated network on a virtual clock, under faults drawn
// from one seed; checkers judge durability, agreement, intent, handoff and the ring.

export * from './prng.ts';
export * from './scheduler.ts';
export * from './network.ts';
export * from './observed-store.ts';
export * from './ops.ts';
export * from './history.ts';
export * from './client.ts';
export * from './checkers.ts';
export * from './simulation.ts';
export * from './run.ts';
export * from './regression-seeds.ts';
