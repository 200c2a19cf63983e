// @trolley/node: the Node adapters and process wiring. Only apps import this.

export * from './admin.ts';
export * from './clock.ts';
export * from './cloud-client.ts';
export * from './keys.ts';
export * from './live-feed.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './metrics-server.ts';
export * from './node-metrics.ts';
export * from './node-server.ts';
export * from './process-health.ts';
export * from './proxy-metrics.ts';
export * from './proxy-server.ts';
export * from './sqlite-list-store.ts';
export * from './zmq.ts';
export * from './zmq-node-transport.ts';
export * from './sqlite-client-store.ts';
