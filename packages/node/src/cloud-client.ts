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
// The protocol itself — request IDs, deadlines in the proxy's clock, reading replies, the watch and
// its renewal, `changed` notices — is @trolley/client's ClientSession, one per proxy, shared with the
// browser's WsCloud and the simulator; this file owns the sockets, the failover and the lanes' sockets.
//
// Direct (`direct: true`): each list is served by its coordinator's front when the cloud names one.
// The first request for a list goes through a proxy and asks, beside it, where the list lives
// (`locate`); from then on its puts, gets and watch go to the first front named (a connection per
// front, shared by its lists), so another client's change reaches a watcher in two hops instead of
// four. A front that is silent for an attempt, or answers `unavailable` (its node no longer serves
// the list), sends that request on to the proxies and the list back to them for frontRetryMs, after
// which it is located again; the watch moves with the list.
//
// Encryption: an address with the proxy's public key after # (tcp://host:5555#KEY) is reached over
// CURVE, with a key pair this client makes for itself (clients are anonymous): nobody on the path
// reads a list ID or a list, and nobody can pose as the proxy. A secure proxy refuses a client
// that does not speak CURVE, so an address without its key does not connect to one.

import type * as zmq from 'zeromq';
import {
  TrolleyError,
  limits,
  opIdFrom,
  type Clock,
  type ListId,
  type OpId,
  type Random,
  type WireErrorName,
} from '@trolley/core';
import { ClientSession, clientLimits, type GetOutcome, type PutOutcome } from '@trolley/client';
import { BoundedMap, silentLogger, type Logger } from '@trolley/cloud';
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
  /** Serve each list at its coordinator's front when the cloud names one (see the top). */
  direct?: boolean;
}

/** Where a list is served in direct mode: its front, or (undefined) the proxies until `untilMs`. */
interface Route {
  front: Endpoint | undefined;
  untilMs: number;
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
  /** The protocol with this proxy: its requests, its clock offset, the watch held there. */
  session: ClientSession;
  /** Watch lanes 1, 2, … to this proxy (lane 0 is `sender`), opened when first needed. */
  lanes: { socket: zmq.Dealer; sender: Sender }[];
  /** A front whose connection dropped: closed, and no longer used. */
  lost?: boolean;
}

/** How long a learnt clock offset is trusted before it is asked again. */
const clockOffsetTtlMs = 5 * 60_000;
/** The longest a request waits for a hello before going ahead with the offset it has. */
const helloWaitMsMax = 1_000;

export class CloudClient {
  private readonly endpoints: Endpoint[];
  private current = 0;
  private readonly changeListeners = new Set<(listId: ListId, delta: Uint8Array) => void>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly attemptMs: number;
  /** This client's CURVE key pair, made for this client alone. */
  private readonly keys: KeyPair = newKeyPair();
  private readonly direct: boolean;
  /** Direct mode: the fronts connected to, by address, and where each list is served. */
  private readonly fronts = new Map<string, Endpoint>();
  private readonly routes = new BoundedMap<ListId, Route>(clientLimits.frontRoutesMax);
  private readonly locating = new Set<ListId>();
  /** Fronts whose connection dropped, by address, and until when they are not used again. */
  private readonly frontsDown = new Map<string, number>();
  /** Every list watched (at its front, in direct mode, or at the current proxy), and how many at most. */
  private watchSet: ListId[] = [];
  private watchedSet = new Set<ListId>();
  private watchMax: number = limits.watchedListsMax;
  /** Direct mode: a placeWatches() is scheduled (lists located one by one move in one go). */
  private placing = false;
  private closed = false;

  constructor(addresses: readonly string[], options: CloudClientOptions = {}) {
    if (addresses.length === 0)
      throw new TrolleyError('invalid_argument', 'give at least one cloud endpoint');
    this.log = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.attemptMs = options.attemptMs ?? 2_000;
    this.direct = options.direct ?? false;
    this.endpoints = addresses.map((address) => this.connect(address));
  }

  /** A connection to a proxy or a front, with its protocol session. */
  private connect(address: string): Endpoint {
    const { endpoint: zmqEndpoint, serverKey } = splitAddress(address);
    const socket = this.socketTo(zmqEndpoint, serverKey);
    const endpoint: Endpoint = {
      address,
      zmqEndpoint,
      serverKey,
      socket,
      sender: new Sender(socket, this.log),
      session: undefined as unknown as ClientSession,
      lanes: [],
    };
    endpoint.session = new ClientSession(
      {
        clock: this.clock,
        send: (frame, lane) => {
          this.laneSender(endpoint, lane).send([frame]);
          return true; // ZeroMQ queues it until the peer is there
        },
        after: (ms, action) => {
          // The sockets keep the process alive while it is open; a timer alone must not.
          const timer = setTimeout(action, ms);
          timer.unref();
          return () => clearTimeout(timer);
        },
      },
      { watchRenewMs: limits.watchLeaseMs / 2, clientName: 'trolley cloud client' },
    );
    endpoint.session.onChanged((listId, delta) => {
      for (const f of this.changeListeners) f(listId, delta);
    });
    void receiveLoop(socket, (frames) => this.onFrames(endpoint, frames), this.log);
    return endpoint;
  }

  private socketTo(address: string, serverKey: string | undefined): zmq.Dealer {
    const socket = dealer(undefined, serverKey === undefined ? undefined : { keys: this.keys, serverKey });
    socket.connect(address);
    return socket;
  }

  private onFrames(endpoint: Endpoint, frames: Buffer[]): void {
    if (frames.length !== 1) return;
    endpoint.session.receive(frames[0] as Buffer);
  }

  private get endpoint(): Endpoint {
    return this.endpoints[this.current % this.endpoints.length] as Endpoint;
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
    const answer = await this.routed<PutOutcome>(
      listId,
      options.timeoutMs ?? 5_000,
      (session, timeoutMs, waitMs) =>
        session.put(listId, delta, {
          opId,
          timeoutMs,
          waitMs,
          ...(options.writer === undefined ? {} : { writer: options.writer }),
        }),
      (a) => a.outcome !== 'unknown' || a.why !== 'no-answer',
      (a) => a.outcome === 'unknown' && a.why === 'unavailable',
    );
    if (answer === undefined) return { outcome: 'unknown', acks: 0, replicas: 0 };
    if (answer.outcome === 'ok') return answer;
    if (answer.outcome === 'refused') throw new CloudRefusedError(answer.code, answer.message);
    if (answer.why === 'overloaded' || answer.why === 'storage_failed')
      throw new CloudRefusedError(answer.why, `the cloud answered ${answer.why}; try again later`);
    if (answer.why === 'unexpected') throw new TrolleyError('invalid_argument', 'unexpected reply to a put');
    return { outcome: 'unknown', acks: answer.acks, replicas: answer.replicas };
  }

  async get(listId: ListId, context: Uint8Array, options: { timeoutMs?: number } = {}): Promise<GetResult> {
    const answer = await this.routed<GetOutcome>(
      listId,
      options.timeoutMs ?? 5_000,
      (session, timeoutMs, waitMs) => session.get(listId, context, { timeoutMs, waitMs }),
      (a) => a.outcome !== 'no-answer',
      (a) => a.outcome === 'error' && a.code === 'unavailable',
    );
    if (answer === undefined || answer.outcome === 'no-answer')
      throw new TrolleyError('not_found', 'no proxy answered in time; is the cloud running?');
    if (answer.outcome === 'ok') return answer; // a CloudGetResult (and its outcome)
    if (answer.code === 'unexpected') throw new TrolleyError('invalid_argument', answer.message);
    throw new CloudRefusedError(answer.code, answer.message);
  }

  /**
   * Asks to be told when these lists change (pushed by the cloud, not polled). The watch is a
   * lease that the session renews every half lease, and again on the proxy it fails over to.
   * Returns a function that stops listening.
   */
  watch(listIds: readonly ListId[], onChanged: (listId: ListId, delta: Uint8Array) => void): () => void {
    this.changeListeners.add(onChanged);
    this.setWatchedUpTo([...this.watchedLists, ...listIds], limits.watchedListsMax);
    return () => {
      this.changeListeners.delete(onChanged);
    };
  }

  /** Adds lists to those watched (for listeners already registered with watch()). */
  addWatched(listIds: readonly ListId[]): void {
    const before = this.watchedLists.length;
    const next = [...new Set([...this.watchedLists, ...listIds])].slice(0, limits.watchedListsMax);
    if (next.length !== before) this.setWatchedUpTo(next, limits.watchedListsMax);
  }

  /**
   * Replaces the watched lists (the gateway: the union of its browsers' lists), at most
   * limits.gatewayWatchedListsMax. Lists dropped from the set are simply no longer renewed: their
   * leases lapse at the proxy. Listeners are those registered with watch() (possibly for no list).
   */
  setWatched(listIds: readonly ListId[]): void {
    this.setWatchedUpTo(listIds, limits.gatewayWatchedListsMax);
  }

  /** The lists this client currently keeps a watch on. */
  get watchedLists(): readonly ListId[] {
    return this.watchSet;
  }

  private setWatchedUpTo(listIds: readonly ListId[], max: number): void {
    this.watchSet = [...new Set(listIds)].slice(0, max);
    this.watchedSet = new Set(this.watchSet);
    this.watchMax = max;
    for (const id of this.watchSet) this.frontOf(id); // locates the lists not yet located
    this.placeWatches();
  }

  /** Places the watches once the lists located in this turn have their routes. */
  private placeWatchesSoon(): void {
    if (this.placing) return;
    this.placing = true;
    setImmediate(() => {
      this.placing = false;
      if (!this.closed) this.placeWatches();
    });
  }

  /** Each watched list at its front if it has one (direct mode), the others at the current proxy. */
  private placeWatches(): void {
    const at = new Map<Endpoint, ListId[]>();
    const rest: ListId[] = [];
    for (const id of this.watchSet) {
      const front = liveFront(this.routes.get(id));
      if (front === undefined) rest.push(id);
      else {
        const lists = at.get(front);
        if (lists === undefined) at.set(front, [id]);
        else lists.push(id);
      }
    }
    for (const front of this.fronts.values()) front.session.setWatched(at.get(front) ?? [], this.watchMax);
    this.endpoint.session.setWatched(rest, this.watchMax);
  }

  /**
   * Direct mode: the front serving `listId`, if it is known; locates the list (in the background)
   * when it was never located or its time with the proxies is up.
   */
  private frontOf(listId: ListId): Endpoint | undefined {
    if (!this.direct) return undefined;
    const route = this.routes.get(listId);
    const front = liveFront(route);
    if (
      route === undefined ||
      (front === undefined && (route.front?.lost === true || route.untilMs <= this.clock.monotonicMs()))
    )
      this.locateSoon(listId);
    return front;
  }

  /** Locates `listId` in the background, unless it is being located or too many are. */
  private locateSoon(listId: ListId): void {
    if (this.locating.has(listId) || this.closed) return;
    if (this.locating.size >= clientLimits.locatesInFlightMax) return; // asked again when next used
    this.locating.add(listId);
    this.locate(listId, this.attemptMs)
      .then(
        (fronts) => this.route(listId, fronts[0]),
        () => this.route(listId, undefined),
      )
      .finally(() => this.locating.delete(listId));
  }

  /** Serves `listId` at the front with this address (undefined: at the proxies for a while). */
  private route(listId: ListId, address: string | undefined): void {
    if (this.closed) return;
    const now = this.clock.monotonicMs();
    for (const [a, untilMs] of this.frontsDown) if (untilMs <= now) this.frontsDown.delete(a);
    if (address !== undefined && this.frontsDown.has(address)) address = undefined;
    let front = address === undefined ? undefined : this.fronts.get(address);
    if (address !== undefined && front === undefined && this.fronts.size < clientLimits.frontsConnectedMax) {
      front = this.connect(address);
      this.fronts.set(address, front);
      this.watchConnection(front);
    }
    const before = this.routes.get(listId)?.front;
    this.routes.set(listId, { front, untilMs: now + clientLimits.frontRetryMs });
    if (front !== before && this.watchedSet.has(listId)) this.placeWatchesSoon();
  }

  /** Gives a front up when its connection drops (its node stopped, or went silent past the heartbeat). */
  private watchConnection(front: Endpoint): void {
    void (async () => {
      try {
        for await (const event of front.socket.events)
          if (event.type === 'disconnect') return this.loseFront(front);
      } catch {
        // the socket closed
      }
    })();
  }

  /**
   * A front's connection dropped: its requests in flight settle unanswered (and go on through the
   * proxies), its lists' watches move to the proxy, and it is not used for frontRetryMs.
   */
  private loseFront(front: Endpoint): void {
    if (this.closed || front.lost === true) return;
    front.lost = true;
    this.fronts.delete(front.address);
    if (this.frontsDown.size < clientLimits.frontsConnectedMax)
      this.frontsDown.set(front.address, this.clock.monotonicMs() + clientLimits.frontRetryMs);
    this.log.info('front lost; its lists go through the proxies', { front: front.zmqEndpoint });
    front.session.abandonAll();
    front.session.close();
    front.socket.close();
    for (const l of front.lanes) l.socket.close();
    this.placeWatchesSoon();
  }

  /**
   * A request for one list: at its front first (direct mode, once located), for one attempt's share
   * of the time; if the front is silent or no longer serves the list, the list goes back to the
   * proxies, and so does the request, in the time left.
   */
  private async routed<T>(
    listId: ListId,
    timeoutMs: number,
    attempt: (session: ClientSession, timeoutMs: number, waitMs: number) => Promise<T>,
    answered: (answer: T) => boolean,
    elsewhere: (answer: T) => boolean,
  ): Promise<T | undefined> {
    const front = this.frontOf(listId);
    if (front === undefined) return this.request(timeoutMs, attempt, answered, elsewhere);
    const deadlineMs = this.clock.wallMs() + timeoutMs;
    await front.session.ensureClock(clockOffsetTtlMs, Math.min(timeoutMs, helloWaitMsMax));
    const rest = Math.max(1, deadlineMs - this.clock.wallMs());
    const answer = await attempt(front.session, rest, Math.min(rest, this.attemptMs));
    if (answered(answer) && !elsewhere(answer)) return answer;
    if (this.routes.get(listId)?.front === front && front.lost !== true) this.route(listId, undefined);
    const left = deadlineMs - this.clock.wallMs();
    return left > 0 ? ((await this.request(left, attempt, answered, elsewhere)) ?? answer) : answer;
  }

  /** A watch lane's connection to `endpoint` (lane 0 is the endpoint's own). */
  private laneSender(endpoint: Endpoint, lane: number): Sender {
    if (lane === 0) return endpoint.sender;
    for (let i = endpoint.lanes.length; i < lane; i++) {
      const socket = this.socketTo(endpoint.zmqEndpoint, endpoint.serverKey);
      void receiveLoop(socket, (frames) => this.onFrames(endpoint, frames), this.log);
      endpoint.lanes.push({ socket, sender: new Sender(socket, this.log) });
    }
    return (endpoint.lanes[lane - 1] as { sender: Sender }).sender;
  }

  /**
   * The fronts that serve `listId` directly (the storage nodes of its preference list with a client
   * port of their own, the coordinator first), as cloud addresses: a client made with them before
   * its proxies (`new CloudClient([...fronts, ...proxies])`) writes to and watches the list at its
   * coordinator, two hops a change instead of four, and falls back to the proxies when a front is
   * silent or no longer serves the list. [] if the cloud names none.
   */
  async locate(listId: ListId, timeoutMs = 2_000): Promise<string[]> {
    const fronts = await this.request<string[] | undefined>(
      timeoutMs,
      (session, _left, waitMs) => session.locate(listId, waitMs),
      (a) => a !== undefined,
    );
    if (fronts === undefined)
      throw new TrolleyError('not_found', 'the proxy did not answer; is the cloud running?');
    return fronts;
  }

  /** The proxy's own view of the cluster (nodes, ring), as JSON. */
  async proxyStats(timeoutMs = 2_000): Promise<Record<string, unknown>> {
    const json = await this.request<string | undefined>(
      timeoutMs,
      (session, _left, waitMs) => session.stats(waitMs),
      (a) => a !== undefined,
    );
    if (json === undefined)
      throw new TrolleyError('not_found', 'the proxy did not answer; is the cloud running?');
    return JSON.parse(json) as Record<string, unknown>;
  }

  close(): void {
    this.closed = true;
    this.changeListeners.clear();
    for (const e of [...this.endpoints, ...this.fronts.values()]) {
      e.session.close();
      e.socket.close();
      for (const l of e.lanes) l.socket.close();
    }
  }

  /** The last learnt offset of each proxy's clock from ours (ms), for status and tests. */
  clockOffsets(): { address: string; offsetMs: number | undefined }[] {
    return this.endpoints.map((e) => ({
      address: e.address,
      offsetMs: e.session.clockKnown(Infinity) ? e.session.clockOffsetMs : undefined,
    }));
  }

  /**
   * Tries proxies in turn until one answers (`answered`) or the deadline passes; the last answer,
   * or undefined if the time ran out before any attempt. A proxy that lets a whole attempt pass in
   * silence is passed over for the next one — once, however many requests timed out on it
   * together; an attempt cut short by the deadline says nothing about its proxy. One that answers
   * `elsewhere` (a front that no longer serves the list: `unavailable`) is passed over at once, as
   * long as some endpoint has not been tried. The watch moves with it.
   */
  private async request<T>(
    timeoutMs: number,
    attempt: (session: ClientSession, timeoutMs: number, waitMs: number) => Promise<T>,
    answered: (answer: T) => boolean,
    elsewhere: (answer: T) => boolean = () => false,
  ): Promise<T | undefined> {
    const deadlineMs = this.clock.wallMs() + timeoutMs;
    let last: T | undefined;
    for (let sentAway = 0; ;) {
      const left = deadlineMs - this.clock.wallMs();
      if (left <= 0) return last;
      const index = this.current;
      const { session } = this.endpoint;
      await session.ensureClock(clockOffsetTtlMs, Math.min(left, helloWaitMsMax));
      const rest = Math.max(1, deadlineMs - this.clock.wallMs());
      const share = Math.min(rest, this.attemptMs);
      last = await attempt(session, rest, share);
      if (elsewhere(last) && sentAway < this.endpoints.length - 1) {
        sentAway++;
        if (this.current === index) this.failOver();
        continue;
      }
      if (answered(last)) return last;
      if (share >= this.attemptMs && this.current === index) this.failOver();
    }
  }

  /** Moves to the next proxy, and the watch with it (the old proxy's leases lapse). */
  private failOver(): void {
    const from = this.endpoint.session;
    // The lists watched at the proxy move to the next one (every lane is new there); those at
    // fronts stay.
    this.current++;
    if (this.endpoint.session === from) return from.renewWatch();
    from.forgetWatch();
    this.placeWatches();
  }
}

/** A route's front, unless its connection dropped. */
function liveFront(route: Route | undefined): Endpoint | undefined {
  return route?.front?.lost === true ? undefined : route?.front;
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
