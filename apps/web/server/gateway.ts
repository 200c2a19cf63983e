// The gateway between browsers and the cloud (DESIGN.md §2, PROTOCOL.md §7): one HTTP port that
// serves the built web app and, at /sync, WebSockets that speak the wire codec, one binary frame
// per message. Browsers may only put, get, watch and say hello; puts and gets are relayed through
// one shared CloudClient (ZeroMQ to each list's coordinator's front, direct by default, or to the
// proxies) under the browser's request ID, and `changed` pushes from the cloud go to every
// connection watching that list. The gateway keeps no data: a browser re-sends its watch after
// reconnecting, to this gateway or another one.
//
// Everything that arrives from a browser is bounded (frame size, requests in flight, watched
// lists, connections) and counted; bad input gets an `error` frame, never a crash, and a warning
// in the log (at most a few lines a second per reason: RefusalLog) naming the connection by its
// number and remote address. Watches are shared fairly: a WatchTable (max-min fair when full, as
// in a proxy), so that connections watching many lists cannot push out one watching few.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import sirv from 'sirv';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  TrolleyError,
  WIRE_VERSION,
  decodeClientMessage,
  encodeMessage,
  foreignMessage,
  limits,
  messageBytesMax,
  type ListId,
  type Message,
  type MessageOf,
  type WireErrorName,
} from '@trolley/core';
import { RefusalLog, WatchTable, refusalCause, silentLogger, type Logger } from '@trolley/cloud';
import {
  CloudClient,
  CloudRefusedError,
  serveMetrics,
  systemClock,
  watchProcessHealth,
  type MetricsAddress,
  type MetricsServer,
} from '@trolley/node';
import { GatewayMetrics } from './gateway-metrics.ts';
import { OperatorPage, routeOperator, type OperatorOptions } from './operator.ts';

export interface GatewayOptions {
  /** Client endpoints of the proxies (tcp://host:5555,…); the CloudClient fails over between them. */
  cloud: readonly string[];
  host: string;
  /** 0: any free port. */
  port: number;
  /** The built web app (apps/web/dist); absent: pages answer 404, /sync and /healthz still work. */
  webRoot?: string;
  logger?: Logger;
  /** How often every connection is pinged (default limits.gatewayPingIntervalMs); for tests. */
  pingIntervalMs?: number;
  /** Its name in gateway-hello and hello-reply. */
  name?: string;
  /**
   * Serve each list at its coordinator's front when the cloud names one (CloudClient, "Direct"):
   * browser to browser in four hops, not six. Default true; false: every list through the proxies
   * (ARCHITECTURE.md, "Live updates").
   */
  direct?: boolean;
  /**
   * The address people reach the app at (http(s)://host:port/), for share links and QR codes; the
   * app reads it from /app-config.json. Absent: share links use the address the page was opened at.
   */
  publicUrl?: string;
  /** Serve Prometheus metrics over HTTP here (docs/METRICS.md), apart from the public port; absent: none. */
  metrics?: MetricsAddress;
  /** The cluster page for operators at /operator (operator.ts); absent: off (404). */
  operator?: OperatorOptions;
}

/** A public URL as the app uses it: http(s), no fragment or query, ending in '/'. Throws TrolleyError. */
export function checkPublicUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TrolleyError(
      'invalid_argument',
      `a public URL must be like http://192.168.1.20:8080/, not ${JSON.stringify(text)}`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '')
    throw new TrolleyError(
      'invalid_argument',
      `a public URL must be http(s)://host[:port]/path/, not ${JSON.stringify(text)}`,
    );
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** Counters since start; `connections` is the number open now. */
export interface GatewayStats {
  connections: number;
  /** Connections accepted since start. */
  accepted: number;
  /** Upgrades refused: over gatewayConnectionsMax (503) or not at /sync (404). */
  refused: number;
  framesIn: number;
  /** Frames that did not decode, and text frames. */
  malformed: number;
  /** Frames over messageBytesMax (the connection was closed with 1009). */
  tooLarge: number;
  /** Messages a browser may not send. */
  unknownType: number;
  /** Requests refused because the connection had too many in flight. */
  overloaded: number;
  /** Requests whose deadline had passed on arrival. */
  late: number;
  errorsSent: number;
  puts: number;
  gets: number;
  watches: number;
  changedIn: number;
  changedPushed: number;
  /** Pushes skipped because the connection's send buffer was over gatewaySendBufferBytesMax. */
  changedDropped: number;
  /** Connections cut because they missed a pong. */
  timedOut: number;
  /** `watch` messages not watched in full: the gateway's watch table was full. */
  watchesCut: number;
  /** Lists those messages asked for that are not watched. */
  watchListsRefused: number;
  /** Watches taken from the connections holding the most to make room for others (max-min fairness). */
  watchListsTaken: number;
  /** Lists watched on the cloud now (the union of every connection's set). */
  watchedLists: number;
  /** (connection, list) watches held now (at most gatewayWatchedListsMax). */
  watchEntries: number;
}

export interface RunningGateway {
  /** http://host:port/ */
  url: string;
  port: number;
  /** http://host:port/metrics, or undefined without a metrics port. */
  metricsUrl: string | undefined;
  stats(): GatewayStats;
  /** Closes every WebSocket, the HTTP server and the CloudClient. Idempotent. */
  stop(): Promise<void>;
}

interface Connection {
  ws: WebSocket;
  id: number;
  /** The peer's address and port, as the TCP connection shows it (a TLS proxy's, behind one). */
  remote: string;
  inFlight: number;
  alive: boolean;
}

/**
 * On every HTTP answer. A list's ID is the key to it, so a script injected into the page could
 * read every list on the device: the policy lets the page run only its own files and talk only to
 * its own origin (the WebSocket included). QR codes are data: images. Styles: the app's own files,
 * and the <style> blocks of its index.html (where the build puts the app's CSS, so that the first
 * paint waits for no second request), each allowed by its SHA-256 (`inlineStyleSources`).
 */
function securityHeaders(styleSources: readonly string[]): readonly [string, string][] {
  return [
    [
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self'; style-src ${["'self'", ...styleSources].join(' ')}; ` +
        "img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; " +
        "base-uri 'none'; frame-ancestors 'none'",
    ],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
  ];
}

/**
 * The CSP sources ('sha256-…') of the <style> blocks in the app's index.html; none without one.
 * Read once at start, as sirv reads the list of files it serves: a rebuild needs a restart.
 */
function inlineStyleSources(webRoot: string | undefined): string[] {
  if (webRoot === undefined) return [];
  let html: string;
  try {
    html = readFileSync(join(webRoot, 'index.html'), 'utf8');
  } catch {
    return [];
  }
  return [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}'`,
  );
}

/** Starts a gateway; resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.logger ?? silentLogger;
  const name = options.name ?? 'trolley gateway';
  const cloud = new CloudClient(options.cloud, { logger: log, direct: options.direct ?? true });
  const health = options.metrics === undefined ? undefined : watchProcessHealth();
  const metrics = health === undefined ? undefined : new GatewayMetrics(health);
  const counters: Omit<GatewayStats, 'connections' | 'watchedLists' | 'watchEntries'> = {
    accepted: 0,
    refused: 0,
    framesIn: 0,
    malformed: 0,
    tooLarge: 0,
    unknownType: 0,
    overloaded: 0,
    late: 0,
    errorsSent: 0,
    puts: 0,
    gets: 0,
    watches: 0,
    changedIn: 0,
    changedPushed: 0,
    changedDropped: 0,
    timedOut: 0,
    watchesCut: 0,
    watchListsRefused: 0,
    watchListsTaken: 0,
  };
  const connections = new Set<Connection>();
  /** Who watches which list: each connection's set, replaced by its every watch. No lease: a set lasts as long as its connection. */
  const watches = new WatchTable<Connection>({
    capacity: limits.gatewayWatchedListsMax,
    perClientMax: limits.watchedListsMax,
  });
  /** The table's listsVersion when the union was last sent to the cloud. */
  let watchesSent = watches.listsVersion;
  const refusals = new RefusalLog({ logger: log, clock: systemClock });
  const refused = (c: Connection | undefined, reason: string, fields: Record<string, unknown> = {}): void =>
    refusals.warn(
      'browser frame refused',
      reason,
      c === undefined ? fields : { connection: c.id, remote: c.remote, ...fields },
    );
  let nextConnectionId = 1;
  let stopped = false;
  let watchFlush: NodeJS.Immediate | undefined;

  // ---- HTTP: the app, /healthz, and the upgrade to /sync ----

  const headers = securityHeaders(inlineStyleSources(options.webRoot));
  const publicUrl = options.publicUrl === undefined ? undefined : checkPublicUrl(options.publicUrl);
  const serveApp =
    options.webRoot === undefined
      ? undefined
      : sirv(options.webRoot, {
          single: true,
          etag: true,
          // The build writes each file also as .br and .gz (vite.config.ts): sent when the browser
          // accepts them (Vary: Accept-Encoding).
          brotli: true,
          gzip: true,
          // Vite names the files under /assets/ by their content hash: they never change. Everything
          // else (index.html, also as the SPA fallback; sw.js; the manifest) is revalidated (ETag).
          setHeaders: (res, pathname) =>
            res.setHeader(
              'Cache-Control',
              pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
            ),
        });

  const operatorPage =
    options.operator === undefined
      ? undefined
      : new OperatorPage(
          options.operator,
          () => cloud.proxyStats(1_500),
          options.webRoot,
          log,
          (reason, fields) => refusals.warn('operator request refused', reason, fields),
        );

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      for (const [name, value] of headers) res.setHeader(name, value);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (routeOperator(operatorPage, req, res, path)) return;
      if (path === '/healthz') {
        const body = JSON.stringify({ ok: true, connections: connections.size });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(body);
        return;
      }
      if (path === '/app-config.json') {
        const body = JSON.stringify({ publicUrl: publicUrl ?? null });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(body);
        return;
      }
      if (serveApp === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('no web app here: start the gateway with --web <dir>\n');
        return;
      }
      serveApp(req, res);
    } catch (e) {
      log.error('http request failed', { cause: String(e) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };

  const server = createServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: messageBytesMax });

  const refuseUpgrade = (socket: Duplex, status: string, remote: string): void => {
    counters.refused++;
    refusals.warn('upgrade refused', 'upgrade', { remote, status });
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      socket.on('error', (e) => log.debug('upgrade socket error', { cause: String(e) }));
      const path = (req.url ?? '/').split('?')[0];
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      if (path !== '/sync') return refuseUpgrade(socket, '404 Not Found', remote);
      if (stopped || connections.size >= limits.gatewayConnectionsMax)
        return refuseUpgrade(socket, '503 Service Unavailable', remote);
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, remote));
    } catch (e) {
      log.error('upgrade failed', { cause: String(e) });
      socket.destroy();
    }
  });

  // ---- the cloud side ----

  const stopListening = cloud.watch([], (listId, delta) => {
    try {
      counters.changedIn++;
      const set = watches.watchersOf(listId, 0);
      if (set.length === 0) return;
      const frame = encodeMessage({ type: 'changed', requestId: 0, listId, delta });
      for (const c of set) {
        if (c.ws.readyState !== c.ws.OPEN) continue;
        if (c.ws.bufferedAmount > limits.gatewaySendBufferBytesMax) {
          counters.changedDropped++;
          continue;
        }
        counters.changedPushed++;
        c.ws.send(frame);
      }
    } catch (e) {
      log.error('changed push failed', { cause: String(e) });
    }
  });

  /** Sends the union of every connection's lists to the cloud, once per turn of the event loop. */
  const scheduleWatchFlush = (): void => {
    if (watchFlush !== undefined || stopped) return;
    watchFlush = setImmediate(() => {
      watchFlush = undefined;
      if (stopped || watchesSent === watches.listsVersion) return;
      watchesSent = watches.listsVersion;
      cloud.setWatched([...watches.lists()] as ListId[]);
    });
  };

  // ---- one browser connection ----

  const send = (c: Connection, m: Message): void => {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (m.type === 'error') counters.errorsSent++;
    c.ws.send(encodeMessage(m));
  };

  const fail = (c: Connection, requestId: number, code: WireErrorName, message: string): void =>
    send(c, { type: 'error', requestId, code, message });

  /**
   * Replaces the connection's watched set with as much of `listIds` as the table has room for;
   * the rest is refused with `overloaded` (under the watch's request ID, which browsers do not
   * wait for: it is for the record).
   */
  const setWatched = (c: Connection, requestId: number, listIds: readonly ListId[]): void => {
    const r = watches.replace(String(c.id), c, listIds, 0);
    for (const n of r.taken.values()) counters.watchListsTaken += n;
    if (r.taken.size > 0)
      log.debug('watches taken for a fair share', { connection: c.id, from: r.taken.size });
    if (watches.listsVersion !== watchesSent) scheduleWatchFlush();
    if (r.refused === 0) return;
    counters.watchesCut++;
    counters.watchListsRefused += r.refused;
    refused(c, 'watch_refused', { watched: r.watched, refused: r.refused, connections: connections.size });
    fail(
      c,
      requestId,
      'overloaded',
      `watching ${r.watched} of ${r.watched + r.refused} lists: this gateway's watch table is full and ` +
        `${r.watched} is this connection's fair share; the others are not watched`,
    );
  };

  /** The time a request may take: until its deadline (gateway clock), at most deadlineMsMax. */
  const timeLeft = (deadlineMs: number): number => Math.min(deadlineMs - Date.now(), limits.deadlineMsMax);

  const relayPut = async (c: Connection, m: MessageOf<'put'>, startMs: number): Promise<void> => {
    const r = await cloud.put(m.listId, m.delta, {
      timeoutMs: timeLeft(m.deadlineMs),
      opId: m.opId,
      ...(m.writer === undefined ? {} : { writer: m.writer }), // the browser's, passed on as it came
    });
    metrics?.observer.request('put', r.outcome, performance.now() - startMs);
    send(c, { type: 'put-reply', requestId: m.requestId, ...r });
  };

  const relayGet = async (c: Connection, m: MessageOf<'get'>, startMs: number): Promise<void> => {
    const r = await cloud.get(m.listId, m.context, { timeoutMs: timeLeft(m.deadlineMs) });
    metrics?.observer.request('get', 'ok', performance.now() - startMs);
    send(c, {
      type: 'get-reply',
      requestId: m.requestId,
      delta: r.delta,
      answered: r.answered,
      inSync: r.inSync,
      replicas: r.replicas,
    });
  };

  const relay = (c: Connection, m: MessageOf<'put'> | MessageOf<'get'>): void => {
    if (timeLeft(m.deadlineMs) <= 0) {
      counters.late++;
      metrics?.observer.request(m.type, 'refused', 0, 'deadline_exceeded');
      refused(c, 'deadline_exceeded', { type: m.type, requestId: m.requestId });
      return fail(c, m.requestId, 'deadline_exceeded', 'the deadline had passed when the gateway got it');
    }
    if (c.inFlight >= limits.gatewayRequestsInFlightMax) {
      counters.overloaded++;
      metrics?.observer.request(m.type, 'refused', 0, 'overloaded');
      refused(c, 'overloaded', { type: m.type, requestId: m.requestId });
      return fail(
        c,
        m.requestId,
        'overloaded',
        `${limits.gatewayRequestsInFlightMax} requests in flight on this connection; wait for replies`,
      );
    }
    c.inFlight++;
    if (m.type === 'put') counters.puts++;
    else counters.gets++;
    const startMs = performance.now();
    const work = m.type === 'put' ? relayPut(c, m, startMs) : relayGet(c, m, startMs);
    work
      .catch((e: unknown) => {
        // A get that timed out, a refusal from the cloud (CloudClient throws), or a bug here.
        const code =
          e instanceof CloudRefusedError ? e.wireCode : m.type === 'get' ? 'unavailable' : 'internal';
        const ms = performance.now() - startMs;
        if (e instanceof CloudRefusedError)
          metrics?.observer.request(m.type, 'refused', ms, refusalCause(code));
        else metrics?.observer.request(m.type, m.type === 'get' ? 'timeout' : 'failed', ms);
        log.debug('relay failed', { type: m.type, cause: String(e) });
        fail(c, m.requestId, code, e instanceof Error ? e.message : String(e));
      })
      .finally(() => {
        c.inFlight--;
      })
      .catch(() => undefined);
  };

  const onFrame = (c: Connection, data: RawData, isBinary: boolean): void => {
    counters.framesIn++;
    if (!isBinary) {
      counters.malformed++;
      refused(c, 'malformed', { detail: 'a text frame' });
      return fail(c, 0, 'malformed', 'text frames are not spoken here: send one binary frame per message');
    }
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    // The client plane only: a well-formed message of another plane is a type a browser may not send.
    const decoded = decodeClientMessage(bytes);
    const foreign = decoded.ok ? undefined : foreignMessage(bytes, decoded.error);
    if (foreign !== undefined) return unknownType(c, foreign.type, foreign.requestId);
    if (!decoded.ok) {
      counters.malformed++;
      refused(c, 'malformed', { bytes: bytes.length, detail: decoded.error.message });
      return fail(c, 0, 'malformed', decoded.error.message);
    }
    const m = decoded.value;
    switch (m.type) {
      case 'hello':
        return send(c, {
          type: 'hello-reply',
          requestId: m.requestId,
          version: WIRE_VERSION,
          server: name,
          messageBytesMax,
          wallMs: Date.now(),
        });
      case 'put':
      case 'get':
        return relay(c, m);
      case 'watch':
        counters.watches++;
        return setWatched(c, m.requestId, m.listIds);
      case 'hello-reply':
      case 'put-reply':
      case 'get-reply':
      case 'error':
      case 'changed':
      case 'gateway-hello':
      case 'locate': // a browser cannot reach a front (ZeroMQ): the gateway locates lists itself
      case 'locate-reply':
        return unknownType(c, m.type, m.requestId);
    }
  };

  const unknownType = (c: Connection, type: string, requestId: number): void => {
    counters.unknownType++;
    refused(c, 'unknown_type', { type, requestId });
    fail(c, requestId, 'unknown_type', `a browser may not send ${type} to the gateway`);
  };

  const onConnection = (ws: WebSocket, remote: string): void => {
    const c: Connection = { ws, id: nextConnectionId++, remote, inFlight: 0, alive: true };
    connections.add(c);
    counters.accepted++;
    ws.on('message', (data, isBinary) => {
      try {
        onFrame(c, data, isBinary);
      } catch (e) {
        log.error('frame handling failed', { cause: String(e) });
        try {
          fail(c, 0, 'internal', 'the gateway failed on this frame');
        } catch {
          // the socket is gone
        }
      }
    });
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        counters.tooLarge++;
        refused(c, 'too_large', { detail: 'a frame over messageBytesMax: connection closed (1009)' });
      }
      log.debug('websocket error', { connection: c.id, cause: String(e) });
    });
    ws.on('close', () => {
      connections.delete(c);
      watches.remove(String(c.id));
      if (watches.listsVersion !== watchesSent) scheduleWatchFlush();
    });
    send(c, { type: 'gateway-hello', requestId: 0, wallMs: Date.now(), messageBytesMax, server: name });
  };

  // Says how many refusals were not logged one by one, once their second is over.
  const refusalTimer = setInterval(() => refusals.flush(), 1_000);
  refusalTimer.unref();
  const pingTimer = setInterval(() => {
    for (const c of connections) {
      try {
        if (!c.alive) {
          counters.timedOut++;
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      } catch (e) {
        log.debug('ping failed', { connection: c.id, cause: String(e) });
      }
    }
  }, options.pingIntervalMs ?? limits.gatewayPingIntervalMs);
  pingTimer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    clearInterval(pingTimer);
    clearInterval(refusalTimer);
    stopListening();
    cloud.close();
    wss.close();
    throw e;
  });
  server.on('error', (e) => log.error('http server error', { cause: String(e) }));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  log.info('gateway listening', { port, cloud: options.cloud });
  const stats = (): GatewayStats => ({
    ...counters,
    connections: connections.size,
    watchedLists: watches.listCount,
    watchEntries: watches.entries,
  });
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && options.metrics !== undefined) {
    metrics.watch(name, stats);
    try {
      metricsServer = await serveMetrics({ metrics: metrics.metrics, ...options.metrics, logger: log });
    } catch (e) {
      health?.stop();
      clearInterval(pingTimer);
      clearInterval(refusalTimer);
      stopListening();
      cloud.close();
      wss.close();
      server.close();
      throw e;
    }
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      operatorPage?.stop();
      clearInterval(pingTimer);
      clearInterval(refusalTimer);
      if (watchFlush !== undefined) clearImmediate(watchFlush);
      const closed = [...connections].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === c.ws.CLOSED) return resolve();
            const force = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, 500);
            c.ws.once('close', () => {
              clearTimeout(force);
              resolve();
            });
            c.ws.close(1001, 'gateway stopping');
          }),
      );
      await Promise.all(closed);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      stopListening();
      cloud.close();
      health?.stop();
      await metricsServer?.stop();
    })();
    return stopping;
  };

  return {
    url: `http://${urlHost}:${port}/`,
    port,
    metricsUrl: metricsServer?.url,
    stats,
    stop,
  };
}
