// A minimal client of the cloud: puts and gets list deltas through one of several proxies.
// Requests carry a request ID (to match replies), an operation ID (so a retry is harmless) and
// an absolute deadline. A proxy that does not answer within its share of the time is passed
// over for the next one; a put whose every attempt timed out is "unknown", never "failed".
//
// Deadlines are written in the proxy's clock, not this device's: a laptop's clock may be minutes
// off, and the cloud refuses a deadline that has passed by its own clock. The client learns each
// proxy's clock from its `hello-reply` (NTP-style: the reply's time against the midpoint of the
// round trip), before its first request there and again every few minutes.
//
// Watches: a `watch` message replaces the watched set of its connection at the proxy, at most
// watchedListsMax lists. A client that watches more (a gateway, for all its browsers) keeps one
// extra connection to the proxy per watchedListsMax lists — watch lanes — and each list stays in
// its lane while it is watched, so a change to the set touches only the lanes it changes.
//
// Encryption: an address with the proxy's public key after # (tcp://host:5555#KEY) is reached over
// CURVE, with a key pair this client makes for itself (clients are anonymous): nobody on the path
// reads a list ID or a list, and nobody can pose as the proxy. A secure proxy refuses a client
// that does not speak CURVE, so an address without its key does not connect to one.

import type * as zmq from 'zeromq';
import {
  TrolleyError,
  limits,
  decodeMessage,
  encodeMessage,
  opIdFrom,
  type Clock,
  type ListId,
  type Message,
  type OpId,
  type Random,
  type WireErrorName,
} from '@trolley/core';
import { silentLogger, type Logger } from '@trolley/cloud';
import { cryptoRandom, systemClock } from './clock.ts';
import { newKeyPair, splitAddress, type KeyPair } from './keys.ts';
import { Sender, dealer, receiveLoop } from './zmq.ts';

export interface PutResult {
  outcome: 'ok' | 'unknown';
  acks: number;
  replicas: number;
}

export interface GetResult {
  delta: Uint8Array;
  answered: number;
  inSync: number;
  replicas: number;
}

export interface CloudClientOptions {
  /** Per-attempt share of a request's time before trying the next proxy. */
  attemptMs?: number;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
}

interface Waiter {
  resolve: (m: Message | undefined) => void;
  timer: NodeJS.Timeout;
}

interface Endpoint {
  /** As given (with the proxy's key after #, if any). */
  address: string;
  /** The ZeroMQ endpoint (without the key). */
  zmqEndpoint: string;
  /** The proxy's public key, from the address; undefined: plain (an insecure cloud). */
  serverKey: string | undefined;
  socket: zmq.Dealer;
  sender: Sender;
  /** The proxy's clock minus ours (ms), from its last hello-reply; 0 until one arrived. */
  offsetMs: number;
  /** Our monotonic time of that reply; undefined: never (ask before the next request). */
  offsetAtMs: number | undefined;
  /** A hello under way, shared by the requests that wait for it. */
  hello: Promise<void> | undefined;
  /** Watch lanes 1, 2, … to this proxy (lane 0 is `sender`), opened when first needed. */
  lanes: { socket: zmq.Dealer; sender: Sender }[];
}

/** How long a learnt clock offset is trusted before it is asked again. */
const clockOffsetTtlMs = 5 * 60_000;
/** The longest a request waits for a hello before going ahead with the offset it has. */
const helloWaitMsMax = 1_000;

export class CloudClient {
  private readonly endpoints: Endpoint[];
  private readonly waiting = new Map<number, Waiter>();
  private current = 0;
  private nextRequestId = 1;
  private readonly changeListeners = new Set<(listId: ListId, delta: Uint8Array) => void>();
  private watched: ListId[] = [];
  /** The lists of each watch lane (lane i: a connection of its own; see the file's comment). */
  private watchLanes: Set<ListId>[] = [];
  private readonly laneOf = new Map<ListId, number>();
  private readonly log: Logger;
  private watchTimer: NodeJS.Timeout | undefined;
  private watchedVia = -1;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly attemptMs: number;
  /** This client's CURVE key pair, made for this client alone. */
  private readonly keys: KeyPair = newKeyPair();

  constructor(addresses: readonly string[], options: CloudClientOptions = {}) {
    if (addresses.length === 0)
      throw new TrolleyError('invalid_argument', 'give at least one cloud endpoint');
    const log = options.logger ?? silentLogger;
    this.log = log;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.attemptMs = options.attemptMs ?? 2_000;
    this.endpoints = addresses.map((address) => {
      const { endpoint: zmqEndpoint, serverKey } = splitAddress(address);
      const socket = this.socketTo(zmqEndpoint, serverKey);
      const endpoint: Endpoint = {
        address,
        zmqEndpoint,
        serverKey,
        socket,
        sender: new Sender(socket, log),
        offsetMs: 0,
        offsetAtMs: undefined,
        hello: undefined,
        lanes: [],
      };
      void receiveLoop(socket, (frames) => this.onFrames(frames), log);
      return endpoint;
    });
  }

  private socketTo(address: string, serverKey: string | undefined): zmq.Dealer {
    const socket = dealer(undefined, serverKey === undefined ? undefined : { keys: this.keys, serverKey });
    socket.connect(address);
    return socket;
  }

  private onFrames(frames: Buffer[]): void {
    if (frames.length !== 1) return;
    const m = decodeMessage(frames[0] as Buffer);
    if (!m.ok) return;
    if (m.value.type === 'changed') {
      for (const f of this.changeListeners) f(m.value.listId, m.value.delta);
      return;
    }
    const w = this.waiting.get(m.value.requestId);
    if (w === undefined) return; // a late reply to a request given up on (or a refused watch)
    this.waiting.delete(m.value.requestId);
    clearTimeout(w.timer);
    w.resolve(m.value);
  }

  newOpId(): OpId {
    return opIdFrom(this.random.fill(new Uint8Array(16)));
  }

  async put(
    listId: ListId,
    delta: Uint8Array,
    options: { timeoutMs?: number; opId?: OpId; writer?: Uint8Array } = {},
  ): Promise<PutResult> {
    const opId = options.opId ?? this.newOpId();
    const reply = await this.request(options.timeoutMs ?? 5_000, (requestId, deadlineMs) => ({
      type: 'put',
      requestId,
      listId,
      opId,
      deadlineMs,
      delta,
      writer: options.writer ?? noWriter,
    }));
    if (reply === undefined) return { outcome: 'unknown', acks: 0, replicas: 0 };
    if (reply.type === 'put-reply')
      return { outcome: reply.outcome, acks: reply.acks, replicas: reply.replicas };
    if (reply.type === 'error' && (reply.code === 'deadline_exceeded' || reply.code === 'unavailable'))
      return { outcome: 'unknown', acks: 0, replicas: 0 };
    throw unexpected(reply);
  }

  async get(listId: ListId, context: Uint8Array, options: { timeoutMs?: number } = {}): Promise<GetResult> {
    const reply = await this.request(options.timeoutMs ?? 5_000, (requestId, deadlineMs) => ({
      type: 'get',
      requestId,
      listId,
      deadlineMs,
      context,
    }));
    if (reply === undefined)
      throw new TrolleyError('not_found', 'no proxy answered in time; is the cloud running?');
    if (reply.type === 'get-reply') return reply;
    throw unexpected(reply);
  }

  /**
   * Asks to be told when these lists change (pushed by the cloud, not polled). The watch is a
   * lease that this client renews every half lease, and again on the proxy it fails over to.
   * Returns a function that stops listening.
   */
  watch(listIds: readonly ListId[], onChanged: (listId: ListId, delta: Uint8Array) => void): () => void {
    this.changeListeners.add(onChanged);
    this.renewWatch(
      this.assignLanes([...new Set([...this.watched, ...listIds])].slice(0, limits.watchedListsMax)),
    );
    this.watchTimer ??= setInterval(() => this.renewWatch(), limits.watchLeaseMs / 2);
    return () => {
      this.changeListeners.delete(onChanged);
      if (this.changeListeners.size === 0 && this.watchTimer !== undefined) {
        clearInterval(this.watchTimer);
        this.watchTimer = undefined;
      }
    };
  }

  /** Adds lists to those watched (for listeners already registered with watch()). */
  addWatched(listIds: readonly ListId[]): void {
    const before = this.watched.length;
    const changed = this.assignLanes(
      [...new Set([...this.watched, ...listIds])].slice(0, limits.watchedListsMax),
    );
    if (this.watched.length !== before) this.renewWatch(changed);
  }

  /**
   * Replaces the watched lists (the gateway: the union of its browsers' lists), at most
   * limits.gatewayWatchedListsMax. Lists dropped from the set are simply no longer renewed: their
   * leases lapse at the proxy. Listeners are those registered with watch() (possibly for no list).
   */
  setWatched(listIds: readonly ListId[]): void {
    this.renewWatch(this.assignLanes([...new Set(listIds)].slice(0, limits.gatewayWatchedListsMax)));
    if (this.watched.length > 0)
      this.watchTimer ??= setInterval(() => this.renewWatch(), limits.watchLeaseMs / 2);
  }

  /** The lists this client currently keeps a watch on. */
  get watchedLists(): readonly ListId[] {
    return this.watched;
  }

  /**
   * Makes `listIds` the watched set: a list already in a lane stays there, a new one goes to the
   * first lane with room, a lane left with nothing is sent an empty watch (once) and dropped.
   * Returns the lanes whose sets changed: only they need a new `watch`.
   */
  private assignLanes(listIds: readonly ListId[]): Set<number> {
    const changed = new Set<number>();
    const next = new Set(listIds);
    for (const [id, lane] of this.laneOf)
      if (!next.has(id)) {
        this.watchLanes[lane]?.delete(id);
        this.laneOf.delete(id);
        changed.add(lane);
      }
    let lane = 0;
    for (const id of listIds) {
      if (this.laneOf.has(id)) continue;
      while ((this.watchLanes[lane]?.size ?? 0) >= limits.watchedListsMax) lane++;
      const set = (this.watchLanes[lane] ??= new Set());
      set.add(id);
      this.laneOf.set(id, lane);
      changed.add(lane);
    }
    this.watched = [...next];
    return changed;
  }

  /** A watch lane's connection to `endpoint` (lane 0 is the endpoint's own). */
  private laneSender(endpoint: Endpoint, lane: number): Sender {
    if (lane === 0) return endpoint.sender;
    for (let i = endpoint.lanes.length; i < lane; i++) {
      const socket = this.socketTo(endpoint.zmqEndpoint, endpoint.serverKey);
      void receiveLoop(socket, (frames) => this.onFrames(frames), this.log);
      endpoint.lanes.push({ socket, sender: new Sender(socket, this.log) });
    }
    return (endpoint.lanes[lane - 1] as { sender: Sender }).sender;
  }

  /**
   * Sends each lane's set through its own connection: every lane for a lease renewal or after a
   * failover to another proxy, only the `changed` lanes for a change of the set.
   */
  private renewWatch(changed?: ReadonlySet<number>): void {
    if (this.watchLanes.length === 0) return;
    const all = changed === undefined || this.watchedVia !== this.current;
    this.watchedVia = this.current;
    const endpoint = this.endpoints[this.current % this.endpoints.length] as Endpoint;
    for (const [lane, set] of this.watchLanes.entries())
      if (all || changed.has(lane))
        this.laneSender(endpoint, lane).send([
          encodeMessage({ type: 'watch', requestId: 0, listIds: [...set] }),
        ]);
    // Lanes emptied at the end have been told so (their sets replaced by nothing): forget them.
    while (this.watchLanes.length > 0 && this.watchLanes[this.watchLanes.length - 1]?.size === 0)
      this.watchLanes.pop();
  }

  /** The proxy's own view of the cluster (nodes, ring), as JSON. */
  async proxyStats(timeoutMs = 2_000): Promise<Record<string, unknown>> {
    const reply = await this.request(timeoutMs, (requestId) => ({ type: 'stats', requestId }));
    if (reply?.type !== 'stats-reply')
      throw new TrolleyError('not_found', 'the proxy did not answer; is the cloud running?');
    return JSON.parse(reply.json) as Record<string, unknown>;
  }

  close(): void {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.changeListeners.clear();
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    this.waiting.clear();
    for (const e of this.endpoints) {
      e.socket.close();
      for (const l of e.lanes) l.socket.close();
    }
  }

  /** Sends one request to one proxy; its reply, or undefined after `waitMs`. */
  private exchange(
    endpoint: Endpoint,
    waitMs: number,
    make: (requestId: number) => Message,
  ): Promise<Message | undefined> {
    const requestId = this.nextRequestId++;
    return new Promise<Message | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve(undefined);
      }, waitMs);
      this.waiting.set(requestId, { resolve, timer });
      endpoint.sender.send([encodeMessage(make(requestId))]);
    });
  }

  /**
   * Asks a proxy for its clock (hello) unless a recent answer is known; waits at most `waitMs`.
   * No answer leaves the offset as it was (0 at first): the request goes ahead regardless.
   */
  private learnClock(endpoint: Endpoint, waitMs: number): Promise<void> {
    const at = endpoint.offsetAtMs;
    if (at !== undefined && this.clock.monotonicMs() - at < clockOffsetTtlMs) return Promise.resolve();
    endpoint.hello ??= (async () => {
      const sentWall = this.clock.wallMs();
      const sentMono = this.clock.monotonicMs();
      const reply = await this.exchange(endpoint, helloWaitMsMax, (requestId) => ({
        type: 'hello',
        requestId,
        client: 'trolley cloud client',
      }));
      if (reply?.type === 'hello-reply') {
        const roundTrip = this.clock.monotonicMs() - sentMono;
        endpoint.offsetMs = reply.wallMs - (sentWall + roundTrip / 2);
        endpoint.offsetAtMs = this.clock.monotonicMs();
      }
    })().finally(() => {
      endpoint.hello = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    return Promise.race([endpoint.hello, waited]).finally(() => clearTimeout(timer));
  }

  /** The last learnt offset of each proxy's clock from ours (ms), for status and tests. */
  clockOffsets(): { address: string; offsetMs: number | undefined }[] {
    return this.endpoints.map((e) => ({
      address: e.address,
      offsetMs: e.offsetAtMs === undefined ? undefined : e.offsetMs,
    }));
  }

  /**
   * Tries proxies in turn until one answers or the deadline passes. A proxy that lets a whole
   * attempt pass in silence is passed over for the next one — once, however many requests timed
   * out on it together; an attempt cut short by the deadline says nothing about its proxy.
   */
  private async request(
    timeoutMs: number,
    make: (requestId: number, deadlineMs: number) => Message,
  ): Promise<Message | undefined> {
    const deadlineMs = this.clock.wallMs() + timeoutMs;
    for (;;) {
      const left = deadlineMs - this.clock.wallMs();
      if (left <= 0) return undefined;
      const index = this.current;
      const endpoint = this.endpoints[index % this.endpoints.length] as Endpoint;
      await this.learnClock(endpoint, Math.min(left, helloWaitMsMax));
      const share = Math.min(Math.max(1, deadlineMs - this.clock.wallMs()), this.attemptMs);
      // The deadline as the proxy's clock reads it.
      const wireDeadlineMs = Math.round(deadlineMs + endpoint.offsetMs);
      const reply = await this.exchange(endpoint, share, (requestId) => make(requestId, wireDeadlineMs));
      if (reply !== undefined) return reply;
      if (share >= this.attemptMs && this.current === index) {
        this.current++;
        if (this.watchedVia !== this.current) this.renewWatch(); // watch again through the next proxy
      }
    }
  }
}

/** The cloud answered with an `error` message: its wire code, for relays such as the gateway. */
export class CloudRefusedError extends TrolleyError {
  constructor(
    readonly wireCode: WireErrorName,
    readonly detail: string,
  ) {
    super(
      wireCode === 'limit_exceeded' ? 'limit_exceeded' : 'invalid_argument',
      wireCode === 'limit_exceeded'
        ? `the cloud refused the change: ${detail}; it stays on this device (limit_exceeded)`
        : `the cloud refused: ${wireCode}: ${detail}`,
    );
  }
}

const noWriter = new Uint8Array(0);

function unexpected(m: Message): TrolleyError {
  if (m.type === 'error') return new CloudRefusedError(m.code, m.message);
  return new TrolleyError('invalid_argument', `unexpected reply ${m.type}`);
}
