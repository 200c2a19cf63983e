import { describe, expect, it } from 'vitest';
import { nodeTransportContract } from './testing/node-transport-contract.ts';
import { MemoryNetwork } from './memory-network.ts';
import type { Peer } from './ports.ts';

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

describe('memory network: senders', () => {
  it('hands every frame over with its sender: the endpoint name and the role it joined with', async () => {
    const network = new MemoryNetwork();
    const seen: Peer[] = [];
    const node = network.endpoint('n1', (frame, replyTo, from) => {
      seen.push(from);
      node.reply(replyTo, frame);
    });
    const ops = network.endpoint('ops', (_frame, _replyTo, from) => seen.push(from), 'operator');
    const peer = network.endpoint('n2', (_frame, _replyTo, from) => seen.push(from));
    ops.send('n1', Uint8Array.of(1));
    peer.send('n1', Uint8Array.of(2));
    await network.deliverAll(() => Promise.resolve());
    expect(seen).toEqual([
      { role: 'operator', id: 'ops' },
      { role: 'node', id: 'n2' },
      { role: 'node', id: 'n1' }, // n1's reply to ops
      { role: 'node', id: 'n1' }, // and to n2
    ]);
  });
});
