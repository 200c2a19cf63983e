// A proxy's metrics (docs/METRICS.md): its counters (cloud/src/proxy.ts) one by one, the nodes it
// routes to, its watches and requests in flight as gauges, and the time each put and get took from
// forwarding to the coordinator's answer (the proxy's observer port).

import type { Proxy, ProxyCounters, RequestObserver } from '@trolley/cloud';
import { Metrics } from './metrics.ts';
import type { ProcessHealth } from './process-health.ts';

/** One line of help per proxy counter: `trolley_proxy_<snake_case>_total`. */
const counterHelp: { readonly [K in keyof ProxyCounters]: string } = {
  clientFrames: 'Frames received from clients.',
  nodeFrames: 'Frames received from storage nodes.',
  forwarded: 'Client puts and gets forwarded to a coordinator.',
  rejected: 'Frames refused or dropped, client and node frames alike.',
  unavailable: 'Client puts and gets refused because no node of the list’s preference list was live.',
  notified: 'Notices of changed lists (`changed`) pushed to watching clients.',
  malformed: 'Client frames that did not decode.',
  unsupportedVersion: 'Client frames of another wire version.',
  unknownType: 'Client messages a client may not send to a proxy.',
  badFrameCount: 'Client messages with a wrong number of ZeroMQ frames.',
  overloaded: 'Client puts and gets refused because the client had its quota in flight.',
  watchesCut: '`watch` messages not watched in full (the watch table was full).',
  watchListsRefused: 'Lists those `watch` messages asked for that were not watched.',
  watchListsTaken: 'Watches taken from the clients holding the most, to make room (max-min fairness).',
  badNodeFrames: 'Frames from nodes that a node may not send the proxy.',
  writesRefused: 'Client writes a coordinator refused (the write check, or a list’s limits).',
};

export class ProxyMetrics {
  readonly metrics: Metrics;
  /** For ProxyOptions.observer. */
  readonly observer: RequestObserver;

  constructor(health: ProcessHealth | undefined) {
    this.metrics = new Metrics('trolley_proxy', health);
    this.observer = this.metrics.requestObserver(['put', 'get']);
  }

  /** Registers what is read from the running proxy at scrape time. */
  watch(proxy: Proxy, name: string, handshakesRefused: () => { nodePort: number; clientPort: number }): void {
    const m = this.metrics;
    m.info({ proxy: name });
    clientPortMetrics(m, 'trolley_proxy', proxy);
    m.gauge(
      'trolley_proxy_ring_version',
      'Version of the newest ring the nodes’ hellos carried (0: none yet).',
      () => Number(proxy.ring?.version ?? 0),
    );
    m.gauges(
      'trolley_proxy_nodes',
      'Nodes that said hello, by state: live (a hello within 3 s) or silent.',
      ['state'],
      () => {
        const nodes = proxy.nodeViews();
        const live = nodes.filter((n) => n.live).length;
        return [
          [{ state: 'live' }, live],
          [{ state: 'silent' }, nodes.length - live],
        ];
      },
    );
    m.counters(
      'trolley_proxy_handshakes_refused_total',
      'CURVE handshakes refused, by port.',
      ['port'],
      () => {
        const h = handshakesRefused();
        return [
          [{ port: 'client' }, h.clientPort],
          [{ port: 'node' }, h.nodePort],
        ];
      },
    );
  }
}

/**
 * What a client port's state machine counts and holds (a proxy's, or a storage node's front, under
 * `prefix`): its counters one by one, its watches and its requests in flight.
 */
export function clientPortMetrics(m: Metrics, prefix: string, proxy: Proxy): void {
  m.countersOf(counterHelp, () => proxy.counters, prefix);
  const gauges: [string, string, () => number][] = [
    ['watch_clients', 'Clients watching lists for live updates now.', () => proxy.watchCounts().clients],
    ['watched_lists', 'Lists watched by at least one client now.', () => proxy.watchCounts().lists],
    ['watch_entries', '(client, list) watches held now.', () => proxy.watchCounts().entries],
    [
      'requests_in_flight',
      'Client puts and gets forwarded and not yet answered.',
      () => proxy.inFlightCounts().requests,
    ],
    ['clients_in_flight', 'Clients with puts or gets in flight.', () => proxy.inFlightCounts().clients],
  ];
  for (const [name, help, read] of gauges) m.gauge(`${prefix}_${name}`, help, read);
}
