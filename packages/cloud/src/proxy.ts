// The proxy (seed 2; DESIGN.md §2): a stateless router between clients and storage nodes. It keeps
// only what it learns from the nodes — who is connected, and the newest ring — and forwards each
// client request, unchanged, to a coordinator for its key: the first live node of the key's
// preference list. It holds no data, so any number of proxies can run and clients fail over.
// Sans-IO: frames in through onClientFrame/onNodeFrame, out through the ProxyTransport.

import {
  WIRE_VERSION,
  limits,
  decodeHeader,
  decodeMessage,
  decodeRing,
  encodeMessage,
  partitionOf,
  preferenceList,
  type Clock,
  type Message,
  type NodeId,
  type RingState,
  type WireErrorName,
} from '@trolley/core';
import type { Logger } from './ports.ts';

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
}

export interface ProxyCounters {
  clientFrames: number;
  nodeFrames: number;
  forwarded: number;
  rejected: number;
  unavailable: number;
  notified: number;
}

interface KnownNode {
  id: string;
  address: string;
  lastHelloMs: number;
}

export class Proxy {
  ring: RingState | undefined;
  readonly counters: ProxyCounters = {
    clientFrames: 0,
    nodeFrames: 0,
    forwarded: 0,
    rejected: 0,
    unavailable: 0,
    notified: 0,
  };
  private readonly nodes = new Map<string, KnownNode>();
  /** Live-update watches: list ID → client route (as a string key) → lease expiry (monotonic ms). */
  private readonly watches = new Map<string, Map<string, { client: ClientRoute; untilMs: number }>>();
  private watchCount = 0;

  constructor(private readonly o: ProxyOptions) {}

  onClientFrame(client: ClientRoute, frame: Uint8Array): void {
    this.counters.clientFrames++;
    const header = decodeHeader(frame);
    if (!header.ok) return this.reject('client frame without a header', frame.length);
    const { version, type, requestId } = header.value;
    if (version !== WIRE_VERSION) {
      this.counters.rejected++;
      return this.answer(
        client,
        requestId,
        'unsupported_version',
        `wire version ${version}; this proxy speaks ${WIRE_VERSION}`,
      );
    }
    const decoded = decodeMessage(frame);
    if (!decoded.ok) {
      this.counters.rejected++;
      this.o.logger.warn('client frame rejected', { reason: decoded.error.message, type });
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
        return this.watch(client, m.listIds);
      case 'put':
      case 'get': {
        const node = this.coordinatorFor(m.listId);
        if (node === undefined) {
          this.counters.unavailable++;
          return this.answer(
            client,
            requestId,
            'unavailable',
            'no storage node for this list is reachable; retry later',
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
      case 'replica-put':
      case 'replica-put-reply':
      case 'replica-get':
      case 'replica-get-reply':
      case 'admin-read':
      case 'admin-read-reply':
      case 'stats-reply':
      case 'node-hello':
      case 'gossip':
      case 'gossip-reply':
      case 'hinted-put':
      case 'ae-root':
      case 'ae-buckets':
      case 'ae-keys':
      case 'ae-keys-reply':
      case 'ring-change':
      case 'ring-change-reply':
      case 'changed':
      case 'gateway-hello':
        this.counters.rejected++;
        return this.answer(client, requestId, 'unknown_type', `a client may not send ${m.type} to a proxy`);
    }
  }

  onNodeFrame(node: string, client: ClientRoute, frame: Uint8Array): void {
    this.counters.nodeFrames++;
    if (client.length === 0) {
      // A frame for the proxy itself: a node's hello, or news that a list changed.
      const decoded = decodeMessage(frame);
      if (decoded.ok && decoded.value.type === 'changed') return this.notify(decoded.value.listId, frame);
      if (!decoded.ok || decoded.value.type !== 'node-hello' || decoded.value.nodeId !== node)
        return this.reject('node frame for the proxy that is not a matching node-hello', frame.length);
      const ring = decodeRing(decoded.value.ring);
      if (!ring.ok) return this.reject(`node ${node} sent a ring that does not decode`, frame.length);
      this.nodes.set(node, {
        id: node,
        address: decoded.value.address,
        lastHelloMs: this.o.clock.monotonicMs(),
      });
      if (this.ring === undefined || ring.value.version > this.ring.version) this.ring = ring.value;
      return;
    }
    this.o.transport.toClient(client, frame);
  }

  /** Registers (or renews) a client's lease on live updates of some lists. */
  private watch(client: ClientRoute, listIds: readonly string[]): void {
    const now = this.o.clock.monotonicMs();
    const key = routeKey(client);
    for (const id of listIds) {
      let watchers = this.watches.get(id);
      if (watchers === undefined) {
        if (this.watchCount >= limits.watchesPerProxyMax) this.expireWatches(now, true);
        watchers = new Map();
        this.watches.set(id, watchers);
      }
      if (!watchers.has(key)) this.watchCount++;
      watchers.set(key, { client, untilMs: now + limits.watchLeaseMs });
    }
  }

  /** Forwards a node's `changed` to every client watching that list. */
  private notify(listId: string, frame: Uint8Array): void {
    const watchers = this.watches.get(listId);
    if (watchers === undefined) return;
    const now = this.o.clock.monotonicMs();
    for (const [key, w] of watchers) {
      if (w.untilMs <= now) {
        watchers.delete(key);
        this.watchCount--;
        continue;
      }
      this.counters.notified++;
      this.o.transport.toClient(w.client, frame);
    }
    if (watchers.size === 0) this.watches.delete(listId);
  }

  /** Drops expired leases (and, when `force`, the oldest lists' watches too) to stay in bounds. */
  private expireWatches(now: number, force: boolean): void {
    for (const [id, watchers] of this.watches) {
      for (const [key, w] of watchers)
        if (w.untilMs <= now) {
          watchers.delete(key);
          this.watchCount--;
        }
      if (watchers.size === 0) this.watches.delete(id);
    }
    if (force && this.watchCount >= limits.watchesPerProxyMax) {
      const oldest = this.watches.keys().next();
      if (oldest.done !== true) {
        this.watchCount -= this.watches.get(oldest.value)?.size ?? 0;
        this.watches.delete(oldest.value);
      }
    }
  }

  /** The first live node of the key's preference list. */
  private coordinatorFor(listId: string): NodeId | undefined {
    if (this.ring === undefined) return undefined;
    const live = (id: string): boolean => this.isLive(id);
    const prefs = preferenceList(this.ring, partitionOf(listId, this.ring.partitionCount), this.o.replicas);
    return prefs.find(live);
  }

  private isLive(id: string): boolean {
    const n = this.nodes.get(id);
    return n !== undefined && this.o.clock.monotonicMs() - n.lastHelloMs <= this.o.nodeSilenceMsMax;
  }

  /** What `trolley cluster status` shows of this proxy's view. */
  view(): Record<string, unknown> {
    const ring = this.ring;
    return {
      proxy: this.o.name,
      ringVersion: ring?.version ?? 0,
      partitions: ring?.partitionCount ?? 0,
      nodes: [...this.nodes.values()].map((n) => ({
        id: n.id,
        address: n.address,
        live: this.isLive(n.id),
        partitions: ring === undefined ? 0 : ring.owners.filter((o) => o === n.id).length,
      })),
      counters: this.counters,
    };
  }

  private reject(reason: string, bytes: number): void {
    this.counters.rejected++;
    this.o.logger.warn('frame rejected', { reason, bytes });
  }

  private answer(client: ClientRoute, requestId: number, code: WireErrorName, message: string): void {
    this.reply(client, { type: 'error', requestId, code, message });
  }

  private reply(client: ClientRoute, m: Message): void {
    this.o.transport.toClient(client, encodeMessage(m));
  }
}

function routeKey(route: ClientRoute): string {
  let s = '';
  for (const b of route) s += b.toString(16).padStart(2, '0');
  return s;
}
