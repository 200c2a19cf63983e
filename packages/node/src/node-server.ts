// A storage node process: the StorageNode state machine wired to ZeroMQ (ZmqNodeTransport) and
// SQLite (SqliteListStore), with the real clock; it says hello to each proxy every second.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRing, encodeMessage, encodeRing, type NodeId, type RingState } from '@trolley/core';
import { StorageNode, type Logger, type Quorum } from '@trolley/cloud';
import { systemClock } from './clock.ts';
import { SqliteListStore } from './sqlite-list-store.ts';
import { ZmqNodeTransport } from './zmq-node-transport.ts';

export interface Member {
  id: NodeId;
  address: string;
}

export interface NodeServerOptions {
  id: NodeId;
  /** Where peers reach this node, as bound (e.g. tcp://0.0.0.0:6001). */
  listen: string;
  /** Where peers reach this node, as they should dial it (e.g. tcp://10.0.0.5:6001). */
  advertise: string;
  dataDir: string;
  /** Node ports of the proxies (e.g. tcp://127.0.0.1:5556). */
  proxies: string[];
  /** Every node of the cluster, this one included. */
  members: Member[];
  quorum: Quorum;
  partitionCount: number;
  logger: Logger;
  helloIntervalMs?: number;
}

export interface RunningNode {
  node: StorageNode;
  store: SqliteListStore;
  ring: RingState;
  stop(): Promise<void>;
}

export async function startNode(o: NodeServerOptions): Promise<RunningNode> {
  mkdirSync(o.dataDir, { recursive: true });
  const store = SqliteListStore.open(join(o.dataDir, `${o.id}.db`));
  const ring = createRing(
    o.members.map((m) => ({ id: m.id, weight: 1 })),
    { partitionCount: o.partitionCount },
  );
  const transport = await ZmqNodeTransport.start({
    id: o.id,
    listen: o.listen,
    peers: new Map(o.members.map((m) => [m.id as string, m.address])),
    proxies: o.proxies,
    logger: o.logger,
  });
  const node = new StorageNode({
    id: o.id,
    ring,
    quorum: o.quorum,
    store,
    transport,
    clock: systemClock,
    logger: o.logger,
    transportStats: () => ({ rejected: transport.rejected, dropped: transport.dropped }),
  });
  transport.onFrame((frame, replyTo) => node.handle(frame, replyTo));

  const ringBytes = encodeRing(ring);
  const hello = (): void =>
    transport.toProxies(
      encodeMessage({
        type: 'node-hello',
        requestId: 0,
        nodeId: o.id,
        address: o.advertise,
        ring: ringBytes,
      }),
    );
  hello();
  const helloTimer = setInterval(hello, o.helloIntervalMs ?? 1_000);
  const tickTimer = setInterval(() => node.tick(), 10);

  return {
    node,
    store,
    ring,
    stop: async () => {
      clearInterval(helloTimer);
      clearInterval(tickTimer);
      transport.close();
      await Promise.resolve();
      store.close();
    },
  };
}
