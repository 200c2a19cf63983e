import { silentLogger } from '@trolley/cloud';
import { nodeTransportContract } from '@trolley/cloud/testing';
import { createServer } from 'node:net';
import { ZmqNodeTransport } from './zmq-node-transport.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      server.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

nodeTransportContract('ZeroMQ over loopback', async (names) => {
  const peers = new Map<string, string>();
  for (const n of names) peers.set(n, `tcp://127.0.0.1:${await freePort()}`);
  const started: ZmqNodeTransport[] = [];
  return {
    endpoint: async (name, handler) => {
      const t = await ZmqNodeTransport.start({
        id: name,
        listen: peers.get(name) as string,
        peers,
        proxies: [],
        logger: silentLogger,
      });
      t.onFrame(handler);
      started.push(t);
      return t;
    },
    settle: () => new Promise((r) => setTimeout(r, 10)),
    close: async () => {
      for (const t of started) t.close();
      await new Promise((r) => setTimeout(r, 10));
    },
  };
});
