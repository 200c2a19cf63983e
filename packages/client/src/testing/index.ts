// Test support for the client's ports: the ClientStore contract suite, an in-memory cloud, and
// deterministic Clock and Random doubles.
export * from './client-store-contract.ts';
export * from './memory-cloud.ts';
export * from './seeded.ts';
