// An in-memory cluster for unit tests of the cloud's state machines: storage nodes over the
// memory network and memory stores, a manual clock, and a client endpoint that sends requests and
// collects replies. No sockets, no timers: the test decides when frames move and time passes.
// Every frame reaches a node with its sender's role: the client's are a client's; `sendFrom`
// speaks as anyone else (an operator, a proxy, a node that is not one of the cluster's).

import type { ListReplica } from '@trolley/core';
import {
  createRing,
  decodeList,
  decodeMessage,
  encodeContext,
  encodeList,
  encodeMessage,
  merge,
  newListId,
  opIdFrom,
  parseNodeId,
  type Clock,
  type ListDoc,
  type ListId,
  type Message,
  type NodeId,
  type OpId,
  type RingState,
} from '@trolley/core';
import { MemoryListStore, type MemoryListStoreOptions } from '../memory-list-store.ts';
import { MemoryNetwork } from '../memory-network.ts';
import { silentLogger, type NodeTransport, type Peer } from '../ports.ts';
import type { Quorum } from '../quorum.ts';
import { StorageNode, type StorageNodeOptions } from '../storage-node.ts';

export class ManualClock implements Clock {
  constructor(public nowMs = 1_700_000_000_000) {}
  monotonicMs(): number {
    return this.nowMs;
  }
  wallMs(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

let seq = 0;
/** Deterministic pseudo-random bytes for IDs in tests. */
export function testBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (Math.imul(++seq, 2654435761) >>> 24) & 255;
  return b;
}

export class MemoryCluster {
  readonly network = new MemoryNetwork();
  readonly clock = new ManualClock();
  readonly ring: RingState;
  readonly nodes: StorageNode[];
  readonly stores: MemoryListStore[];
  readonly replies: Message[] = [];
  private readonly client;
  private requestId = 1;

  constructor(
    readonly ids: NodeId[] = ['n1', 'n2', 'n3'].map(parseNodeId),
    readonly quorum: Quorum = { n: 3, r: 2, w: 2 },
    hooks: Partial<
      Pick<StorageNodeOptions, 'onWriteAccepted' | 'isMember' | 'logger' | 'config' | 'observer'>
    > = {},
    /** The stores' options: with `manualCommit`, no write is durable until the test flushes the store. */
    storeOptions: MemoryListStoreOptions = {},
  ) {
    this.ring = createRing(
      ids.map((id) => ({ id, weight: 1 })),
      { partitionCount: 64 },
    );
    this.stores = ids.map(() => new MemoryListStore(storeOptions));
    this.nodes = ids.map((id, i) => {
      // The handler runs only on delivery, after `node` is initialised.
      const transport = this.network.endpoint(id, (frame, replyTo, from) =>
        node.handle(frame, replyTo, from),
      );
      const node: StorageNode = new StorageNode({
        id,
        address: id,
        seeds: ids.map((x) => ({ id: x, address: x })),
        ring: this.ring,
        random: { fill: (b) => b.fill(7) },
        quorum,
        store: this.stores[i] as MemoryListStore,
        transport,
        clock: this.clock,
        ...hooks,
        logger: hooks.logger ?? silentLogger,
      });
      return node;
    });
    this.client = this.network.endpoint('client', (frame) => this.collect(frame), 'client');
  }

  private collect(frame: Uint8Array): void {
    const m = decodeMessage(frame);
    if (m.ok) this.replies.push(m.value);
  }

  private readonly senders = new Map<string, NodeTransport>();

  /**
   * Sends `m` to node `to` as `from` (its own endpoint, made on first use; what it is sent back
   * lands in `replies`). `from.id` must not be one of the cluster's nodes: the endpoint would
   * take that node's place on the network.
   */
  sendFrom(from: Peer, to: NodeId, m: Message): void {
    if ((this.ids as string[]).includes(from.id) || from.id === 'client')
      throw new Error(`${from.id} is taken: send as another name`);
    const key = `${from.role} ${from.id}`;
    let t = this.senders.get(key);
    if (t === undefined) {
      t = this.network.endpoint(from.id, (frame) => this.collect(frame), from.role);
      this.senders.set(key, t);
    }
    t.send(to, encodeMessage(m));
  }

  /** Sends `m` to node `to` as the operator `ops` (ring changes, admin reads, stats). */
  operator(to: NodeId, m: Message): void {
    this.sendFrom({ role: 'operator', id: 'ops' }, to, m);
  }

  newListId(): ListId {
    return newListId({ fill: (b) => b.set(testBytes(b.length)) ?? b });
  }

  opId(): OpId {
    return opIdFrom(testBytes(16));
  }

  /** Sends a raw frame from the client to node `to`. */
  sendRaw(to: NodeId, frame: Uint8Array): void {
    this.client.send(to, frame);
  }

  send(to: NodeId, m: Message): void {
    this.sendRaw(to, encodeMessage(m));
  }

  put(
    to: NodeId,
    listId: ListId,
    delta: ListDoc,
    options: { opId?: OpId; deadlineMs?: number; writer?: Uint8Array } = {},
  ): number {
    const requestId = this.requestId++;
    this.send(to, {
      type: 'put',
      requestId,
      listId,
      opId: options.opId ?? this.opId(),
      deadlineMs: options.deadlineMs ?? this.clock.wallMs() + 1_000,
      delta: encodeList(delta),
      writer: options.writer ?? new Uint8Array(0),
    });
    return requestId;
  }

  get(to: NodeId, listId: ListId, context?: ListReplica): number {
    const requestId = this.requestId++;
    const ctx =
      context === undefined ? new Uint8Array(0) : encodeContext(context.state.ctx, context.state.replicas);
    this.send(to, { type: 'get', requestId, listId, deadlineMs: this.clock.wallMs() + 1_000, context: ctx });
    return requestId;
  }

  /** Delivers every frame, letting store commits run in between. */
  async settle(): Promise<void> {
    await this.network.deliverAll(async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    });
  }

  reply(requestId: number): Message | undefined {
    return this.replies.find((m) => m.requestId === requestId);
  }

  /** The list as node i's store holds it: its whole state joined with the deltas appended since (undefined if absent). */
  stored(i: number, listId: ListId): ListDoc | undefined {
    const s = this.stores[i]?.get(listId);
    if (s === undefined) return undefined;
    const d = decodeList(s.state);
    if (!d.ok) throw d.error;
    for (const bytes of s.deltas) {
      const delta = decodeList(bytes);
      if (!delta.ok) throw delta.error;
      merge(d.value, delta.value);
    }
    return d.value;
  }
}
