// A storage node process: the StorageNode state machine wired to ZeroMQ (ZmqNodeTransport),
// SQLite (SqliteListStore), the system clock and the CSPRNG. It says hello (with its ring) to each
// proxy every second, ticks the state machine every 10 ms, and keeps the newest ring it has
// adopted in DIR/ring.bin so that a restart rejoins with it.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Tag,
  createRing,
  decodeMessage,
  decodeRing,
  encodeMessage,
  encodeRing,
  limits,
  type ListId,
  type NodeId,
  type RingState,
} from '@trolley/core';
import {
  BoundedMap,
  StorageNode,
  type Logger,
  type NodeConfig,
  type NodeTransport,
  type Quorum,
  type ReplyTo,
} from '@trolley/cloud';
import { cryptoRandom, systemClock } from './clock.ts';
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
  /** Nodes to gossip with at first. */
  seeds: Member[];
  /** The initial ring's nodes, for a new cluster; ignored once a ring has been adopted. */
  members?: Member[];
  quorum: Quorum;
  partitionCount: number;
  logger: Logger;
  helloIntervalMs?: number;
  config?: Partial<NodeConfig>;
}

export interface RunningNode {
  node: StorageNode;
  store: SqliteListStore;
  stop(): Promise<void>;
}

function loadRing(file: string, o: NodeServerOptions): RingState | undefined {
  if (existsSync(file)) {
    const ring = decodeRing(readFileSync(file));
    if (ring.ok) return ring.value;
    o.logger.error('ring file does not decode; waiting to learn the ring by gossip', { file });
    return undefined;
  }
  if (o.members === undefined || o.members.length === 0) return undefined;
  return createRing(
    o.members.map((m) => ({ id: m.id, weight: 1 })),
    { partitionCount: o.partitionCount },
  );
}

export async function startNode(o: NodeServerOptions): Promise<RunningNode> {
  mkdirSync(o.dataDir, { recursive: true });
  const store = SqliteListStore.open(join(o.dataDir, `${o.id}.db`));
  const ringFile = join(o.dataDir, 'ring.bin');
  const peers = new Map<string, string>();
  for (const m of [...o.seeds, ...(o.members ?? [])]) peers.set(m.id, m.address);
  const zmqTransport = await ZmqNodeTransport.start({
    id: o.id,
    listen: o.listen,
    peers,
    proxies: o.proxies,
    logger: o.logger,
  });
  const transport = withChangeNotices(zmqTransport);
  const node = new StorageNode({
    id: o.id,
    address: o.advertise,
    ring: loadRing(ringFile, o),
    seeds: [...peers].map(([id, address]) => ({ id, address })),
    quorum: o.quorum,
    store,
    transport,
    clock: systemClock,
    random: cryptoRandom,
    logger: o.logger,
    ...(o.config === undefined ? {} : { config: o.config }),
    onRingChange: (ring) => {
      writeFileSync(`${ringFile}.tmp`, encodeRing(ring));
      renameSync(`${ringFile}.tmp`, ringFile);
    },
    transportStats: () => ({ rejected: zmqTransport.rejected, dropped: zmqTransport.dropped }),
  });
  zmqTransport.onFrame((frame, replyTo) => {
    transport.noteRequest(frame, replyTo);
    node.handle(frame, replyTo);
  });

  const hello = (): void => {
    const ring = node.encodedRing();
    if (ring === undefined) return;
    zmqTransport.toProxies(
      encodeMessage({ type: 'node-hello', requestId: 0, nodeId: o.id, address: o.advertise, ring }),
    );
  };
  hello();
  const helloTimer = setInterval(hello, o.helloIntervalMs ?? 1_000);
  const tickTimer = setInterval(() => node.tick(), 10);

  return {
    node,
    store,
    stop: async () => {
      clearInterval(helloTimer);
      clearInterval(tickTimer);
      zmqTransport.close();
      await Promise.resolve();
      store.close();
    },
  };
}

/**
 * Live updates: when this node, as coordinator, answers a client's put with cloud-ok, it tells
 * every proxy that the list changed; proxies pass it on to the clients watching that list. The
 * transport remembers which list each client put (by route and request ID, bounded) so that it
 * knows which list a put-reply is about.
 */
function withChangeNotices(
  t: ZmqNodeTransport,
): NodeTransport & { noteRequest(frame: Uint8Array, replyTo: ReplyTo): void } {
  const puts = new BoundedMap<string, { listId: ListId; delta: Uint8Array }>(limits.pendingRequestsMax);
  const key = (replyTo: ReplyTo, requestId: number): string => `${t.routeKey(replyTo)}/${requestId}`;
  return {
    send: (to, frame) => t.send(to, frame),
    learnAddress: (node, address) => t.learnAddress(node, address),
    noteRequest: (frame, replyTo) => {
      if (frame[1] !== Tag.put || !t.isProxyRoute(replyTo)) return;
      const m = decodeMessage(frame);
      if (m.ok && m.value.type === 'put')
        puts.set(key(replyTo, m.value.requestId), { listId: m.value.listId, delta: m.value.delta.slice() });
    },
    reply: (replyTo, frame) => {
      t.reply(replyTo, frame);
      if (frame[1] !== Tag['put-reply'] || !t.isProxyRoute(replyTo)) return;
      const m = decodeMessage(frame);
      if (!m.ok || m.value.type !== 'put-reply') return;
      const k = key(replyTo, m.value.requestId);
      const put = puts.get(k);
      puts.delete(k);
      if (put !== undefined && m.value.outcome === 'ok')
        t.toProxies(encodeMessage({ type: 'changed', requestId: 0, listId: put.listId, delta: put.delta }));
    },
  };
}
