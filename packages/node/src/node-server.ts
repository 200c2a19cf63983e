// A storage node process: the StorageNode state machine wired to ZeroMQ (ZmqNodeTransport),
// SQLite (SqliteListStore), the system clock and the CSPRNG. It says hello (with its ring) to each
// proxy every second, ticks the state machine every 10 ms, and keeps the newest ring it has
// adopted in DIR/ring.bin so that a restart rejoins with it.

import { hash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRing,
  decodeRing,
  encodeMessage,
  encodeRing,
  type NodeId,
  type RingState,
} from '@trolley/core';
import { StorageNode, type Logger, type NodeConfig, type Quorum } from '@trolley/cloud';
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
}

export interface RunningNode {
  node: StorageNode;
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
    pausesDuring: (fromMs, toMs) => health.pausesDuring(fromMs, toMs),
    // Only nodes of the keyring are members: gossip about others is ignored.
    isMember: (id) => auth.keyring?.isNode(id) ?? true,
    // Live updates: a write that passed the check goes to every proxy at once (before the
    // replicas' commits), which pushes it to the list's watchers.
    onWriteAccepted: (listId, delta) => {
      noticesSent++;
      transport.toProxies(encodeMessage({ type: 'changed', requestId: 0, listId, delta }));
    },
    ...(metrics === undefined ? {} : { observer: metrics.observer }),
  });
  transport.onFrame((frame, replyTo, from) => node.handle(frame, replyTo, from));
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && o.metrics !== undefined) {
    metrics.watch({ node, store, clock: systemClock, transport, noticesSent: () => noticesSent });
    try {
      metricsServer = await serveMetrics({ metrics: metrics.metrics, ...o.metrics, logger: o.logger });
    } catch (e) {
      health.stop();
      transport.close();
      store.close();
      throw e;
    }
  }

  const hello = (): void => {
    const ring = node.encodedRing();
    if (ring === undefined) return;
    transport.toProxies(
      encodeMessage({ type: 'node-hello', requestId: 0, nodeId: o.id, address: o.advertise, ring }),
    );
  };
  hello();
  const helloTimer = setInterval(hello, o.helloIntervalMs ?? 1_000);
  const tickTimer = setInterval(() => node.tick(), 10);

  return {
    node,
    store,
    metricsUrl: metricsServer?.url,
    stop: async () => {
      clearInterval(helloTimer);
      clearInterval(tickTimer);
      health.stop();
      await metricsServer?.stop();
      transport.close();
      await Promise.resolve();
      store.close();
    },
  };
}
