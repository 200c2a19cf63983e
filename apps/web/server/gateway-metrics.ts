// A gateway's metrics (docs/METRICS.md): its counters (GatewayStats) one by one, its connections
// and watches as gauges, and the time each browser put and get took from its frame to the reply
// (relayed through the cloud).

import { Metrics, type ProcessHealth } from '@trolley/node';
import type { RequestObserver } from '@trolley/cloud';
import type { GatewayStats } from './gateway.ts';

type GatewayCounters = Omit<GatewayStats, 'connections' | 'watchedLists' | 'watchEntries'>;

/** One line of help per gateway counter: `trolley_gateway_<snake_case>_total`. */
const counterHelp: { readonly [K in keyof GatewayCounters]: string } = {
  accepted: 'WebSocket connections accepted.',
  refused: 'WebSocket upgrades refused (too many connections, or not at /sync).',
  framesIn: 'Frames received from browsers.',
  malformed: 'Browser frames that did not decode, and text frames.',
  tooLarge: 'Browser frames over messageBytesMax (the connection was closed).',
  unknownType: 'Messages a browser may not send.',
  overloaded: 'Browser puts and gets refused because the connection had too many in flight.',
  late: 'Browser puts and gets whose deadline had passed on arrival.',
  errorsSent: '`error` frames sent to browsers.',
  puts: 'Browser puts relayed to the cloud.',
  gets: 'Browser gets relayed to the cloud.',
  watches: '`watch` messages from browsers.',
  changedIn: 'Notices of changed lists (`changed`) received from the proxies.',
  changedPushed: 'Notices pushed to browsers watching the list.',
  changedDropped: 'Notices skipped because the browser’s send buffer was full.',
  timedOut: 'Connections cut because they missed a pong.',
  watchesCut: '`watch` messages not watched in full (the watch table was full).',
  watchListsRefused: 'Lists those `watch` messages asked for that were not watched.',
  watchListsTaken: 'Watches taken from the connections holding the most, to make room (max-min fairness).',
};

export class GatewayMetrics {
  readonly metrics: Metrics;
  readonly observer: RequestObserver;

  constructor(health: ProcessHealth | undefined) {
    this.metrics = new Metrics('trolley_gateway', health);
    this.observer = this.metrics.requestObserver(['put', 'get']);
  }

  /** Registers what is read from the running gateway at scrape time. */
  watch(name: string, stats: () => GatewayStats): void {
    const m = this.metrics;
    m.info({ gateway: name });
    m.countersOf<GatewayCounters>(counterHelp, stats);
    m.gauge(
      'trolley_gateway_connections',
      'Browser WebSocket connections open now.',
      () => stats().connections,
    );
    m.gauge(
      'trolley_gateway_watched_lists',
      'Lists watched on the cloud now (the union of every connection’s set).',
      () => stats().watchedLists,
    );
    m.gauge(
      'trolley_gateway_watch_entries',
      '(connection, list) watches held now.',
      () => stats().watchEntries,
    );
  }
}
