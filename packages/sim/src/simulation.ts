// One simulated world: the PRODUCTION StorageNode and Proxy state machines, simulated clients and
// an operator, over the simulated network, on a virtual clock, with every choice drawn from one
// seed (TigerBeetle's VOPR, FoundationDB's simulation). A run has two phases:
//
//   safety    faults on, clients active: partitions (one node isolated, majority/minority,
//             a bridge, the proxy cut from some nodes), node crashes (power loss: uncommitted
//             writes are lost) and restarts, message loss, duplication and delay (reordering),
//             clock skew, and perhaps one ring change (a node added or removed) under load;
//   liveness  everything heals: no loss, no partitions, crashed nodes restarted; clients stop
//             operating and flush their outboxes; the run waits until the cloud is quiescent
//             (outboxes empty, hints delivered, owners identical, fallback copies gone, rings
//             agreed, clients caught up) or fails with "liveness: did not converge in T".
//
// The checkers (checkers.ts) then judge the final state against the history.
//
// Time. Each node has a monotonic clock (virtual time plus a per-process offset, new on every
// restart) and a wall clock skewed by up to ±skewMsMax (constant per node, drawn from the seed).
// Deadlines are absolute wall times set by the client, so skew shifts when a node stops accepting
// a write; keeping it to a few hundred ms against deadlines of 1.5 s keeps that shift modest, as
// NTP would in production. Node ticks run every 10 ms and hellos to the proxy every second, as in
// packages/node/src/node-server.ts.

import {
  createRing,
  decodeHeader,
  decodeList,
  decodeAdminMessage,
  decodeClientMessage,
  decodeMessage,
  encodeAdminMessage,
  encodeClientMessage,
  encodeGossipMessage,
  encodeRing,
  listView,
  newListId,
  parseNodeId,
  partitionOf,
  preferenceList,
  type Clock,
  type ListDoc,
  type ListId,
  type NodeId,
  type RingState,
} from '@trolley/core';
import {
  MemoryListStore,
  Proxy,
  StorageNode,
  storedDoc,
  silentLogger,
  type Logger,
  type NodeConfig,
  type NodeCounters,
  type NodeTransport,
  type Peer,
  type Quorum,
  type ReplyTo,
} from '@trolley/cloud';
import { plainView } from '@trolley/core/testing/subjects';
import { SimClient, defaultClientConfig, type ClientConfig } from './client.ts';
import { History, incorporates, type OperationRecord } from './history.ts';
import { SimNetwork, calm, type Weather } from './network.ts';
import { ObservedStore } from './observed-store.ts';
import { Prng } from './prng.ts';
import { Scheduler } from './scheduler.ts';

export interface SimConfig {
  seed: number;
  /** Undefined: 4, 5 or 6 nodes, drawn from the seed (5 most often). */
  nodeCount: number | undefined;
  /** Undefined: 2 to 4, drawn from the seed. */
  clientCount: number | undefined;
  listCount: number;
  /** Q. Undefined: 16, 64 or 1024 (the launcher's default), drawn from the seed. */
  partitionCount: number | undefined;
  /** Undefined: N=3 with R=2 W=2 (most often), R=1 W=3 or R=3 W=1, drawn from the seed. */
  quorum: Quorum | undefined;
  safetyMs: number;
  livenessMsMax: number;
  /** After convergence, run this much longer and check that nothing moved. */
  stableMs: number;
  skewMsMax: number;
  /** Chance that the run includes a ring change. */
  ringChangeChance: number;
  /** Most nodes down (crashed) at once. */
  crashedMax: number;
  /** Chance that a crash also loses the node's disk (at most once per run). */
  wipeChance: number;
  nodeConfig: Partial<NodeConfig>;
  client: ClientConfig;
  /** Optional trace of the run's notable events (faults, phases), for replays. */
  trace: ((line: string) => void) | undefined;
}

export const defaultSimConfig: Omit<SimConfig, 'seed'> = {
  nodeCount: undefined,
  clientCount: undefined,
  listCount: 3,
  partitionCount: undefined,
  quorum: undefined,
  safetyMs: 30_000,
  livenessMsMax: 60_000,
  stableMs: 3_000,
  skewMsMax: 250,
  ringChangeChance: 0.5,
  crashedMax: 2,
  wipeChance: 0.1,
  nodeConfig: {},
  client: defaultClientConfig,
  trace: undefined,
};

const EPOCH_MS = 1_700_000_000_000;
const TICK_MS = 10;
const HELLO_MS = 1_000;
const PROXY = 'proxy';
const OPERATOR = 'operator';

/** Where a frame's answer goes, as the simulated transport encodes it in a ReplyTo. */
type Route = { via: 'node'; node: string } | { via: 'proxy'; client: Uint8Array } | { via: 'operator' };

const asReplyTo = (r: Route): ReplyTo => r as unknown as ReplyTo;
const fromReplyTo = (r: ReplyTo): Route => r as unknown as Route;

/**
 * Who sent a frame that came by `route`, as the ZeroMQ transport will tell a node in production:
 * a node as itself, the proxy forwarding a client's request, the operator's tool.
 */
function senderOf(route: Route): Peer {
  switch (route.via) {
    case 'node':
      return { role: 'node', id: route.node };
    case 'proxy':
      return { role: 'proxy', id: PROXY };
    case 'operator':
      return { role: 'operator', id: OPERATOR };
  }
}

interface NodeSlot {
  id: NodeId;
  skewMs: number;
  alive: boolean;
  /** Grows on every crash and restart: frames and promises of an old incarnation are dead. */
  incarnation: number;
  node: StorageNode | undefined;
  /** The live store, or while down the committed state a restart will open. */
  store: MemoryListStore;
  /** The ring persisted through onRingChange: the node's "disk" besides its store. */
  ring: RingState | undefined;
  flushScheduled: boolean;
  /** Stopped (SIGSTOP): no ticks, no commits; frames wait in `inbox` until it resumes. */
  paused: boolean;
  inbox: (() => void)[];
  resumedMs: number;
  /** The nodes it was configured to gossip with first (the same on every restart). */
  seeds: string[];
  /** Counters of dead incarnations. */
  totals: Partial<NodeCounters>;
}

export interface Coverage {
  hintedWrites: number;
  hintsDelivered: number;
  antiEntropyRepairs: number;
  lateApplied: number;
  /** `changed` notices a watching client was shown (and joined). */
  changesShown: number;
}

export const coverageNames: readonly (keyof Coverage)[] = [
  'hintedWrites',
  'hintsDelivered',
  'antiEntropyRepairs',
  'lateApplied',
  'changesShown',
];

/** A configuration with the seed's draws made. */
export type ResolvedConfig = SimConfig & { nodeCount: number; quorum: Quorum };

export class Simulation {
  readonly config: ResolvedConfig;
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly history: History;
  readonly slots = new Map<string, NodeSlot>();
  readonly clients: SimClient[] = [];
  readonly lists: ListId[] = [];
  proxy: Proxy;
  /** Grows on every proxy crash: frames in flight to a dead proxy are lost. */
  private proxyIncarnation = 0;
  private proxyAlive = true;
  faultCycles = 0;
  ringChange: string | undefined;
  /** Set when production code threw: the run stops there. */
  aborted = false;
  private readonly rng: Prng;
  private readonly faultRng: Prng;
  private readonly netRng: Prng;
  private readonly log: Logger;
  private partitionEpoch = 0;
  private wiped = false;
  private operatorRequest: { requestId: number; frame: Uint8Array; done: boolean } | undefined;
  private safetyEndMs = 0;
  /** Client requests answered by a node: `node|incarnation|client|requestId`. */
  private readonly answered = new Map<string, number>();

  constructor(config: SimConfig) {
    this.rng = new Prng(config.seed);
    const quorum =
      config.quorum ??
      this.rng.weighted<Quorum>([
        [3, { n: 3, r: 2, w: 2 }],
        [1, { n: 3, r: 1, w: 3 }],
        [1, { n: 3, r: 3, w: 1 }],
      ]);
    const nodeCount = config.nodeCount ?? this.rng.pick([4, 5, 5, 6]);
    // One lost disk is survivable only if every cloud-ok write is on two disks.
    const wipeChance = quorum.w >= 2 ? config.wipeChance : 0;
    this.config = { ...config, quorum, nodeCount, wipeChance };
    this.faultRng = this.rng.fork();
    this.netRng = this.rng.fork();
    this.scheduler = new Scheduler();
    this.network = new SimNetwork(this.scheduler, this.netRng);
    this.history = new History(() => this.scheduler.nowMs);
    this.log = silentLogger;

    const ids = Array.from({ length: nodeCount }, (_, i) => parseNodeId(`n${i + 1}`));
    const partitionCount = config.partitionCount ?? this.rng.pick([16, 64, 1024]);
    const ring = createRing(
      ids.map((id) => ({ id, weight: 1 })),
      { partitionCount },
    );
    for (const id of ids) this.addSlot(id, ring, ids);

    this.proxy = this.newProxy();

    const listRng = this.rng.fork();
    for (let i = 0; i < config.listCount; i++) this.lists.push(newListId(listRng));
    const clientCount = config.clientCount ?? this.rng.range(2, 4);
    for (let i = 0; i < clientCount; i++) this.addClient(`c${i + 1}`);
  }

  // ---- the run ---------------------------------------------------------------------------------

  /** The safety phase: faults on, clients active. */
  async safety(): Promise<void> {
    const c = this.config;
    this.safetyEndMs = c.safetyMs;
    this.network.weather = this.randomWeather();
    for (const slot of this.slots.values()) this.start(slot);
    for (const client of this.clients) await client.open();
    for (const client of this.clients) client.start();
    this.scheduleFault(this.faultRng.range(500, 2_500));
    if (this.faultRng.chance(c.ringChangeChance))
      this.scheduler.at(this.faultRng.range(c.safetyMs * 0.2, c.safetyMs * 0.7), () => this.changeRing());
    const q = [...this.slots.values()][0]?.ring?.partitionCount;
    this.trace(
      `safety phase: ${this.slots.size} nodes, Q=${q}, N=${c.quorum.n} R=${c.quorum.r} W=${c.quorum.w}, ${this.clients.length} clients, ${this.lists.length} lists`,
    );
    await this.scheduler.runUntil(c.safetyMs, () => this.aborted);
  }

  /**
   * The liveness phase: heal everything and wait for quiescence, in two stages. First the
   * clients only flush their outboxes (no reads, so no read repair): the cloud must converge by
   * hinted handoff, anti-entropy and transfers alone. Then the clients read until they have
   * caught up. Returns the virtual time from healing to the cloud's convergence, or undefined
   * (with a failure recorded) if either stage did not finish within livenessMsMax of healing.
   */
  async liveness(): Promise<number | undefined> {
    if (this.aborted) return undefined;
    const healMs = this.scheduler.nowMs;
    const endMs = healMs + this.config.livenessMsMax;
    this.heal();
    const cloudMs = await this.waitFor(() => this.cloudUnsettled(), endMs);
    if (cloudMs === undefined) return undefined;
    this.trace(`cloud converged ${cloudMs - healMs} ms after healing; clients catch up`);
    for (const c of this.clients) c.catchUp();
    const clientsMs = await this.waitFor(() => this.unsettled(), endMs);
    if (clientsMs === undefined) return undefined;
    this.trace(`clients caught up ${clientsMs - healMs} ms after healing`);
    await this.scheduler.runUntil(this.scheduler.nowMs + this.config.stableMs, () => this.aborted);
    const after = this.unsettled();
    if (after !== undefined)
      this.history.fail(`liveness: converged, then ${this.config.stableMs} ms later: ${after}`);
    return cloudMs - healMs;
  }

  /** Runs until `unsettled()` says nothing (returns the time) or `endMs` passes (fails). */
  private async waitFor(unsettled: () => string | undefined, endMs: number): Promise<number | undefined> {
    let doneMs: number | undefined;
    const check = (): void => {
      if (doneMs !== undefined) return;
      if (unsettled() === undefined) doneMs = this.scheduler.nowMs;
      else this.scheduler.after(100, check);
    };
    check();
    await this.scheduler.runUntil(endMs, () => this.aborted || doneMs !== undefined);
    if (this.aborted) return undefined;
    if (doneMs === undefined) {
      const healMs = endMs - this.config.livenessMsMax;
      this.history.fail(
        `liveness: did not converge in ${this.config.livenessMsMax} ms (virtual, from ${healMs} ms): ${unsettled() ?? '?'}`,
      );
    }
    return doneMs;
  }

  private heal(): void {
    this.trace('heal: no loss, no partitions, every node up');
    this.partitionEpoch++;
    this.network.healAll();
    this.network.weather = { ...calm };
    for (const slot of this.slots.values()) {
      if (!slot.alive) this.restart(slot);
      this.resume(slot);
    }
    this.restartProxy();
    for (const client of this.clients) client.settle();
  }

  /** Why the cloud or a client is not quiescent yet, or undefined when both are. */
  unsettled(): string | undefined {
    const cloud = this.cloudUnsettled();
    if (cloud !== undefined) return cloud;
    for (const listId of this.lists) {
      const doc = this.finalDoc(listId);
      if (doc === undefined) continue;
      const want = JSON.stringify(plainView(listView(doc)));
      for (const c of this.clients) {
        const got = JSON.stringify(c.view(listId));
        if (got !== want) return `client ${c.name} has not caught up on ${listId}`;
      }
    }
    return undefined;
  }

  /** The list as its first owner holds it (undefined: not stored). */
  private finalDoc(listId: ListId): ListDoc | undefined {
    const ring = [...this.slots.values()][0]?.node?.ring;
    if (ring === undefined) return undefined;
    const stored = this.slots.get(this.owners(ring, listId)[0] as string)?.store.get(listId);
    const doc = stored === undefined ? undefined : storedDoc(stored);
    return doc?.ok === true ? doc.value : undefined;
  }

  /**
   * Why the cloud is not quiescent yet (outboxes not drained, a node down, rings differ, hints
   * held, owners differ or lack a list, a non-owner holds a copy), or undefined.
   */
  cloudUnsettled(): string | undefined {
    for (const c of this.clients)
      if (c.unacknowledged > 0) return `client ${c.name} has ${c.unacknowledged} puts not cloud-ok`;
    if (this.operatorRequest !== undefined && !this.operatorRequest.done)
      return 'the ring change is not acknowledged';
    const slots = [...this.slots.values()];
    const down = slots.find((s) => !s.alive || s.node === undefined);
    if (down !== undefined) return `node ${down.id} is down`;
    const nodes = slots.map((s) => s.node as StorageNode);
    const first = nodes[0]?.encodedRing();
    for (const n of nodes) {
      const r = n.encodedRing();
      if (r === undefined || first === undefined || !sameBytes(r, first))
        return `nodes disagree on the ring (${n.id} has version ${n.ring?.version ?? 'none'})`;
    }
    const ring = nodes[0]?.ring as RingState;
    for (const s of slots)
      if (s.store.hintCount() > 0) return `node ${s.id} holds ${s.store.hintCount()} hints`;
    for (const listId of this.lists) {
      if (!this.history.of(listId).some((r) => r.delta !== undefined)) continue;
      const owners = this.owners(ring, listId);
      let hash: Uint8Array | undefined;
      for (const o of owners) {
        const stored = this.slots.get(o)?.store.get(listId);
        if (stored === undefined) return `owner ${o} lacks list ${listId}`;
        if (hash !== undefined && !sameBytes(hash, stored.hash)) return `owners of ${listId} differ`;
        hash = stored.hash;
      }
      for (const s of slots)
        if (!owners.includes(s.id) && s.store.get(listId) !== undefined)
          return `non-owner ${s.id} still holds ${listId}`;
    }
    return undefined;
  }

  /**
   * Every member here is honest, and each frame reaches a node with the sender the production
   * transport would name: so no node may refuse a frame for its sender (a message type missing
   * from the sender rules would show here), nor gossip a heartbeat ahead of the bound (clocks are
   * skewed by far less) or a member the keyring lacks. Returns a failure per counter that moved.
   */
  trustFailures(): string[] {
    const refusals: (keyof NodeCounters)[] = ['peerFramesRefused', 'heartbeatsRefused', 'membersRefused'];
    return refusals
      .filter((k) => this.total(k) > 0)
      .map((k) => `trust: honest members refused each other (${k} = ${this.total(k)})`);
  }

  owners(ring: RingState, listId: string): NodeId[] {
    return preferenceList(ring, partitionOf(listId, ring.partitionCount), this.config.quorum.n);
  }

  /** A node counter summed over every incarnation of every node. */
  private total(k: keyof NodeCounters): number {
    let n = 0;
    for (const s of this.slots.values()) n += (s.totals[k] ?? 0) + (s.node?.counters[k] ?? 0);
    return n;
  }

  /** Coverage summed over every incarnation of every node, and the history's late applies. */
  coverage(): Coverage {
    const sum = (k: keyof NodeCounters): number => this.total(k);
    return {
      hintedWrites: sum('hintedWrites'),
      hintsDelivered: sum('hintsDelivered'),
      antiEntropyRepairs: sum('antiEntropyRepairs'),
      lateApplied: this.history.lateApplied,
      changesShown: this.history.shownCount,
    };
  }

  // ---- nodes -----------------------------------------------------------------------------------

  private addSlot(id: NodeId, ring: RingState | undefined, seeds: string[]): NodeSlot {
    const slot: NodeSlot = {
      id,
      skewMs: this.rng.range(-this.config.skewMsMax, this.config.skewMsMax),
      alive: true,
      incarnation: 0,
      node: undefined,
      store: new MemoryListStore({ manualCommit: true }),
      ring,
      flushScheduled: false,
      paused: false,
      inbox: [],
      resumedMs: 0,
      seeds,
      totals: {},
    };
    this.slots.set(id, slot);
    return slot;
  }

  private clockFor(skewMs: number, monotonicOffsetMs: number): Clock {
    return {
      monotonicMs: () => this.scheduler.nowMs + monotonicOffsetMs,
      wallMs: () => EPOCH_MS + this.scheduler.nowMs + skewMs,
    };
  }

  /** Starts a node process over the slot's store and persisted ring. */
  private start(slot: NodeSlot): void {
    const incarnation = slot.incarnation;
    const up = (): boolean => slot.alive && slot.incarnation === incarnation;
    const id = slot.id;
    const transport: NodeTransport = {
      send: (to, frame) => {
        this.scheduler.noteActivity(); // also for a dead process: the drain must reach it
        if (up()) this.toNode(id, to, frame, { via: 'node', node: id });
      },
      learnAddress: (node, address) => {
        // Addresses are node IDs here; gossip must carry them unchanged.
        if (address !== node) this.history.fail(`${id} learned address ${address} for node ${node}`);
      },
      reply: (replyTo, frame) => {
        this.scheduler.noteActivity();
        if (!up()) return;
        const r = fromReplyTo(replyTo);
        switch (r.via) {
          case 'node':
            return this.toNode(id, r.node, frame, { via: 'node', node: id });
          case 'proxy':
            this.countAnswer(
              `${id}|${incarnation}|${new TextDecoder().decode(r.client)}|${requestIdOf(frame)}`,
            );
            return this.toProxy(id, frame, (proxy, f) => proxy.onNodeFrame(id, r.client, f));
          case 'operator':
            return this.network.transmit(id, OPERATOR, frame, (f) => this.onOperatorFrame(f));
        }
      },
    };
    const store = new ObservedStore(slot.store, {
      activity: () => this.scheduler.noteActivity(),
      put: (key, stored) => this.history.onStorePut(id, key, stored),
      written: () => {
        if (slot.flushScheduled) return;
        slot.flushScheduled = true;
        const store = slot.store;
        const commit = (): void => {
          if (up() && slot.paused) return this.scheduler.after(TICK_MS, commit);
          if (slot.store === store) slot.flushScheduled = false;
          if (up()) store.flush();
        };
        this.scheduler.after(this.rng.range(0, 5), commit);
      },
    });
    slot.node = new StorageNode({
      id,
      address: id,
      ring: slot.ring,
      quorum: this.config.quorum,
      store,
      transport,
      clock: this.clockFor(slot.skewMs, this.rng.int(1_000_000_000)),
      random: this.rng.fork(),
      logger: this.log,
      seeds: slot.seeds.map((x) => ({ id: x, address: x })),
      config: this.config.nodeConfig,
      onRingChange: (ring) => {
        if (up()) slot.ring = ring;
      },
      // Live updates: the one place the simulator hooks a node's notice of a write to its proxy,
      // as node-server.ts does in production; the proxy pushes it to the list's watchers.
      onWriteAccepted: (listId, delta) => {
        if (!up()) return;
        const frame = encodeClientMessage({ type: 'changed', requestId: 0, listId, delta });
        this.toProxy(id, frame, (proxy, f) => proxy.onNodeFrame(id, new Uint8Array(0), f));
      },
    });
    const node = slot.node;
    const tick = (): void => {
      if (!up()) return;
      if (!slot.paused) this.guard(`node ${id} tick`, () => node.tick());
      this.scheduler.after(TICK_MS, tick);
    };
    this.scheduler.after(this.rng.range(0, TICK_MS - 1), tick);
    const hello = (): void => {
      if (!up()) return;
      const ring = node.encodedRing();
      if (ring !== undefined && !slot.paused) {
        const frame = encodeGossipMessage({
          type: 'node-hello',
          requestId: 0,
          nodeId: id,
          address: id,
          ring,
        });
        this.toProxy(id, frame, (proxy, f) => proxy.onNodeFrame(id, new Uint8Array(0), f));
      }
      this.scheduler.after(HELLO_MS, hello);
    };
    hello();
  }

  /** Power loss: the process dies, uncommitted writes are lost, frames in flight to it too. */
  private crash(slot: NodeSlot, wipe = false): void {
    this.trace(`crash ${slot.id}${wipe ? ', and its disk is lost' : ''}`);
    const counters = slot.node?.counters;
    if (counters !== undefined)
      for (const [k, v] of Object.entries(counters) as [keyof NodeCounters, number][])
        slot.totals[k] = (slot.totals[k] ?? 0) + v;
    slot.alive = false;
    slot.incarnation++;
    slot.node = undefined;
    slot.paused = false;
    slot.inbox = [];
    slot.store.crash();
    slot.store = slot.store.reopen();
    slot.flushScheduled = false;
    if (wipe) {
      this.wiped = true;
      slot.store = new MemoryListStore({ manualCommit: true });
      slot.ring = undefined;
    }
  }

  private restart(slot: NodeSlot): void {
    if (slot.alive) return;
    this.trace(`restart ${slot.id}`);
    slot.alive = true;
    slot.incarnation++;
    this.start(slot);
  }

  /** A frame to a node; lost if the node is down on arrival or restarted since it was sent. */
  private toNode(from: string, to: string, frame: Uint8Array, route: Route): void {
    const slot = this.slots.get(to);
    const incarnation = slot?.incarnation;
    const arrive = (f: Uint8Array): void => {
      if (slot === undefined || !slot.alive || slot.incarnation !== incarnation) return;
      if (slot.paused) return void slot.inbox.push(() => arrive(f));
      const node = slot.node as StorageNode;
      if (route.via === 'proxy') this.expectAnswer(slot, f, route.client);
      this.guard(
        () => `node ${to} handling ${messageType(f)}`,
        () => node.handle(f, asReplyTo(route), senderOf(route)),
      );
    };
    this.network.transmit(from, to, frame, arrive);
  }

  /** SIGSTOP: the process stops; frames for it queue up (TCP keeps them) until it resumes. */
  private pause(slot: NodeSlot): void {
    this.trace(`pause ${slot.id}`);
    slot.paused = true;
    const incarnation = slot.incarnation;
    this.scheduler.after(this.faultLength(), () => {
      if (slot.incarnation === incarnation) this.resume(slot);
    });
  }

  /** SIGCONT: the queued frames are handled one after another, at once. */
  private resume(slot: NodeSlot): void {
    if (!slot.paused) return;
    this.trace(`resume ${slot.id} (${slot.inbox.length} frames queued)`);
    slot.paused = false;
    slot.resumedMs = this.scheduler.nowMs;
    const inbox = slot.inbox;
    slot.inbox = [];
    for (const f of inbox) this.scheduler.after(0, f);
  }

  /**
   * A client request reached a live node: it must be answered by its deadline (cloud-ok,
   * "unknown", or an error), as long as the node stays up. Checked just after the deadline on
   * the node's clock (plus two ticks).
   */
  private expectAnswer(slot: NodeSlot, frame: Uint8Array, client: Uint8Array): void {
    const m = decodeClientMessage(frame);
    if (!m.ok || (m.value.type !== 'put' && m.value.type !== 'get')) return;
    const { type, requestId, deadlineMs } = m.value;
    const incarnation = slot.incarnation;
    const key = `${slot.id}|${incarnation}|${new TextDecoder().decode(client)}|${requestId}`;
    const atMs = deadlineMs - EPOCH_MS - slot.skewMs + 2 * TICK_MS;
    const check = (): void => {
      // A stopped process answers nothing; it must answer soon after it resumes.
      const stopped = slot.paused || this.scheduler.nowMs < slot.resumedMs + 2 * TICK_MS;
      if (stopped && slot.incarnation === incarnation) return this.scheduler.after(2 * TICK_MS, check);
      const n = this.answered.get(key) ?? 0;
      if (n > 0) this.answered.set(key, n - 1);
      if (n > 0 || !slot.alive || slot.incarnation !== incarnation) return;
      this.history.fail(
        `protocol: ${slot.id} took ${type} request ${requestId} (${key.split('|')[2]}) and never answered it by its deadline`,
      );
    };
    this.scheduler.at(atMs, check);
  }

  private countAnswer(key: string): void {
    this.answered.set(key, (this.answered.get(key) ?? 0) + 1);
  }

  /** Runs production code; an exception there is a crash of that process, and fails the run. */
  private guard(where: string | (() => string), f: () => void): void {
    try {
      f();
    } catch (e) {
      this.aborted = true;
      const place = typeof where === 'string' ? where : where();
      this.history.fail(`${place} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }

  // ---- the proxy -------------------------------------------------------------------------------

  /** A proxy process: stateless, it learns the ring and who is live from node hellos. */
  private newProxy(): Proxy {
    return new Proxy({
      name: 'sim',
      replicas: this.config.quorum.n,
      nodeSilenceMsMax: 3_000,
      clock: this.clockFor(0, this.rng.int(1_000_000_000)),
      logger: this.log,
      transport: {
        toNode: (node, client, frame) => {
          if (this.proxyAlive) this.toNode(PROXY, node, frame, { via: 'proxy', client });
        },
        toClient: (client, frame) => {
          if (!this.proxyAlive) return;
          const name = new TextDecoder().decode(client);
          const c = this.clients.find((x) => x.name === name);
          if (c === undefined) return this.history.fail(`proxy answered unknown client ${name}`);
          this.network.transmit(PROXY, name, frame, (f) => this.guard(`client ${name}`, () => c.onFrame(f)));
        },
      },
    });
  }

  /** A frame to the proxy; lost if the proxy is down on arrival or restarted since. */
  private toProxy(from: string, frame: Uint8Array, handle: (proxy: Proxy, frame: Uint8Array) => void): void {
    const incarnation = this.proxyIncarnation;
    this.network.transmit(from, PROXY, frame, (f) => {
      if (!this.proxyAlive || this.proxyIncarnation !== incarnation) return;
      this.guard('proxy', () => handle(this.proxy, f));
    });
  }

  private crashProxy(): void {
    this.trace('crash proxy');
    this.proxyAlive = false;
    this.proxyIncarnation++;
    const incarnation = this.proxyIncarnation;
    this.scheduler.after(this.faultRng.range(200, 3_000), () => {
      if (this.proxyIncarnation === incarnation) this.restartProxy();
    });
  }

  private restartProxy(): void {
    if (this.proxyAlive) return;
    this.trace('restart proxy');
    this.proxyAlive = true;
    this.proxyIncarnation++;
    this.proxy = this.newProxy();
  }

  // ---- clients ---------------------------------------------------------------------------------

  /** Per list, the deltas still in the clients' outboxes (for the live-update check). */
  async pendingDeltas(): Promise<Map<string, ListDoc[]>> {
    const out = new Map<string, ListDoc[]>();
    for (const c of this.clients)
      for (const { listId, delta } of await c.outboxDeltas()) {
        const doc = decodeList(delta);
        if (!doc.ok) {
          this.history.fail(`client ${c.name}: an outbox entry of ${listId} does not decode`);
          continue;
        }
        const list = out.get(listId) ?? [];
        list.push(doc.value);
        out.set(listId, list);
      }
    return out;
  }

  private addClient(name: string): void {
    const skewMs = this.rng.range(-this.config.skewMsMax, this.config.skewMsMax);
    const route = new TextEncoder().encode(name);
    const client = new SimClient(
      name,
      this.lists,
      this.rng.fork(),
      this.history,
      {
        nowMs: () => this.scheduler.nowMs,
        wallMs: () => EPOCH_MS + this.scheduler.nowMs + skewMs,
        after: (ms, action) => this.scheduler.after(ms, action),
        send: (frame) => this.toProxy(name, frame, (proxy, f) => proxy.onClientFrame(route, f)),
        holders: (record) => this.holders(record),
        activity: () => this.scheduler.noteActivity(),
      },
      this.config.client,
    );
    this.clients.push(client);
  }

  /** Nodes whose store (the live one, or a down node's disk) holds the operation. */
  private holders(record: OperationRecord): Set<string> {
    const out = new Set<string>();
    if (record.fresh === undefined) return out;
    for (const s of this.slots.values()) {
      const stored = s.store.get(record.listId);
      if (stored === undefined) continue;
      const doc = storedDoc(stored);
      if (doc.ok && incorporates(doc.value, record)) out.add(s.id);
    }
    return out;
  }

  // ---- faults ----------------------------------------------------------------------------------

  private scheduleFault(delayMs: number): void {
    this.scheduler.after(delayMs, () => {
      if (this.scheduler.nowMs >= this.safetyEndMs) return;
      this.fault();
      this.scheduleFault(this.faultRng.range(1_000, 4_000));
    });
  }

  private fault(): void {
    const r = this.faultRng;
    const down = [...this.slots.values()].filter((s) => !s.alive).length;
    const kind = r.weighted<'partition' | 'crash' | 'pause' | 'proxy' | 'weather'>([
      [3, 'partition'],
      [down < this.config.crashedMax ? 3 : 0, 'crash'],
      [1, 'pause'],
      [this.proxyAlive ? 0.5 : 0, 'proxy'],
      [2, 'weather'],
    ]);
    this.faultCycles++;
    switch (kind) {
      case 'partition':
        return this.partition();
      case 'crash': {
        const alive = [...this.slots.values()].filter((s) => s.alive);
        const slot = r.pick(alive);
        // Once per run at most, the disk is lost too (W=2 survives one lost disk): the node
        // comes back empty, without its ring, and must be refilled by anti-entropy and transfers.
        const wipe = !this.wiped && r.chance(this.config.wipeChance);
        this.crash(slot, wipe);
        const incarnation = slot.incarnation;
        this.scheduler.after(this.faultLength(), () => {
          if (!slot.alive && slot.incarnation === incarnation) this.restart(slot);
        });
        return;
      }
      case 'pause': {
        const running = [...this.slots.values()].filter((s) => s.alive && !s.paused);
        if (running.length > 0) this.pause(r.pick(running));
        return;
      }
      case 'proxy':
        return this.crashProxy();
      case 'weather':
        this.network.weather = this.randomWeather();
        return;
    }
  }

  /** Short faults test retries; long ones outlast failure detection (downAfterMs) and force hints. */
  private faultLength(): number {
    const r = this.faultRng;
    return r.chance(0.5) ? r.range(500, 4_000) : r.range(6_000, 14_000);
  }

  private partition(): void {
    const r = this.faultRng;
    const nodes = shuffle([...this.slots.keys()], r);
    this.network.healAll();
    const hold = r.chance(0.5);
    this.network.holdFrames(hold);
    const epoch = ++this.partitionEpoch;
    const shape = r.weighted<'isolate' | 'split' | 'bridge' | 'proxy'>([
      [2, 'isolate'],
      [2, 'split'],
      [1, 'bridge'],
      [1, 'proxy'],
    ]);
    let groups: string[][];
    switch (shape) {
      case 'isolate':
        groups = [[nodes[0] as string], [...nodes.slice(1), PROXY]];
        break;
      case 'split': {
        const k = r.range(1, Math.floor(nodes.length / 2));
        groups = [nodes.slice(0, k), nodes.slice(k)];
        (groups[r.int(2)] as string[]).push(PROXY);
        break;
      }
      case 'bridge': {
        // A–B and B–C work, A–C does not.
        const k = r.range(1, nodes.length - 2);
        const a = nodes.slice(0, k);
        const b = [nodes[k] as string];
        const c = nodes.slice(k + 1);
        const side = r.int(3);
        (side === 0 ? a : side === 1 ? b : c).push(PROXY);
        for (const x of a) for (const y of c) this.network.cut(x, y);
        groups = [];
        this.trace(
          `partition (bridge, ${hold ? 'holding' : 'losing'} frames): ${a.join(',')} | ${b.join(',')} | ${c.join(',')}`,
        );
        break;
      }
      case 'proxy':
        groups = [[PROXY], nodes.slice(0, r.range(1, 2))];
        break;
    }
    this.network.split(groups);
    if (groups.length > 0)
      this.trace(
        `partition (${shape}, ${hold ? 'holding' : 'losing'} frames): ${groups.map((g) => g.join(',')).join(' | ')}`,
      );
    this.scheduler.after(this.faultLength(), () => {
      if (this.partitionEpoch !== epoch) return;
      this.trace(`partition healed (${this.network.heldFrames} held frames go on)`);
      this.network.healAll();
    });
  }

  private randomWeather(): Weather {
    const presets: [number, Weather][] = [
      [2, { ...calm }],
      [3, { dropRate: 0.05, duplicateRate: 0.02, slowRate: 0.05, delayMsMax: 5, slowMsMax: 400 }],
      [1, { dropRate: 0.25, duplicateRate: 0.05, slowRate: 0.1, delayMsMax: 10, slowMsMax: 1_500 }],
      [1, { dropRate: 0.01, duplicateRate: 0.2, slowRate: 0.05, delayMsMax: 5, slowMsMax: 300 }],
      [1, { dropRate: 0.02, duplicateRate: 0.01, slowRate: 0.3, delayMsMax: 20, slowMsMax: 2_500 }],
    ];
    const w = this.faultRng.weighted(presets);
    this.trace(`weather: ${JSON.stringify(w)}`);
    return w;
  }

  // ---- the operator: one ring change under load ------------------------------------------------

  private changeRing(): void {
    const r = this.faultRng;
    const ringNodes = [...this.slots.keys()];
    const add = ringNodes.length <= this.config.quorum.n + 1 || r.chance(0.5);
    let body: { add: { id: string; address: string; weight: number }[]; remove: string[] };
    if (add) {
      const id = parseNodeId(`n${this.slots.size + 1}`);
      const slot = this.addSlot(id, undefined, [...this.slots.keys()]);
      this.start(slot);
      body = { add: [{ id, address: id, weight: 1 }], remove: [] };
      this.ringChange = `add ${id}`;
    } else {
      const id = r.pick(ringNodes);
      body = { add: [], remove: [id] };
      this.ringChange = `remove ${id}`;
    }
    this.faultCycles++;
    this.trace(`ring change: ${this.ringChange}`);
    const requestId = 1;
    const frame = encodeAdminMessage({ type: 'ring-change', requestId, ...body });
    this.operatorRequest = { requestId, frame, done: false };
    this.sendRingChange();
  }

  /** Sends the ring change to a live node, and again every few seconds until one answers. */
  private sendRingChange(): void {
    const req = this.operatorRequest;
    if (req === undefined || req.done) return;
    const alive = [...this.slots.values()].filter((s) => s.alive && s.node?.ring !== undefined);
    if (alive.length > 0) {
      const to = this.faultRng.pick(alive).id;
      this.toNode(OPERATOR, to, req.frame, { via: 'operator' });
    }
    this.scheduler.after(3_000, () => this.sendRingChange());
  }

  private onOperatorFrame(frame: Uint8Array): void {
    const m = decodeAdminMessage(frame);
    if (!m.ok) return this.history.fail('the operator got a frame that does not decode');
    if (m.value.type === 'ring-change-reply') {
      if (this.operatorRequest !== undefined) this.operatorRequest.done = true;
      this.trace(`ring change acknowledged: version ${m.value.ringVersion}`);
    } else if (m.value.type === 'error' && m.value.code !== 'unavailable') {
      this.history.fail(`the ring change was refused: ${m.value.code}: ${m.value.message}`);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------------

  trace(line: string): void {
    this.config.trace?.(`${String(this.scheduler.nowMs).padStart(7)} ms  ${line}`);
  }

  /** The agreed ring's encoding (for reports). */
  ringSummary(): string {
    const ring = [...this.slots.values()].find((s) => s.node?.ring !== undefined)?.node?.ring;
    return ring === undefined ? 'none' : `v${ring.version} [${ring.nodes.map((n) => n.id).join(',')}]`;
  }

  encodedRingOf(id: string): Uint8Array | undefined {
    const ring = this.slots.get(id)?.node?.ring;
    return ring === undefined ? undefined : encodeRing(ring);
  }
}

function requestIdOf(frame: Uint8Array): number {
  const h = decodeHeader(frame);
  return h.ok ? h.value.requestId : -1;
}

function messageType(frame: Uint8Array): string {
  const m = decodeMessage(frame);
  return m.ok ? m.value.type : 'an undecodable frame';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function shuffle<T>(items: T[], rng: Prng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
