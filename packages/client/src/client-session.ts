// The client side of the wire protocol (PROTOCOL.md §3), once, for every transport: the ZeroMQ
// CloudClient (@trolley/node), the browser's WebSocket WsCloud (apps/web) and the simulator's
// clients (@trolley/sim) all speak through a ClientSession. Sans-IO: it never opens a socket nor
// sets a timer of its own. Frames go out through `SessionPorts.send`, time comes from
// `SessionPorts.clock`, and every wait is a `SessionPorts.after` — so the simulator runs this very
// code on its virtual clock.
//
// What it keeps:
//   - the request table: request IDs (unique among those in flight, never 0, which is a notice's),
//     each request's waiter, and its give-up timer. A reply settles its request once; a late reply
//     (its request given up on) or one to an ID not ours is counted and dropped.
//   - deadlines in the peer's clock. A device's clock may be minutes off, and the cloud refuses a
//     deadline that has passed by its own clock, so a request's deadline is written as
//     "now + timeout" in the peer's clock: this device's wall clock plus the learnt offset. The
//     offset is learnt NTP-style from a `hello-reply` (the peer's time against the midpoint of the
//     round trip; `hello()`), or from a `gateway-hello`, which a gateway sends unasked when a
//     connection opens (one way: its time against ours at arrival).
//   - reading replies into typed outcomes (`PutOutcome`, `GetOutcome`): a put is 'ok' (cloud-ok),
//     'unknown' (no answer in time, the cloud's own "unknown", or an error that says to retry:
//     it may or may not apply, so it is never "failed"), or 'refused' (an error saying the
//     request itself is wrong, or — `refused` — that the cloud must first be pulled from).
//   - the watch: the set of lists whose `changed` notices this client wants (a `watch` replaces
//     its connection's set at the peer, so the whole set is sent each time), split into lanes of
//     at most `laneListsMax` lists (a lane is a connection of its own, for a client that watches
//     more than one connection may: a gateway), renewed every `watchRenewMs` (a lease at a proxy),
//     and sent again in full by `renewWatch()` after a reconnect or a failover. A list keeps its
//     lane while it is watched, so a change to the set re-sends only the lanes it changes.
//   - `changed` notices, handed to the listeners (a listener's failure is its own).
// Malformed frames are counted and dropped, never thrown: a peer's bytes are not an order.

import {
  decodeClientPortMessage,
  encodeMessage,
  limits,
  type ClientPortMessage,
  type Clock,
  type ListId,
  type OpId,
  type WireErrorName,
} from '@trolley/core';

export interface SessionPorts {
  /** This device's clocks: monotonic for round trips, wall for deadlines (plus the offset). */
  clock: Clock;
  /**
   * Sends one frame, on watch lane `lane` (0: the main connection, which carries every request).
   * Returns false if it could not be sent now (offline): a request is then settled at once.
   */
  send(frame: Uint8Array, lane: number): boolean;
  /** Calls `action` once, `ms` from now (the host's timer). Returns a function that cancels it. */
  after(ms: number, action: () => void): () => void;
}

export interface SessionOptions {
  /** Extra wait past a request's deadline before giving up on its reply. Default 0. */
  replyGraceMs?: number;
  /** Lists per watch lane (a lane: a connection of its own). Default limits.watchedListsMax. */
  laneListsMax?: number;
  /** Renew the watch this often while watching (a lease); undefined: never. */
  watchRenewMs?: number;
  /** How this client names itself in a `hello`. */
  clientName?: string;
}

export type PutOutcome =
  | { outcome: 'ok'; acks: number; replicas: number }
  | {
      outcome: 'unknown';
      /** 'no-answer': nothing came in time (or nothing could be sent); else the peer's word. */
      why: 'no-answer' | 'put-unknown' | 'unexpected' | WireErrorName;
      acks: number;
      replicas: number;
    }
  | { outcome: 'refused'; code: WireErrorName; message: string };

export type GetOutcome =
  | { outcome: 'ok'; delta: Uint8Array; answered: number; inSync: number; replicas: number }
  | { outcome: 'no-answer' }
  | { outcome: 'error'; code: WireErrorName | 'unexpected'; message: string };

export interface SessionCounters {
  requests: number;
  /** Requests that got no reply in time (or could not be sent). */
  noAnswer: number;
  /** Replies to requests given up on, or to IDs not in flight. */
  lateReplies: number;
  /** Frames that did not decode. */
  malformed: number;
  /** Replies of the wrong type for their request, and messages a client is never sent. */
  unexpected: number;
  changedNotices: number;
  watchesSent: number;
  /** Clock offsets learnt (hello-reply or gateway-hello). */
  clockSamples: number;
}

/** Errors after which the same request may succeed later: its outcome is unknown, not refused. */
export function isTransientError(code: WireErrorName): boolean {
  return (
    code === 'deadline_exceeded' ||
    code === 'unavailable' ||
    code === 'overloaded' ||
    code === 'storage_failed'
  );
}

interface Waiter {
  settle(reply: ClientPortMessage | undefined): void;
  cancel: () => void;
}

const requestIdMax = 0xffffffff;

export class ClientSession {
  readonly counters: SessionCounters = {
    requests: 0,
    noAnswer: 0,
    lateReplies: 0,
    malformed: 0,
    unexpected: 0,
    changedNotices: 0,
    watchesSent: 0,
    clockSamples: 0,
  };
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private offset = 0;
  private offsetAt: number | undefined;
  private helloRunning: Promise<boolean> | undefined;
  private readonly graceMs: number;
  private readonly laneMax: number;
  private readonly clientName: string;
  private readonly changeListeners = new Set<(listId: ListId, delta: Uint8Array) => void>();
  private readonly helloListeners = new Set<() => void>();
  private lanes: Set<ListId>[] = [];
  private readonly laneOf = new Map<ListId, number>();
  private watchedList: ListId[] = [];
  private cancelRenewal: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly ports: SessionPorts,
    private readonly options: SessionOptions = {},
  ) {
    this.graceMs = options.replyGraceMs ?? 0;
    this.laneMax = options.laneListsMax ?? limits.watchedListsMax;
    this.clientName = options.clientName ?? 'trolley client';
  }

  // ---- the clock -------------------------------------------------------------------------------

  /** The peer's clock minus ours (ms), as last learnt; 0 until then. */
  get clockOffsetMs(): number {
    return this.offset;
  }

  /** Whether an offset was learnt less than `ttlMs` ago (monotonic). */
  clockKnown(ttlMs: number): boolean {
    return this.offsetAt !== undefined && this.ports.clock.monotonicMs() - this.offsetAt < ttlMs;
  }

  /** Forgets the offset (a new peer: a failover to another proxy). The next hello learns it. */
  forgetClock(): void {
    this.offset = 0;
    this.offsetAt = undefined;
  }

  /** "Now" in the peer's clock. */
  peerNowMs(): number {
    return this.ports.clock.wallMs() + this.offset;
  }

  /**
   * Asks the peer for its clock (one `hello` at a time: callers share it) and waits at most
   * `waitMs` for the answer. True if an offset was learnt.
   */
  hello(waitMs: number): Promise<boolean> {
    this.helloRunning ??= (async () => {
      const sentWall = this.ports.clock.wallMs();
      const sentMono = this.ports.clock.monotonicMs();
      const reply = await this.request(
        (requestId) => ({ type: 'hello', requestId, client: this.clientName }),
        waitMs,
      );
      if (reply?.type !== 'hello-reply') return false;
      const roundTrip = this.ports.clock.monotonicMs() - sentMono;
      this.learnOffset(reply.wallMs - (sentWall + roundTrip / 2));
      return true;
    })().finally(() => {
      this.helloRunning = undefined;
    });
    return this.helloRunning;
  }

  /**
   * Learns the peer's clock unless an offset younger than `ttlMs` is known, waiting at most
   * `waitMs` for it. No answer leaves the offset as it was (0 at first): requests go ahead.
   */
  async ensureClock(ttlMs: number, waitMs: number): Promise<void> {
    if (this.clockKnown(ttlMs) || waitMs <= 0) return;
    let cancel: (() => void) | undefined;
    const waited = new Promise<void>((resolve) => (cancel = this.ports.after(waitMs, resolve)));
    await Promise.race([this.hello(waitMs), waited]);
    cancel?.();
  }

  /** Called after every gateway-hello (the connection is ready). Returns a function that stops it. */
  onHello(listener: () => void): () => void {
    this.helloListeners.add(listener);
    return () => this.helloListeners.delete(listener);
  }

  private learnOffset(offsetMs: number): void {
    this.offset = offsetMs;
    this.offsetAt = this.ports.clock.monotonicMs();
    this.counters.clockSamples++;
  }

  // ---- requests --------------------------------------------------------------------------------

  /**
   * A put: `timeoutMs` from now in the peer's clock is its deadline; the reply is waited for
   * until then plus the grace, or `waitMs` if given (a share of the time, before trying another
   * peer). Never rejects.
   */
  async put(
    listId: ListId,
    delta: Uint8Array,
    options: { opId: OpId; timeoutMs: number; writer?: Uint8Array; waitMs?: number },
  ): Promise<PutOutcome> {
    const deadlineMs = this.deadline(options.timeoutMs);
    const reply = await this.request(
      (requestId) => ({
        type: 'put',
        requestId,
        listId,
        opId: options.opId,
        deadlineMs,
        delta,
        writer: options.writer ?? noWriter,
      }),
      options.waitMs ?? options.timeoutMs + this.graceMs,
    );
    if (reply === undefined) return { outcome: 'unknown', why: 'no-answer', acks: 0, replicas: 0 };
    if (reply.type === 'put-reply')
      return reply.outcome === 'ok'
        ? { outcome: 'ok', acks: reply.acks, replicas: reply.replicas }
        : { outcome: 'unknown', why: 'put-unknown', acks: reply.acks, replicas: reply.replicas };
    if (reply.type === 'error')
      return isTransientError(reply.code)
        ? { outcome: 'unknown', why: reply.code, acks: 0, replicas: 0 }
        : { outcome: 'refused', code: reply.code, message: reply.message };
    this.counters.unexpected++;
    return { outcome: 'unknown', why: 'unexpected', acks: 0, replicas: 0 };
  }

  /** A get with this client's causal context; see `put` for the times. Never rejects. */
  async get(
    listId: ListId,
    context: Uint8Array,
    options: { timeoutMs: number; waitMs?: number },
  ): Promise<GetOutcome> {
    const deadlineMs = this.deadline(options.timeoutMs);
    const reply = await this.request(
      (requestId) => ({ type: 'get', requestId, listId, deadlineMs, context }),
      options.waitMs ?? options.timeoutMs + this.graceMs,
    );
    if (reply === undefined) return { outcome: 'no-answer' };
    if (reply.type === 'get-reply')
      return {
        outcome: 'ok',
        delta: reply.delta,
        answered: reply.answered,
        inSync: reply.inSync,
        replicas: reply.replicas,
      };
    if (reply.type === 'error') return { outcome: 'error', code: reply.code, message: reply.message };
    this.counters.unexpected++;
    return { outcome: 'error', code: 'unexpected', message: `a get answered with ${reply.type}` };
  }

  /** The peer's own view (a proxy's `stats`), as JSON text; undefined: no answer in time. */
  async stats(waitMs: number): Promise<string | undefined> {
    const reply = await this.request((requestId) => ({ type: 'stats', requestId }), waitMs);
    return reply?.type === 'stats-reply' ? reply.json : undefined;
  }

  /**
   * The fronts that serve this list directly, in preference order (a proxy's `locate`); [] if it
   * names none or answers with an error (a peer that does not know `locate`); undefined: no answer
   * in time.
   */
  async locate(listId: ListId, waitMs: number): Promise<string[] | undefined> {
    const reply = await this.request((requestId) => ({ type: 'locate', requestId, listId }), waitMs);
    if (reply?.type === 'locate-reply') return reply.fronts;
    return reply?.type === 'error' ? [] : undefined; // a peer that does not know `locate` names none
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /**
   * The connection is gone: every request in flight settles as unanswered at once (a put's outcome
   * is then unknown). Watches are kept, to be sent again with `renewWatch()` on the next one.
   */
  abandonAll(): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) {
      w.cancel();
      this.counters.noAnswer++;
      w.settle(undefined);
    }
  }

  /** Ends the session: requests settle, timers stop, listeners are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelRenewal?.();
    this.cancelRenewal = undefined;
    this.abandonAll();
    this.changeListeners.clear();
    this.helloListeners.clear();
  }

  private deadline(timeoutMs: number): number {
    return Math.round(this.peerNowMs() + timeoutMs);
  }

  /** Sends a request and waits at most `waitMs` for its reply; undefined: none. Never rejects. */
  private request(
    make: (requestId: number) => ClientPortMessage,
    waitMs: number,
  ): Promise<ClientPortMessage | undefined> {
    this.counters.requests++;
    if (this.closed || waitMs <= 0) {
      this.counters.noAnswer++;
      return Promise.resolve(undefined);
    }
    const requestId = this.freeRequestId();
    return new Promise((resolve) => {
      const cancel = this.ports.after(waitMs, () => {
        if (this.waiting.get(requestId)?.settle !== resolve) return;
        this.waiting.delete(requestId);
        this.counters.noAnswer++;
        resolve(undefined);
      });
      this.waiting.set(requestId, { settle: resolve, cancel });
      if (!this.ports.send(encodeMessage(make(requestId)), 0)) {
        this.waiting.delete(requestId);
        cancel();
        this.counters.noAnswer++;
        resolve(undefined);
      }
    });
  }

  private freeRequestId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= requestIdMax ? 1 : id + 1;
      if (!this.waiting.has(id)) return id;
    }
  }

  // ---- what comes in ---------------------------------------------------------------------------

  /** A frame from the peer (on any lane). Never throws for its content. */
  receive(frame: Uint8Array): void {
    const decoded = decodeClientPortMessage(frame);
    if (!decoded.ok) {
      this.counters.malformed++;
      return;
    }
    const m = decoded.value;
    if (m.type === 'changed') {
      this.counters.changedNotices++;
      for (const f of [...this.changeListeners]) {
        try {
          f(m.listId, m.delta);
        } catch {
          // a listener's failure is its own
        }
      }
      return;
    }
    if (m.type === 'gateway-hello') {
      this.learnOffset(m.wallMs - this.ports.clock.wallMs());
      for (const f of [...this.helloListeners]) {
        try {
          f();
        } catch {
          // a listener's failure is its own
        }
      }
      return;
    }
    if (!replyTypes.has(m.type)) {
      this.counters.unexpected++; // a message a client is never sent
      return;
    }
    const w = m.requestId === 0 ? undefined : this.waiting.get(m.requestId);
    if (w === undefined) {
      // Late (given up on), or an answer to a request that expects none (a watch's overloaded).
      this.counters.lateReplies++;
      return;
    }
    this.waiting.delete(m.requestId);
    w.cancel();
    w.settle(m);
  }

  /** Called with every `changed` notice (a delta that is always safe to join). Returns stop. */
  onChanged(listener: (listId: ListId, delta: Uint8Array) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  // ---- the watch -------------------------------------------------------------------------------

  /** The lists watched now. */
  get watched(): readonly ListId[] {
    return this.watchedList;
  }

  /**
   * Makes `listIds` the watched set (at most `max`; the rest are not watched) and sends the lanes
   * it changes. Takes effect at the peer when its `watch` arrives.
   */
  setWatched(listIds: readonly ListId[], max: number = limits.watchedListsMax): void {
    const changed = this.assignLanes([...new Set(listIds)].slice(0, max));
    this.sendLanes(changed);
    this.scheduleRenewal();
  }

  /**
   * Forgets the watched set without telling the peer (its leases lapse there): the watch moves to
   * another peer's session (a failover).
   */
  forgetWatch(): void {
    this.lanes = [];
    this.laneOf.clear();
    this.watchedList = [];
    this.cancelRenewal?.();
    this.cancelRenewal = undefined;
  }

  /** Sends every lane's set again: a lease renewal, a reconnect, a failover to another peer. */
  renewWatch(): void {
    this.sendLanes(undefined);
  }

  private scheduleRenewal(): void {
    const every = this.options.watchRenewMs;
    if (every === undefined || this.closed) return;
    if (this.watchedList.length === 0) {
      this.cancelRenewal?.();
      this.cancelRenewal = undefined;
      return;
    }
    if (this.cancelRenewal !== undefined) return;
    const tick = (): void => {
      this.cancelRenewal = undefined;
      if (this.closed || this.watchedList.length === 0) return;
      this.renewWatch();
      this.cancelRenewal = this.ports.after(every, tick);
    };
    this.cancelRenewal = this.ports.after(every, tick);
  }

  /**
   * A list already in a lane stays there, a new one goes to the first lane with room, a lane left
   * with nothing is sent an empty watch (once) and dropped. Returns the lanes whose sets changed.
   */
  private assignLanes(listIds: readonly ListId[]): Set<number> {
    const changed = new Set<number>();
    const next = new Set(listIds);
    for (const [id, lane] of this.laneOf)
      if (!next.has(id)) {
        this.lanes[lane]?.delete(id);
        this.laneOf.delete(id);
        changed.add(lane);
      }
    let lane = 0;
    for (const id of listIds) {
      if (this.laneOf.has(id)) continue;
      while ((this.lanes[lane]?.size ?? 0) >= this.laneMax) lane++;
      const set = (this.lanes[lane] ??= new Set());
      set.add(id);
      this.laneOf.set(id, lane);
      changed.add(lane);
    }
    this.watchedList = [...next];
    return changed;
  }

  /** Sends the `changed` lanes' sets (all: undefined), then forgets lanes emptied at the end. */
  private sendLanes(changed: ReadonlySet<number> | undefined): void {
    if (this.closed) return;
    for (const [lane, set] of this.lanes.entries())
      if (changed === undefined || changed.has(lane)) {
        this.counters.watchesSent++;
        this.ports.send(encodeMessage({ type: 'watch', requestId: 0, listIds: [...set] }), lane);
      }
    while (this.lanes.length > 0 && this.lanes[this.lanes.length - 1]?.size === 0) this.lanes.pop();
  }
}

const noWriter = new Uint8Array(0);

/** What may answer a client's request. */
const replyTypes: ReadonlySet<ClientPortMessage['type']> = new Set([
  'hello-reply',
  'put-reply',
  'get-reply',
  'stats-reply',
  'locate-reply',
  'error',
]);
