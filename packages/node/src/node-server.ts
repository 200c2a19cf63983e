// A storage node process: the StorageNode state machine wired to ZeroMQ (ZmqNodeTransport),
// SQLite (SqliteListStore), the system clock and the CSPRNG. It says hello (with its ring) to each
// proxy every second, ticks the state machine every 10 ms, and keeps the newest ring it has
// adopted in DIR/ring.bin so that a restart rejoins with it.
//
// Its front (with `front`): a client port of its own, served by the proxy's state machine (the same
// protocol, limits and fairness) whose only node is this one, reached in process. A client that
// writes to and watches a list at the front of the list's coordinator (the proxy's `locate` names
// it) has its change shown to the other watchers there in two hops, client → node → watchers, not
// four through a proxy. The front serves only lists this node is a replica of (for others it
// answers `unavailable`: go to the proxy), and tells its watchers of every client write the node
// accepts as coordinator or is sent as a replica. The node's `stats` show it (`front`: its address,
// watches, requests in flight and counters, read from its state machine).

import { hash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRing,
  decodeRing,
  encodeMessage,
  encodeRing,
  type ListId,
  type NodeId,
  type RingState,
} from '@trolley/core';
import { Proxy, StorageNode, type Logger, type NodeConfig, type Quorum } from '@trolley/cloud';
import { dialable, openClientPort, type ClientPort } from './client-port.ts';
import { cryptoRandom, systemClock } from './clock.ts';
import { MemberAuth } from './keys.ts';
import { serveMetrics, type MetricsAddress, type MetricsServer } from './metrics-server.ts';
import { NodeMetrics } from './node-metrics.ts';
import { watchProcessHealth } from './process-health.ts';
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
  /** Node ports of the proxies, with their keys when secure (tcp://127.0.0.1:5556#KEY). */
  proxies: string[];
  /**
   * The keys folder: this node's ID.key and the keyring (every member's .pub). Undefined: an
   * insecure node that anyone can talk to, for benchmarks only.
   */
  keysDir: string | undefined;
  /** Nodes to gossip with at first. */
  seeds: Member[];
  /** The initial ring's nodes, for a new cluster; ignored once a ring has been adopted. */
  members?: Member[];
  quorum: Quorum;
  partitionCount: number;
  logger: Logger;
  helloIntervalMs?: number;
  config?: Partial<NodeConfig>;
  /** Serve Prometheus metrics over HTTP here (docs/METRICS.md); absent: no metrics port. */
  metrics?: MetricsAddress;
  /**
   * Serve clients directly on a client port of this node's own (see the top): where to bind it
   * (tcp://0.0.0.0:7001) and where clients dial it (default: `listen`, or, bound to every address,
   * its port at the host of `advertise`). Absent: no front.
   */
  front?: { listen: string; advertise?: string };
}

export interface RunningNode {
  node: StorageNode;
  /** The front's state machine, if the node has a front. */
  front: Proxy | undefined;
  /** Where clients reach the front (tcp://host:port#KEY when secure), if the node has one. */
  frontAddress: string | undefined;
  store: SqliteListStore;
  /** http://host:port/metrics, or undefined without a metrics port. */
  metricsUrl: string | undefined;
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
  const health = watchProcessHealth();
  const metrics = o.metrics === undefined ? undefined : new NodeMetrics(health);
  const store = SqliteListStore.open(
    join(o.dataDir, `${o.id}.db`),
    metrics === undefined ? {} : { onDurable: metrics.onDurable },
  );
  const ringFile = join(o.dataDir, 'ring.bin');
  const peers = new Map<string, string>();
  for (const m of [...o.seeds, ...(o.members ?? [])]) peers.set(m.id, m.address);
  const auth = MemberAuth.load(o.keysDir, { id: o.id, role: 'node' }, (problem) =>
    o.logger.warn('keyring', { problem }),
  );
  const transport = await ZmqNodeTransport.start({
    id: o.id,
    listen: o.listen,
    peers,
    proxies: o.proxies,
    logger: o.logger,
    auth,
  });
  let frontPort: ClientPort | undefined;
  try {
    if (o.front !== undefined) frontPort = await openClientPort(o.front.listen, auth.keys, o.logger, 'front');
  } catch (e) {
    health.stop();
    transport.close();
    store.close();
    throw e;
  }
  const frontAddress =
    frontPort === undefined
      ? undefined
      : `${o.front?.advertise ?? dialable(frontPort.endpoint, o.advertise)}${auth.keys === undefined ? '' : `#${auth.keys.publicKey}`}`;
  /** The front's state machine, made once the node exists (its only route is to the node). */
  let front: Proxy | undefined;
  const changedFrame = (listId: string, delta: Uint8Array): Uint8Array =>
    encodeMessage({ type: 'changed', requestId: 0, listId: listId as ListId, delta });
  let noticesSent = 0;
  const node = new StorageNode({
    id: o.id,
    address: o.advertise,
    ring: loadRing(ringFile, o),
    seeds: [...peers].map(([id, address]) => ({ id, address })),
    quorum: o.quorum,
    store,
    transport: transport,
    clock: systemClock,
    random: cryptoRandom,
    logger: o.logger,
    // MD5 of list state through node:crypto (native): the same bytes as core's pure md5, faster.
    digest: (b) => hash('md5', b, 'buffer'), // one-shot: a quarter of createHash's cost on short inputs
    ...(o.config === undefined ? {} : { config: o.config }),
    onRingChange: (ring) => {
      writeFileSync(`${ringFile}.tmp`, encodeRing(ring));
      renameSync(`${ringFile}.tmp`, ringFile);
    },
    transportStats: () => ({
      rejected: transport.rejected,
      dropped: transport.dropped,
      handshakesRefused: transport.handshakesRefused,
      // Event-loop stalls and GC pauses, cumulative (the benchmark explains its tail with them).
      ...health.read(),
    }),
    // Its front, if it has one, as its state machine holds and counts it (stats `front`).
    frontStats: () =>
      front === undefined || frontAddress === undefined || frontPort === undefined
        ? null
        : {
            address: frontAddress,
            watches: front.watchCounts(),
            inFlight: front.inFlightCounts(),
            counters: front.counters,
            handshakesRefused: frontPort.handshakesRefused(),
          },
    pausesDuring: (fromMs, toMs) => health.pausesDuring(fromMs, toMs),
    // Only nodes of the keyring are members: gossip about others is ignored.
    isMember: (id) => auth.keyring?.isNode(id) ?? true,
    // Live updates: a write that passed the check goes to every proxy at once (before the
    // replicas' commits), which pushes it to the list's watchers.
    onWriteAccepted: (listId, delta) => {
      noticesSent++;
      const frame = changedFrame(listId, delta);
      front?.notifyWatchers(listId, frame); // first: these watchers are one hop away
      transport.toProxies(frame);
    },
    // A write coordinated elsewhere reaches this node's front's watchers through its replica-put.
    onReplicaWrite: (listId, delta) => {
      if (front?.isWatched(listId) === true) front.notifyWatchers(listId, changedFrame(listId, delta));
    },
    ...(metrics === undefined ? {} : { observer: metrics.observer }),
  });
  transport.onFrame((frame, replyTo, from) => node.handle(frame, replyTo, from));
  if (frontPort !== undefined) {
    const port = frontPort;
    const self = { role: 'proxy', id: `front:${o.id}` } as const;
    const machine = new Proxy({
      name: `${o.id} (front)`,
      replicas: o.quorum.n,
      nodeSilenceMsMax: 3_000,
      clock: systemClock,
      logger: o.logger,
      transportStats: () => ({ handshakesRefused: { clientPort: port.handshakesRefused() } }),
      transport: {
        // Its only node is this one (only this one says hello to it): a call, no hop.
        toNode: (_node, client, frame) =>
          node.handle(
            frame,
            transport.localRoute((answer) => machine.onNodeFrame(o.id, client, answer)),
            self,
          ),
        toClient: (client, frame) => port.sender.send([client, frame]),
      },
    });
    front = machine;
    port.serve(machine);
  }
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && o.metrics !== undefined) {
    metrics.watch({ node, store, clock: systemClock, transport, noticesSent: () => noticesSent, front });
    try {
      metricsServer = await serveMetrics({ metrics: metrics.metrics, ...o.metrics, logger: o.logger });
    } catch (e) {
      health.stop();
      frontPort?.close();
      transport.close();
      store.close();
      throw e;
    }
  }

  const hello = (): void => {
    const ring = node.encodedRing();
    if (ring === undefined) return;
    const frame = encodeMessage({
      type: 'node-hello',
      requestId: 0,
      nodeId: o.id,
      address: o.advertise,
      ring,
      ...(frontAddress === undefined ? {} : { front: frontAddress }),
    });
    transport.toProxies(frame);
    front?.onNodeFrame(o.id, new Uint8Array(0), frame);
  };
  hello();
  const helloTimer = setInterval(hello, o.helloIntervalMs ?? 1_000);
  const tickTimer = setInterval(() => node.tick(), 10);
  const frontTimer = setInterval(() => front?.tick(), 1_000);

  return {
    node,
    store,
    front,
    frontAddress,
    metricsUrl: metricsServer?.url,
    stop: async () => {
      clearInterval(helloTimer);
      clearInterval(tickTimer);
      clearInterval(frontTimer);
      health.stop();
      await metricsServer?.stop();
      frontPort?.close();
      transport.close();
      await Promise.resolve();
      store.close();
    },
  };
}
