// The HTTP port a process serves its Prometheus metrics on (`--metrics-port`): GET /metrics, the
// text exposition; anything else 404 (405 for another method). A port of its own, apart from the
// member ports (ZeroMQ) and the gateway's public one, so that it can be bound where only the
// monitoring system reaches it (127.0.0.1 by default). The metrics name no list and no address of
// a client: node IDs, proxy names and counts.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { TrolleyError } from '@trolley/core';
import type { Logger } from '@trolley/cloud';
import type { Metrics } from './metrics.ts';

/** Where a process serves its metrics: GET http://host:port/metrics. */
export interface MetricsAddress {
  /** Address to bind (127.0.0.1: only this machine; 0.0.0.0: every interface). */
  host: string;
  /** The port (0: any free one; the CLI's --metrics-port 0 means no metrics port at all). */
  port: number;
}

export interface MetricsServerOptions extends MetricsAddress {
  metrics: Metrics;
  logger: Logger;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  stop(): Promise<void>;
}

/** Starts serving `/metrics`; resolves once bound, rejects (invalid_argument) if the port is taken. */
export async function serveMetrics(o: MetricsServerOptions): Promise<MetricsServer> {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' });
      res.end('GET /metrics\n');
      return;
    }
    o.metrics.exposition().then(
      ({ contentType, text }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (e: unknown) => {
        o.logger.error('metrics collection failed', { cause: String(e) });
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('metrics collection failed\n');
      },
    );
  };
  const server = createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new TrolleyError(
          'invalid_argument',
          e.code === 'EADDRINUSE'
            ? `metrics port ${o.port} on ${o.host} is taken; choose another with --metrics-port`
            : `cannot serve metrics on ${o.host}:${o.port}: ${e.message}`,
          { cause: e },
        ),
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  server.on('error', (e) => o.logger.error('metrics server error', { cause: String(e) }));
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  return {
    url: `http://${host}:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
