// The proxy (seed 2; DESIGN.md §2): a stateless router between clients and storage nodes. It keeps
// only what it learns from the nodes — who is connected, and the newest ring — and forwards each
// client request, unchanged, to a coordinator for its key: the first live node of the key's
// preference list. It holds no data, so any number of proxies can run and clients fail over.
// Sans-IO: frames in through onClientFrame/onNodeFrame, out through the ProxyTransport; tick()
// (every second) sweeps what lapsed.
//
// Its client port is public, so it shares itself fairly: each client (one connection, known by
// its routing ID) has at most clientRequestsInFlightMax puts and gets in flight (past it:
// `overloaded`), and its watches are one set that each `watch` replaces, kept in a WatchTable
// that is max-min fair when full. Every refused frame is counted and logged (RefusalLog: a few
// lines a second per reason) with the client's routing ID in hex. Its `stats` answer anyone, so
// they name nodes but never their addresses.
//
// It reads a client's frames as the client plane and `stats` of the admin plane (any other plane's
// message is answered `unknown_type`), a node's frames for itself as `node-hello` (gossip plane)
// and `changed` (client plane), and a node's answers to a client as the client plane.

import {
  WIRE_VERSION,
  clientCodec,
  decodeClientPortMessage,
  decoderOf,
  gossipCodec,
  limits,
  decodeClientMessage,
  decodeHeader,
  decodeRing,
  foreignMessage,
  hexOf,
  encodeMessage,
  partitionOf,
  preferenceList,
  type Clock,
  type Message,
  type NodeId,
  type RingState,
  type WireErrorName,
} from '@trolley/core';
import { noObserver, refusalCause, type RequestObserver } from './observer.ts';
import type { Logger } from './ports.ts';
import { RefusalLog } from './refusal-log.ts';
import { WatchTable } from './watch-table.ts';

/** How a proxy reads a node's frame for itself: its hello (gossip plane), `changed` (client plane). */
const decodeFromNode = decoderOf(clientCodec, gossipCodec);

/** A client's route as the transport knows it (for ZeroMQ, the ROUTER identity). Opaque here. */
export type ClientRoute = Uint8Array;

export interface ProxyTransport {
  toNode(node: string, client: ClientRoute, frame: Uint8Array): void;
  toClient(client: ClientRoute, frame: Uint8Array): void;
}

export interface ProxyOptions {
  name: string;
  replicas: number;
  /** A node that has not said hello for this long is taken for down. */
  nodeSilenceMsMax: number;
  transport: ProxyTransport;
  clock: Clock;
  logger: Logger;
  /** The process's transport counters (handshakes refused on each port), shown in stats. */
  transportStats?: () => Record<string, unknown>;
  /**
   * Told of every put and get when it ends here: answered (from forwarding to the coordinator's
   * answer), refused by the proxy or by the node (with the error's code), or given up on.
   */
  observer?: RequestObserver;
}

export interface ProxyCounters {
  clientFrames: number;
  nodeFrames: number;
  forwarded: number;
  /** Frames refused or dropped, client and node frames alike (the sum of the kinds below and more). */
  rejected: number;
  unavailable: number;
  notified: number;
  /** Client frames that did not decode (or had no header). */
  malformed: number;
  unsupportedVersion: number;
  /** Messages a client may not send to a proxy. */
  unknownType: number;
  /** Client messages with a wrong number of ZeroMQ frames (counted by the process wiring). */
  badFrameCount: number;
  /** Puts and gets refused because their client had clientRequestsInFlightMax in flight. */
  overloaded: number;
  /** `watch` messages not watched in full (the table was full: see WatchTable). */
  watchesCut: number;
  /** Lists those messages asked for that were not watched. */
  watchListsRefused: number;
  /** Watches taken from the clients holding the most to make room for others (max-min fairness). */
  watchListsTaken: number;
  /** Frames from nodes that were not what a node may send to the proxy. */
  badNodeFrames: number;
  /** Client writes a coordinator refused (the write check: `refused` or `limit_exceeded`). */
  writesRefused: number;
}

/** A node that said hello. Not its address: the proxy has no use for it, and must not tell it. */
interface KnownNode {
  id: string;
  lastHelloMs: number;
  /** Its client port as clients dial it (node-hello's `front`), if it has one: public, unlike its address. */
  front: string | undefined;
}

/** A put or get in flight (`n` times, if its request ID was used again): when it began, and when to stop waiting. */
interface Forwarded {
  n: number;
  untilMs: number;
  kind: 'put' | 'get';
  startMs: number;
}

/** One client's puts and gets in flight: request ID → how many, and when to stop waiting. */
interface InFlight {
  count: number;
  requests: Map<number, Forwarded>;
}

/**
 * How long after its deadline a forwarded request still counts as in flight: the node answers by
 * the deadline, and the answer needs a moment to come back.
 */
const replyGraceMs = 2_000;

export class Proxy {
  ring: RingState | undefined;
  readonly counters: ProxyCounters = {
    clientFrames: 0,
    nodeFrames: 0,
    forwarded: 0,
    rejected: 0,
    unavailable: 0,
    notified: 0,
    malformed: 0,
    unsupportedVersion: 0,
    unknownType: 0,
    badFrameCount: 0,
    overloaded: 0,
    watchesCut: 0,
    watchListsRefused: 0,
    watchListsTaken: 0,
    badNodeFrames: 0,
    writesRefused: 0,
  };
  private readonly nodes = new Map<string, KnownNode>();
  /** Live-update watches, by client (its route as hex). */
  private readonly watches = new WatchTable<ClientRoute>({
    capacity: limits.watchesPerProxyMax,
    perClientMax: limits.watchedListsMax,
    leaseMs: limits.watchLeaseMs,
  });
  /** Puts and gets in flight, by client (its route as hex). */
  private readonly inFlight = new Map<string, InFlight>();
  private inFlightCount = 0;
  private readonly refusals: RefusalLog;
  private readonly observer: RequestObserver;

  constructor(private readonly o: ProxyOptions) {
    this.refusals = new RefusalLog({ logger: o.logger, clock: o.clock });
    this.observer = o.observer ?? noObserver;
  }

  /** Sweeps lapsed watches and requests whose answer never came; call it every second. */
  tick(): void {
    const now = this.o.clock.monotonicMs();
    this.watches.expire(now);
    for (const [key, f] of this.inFlight) this.expireRequests(key, f, now);
    this.refusals.flush();
  }

  /**
   * A client message the process wiring refused before it reached here (a wrong number of ZeroMQ
   * frames): counted and logged like every other refusal. `client` is empty if there was none.
   */
  refuseFrameCount(client: ClientRoute, frames: number): void {
    this.counters.clientFrames++;
    this.counters.rejected++;
    this.counters.badFrameCount++;
    this.refusals.warn('client frame refused', 'frame_count', { client: routeKey(client), frames });
  }

  onClientFrame(client: ClientRoute, frame: Uint8Array): void {
    this.counters.clientFrames++;
    const header = decodeHeader(frame);
    if (!header.ok) {
      this.counters.rejected++;
      this.counters.malformed++;
      this.refused(client, 'malformed', { bytes: frame.length, detail: header.error.message });
      return;
    }
    const { version, type, requestId } = header.value;
    if (version !== WIRE_VERSION) {
      this.counters.rejected++;
      this.counters.unsupportedVersion++;
      this.refused(client, 'unsupported_version', { version, requestId });
      return this.answer(
        client,
        requestId,
        'unsupported_version',
        `wire version ${version}; this proxy speaks ${WIRE_VERSION}`,
      );
    }
    const decoded = decodeClientPortMessage(frame);
    const foreign = decoded.ok ? undefined : foreignMessage(frame, decoded.error);
    if (foreign !== undefined) return this.unknownType(client, requestId, foreign.type);
    if (!decoded.ok) {
      this.counters.rejected++;
      this.counters.malformed++;
      this.refused(client, 'malformed', {
        type,
        requestId,
        bytes: frame.length,
        detail: decoded.error.message,
      });
      return this.answer(client, requestId, 'malformed', decoded.error.message);
    }
    const m = decoded.value;
    switch (m.type) {
      case 'hello':
        return this.reply(client, {
          type: 'hello-reply',
          requestId,
          version: WIRE_VERSION,
          server: `trolley proxy ${this.o.name}`,
          messageBytesMax: 0,
          wallMs: this.o.clock.wallMs(),
        });
      case 'stats':
        return this.reply(client, { type: 'stats-reply', requestId, json: JSON.stringify(this.view()) });
      case 'watch':
        return this.watch(client, requestId, m.listIds);
      case 'locate':
        return this.reply(client, {
          type: 'locate-reply',
          requestId,
          listId: m.listId,
          fronts: this.frontsFor(m.listId),
        });
      case 'put':
      case 'get': {
        const node = this.coordinatorFor(m.listId);
        if (node === undefined) {
          this.counters.unavailable++;
          this.observer.request(m.type, 'refused', 0, 'unavailable');
          return this.answer(
            client,
            requestId,
            'unavailable',
            'no storage node for this list is reachable; retry later',
          );
        }
        if (!this.admit(client, requestId, m.deadlineMs, m.type)) {
          this.counters.rejected++;
          this.counters.overloaded++;
          this.observer.request(m.type, 'refused', 0, 'overloaded');
          this.refused(client, 'overloaded', { type: m.type, requestId });
          return this.answer(
            client,
            requestId,
            'overloaded',
            `${limits.clientRequestsInFlightMax} requests in flight from this connection; wait for replies`,
          );
        }
        this.counters.forwarded++;
        this.o.transport.toNode(node, client, frame);
        return;
      }
      case 'hello-reply':
      case 'put-reply':
      case 'get-reply':
      case 'error':
      case 'changed':
      case 'locate-reply':
      case 'gateway-hello':
      case 'admin-read':
      case 'admin-read-reply':
      case 'stats-reply':
      case 'ring-change':
      case 'ring-change-reply':
        return this.unknownType(client, requestId, m.type);
    }
  }

  /** A message a client may not send a proxy (its own plane's, or another plane's). */
  private unknownType(client: ClientRoute, requestId: number, type: string): void {
    this.counters.rejected++;
    this.counters.unknownType++;
    this.refused(client, 'unknown_type', { type, requestId });
    return this.answer(client, requestId, 'unknown_type', `a client may not send ${type} to a proxy`);
  }

  onNodeFrame(node: string, client: ClientRoute, frame: Uint8Array): void {
    this.counters.nodeFrames++;
    if (client.length === 0) {
      // A frame for the proxy itself: a node's hello, or news that a list changed.
      const decoded = decodeFromNode(frame);
      if (decoded.ok && decoded.value.type === 'changed')
        return this.notifyWatchers(decoded.value.listId, frame);
      if (!decoded.ok || decoded.value.type !== 'node-hello')
        return this.refuseNodeFrame(node, 'a frame for the proxy that is not its node-hello', frame.length);
      // The routing ID is the node's authenticated ID (the transport sees to it): a hello naming
      // another node is a node speaking for someone else, and would make the proxy route that
      // node's lists to it.
      if (decoded.value.nodeId !== node)
        return this.refuseNodeFrame(node, `a node-hello naming node ${decoded.value.nodeId}`, frame.length);
      const ring = decodeRing(decoded.value.ring);
      if (!ring.ok) return this.refuseNodeFrame(node, 'a ring that does not decode', frame.length);
      this.nodes.set(node, { id: node, lastHelloMs: this.o.clock.monotonicMs(), front: decoded.value.front });
      if (this.ring === undefined || ring.value.version > this.ring.version) this.ring = ring.value;
      return;
    }
    // An answer to a client: its request is no longer in flight.
    const header = decodeHeader(frame);
    const forwarded = header.ok ? this.release(client, header.value.requestId) : undefined;
    if (header.ok && header.value.type === 'error') this.noteRefusal(client, frame);
    if (forwarded !== undefined && this.o.observer !== undefined)
      this.observeAnswer(forwarded, header.ok ? header.value.type : undefined, frame);
    this.o.transport.toClient(client, frame);
  }

  /**
   * Tells the observer how a forwarded put or get ended, from the node's answer (decoded only when
   * small: a put's reply or an error; a get's reply, which carries the list, is ok by its type).
   */
  private observeAnswer(f: Forwarded, type: string | undefined, frame: Uint8Array): void {
    const ms = this.o.clock.monotonicMs() - f.startMs;
    if (type === 'get-reply') return this.observer.request(f.kind, 'ok', ms);
    const m = decodeClientMessage(frame);
    if (!m.ok) return;
    if (m.value.type === 'error')
      return this.observer.request(f.kind, 'refused', ms, refusalCause(m.value.code));
    if (m.value.type === 'put-reply') return this.observer.request(f.kind, m.value.outcome, ms);
    this.observer.request(f.kind, 'ok', ms);
  }

  /**
   * A coordinator refused a client's write (core write-check.ts): the node cannot tell who sent it,
   * the proxy can, so the proxy counts it and logs it with the client's identity (rate limited).
   */
  private noteRefusal(client: ClientRoute, frame: Uint8Array): void {
    const m = decodeClientMessage(frame);
    if (!m.ok || m.value.type !== 'error') return;
    const { code, message } = m.value;
    if (code !== 'refused' && code !== 'limit_exceeded') return;
    this.counters.writesRefused++;
    this.refused(client, `write_${code}`, { detail: message });
  }

  /**
   * Replaces the client's watched set (and renews its lease) with as much of `listIds` as the
   * table has room for; what it has not is refused with `overloaded` (under the watch's request
   * ID, which clients do not wait for: the error is for the record and for tests).
   */
  private watch(client: ClientRoute, requestId: number, listIds: readonly string[]): void {
    const key = routeKey(client);
    const r = this.watches.replace(key, client, listIds, this.o.clock.monotonicMs());
    let taken = 0;
    for (const n of r.taken.values()) taken += n;
    this.counters.watchListsTaken += taken;
    if (taken > 0)
      this.o.logger.debug('watches taken for a fair share', { client: key, from: r.taken.size, taken });
    if (r.refused === 0) return;
    this.counters.rejected++;
    this.counters.watchesCut++;
    this.counters.watchListsRefused += r.refused;
    this.refused(client, 'watch_refused', {
      watched: r.watched,
      refused: r.refused,
      clients: this.watches.clientCount,
    });
    this.answer(
      client,
      requestId,
      'overloaded',
      `watching ${r.watched} of ${r.watched + r.refused} lists: this proxy's watch table is full and ` +
        `${r.watched} is this connection's fair share; the others are not watched`,
    );
  }

  /** Whether any client watches this list here now (so that a caller can skip encoding a notice). */
  isWatched(listId: string): boolean {
    return this.watches.isWatched(listId, this.o.clock.monotonicMs());
  }

  /**
   * Sends a `changed` frame to every client watching that list: a node's notice, or (a node's own
   * front, in process) the write its node accepted or was sent as a replica.
   */
  notifyWatchers(listId: string, frame: Uint8Array): void {
    for (const client of this.watches.watchersOf(listId, this.o.clock.monotonicMs())) {
      this.counters.notified++;
      this.o.transport.toClient(client, frame);
    }
  }

  /** Counts a put or get of `client` as in flight, unless it has its quota in flight already. */
  private admit(client: ClientRoute, requestId: number, deadlineMs: number, kind: 'put' | 'get'): boolean {
    const key = routeKey(client);
    const now = this.o.clock.monotonicMs();
    let f = this.inFlight.get(key);
    if (f === undefined) {
      f = { count: 0, requests: new Map() };
      this.inFlight.set(key, f);
    }
    if (f.count >= limits.clientRequestsInFlightMax) this.expireRequests(key, f, now);
    if (f.count >= limits.clientRequestsInFlightMax) return false;
    const leftMs = Math.min(Math.max(0, deadlineMs - this.o.clock.wallMs()), limits.deadlineMsMax);
    const untilMs = now + leftMs + replyGraceMs;
    const r = f.requests.get(requestId);
    // A request ID used again while in flight (a retry, or a careless client) counts again.
    if (r === undefined) f.requests.set(requestId, { n: 1, untilMs, kind, startMs: now });
    else {
      r.n++;
      r.untilMs = Math.max(r.untilMs, untilMs);
    }
    f.count++;
    this.inFlightCount++;
    return true;
  }

  /** A node answered the client's request: one fewer in flight. Returns the request, if it was. */
  private release(client: ClientRoute, requestId: number): Forwarded | undefined {
    const key = routeKey(client);
    const f = this.inFlight.get(key);
    const r = f?.requests.get(requestId);
    if (f === undefined || r === undefined) return undefined;
    r.n--;
    f.count--;
    this.inFlightCount--;
    if (r.n === 0) f.requests.delete(requestId);
    if (f.count === 0) this.inFlight.delete(key);
    return r;
  }

  /** Stops counting requests of one client whose answer is past due (a node died holding them). */
  private expireRequests(key: string, f: InFlight, now: number): void {
    for (const [id, r] of f.requests)
      if (r.untilMs <= now) {
        f.requests.delete(id);
        f.count -= r.n;
        this.inFlightCount -= r.n;
        for (let i = 0; i < r.n; i++) this.observer.request(r.kind, 'timeout', now - r.startMs);
      }
    if (f.count === 0) this.inFlight.delete(key);
  }

  /** The first live node of the key's preference list. */
  private coordinatorFor(listId: string): NodeId | undefined {
    return this.livePreferences(listId).next().value;
  }

  /** The live nodes of the key's preference list, in its order. */
  private *livePreferences(listId: string): Generator<NodeId, undefined> {
    if (this.ring === undefined) return;
    for (const id of preferenceList(
      this.ring,
      partitionOf(listId, this.ring.partitionCount),
      this.o.replicas,
    ))
      if (this.isLive(id)) yield id;
  }

  /** The fronts of the key's live preference list, in its order (`locate`): the first coordinates. */
  private frontsFor(listId: string): string[] {
    const fronts: string[] = [];
    for (const id of this.livePreferences(listId)) {
      const front = this.nodes.get(id)?.front;
      if (front !== undefined && fronts.length < limits.frontsPerLocateMax) fronts.push(front);
    }
    return fronts;
  }

  private isLive(id: string): boolean {
    const n = this.nodes.get(id);
    return n !== undefined && this.o.clock.monotonicMs() - n.lastHelloMs <= this.o.nodeSilenceMsMax;
  }

  /**
   * The `stats` reply, to anyone who asks on the client port: the nodes by ID, liveness and
   * partitions, but not their addresses (a node's port is not for clients; operators ask the nodes
   * themselves, whose `stats` list their members' addresses).
   */
  view(): Record<string, unknown> {
    const ring = this.ring;
    return {
      proxy: this.o.name,
      ringVersion: ring?.version ?? 0,
      partitions: ring?.partitionCount ?? 0,
      nodes: this.nodeViews(),
      watches: this.watchCounts(),
      inFlight: this.inFlightCounts(),
      counters: this.counters,
      ...(this.o.transportStats === undefined ? {} : { transport: this.o.transportStats() }),
    };
  }

  /** The nodes that said hello: whether each is live, and the partitions it owns. */
  nodeViews(): { id: string; live: boolean; partitions: number }[] {
    const ring = this.ring;
    return [...this.nodes.values()].map((n) => ({
      id: n.id,
      live: this.isLive(n.id),
      partitions: ring === undefined ? 0 : ring.owners.filter((o) => o === n.id).length,
    }));
  }

  /** Clients watching, lists watched and (client, list) watches held now. */
  watchCounts(): { clients: number; lists: number; entries: number } {
    return {
      clients: this.watches.clientCount,
      lists: this.watches.listCount,
      entries: this.watches.entries,
    };
  }

  /** Clients with puts or gets in flight, and those requests. */
  inFlightCounts(): { clients: number; requests: number } {
    return { clients: this.inFlight.size, requests: this.inFlightCount };
  }

  /** Lists the client with this route watches now (for tests). */
  watchedBy(client: ClientRoute): number {
    return this.watches.heldBy(routeKey(client));
  }

  private refused(client: ClientRoute, reason: string, fields: Record<string, unknown>): void {
    this.refusals.warn('client frame refused', reason, { client: routeKey(client), ...fields });
  }

  /** A frame from a node that a node may not send the proxy: counted and logged (rate limited). */
  refuseNodeFrame(node: string, reason: string, bytes: number): void {
    this.counters.rejected++;
    this.counters.badNodeFrames++;
    this.refusals.warn('node frame rejected', 'node_frame', { node, detail: reason, bytes });
  }

  private answer(client: ClientRoute, requestId: number, code: WireErrorName, message: string): void {
    this.reply(client, { type: 'error', requestId, code, message });
  }

  private reply(client: ClientRoute, m: Message): void {
    this.o.transport.toClient(client, encodeMessage(m));
  }
}

function routeKey(route: ClientRoute): string {
  return hexOf(route);
}
