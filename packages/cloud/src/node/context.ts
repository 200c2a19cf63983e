// What every mechanism of a storage node shares, and nothing more: who this node is, its clock,
// chance, logger, counters and configuration, the store, how to send, the members it knows and the
// ring it currently follows. A mechanism takes this context (and the request table, requests.ts);
// it never takes the node, so no mechanism reaches into another's state.

import {
  encodeMessage,
  encodeRing,
  type Clock,
  type ListId,
  type Message,
  type MessageOf,
  type NodeId,
  type OpId,
  type PushPurpose,
  type Random,
  type RingState,
  type WireErrorName,
} from '@trolley/core';
import type { Membership } from '../membership.ts';
import type { NodeObserver } from '../observer.ts';
import type { Logger, ListStore, NodeTransport, Peer, ReplyTo } from '../ports.ts';
import type { Quorum } from '../quorum.ts';
import type { RefusalLog } from '../refusal-log.ts';
import { nodeSenderRules } from '../sender-rules.ts';
import { zeroCounters, type NodeConfig, type NodeCounters } from './config.ts';

/** The op ID of a push that is no client's operation. */
const noOpId = '00000000000000000000000000000000' as OpId;

/** MD5 (16 bytes) of some bytes, or of a string's UTF-8: the port the node hashes list state through. */
export type Digest = (data: Uint8Array | string) => Uint8Array;

export interface NodeContextOptions {
  id: NodeId;
  config: NodeConfig;
  quorum: Quorum;
  store: ListStore;
  transport: NodeTransport;
  clock: Clock;
  random: Random;
  logger: Logger;
  digest: Digest;
  membership: Membership;
  refusals: RefusalLog;
  observer: NodeObserver;
}

export class NodeContext {
  readonly id: NodeId;
  readonly config: NodeConfig;
  readonly quorum: Quorum;
  readonly store: ListStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly digest: Digest;
  readonly membership: Membership;
  /** Warnings about refused frames and writes, rate limited (a flood of them is one line a reason). */
  readonly refusals: RefusalLog;
  /** Told of every request finished here (its kind, outcome and time), for the process's metrics. */
  readonly observer: NodeObserver;
  readonly counters: NodeCounters = zeroCounters();
  private readonly transport: NodeTransport;
  private ringState: RingState | undefined;
  private ringEncoded: Uint8Array | undefined;
  private readonly ringListeners: ((ring: RingState, first: boolean) => void)[] = [];

  constructor(o: NodeContextOptions) {
    this.id = o.id;
    this.config = o.config;
    this.quorum = o.quorum;
    this.store = o.store;
    this.transport = o.transport;
    this.clock = o.clock;
    this.random = o.random;
    this.log = o.logger;
    this.digest = o.digest;
    this.membership = o.membership;
    this.refusals = o.refusals;
    this.observer = o.observer;
  }

  /** The ring this node follows; undefined until it learns one. */
  get ring(): RingState | undefined {
    return this.ringState;
  }

  /** The ring as encoded (gossiped, and sent to proxies in hellos). */
  get ringBytes(): Uint8Array | undefined {
    return this.ringEncoded;
  }

  /** Follows `ring` from now on, and tells every mechanism that asked (onRing). */
  adoptRing(ring: RingState, bytes: Uint8Array = encodeRing(ring)): void {
    const first = this.ringState === undefined;
    this.ringState = ring;
    this.ringEncoded = bytes;
    for (const f of this.ringListeners) f(ring, first);
  }

  /** Calls `f` each time the node adopts a ring (`first`: it had none before). */
  onRing(f: (ring: RingState, first: boolean) => void): void {
    this.ringListeners.push(f);
  }

  send(node: NodeId | string, m: Message): void {
    this.transport.send(node, encodeMessage(m));
  }

  reply(to: ReplyTo, m: Message): void {
    this.transport.reply(to, encodeMessage(m));
  }

  /** Runs `f` once what was sent so far has left (NodeTransport.afterSends). */
  afterSends(f: () => void): void {
    if (this.transport.afterSends === undefined) f();
    else this.transport.afterSends(f);
  }

  /**
   * A replica-put that is no client's write (read repair, a hint, a transfer, an anti-entropy
   * push): its purpose says which, its deadline is the background one, its op ID none.
   */
  pushMessage(
    purpose: PushPurpose,
    requestId: number,
    listId: ListId,
    doc: Uint8Array,
  ): MessageOf<'replica-put'> {
    return {
      type: 'replica-put',
      purpose,
      requestId,
      listId,
      opId: noOpId,
      deadlineMs: this.clock.wallMs() + this.config.backgroundDeadlineMs,
      doc,
    };
  }

  replyError(to: ReplyTo, requestId: number, code: WireErrorName, message: string): void {
    this.reply(to, { type: 'error', requestId, code, message });
  }

  /**
   * A frame its sender may not send (sender-rules.ts), or not like this (a gossip naming another
   * sender): counted, logged at warn (rate limited: a flood is a few lines a second), and, if
   * it is a request, answered `refused`.
   */
  refusePeerFrame(
    m: Pick<Message, 'type' | 'requestId'>,
    replyTo: ReplyTo,
    from: Peer,
    detail: string,
  ): void {
    this.counters.peerFramesRefused++;
    this.refusals.warn('peer frame refused', `peer_${from.role}_${m.type}`, {
      role: from.role,
      id: from.id,
      type: m.type,
      detail,
    });
    if (nodeSenderRules[m.type]?.request === true) this.replyError(replyTo, m.requestId, 'refused', detail);
  }

  learnAddress(id: string, address: string): void {
    if (id !== this.id) this.transport.learnAddress?.(id, address);
  }

  randomInt(n: number): number {
    if (n <= 1) return 0;
    const b = this.random.fill(new Uint8Array(4));
    const x = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
    return x % n;
  }

  /**
   * A store write nobody waits for (deleting a delivered hint or a transferred list). If its
   * commit fails (a full disk), the hint or list simply stays and is dealt with again later; the
   * failure is counted and logged, never left as an unhandled rejection.
   */
  inBackground(write: Promise<void>, what: string): void {
    write.catch((e: unknown) => {
      this.counters.storeFailures++;
      this.log.warn('background store write failed; will retry', { what, cause: String(e) });
    });
  }
}
