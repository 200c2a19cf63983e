// @trolley/client: the local-first client. A replica of each list on the device, an outbox of
// changes not yet cloud-ok, and a sync engine; sans-IO, so Node and the browser share it.

export * from './ports.ts';
export * from './aisles.ts';
export * from './client-limits.ts';
export * from './client-change.ts';
export * from './item-entry.ts';
export * from './list-link.ts';
export * from './memory-client-store.ts';
export * from './live-sync.ts';
export * from './sync-loop.ts';
export * from './trolley-client.ts';
export * from './wording.ts';
export * from './client-session.ts';
