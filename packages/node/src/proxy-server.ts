// A proxy process: the Proxy state machine between two ZeroMQ ROUTERs (seed 2):
//   clients ──DEALER──► ROUTER :5555 (frontend)      frames [client, payload]
//   nodes   ──DEALER──► ROUTER :5556 (backend)       frames [node, credential, client, payload]
//
// Secure (the usual case), both are CURVE servers with the proxy's key. The client port admits any
// client key (clients are anonymous and know the proxy's public key from the cloud address,
// tcp://host:5555#KEY); the node port admits only keys of the keyring, and a node frame counts
// only if its credential is the key of the node its routing ID names.

import { Proxy, type Logger } from '@trolley/cloud';
import { systemClock } from './clock.ts';
import { MemberAuth, claimedKey } from './keys.ts';
import { serveMetrics, type MetricsAddress, type MetricsServer } from './metrics-server.ts';
import { watchProcessHealth } from './process-health.ts';
import { ProxyMetrics } from './proxy-metrics.ts';
import { releaseZapDomain, zapDomain } from './zap.ts';
import { Sender, receiveLoop, router, watchHandshakes } from './zmq.ts';
import { openClientPort } from './client-port.ts';

export interface ProxyServerOptions {
  name: string;
  clientEndpoint: string;
  nodeEndpoint: string;
  replicas: number;
  logger: Logger;
  /**
   * The keys folder: NAME.key (this proxy's key, `name` its ID) and the keyring. Undefined: an
   * insecure proxy, for benchmarks only.
   */
  keysDir: string | undefined;
  /** Serve Prometheus metrics over HTTP here (docs/METRICS.md); absent: no metrics port. */
  metrics?: MetricsAddress;
}

export interface RunningProxy {
  proxy: Proxy;
  /** http://host:port/metrics, or undefined without a metrics port. */
  metricsUrl: string | undefined;
  /** The proxy's public key (base64url), which clients put after # in the cloud address. */
  publicKey: string | undefined;
  /** Handshakes refused on the node port and on the client port. */
  handshakesRefused(): { nodePort: number; clientPort: number };
  stop(): Promise<void>;
}

export async function startProxy(o: ProxyServerOptions): Promise<RunningProxy> {
  const log = o.logger;
  const health = watchProcessHealth();
  const metrics = o.metrics === undefined ? undefined : new ProxyMetrics(health);
  const auth = MemberAuth.load(o.keysDir, { id: o.name, role: 'proxy' }, (problem) =>
    log.warn('keyring', { problem }),
  );
  const keys = auth.keys;
  const members = keys === undefined ? undefined : await zapDomain(auth.keyring, log);
  const clientPort = await openClientPort(o.clientEndpoint, keys, log);
  const backend = router(
    keys === undefined || members === undefined ? undefined : { keys, zapDomain: members.domain },
  );
  const nodeHandshakes = watchHandshakes(backend, 'node port', log);
  const handshakesRefused = (): { nodePort: number; clientPort: number } => ({
    nodePort: nodeHandshakes(),
    clientPort: clientPort.handshakesRefused(),
  });
  const close = (): void => {
    clientPort.close();
    backend.close();
    if (members !== undefined) releaseZapDomain(members.domain);
  };
  try {
    await backend.bind(o.nodeEndpoint);
  } catch (e) {
    close();
    throw e;
  }
  const toClients = clientPort.sender;
  const toNodes = new Sender(backend, log);
  const proxy = new Proxy({
    name: o.name,
    replicas: o.replicas,
    nodeSilenceMsMax: 3_000,
    clock: systemClock,
    logger: log,
    transportStats: () => ({
      handshakesRefused: handshakesRefused(),
      health: health.read(),
    }),
    transport: {
      toNode: (node, client, frame) => toNodes.send([Buffer.from(node), client, frame]),
      toClient: (client, frame) => toClients.send([client, frame]),
    },
    ...(metrics === undefined ? {} : { observer: metrics.observer }),
  });
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && o.metrics !== undefined) {
    metrics.watch(proxy, o.name, handshakesRefused);
    try {
      metricsServer = await serveMetrics({ metrics: metrics.metrics, ...o.metrics, logger: log });
    } catch (e) {
      health.stop();
      close();
      throw e;
    }
  }
  clientPort.serve(proxy);
  void receiveLoop(
    backend,
    (frames) => {
      const routingId = (frames[0] ?? Buffer.alloc(0)).toString();
      if (frames.length !== 4)
        return proxy.refuseNodeFrame(routingId, `${frames.length} ZeroMQ frames, not 4`, 0);
      // The routing ID is whatever the connecting socket chose; the credential says who it is.
      const from = auth.sender(frames[1] as Buffer);
      if (from?.role !== 'node' || from.id !== routingId)
        return proxy.refuseNodeFrame(
          routingId,
          from === undefined
            ? `no member credential (${claimedKey(frames[1] as Buffer)})`
            : `the credential of ${from.role} ${from.id}, not of node ${routingId}`,
          (frames[3] as Buffer).length,
        );
      proxy.onNodeFrame(routingId, frames[2] as Buffer, frames[3] as Buffer);
    },
    log,
  );
  const tickTimer = setInterval(() => proxy.tick(), 1_000);
  return {
    proxy,
    metricsUrl: metricsServer?.url,
    publicKey: keys?.publicKey,
    handshakesRefused,
    stop: async () => {
      clearInterval(tickTimer);
      health.stop();
      await metricsServer?.stop();
      close();
      await Promise.resolve();
    },
  };
}
