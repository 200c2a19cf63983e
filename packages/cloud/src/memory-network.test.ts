import { nodeTransportContract } from './testing/node-transport-contract.ts';
import { MemoryNetwork } from './memory-network.ts';

nodeTransportContract('memory network', () => {
  const network = new MemoryNetwork();
  return Promise.resolve({
    endpoint: (name, handler) => Promise.resolve(network.endpoint(name, handler)),
    settle: async () => {
      await network.deliverAll(() => Promise.resolve());
    },
    close: () => Promise.resolve(),
  });
});
