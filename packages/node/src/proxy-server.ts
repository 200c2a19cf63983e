// A proxy process: the Proxy state machine between two ZeroMQ ROUTERs (seed 2):
//   clients ──DEALER──► ROUTER :5555 (frontend)      frames [client, payload]
//   nodes   ──DEALER──► ROUTER :5556 (backend)       frames [node, client, payload]

import type * as zmq from 'zeromq';
import { Proxy, type Logger } from '@trolley/cloud';
import { systemClock } from './clock.ts';
import { Sender, receiveLoop, router } from './zmq.ts';

export interface ProxyServerOptions {
  name: string;
  clientEndpoint: string;
  nodeEndpoint: string;
  replicas: number;
  logger: Logger;
}

export interface RunningProxy {
  proxy: Proxy;
  stop(): Promise<void>;
}

export async function startProxy(o: ProxyServerOptions): Promise<RunningProxy> {
  const log = o.logger;
  const frontend = router();
  const backend = router();
  const sockets: zmq.Socket[] = [frontend, backend];
  await frontend.bind(o.clientEndpoint);
  await backend.bind(o.nodeEndpoint);
  const toClients = new Sender(frontend, log);
  const toNodes = new Sender(backend, log);
  const proxy = new Proxy({
    name: o.name,
    replicas: o.replicas,
    nodeSilenceMsMax: 3_000,
    clock: systemClock,
    logger: log,
    transport: {
      toNode: (node, client, frame) => toNodes.send([Buffer.from(node), client, frame]),
      toClient: (client, frame) => toClients.send([client, frame]),
    },
  });
  void receiveLoop(
    frontend,
    (frames) => {
      // A ROUTER puts the sender's routing ID first, so frames[0] is always there.
      if (frames.length !== 2) return proxy.refuseFrameCount(frames[0] ?? Buffer.alloc(0), frames.length);
      proxy.onClientFrame(frames[0] as Buffer, frames[1] as Buffer);
    },
    log,
  );
  void receiveLoop(
    backend,
    (frames) => {
      if (frames.length !== 3)
        return proxy.refuseNodeFrame(
          (frames[0] ?? Buffer.alloc(0)).toString(),
          `${frames.length} ZeroMQ frames, not 3`,
          0,
        );
      proxy.onNodeFrame((frames[0] as Buffer).toString(), frames[1] as Buffer, frames[2] as Buffer);
    },
    log,
  );
  const tickTimer = setInterval(() => proxy.tick(), 1_000);
  return {
    proxy,
    stop: async () => {
      clearInterval(tickTimer);
      for (const s of sockets) s.close();
      await Promise.resolve();
    },
  };
}
