// A storage node's metrics (docs/METRICS.md): its counters (cloud/src/node/config.ts) one by one,
// the ring and the store as gauges, the time each kind of request took (the node's observer
// port), the divergent replicas its reads found, and the store's batches (their size and the time
// to durable). Built before the node (the node and the store take its observer and callback),
// then pointed at the running node by `watch`.

import { Counter, Histogram } from 'prom-client';
import type { Clock } from '@trolley/core';
import type { NodeCounters, NodeObserver, Proxy, StorageNode } from '@trolley/cloud';
import { Metrics, latencyBucketsS } from './metrics.ts';
import type { ProcessHealth } from './process-health.ts';
import { clientPortMetrics } from './proxy-metrics.ts';
import type { SqliteListStore } from './sqlite-list-store.ts';

/** One line of help per node counter: `trolley_node_<snake_case>_total`. */
const counterHelp: { readonly [K in keyof NodeCounters]: string } = {
  framesIn: 'Frames received (every kind, from proxies, nodes and operators).',
  rejected: 'Frames or states dropped because they did not decode or were not expected.',
  lateRejected: 'Requests and replica writes refused because they arrived after their deadline.',
  puts: 'Client puts received to coordinate (refused ones included).',
  putsOk: 'Client puts answered cloud-ok (W replicas committed), retries of acknowledged ones included.',
  putsUnknown: 'Client puts answered unknown (W not reached by the deadline).',
  gets: 'Client gets received to coordinate (refused ones included).',
  replicaWrites:
    'Replica writes taken from peers (quorum writes, hinted writes and pushes of every purpose).',
  readRepairs: 'Read repairs sent: replicas that answered a read with less than the merged state.',
  storeFailures: 'Store commits that failed (a full disk, say).',
  duplicateOps: 'Client puts answered ok at once as retries of an operation already acknowledged.',
  writesRefused: 'Client writes refused by the write check (a claim or dot not the writer’s).',
  writesOverLimit: 'Client writes refused because they would take a list past its limits.',
  writeCheckReads: 'Quorum reads made because this node knew too little to check a client write.',
  overloaded: 'Requests refused because too many were in flight (or too many hints held).',
  hintedWrites: 'Quorum writes sent to a fallback node with a hint, for a down owner (§4.6).',
  hintsStored: 'Hints stored here for a down owner.',
  hintsDelivered: 'Hints delivered to their owner (and deleted here).',
  antiEntropyRounds: 'Anti-entropy exchanges this node started (one partition with one peer).',
  antiEntropyAgreed: 'Anti-entropy exchanges whose Merkle roots agreed (nothing to repair).',
  antiEntropyRepairs: 'Lists pushed by anti-entropy to a replica that lacked them.',
  transfersSent: 'Lists pushed to their new owners after a ring change (or from fallback copies).',
  transferredAway: 'Lists deleted here once all their owners acknowledged them.',
  ringChanges: 'Rings adopted (an operator’s change here, or a newer one learned by gossip).',
  operatorRingChanges: 'Ring changes an operator made through this node.',
  gossipIn: 'Gossip messages received.',
  peerFramesRefused: 'Frames refused for their sender (a role that may not send them).',
  strayReplies: 'Replies ignored because they came from another node than the one asked.',
  heartbeatsRefused: 'Gossiped heartbeats refused for being too far ahead of this node’s clock.',
  membersRefused: 'Gossiped members refused because the keyring does not know them.',
  transferAcksMismatched: 'Transfer acknowledgements whose hash differed from this node’s copy.',
  hintsDropped: 'Hints refused or deleted because their target is not a node of the ring.',
};

/** Writes in one committed batch: 1 (a lone write) up to the store's batchMax (1,000). */
const batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** What the metrics read from the running node process at scrape time. */
export interface WatchedNode {
  node: StorageNode;
  store: SqliteListStore;
  clock: Clock;
  transport: { rejected: number; dropped: number; handshakesRefused: number };
  /** `changed` notices sent to the proxies (one per accepted write coordinated here, to each proxy). */
  noticesSent: () => number;
  /** The node's front (its own client port's state machine), if it has one. */
  front?: Proxy | undefined;
}

export class NodeMetrics {
  readonly metrics: Metrics;
  /** For StorageNodeOptions.observer. */
  readonly observer: NodeObserver;
  /** For SqliteListStoreOptions.onDurable. */
  readonly onDurable: (batch: { writes: number; ms: number }) => void;

  constructor(health: ProcessHealth | undefined) {
    const m = new Metrics('trolley_node', health);
    this.metrics = m;
    const requests = m.requestObserver([
      'put',
      'get',
      'replica_write',
      'hinted_write',
      'read_repair',
      'handover',
      'anti_entropy',
    ]);
    const reads = new Counter({
      name: 'trolley_node_reads_divergent_total',
      help: 'Client reads where at least one replica that answered lacked part of the merged state.',
      registers: [m.registry],
    });
    const replicas = new Counter({
      name: 'trolley_node_read_replicas_divergent_total',
      help: 'Replica answers to client reads that lacked part of the merged state (each read-repaired).',
      registers: [m.registry],
    });
    this.observer = {
      request: (kind, outcome, ms, cause) => requests.request(kind, outcome, ms, cause),
      read: (answered, inSync) => {
        if (answered <= inSync) return;
        reads.inc();
        replicas.inc(answered - inSync);
      },
    };
    const batchWrites = new Histogram({
      name: 'trolley_node_store_batch_writes',
      help: 'Writes per committed store batch (group commit).',
      buckets: batchBuckets,
      registers: [m.registry],
    });
    const commit = new Histogram({
      name: 'trolley_node_store_commit_duration_seconds',
      help: 'Time from a batch’s commit start to the fdatasync that made it durable.',
      buckets: [...latencyBucketsS],
      registers: [m.registry],
    });
    this.onDurable = ({ writes, ms }) => {
      batchWrites.observe(writes);
      commit.observe(ms / 1000);
    };
  }

  /** Registers what is read from the running node at scrape time. */
  watch(w: WatchedNode): void {
    const m = this.metrics;
    const { node, store } = w;
    m.info({ node: node.id });
    m.countersOf(counterHelp, () => node.counters);
    // The front counts as a proxy does (trolley_node_front_*: the proxy's metrics, docs/METRICS.md).
    if (w.front !== undefined) clientPortMetrics(m, 'trolley_node_front', w.front);
    m.gauge('trolley_node_ring_version', 'Version of the ring this node follows (0: none yet).', () =>
      Number(node.ring?.version ?? 0),
    );
    m.gauge(
      'trolley_node_ring_nodes',
      'Nodes in the ring this node follows.',
      () => node.ring?.nodes.length ?? 0,
    );
    m.gauge(
      'trolley_node_partitions_owned',
      'Ring partitions this node is the first owner of (strategy 3: Q equal partitions).',
      () => {
        const ring = node.ring;
        return ring === undefined ? 0 : ring.owners.filter((o) => o === node.id).length;
      },
    );
    m.gauge(
      'trolley_node_partitions_held',
      'Partitions this node holds lists in.',
      () => store.countByPartition().size,
    );
    m.gauge('trolley_node_lists', 'Lists this node holds.', () => store.count());
    m.gauge('trolley_node_hints_waiting', 'Hints held here, waiting for their owner.', () =>
      store.hintCount(),
    );
    m.gauge(
      'trolley_node_requests_in_flight',
      'Client puts and gets this node is coordinating now.',
      () => node.pending,
    );
    m.gauges(
      'trolley_node_members',
      'Members this node knows, by their liveness as it sees them.',
      ['liveness'],
      () => {
        const now = w.clock.monotonicMs();
        const by = new Map<string, number>([
          ['alive', 0],
          ['suspect', 0],
          ['down', 0],
        ]);
        for (const x of node.membership.view())
          if (x.id !== node.id) {
            const l = node.membership.liveness(x.id, now);
            by.set(l, (by.get(l) ?? 0) + 1);
          }
        return [...by].map(([liveness, n]) => [{ liveness }, n] as const);
      },
    );
    const storeStats = (): ReturnType<SqliteListStore['stats']> => store.stats();
    m.counter('trolley_node_store_batches_total', 'Store batches committed.', () => storeStats().batches);
    m.counter(
      'trolley_node_store_writes_total',
      'Store writes committed (in those batches).',
      () => storeStats().writes,
    );
    m.counter(
      'trolley_node_store_failed_batches_total',
      'Store batches whose commit failed.',
      () => storeStats().failedBatches,
    );
    m.counter(
      'trolley_node_store_syncs_total',
      'fdatasyncs of the WAL that acknowledged batches.',
      () => storeStats().syncs,
    );
    m.counter(
      'trolley_node_transport_rejected_total',
      'Peer messages dropped for a wrong frame count or credential.',
      () => w.transport.rejected,
    );
    m.counter(
      'trolley_node_transport_dropped_total',
      'Frames dropped because a socket’s queue was full or had no peer.',
      () => w.transport.dropped,
    );
    m.counter(
      'trolley_node_handshakes_refused_total',
      'CURVE handshakes refused on the peer port.',
      () => w.transport.handshakesRefused,
    );
    m.counter(
      'trolley_node_notices_sent_total',
      'Notices of accepted writes (`changed`) sent to the proxies.',
      w.noticesSent,
    );
  }
}
