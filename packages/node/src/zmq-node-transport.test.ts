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

/** A frame still awaited after this long is taken for a hang: a guard, never a budget. */
const hangGuardMs = 120_000;

nodeTransportContract('ZeroMQ over loopback', async (names) => {
  const peers = new Map<string, string>();
  for (const n of names) peers.set(n, `tcp://127.0.0.1:${await freePort()}`);
  const started: ZmqNodeTransport[] = [];
  // Frames handed to any handler so far, those already reported by settle(), and settle()'s waiter.
  let arrived = 0;
  let reported = 0;
  let wake: (() => void) | undefined;
  return {
    endpoint: async (name, handler) => {
      const t = await ZmqNodeTransport.start({
        id: name,
        listen: peers.get(name) as string,
        peers,
        proxies: [],
        logger: silentLogger,
      });
      t.onFrame((frame, replyTo) => {
        try {
          handler(frame, replyTo);
        } finally {
          arrived += 1;
          wake?.();
        }
      });
      started.push(t);
      return t;
    },
    // The contract settles only while frames it awaits are still on their way, a bounded number of
    // times: so each settle waits for the next frame to arrive, not for a fixed while (which, times
    // the contract's rounds, would be a time budget for loopback under load).
    settle: async () => {
      if (arrived === reported)
        await new Promise<void>((resolve, reject) => {
          const guard = setTimeout(() => {
            wake = undefined;
            reject(new Error(`no frame arrived in ${hangGuardMs / 1000} s (hang guard)`));
          }, hangGuardMs);
          wake = () => {
            clearTimeout(guard);
            wake = undefined;
            resolve();
          };
        });
      reported = arrived;
    },
    close: async () => {
      for (const t of started) t.close();
      await new Promise((r) => setTimeout(r, 10));
    },
  };
});
