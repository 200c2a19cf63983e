// Test support shared by implementations of the cloud's ports: contract suites.
export * from './list-store-contract.ts';
export * from './node-transport-contract.ts';
export * from './cluster-fixture.ts';
export * from './recording-logger.ts';
