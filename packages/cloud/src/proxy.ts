// The proxy (seed 2; DESIGN.md §2): a stateless router between clients and storage nodes. It keeps
// only what it learns from the nodes — who is connected, and the newest ring — and forwards each
// client request, unchanged, to a coordinator for its key: the first live node of the key's
// preference list. It holds no data, so any number of proxies can run and clients fail over.
// Sans-IO: frames in through onClientFrame/onNodeFrame, out through the ProxyTransport.

import {
  WIRE_VERSION,
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
  };
  private readonly nodes = new Map<string, KnownNode>();

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
        });
      case 'stats':
        return this.reply(client, { type: 'stats-reply', requestId, json: JSON.stringify(this.view()) });
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
        this.counters.rejected++;
        return this.answer(client, requestId, 'unknown_type', `a client may not send ${m.type} to a proxy`);
    }
  }

  onNodeFrame(node: string, client: ClientRoute, frame: Uint8Array): void {
    this.counters.nodeFrames++;
    if (client.length === 0) {
      // A frame for the proxy itself: a node's hello.
      const decoded = decodeMessage(frame);
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
