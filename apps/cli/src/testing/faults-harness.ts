// Harness for the real-process fault tests (faults-nodes.e2e.test.ts): a LocalCluster in its own
// temporary folder with cleanup that runs even when a test fails, a client workload that writes
// small real CRDT deltas (each with its own opId; an "unknown" is retried with the same opId) and
// reads, and the checkers: every acknowledged delta present in what the proxy reads back, replica
// agreement by admin reads, node stats, and PRAGMA integrity_check of each node's SQLite file.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ListDoc,
  ListReplica,
  createRing,
  decodeList,
  encodeContext,
  encodeList,
  md5,
  merge,
  newListId,
  newReplicaId,
  parseNodeId,
  preferenceListForKey,
  type ListId,
  type OpId,
  type Random,
  type RingState,
} from '@trolley/core';
import { defaultQuorum, type Quorum } from '@trolley/cloud';
import { CloudClient, SqliteListStore, adminRead, cryptoRandom, nodeStats } from '@trolley/node';
import { LocalCluster } from '../local-cluster.ts';

const host = '127.0.0.1';
/** How long the processes may take to start and see each other: a hang guard, not a budget. */
const startMs = 240_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const hex = (b: Uint8Array | undefined): string =>
  b === undefined ? '-' : Buffer.from(b).toString('hex');

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

// ---- seeded randomness (print the seed; replay with FAULT_SEED) ---------------------------------

/** The same seeded mulberry32 the wire fuzz uses. */
import { SeededRandom as Rng } from './wire-fuzz.ts';
export { Rng };

export function seedFromEnv(): number {
  const s = process.env['FAULT_SEED'];
  return s !== undefined && s !== '' ? Number(s) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

import { hangMs, pool, replyMs, requestMs } from './cloud-checks.ts';
export { hangMs, pool, replyMs, requestMs };

/**
 * Polls `f` until it returns a value (not undefined); throws with `what` once `timeoutMs` has
 * passed. `timeoutMs` guards against a hang: give it generously (hangMs), never as a budget.
 */
export async function waitFor<T>(
  what: () => string,
  timeoutMs: number,
  f: () => Promise<T | undefined>,
  everyMs = 200,
): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  for (;;) {
    const value = await f();
    if (value !== undefined) return { value, ms: performance.now() - start };
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(everyMs);
  }
}

// ---- the cluster --------------------------------------------------------------------------------

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Ports for the cluster from below the kernel's ephemeral range (ip_local_port_range starts at
 * 32768 here). A port from the ephemeral range (what freePort() returns: bind to port 0) may be
 * taken, while its node is dead, as the source port of some outgoing connection, or even by a
 * peer's reconnect attempt connecting to itself (TCP self-connect); the restart then fails with
 * EADDRINUSE. Seen once in four runs with other suites running on the machine. Below the range
 * only an explicit bind can take a port.
 */
const stablePortMin = 20_000;
const stablePortMax = 32_000;
const handedOut = new Set<number>();

async function stablePorts(count: number, adjacentFirst: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let attempt = 0; attempt < 1_000 && out.length < count; attempt++) {
    const port = stablePortMin + Math.floor(Math.random() * (stablePortMax - stablePortMin));
    const span = out.length === 0 && adjacentFirst ? [port, port + 1] : [port];
    if (span.some((p) => handedOut.has(p) || out.includes(p))) continue;
    if (!(await Promise.all(span.map((p) => portFree(p)))).every(Boolean)) continue;
    for (const p of span) handedOut.add(p);
    out.push(port);
  }
  if (out.length < count) throw new Error('no free ports below the ephemeral range on 127.0.0.1');
  return out;
}

export interface NodeStats {
  nodeId: string;
  ringVersion: number;
  ringNodes: string[];
  partitionsOwned: number;
  keys: number;
  hints: number;
  members: { id: string; liveness: 'alive' | 'suspect' | 'down' }[];
  counters: Record<string, number>;
}

export class FaultCluster {
  /** Launcher progress lines, among them "<name> exited (SIGKILL)" for every process that died. */
  readonly events: string[] = [];
  private readonly clients: CloudClient[] = [];
  private stopped = false;
  private removed = false;

  private constructor(
    readonly cluster: LocalCluster,
    readonly dir: string,
  ) {}

  static async start(o: { nodes: number; partitions: number; quorum?: Quorum }): Promise<FaultCluster> {
    for (let attempt = 0; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'trolley-faults-'));
      let fc: FaultCluster | undefined;
      try {
        const quorum = o.quorum ?? defaultQuorum;
        // LocalCluster.plan keeps the ports of a saved layout that are free: plan them here.
        const [clientPort, ...nodePorts] = (await stablePorts(1 + o.nodes, true)) as [number, ...number[]];
        const layout = {
          host,
          clientPort,
          nodePort: clientPort + 1,
          partitions: o.partitions,
          quorum,
          nodes: nodePorts.map((port, i) => ({ id: `n${i + 1}`, port })),
        };
        writeFileSync(join(dir, 'cluster.json'), `${JSON.stringify(layout, null, 2)}\n`);
        const cluster = await LocalCluster.plan({
          nodes: o.nodes,
          dataDir: dir,
          quorum,
          proxyPort: clientPort,
          partitions: o.partitions,
          progress: (line) => fc?.events.push(line),
        });
        const ports = [
          cluster.layout.clientPort,
          cluster.layout.nodePort,
          ...cluster.layout.nodes.map((n) => n.port),
        ];
        if (new Set(ports).size !== ports.length) {
          rmSync(dir, { recursive: true, force: true });
          continue; // a node port equal to the proxy's node port (free when planned): plan again
        }
        fc = new FaultCluster(cluster, dir);
        live.add(fc);
        await cluster.start(startMs);
        return fc;
      } catch (e) {
        if (fc !== undefined) await fc.dispose();
        else rmSync(dir, { recursive: true, force: true });
        if (attempt < 2 && /port .* is taken|exited before it was ready/.test(String(e))) continue;
        throw e;
      }
    }
  }

  get quorum(): Quorum {
    return this.cluster.layout.quorum;
  }

  get nodeIds(): string[] {
    return this.cluster.layout.nodes.map((n) => n.id);
  }

  endpoint(i: number): string {
    return this.cluster.nodeEndpoint(i);
  }

  /** The first ring (version 1), as every node of the initial layout computes it. */
  initialRing(nodes = this.nodeIds): RingState {
    return createRing(
      nodes.map((id) => ({ id: parseNodeId(id), weight: 1 })),
      { partitionCount: this.cluster.layout.partitions },
    );
  }

  /** The node IDs of a list's preference list under `ring`. */
  owners(ring: RingState, listId: ListId): string[] {
    return preferenceListForKey(ring, listId, this.quorum.n);
  }

  /** A client of the proxy, closed by dispose(). */
  client(attemptMs = 1_500): CloudClient {
    const c = new CloudClient([this.cluster.clientEndpoint], { attemptMs });
    this.clients.push(c);
    return c;
  }

  /** Node i's stats; a short `timeoutMs` only where the test means "it does not answer". */
  async stats(i: number, timeoutMs = replyMs): Promise<NodeStats> {
    return (await nodeStats(this.cluster.operator, this.endpoint(i), timeoutMs)) as unknown as NodeStats;
  }

  async counter(i: number, name: string): Promise<number> {
    return (await this.stats(i)).counters[name] ?? 0;
  }

  /** node i's copy of a list: its hash as hex, or undefined when it holds none. */
  async copy(i: number, listId: ListId): Promise<string | undefined> {
    const r = await adminRead(this.cluster.operator, this.endpoint(i), listId, replyMs);
    return r.state === undefined ? undefined : hex(r.hash);
  }

  /** The SQLite file of node i. */
  databasePath(i: number): string {
    const id = this.nodeIds[i] as string;
    return join(this.dir, id, `${id}.db`);
  }

  /** The node's data folder (its database and ring file). */
  dataDir(i: number): string {
    return join(this.dir, this.nodeIds[i] as string);
  }

  /** PRAGMA integrity_check of node i's database (stop the processes first). */
  integrity(i: number): string {
    const store = SqliteListStore.open(this.databasePath(i), { integrityCheckOnOpen: false });
    try {
      return store.integrityCheck();
    } finally {
      store.close();
    }
  }

  /** "<name> exited (…)" lines seen so far. */
  exits(): string[] {
    return this.events.filter((e) => / exited /.test(e));
  }

  /** Stops every process (SIGCONT + SIGTERM, then SIGKILL after 5 s). Idempotent. */
  async stopProcesses(): Promise<void> {
    for (const c of this.clients.splice(0)) c.close();
    if (this.stopped) return;
    this.stopped = true;
    await this.cluster.stop();
  }

  /** Stops the processes and removes the folder. Idempotent. */
  async dispose(): Promise<void> {
    try {
      await this.stopProcesses();
    } finally {
      if (!this.removed) {
        this.removed = true;
        rmSync(this.dir, { recursive: true, force: true });
      }
      live.delete(this);
    }
  }
}

const live = new Set<FaultCluster>();
const liveWorkloads = new Set<Workload>();

/**
 * For afterEach: stops every workload still running (a test that failed midway), then stops and
 * removes every cluster still running, pass or fail.
 */
export async function disposeAllFaultClusters(): Promise<void> {
  const loads = [...liveWorkloads].map((w) => w.abort());
  const results = await Promise.allSettled([...[...live].map((c) => c.dispose()), ...loads]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

// ---- the workload -------------------------------------------------------------------------------

export interface Write {
  client: number;
  listId: ListId;
  delta: ListDoc;
  bytes: Uint8Array;
  opId: OpId;
  /** 'ok' once a put of it was cloud-ok; 'unknown' while every attempt so far timed out. */
  outcome: 'ok' | 'unknown';
  attempts: number;
}

export interface WorkloadOptions {
  /** Deadline of each put attempt (the client retries unknowns with the same opId). */
  putTimeoutMs?: number;
  /** One get (of a random list) after every this many writes; 0: no reads. */
  readEvery?: number;
  /** Pause between operations, to leave the 2 cores to the nodes. */
  pauseMs?: number;
  /** Operations in flight at once (one worker each); default 1. */
  inFlight?: number;
}

/**
 * One client writing small deltas to random lists of `lists`, each client with its own replica of
 * each list. Operations: add a fresh item, buy or want more of one of its items, rename the list.
 * A put answered "unknown" is retried with the same opId until it is cloud-ok or run() is told to
 * give up (the retries are harmless: joins are idempotent).
 */
export class Workload {
  readonly writes: Write[] = [];
  reads = 0;
  readFailures = 0;
  private readonly replicas = new Map<ListId, { replica: ListReplica; items: string[] }>();
  private seq = 0;
  private stopping = false;
  private givingUp = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: CloudClient,
    readonly index: number,
    private readonly lists: readonly ListId[],
    private readonly rng: Rng,
    private readonly o: WorkloadOptions = {},
  ) {}

  start(): void {
    liveWorkloads.add(this);
    this.loop = this.run();
  }

  /** Stops at once: no new operations, no more retries (for cleanup after a failure). */
  async abort(): Promise<void> {
    this.stopping = true;
    this.givingUp = true;
    liveWorkloads.delete(this);
    await this.loop?.catch(() => undefined);
  }

  /**
   * Stops starting new operations; the one in flight keeps retrying (same opId) for up to
   * `graceMs`, then gives up (it stays 'unknown').
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => (this.givingUp = true), graceMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
      liveWorkloads.delete(this);
    }
  }

  /** One write (with retries) of a fresh delta to `listId`; returns the record. */
  async writeOnce(listId: ListId): Promise<Write> {
    const delta = this.nextDelta(listId);
    const w: Write = {
      client: this.index,
      listId,
      delta,
      bytes: encodeList(delta),
      opId: this.client.newOpId(),
      outcome: 'unknown',
      attempts: 0,
    };
    this.writes.push(w);
    await this.settle(w);
    return w;
  }

  acknowledged(): Write[] {
    return this.writes.filter((w) => w.outcome === 'ok');
  }

  private async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.inFlight ?? 1 }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    let n = 0;
    while (!this.stopping) {
      await this.writeOnce(this.rng.pick(this.lists));
      n++;
      const every = this.o.readEvery ?? 4;
      if (every > 0 && n % every === 0 && !this.stopping) {
        this.reads++;
        try {
          const r = await this.client.get(this.rng.pick(this.lists), emptyContext(), { timeoutMs: 2_000 });
          if (!decodeList(r.delta).ok) this.readFailures++;
        } catch {
          this.readFailures++;
        }
      }
      await sleep(this.o.pauseMs ?? 10);
    }
  }

  private async settle(w: Write): Promise<void> {
    for (;;) {
      w.attempts++;
      const r = await this.client
        .put(w.listId, w.bytes, { opId: w.opId, timeoutMs: this.o.putTimeoutMs ?? 3_000 })
        .catch((e: unknown) => {
          if (this.givingUp) return { outcome: 'unknown' as const };
          throw e; // a refusal (not a timeout) is a failure of the test
        });
      if (r.outcome === 'ok') {
        w.outcome = 'ok';
        return;
      }
      if (this.givingUp) return;
      await sleep(50);
    }
  }

  private nextDelta(listId: ListId): ListDoc {
    let mine = this.replicas.get(listId);
    if (mine === undefined) {
      mine = { replica: new ListReplica(newReplicaId(this.rng)), items: [] };
      this.replicas.set(listId, mine);
    }
    const { replica, items } = mine;
    const seq = this.seq++;
    const roll = this.rng.next();
    if (items.length === 0 || roll < 0.55) {
      const name = `c${this.index} item ${seq}`;
      items.push(name);
      return replica.addItem(name, 1 + (seq % 3));
    }
    if (roll < 0.8) return replica.buy(this.rng.pick(items), 1);
    if (roll < 0.95) return replica.increaseWanted(this.rng.pick(items), 1);
    return replica.rename(`list by c${this.index} #${seq}`);
  }
}

export function emptyContext(): Uint8Array {
  const e = ListDoc.empty();
  return encodeContext(e.ctx, e.replicas);
}

export function newListIds(count: number, rng: Random): ListId[] {
  return Array.from({ length: count }, () => newListId(rng));
}

// ---- checkers -----------------------------------------------------------------------------------

/** A list as the proxy reads it back (R replicas merged; the read also repairs stale replicas). */
export async function readState(
  client: CloudClient,
  listId: ListId,
  timeoutMs = requestMs,
): Promise<ListDoc> {
  const reply = await client.get(listId, emptyContext(), { timeoutMs });
  const doc = decodeList(reply.delta);
  if (!doc.ok) throw doc.error;
  const state = ListDoc.empty();
  merge(state, doc.value);
  return state;
}

/** True when joining `delta` into `state` changes nothing: the delta's content is already there. */
export function contains(state: ListDoc, delta: ListDoc): boolean {
  const joined = state.clone();
  merge(joined, delta);
  return hex(md5(encodeList(joined))) === hex(md5(encodeList(state)));
}

export interface LossReport {
  checked: number;
  lists: number;
  lost: string[];
  readErrors: string[];
  /** Negative controls: a delta never written, per list read, that the checker failed to flag. */
  controlsMissed: number;
}

/** Reads every list with an acknowledged write once through the proxy; each such delta must be there. */
export async function checkAcknowledged(client: CloudClient, writes: readonly Write[]): Promise<LossReport> {
  const byList = new Map<ListId, Write[]>();
  for (const w of writes) {
    if (w.outcome !== 'ok') continue;
    const xs = byList.get(w.listId) ?? [];
    xs.push(w);
    byList.set(w.listId, xs);
  }
  const lost: string[] = [];
  const readErrors: string[] = [];
  let checked = 0;
  let controlsMissed = 0;
  const control = new ListReplica(newReplicaId(cryptoRandom));
  await pool([...byList], 8, async ([listId, ws]) => {
    let state: ListDoc;
    try {
      state = await readState(client, listId);
    } catch (e) {
      readErrors.push(`${listId}: ${String(e)}`);
      return;
    }
    if (contains(state, control.addItem(`never written ${listId}`))) controlsMissed++;
    for (const w of ws) {
      checked++;
      if (!contains(state, w.delta))
        lost.push(`${listId}: opId ${w.opId} (client ${w.client}, ${w.attempts} attempts) missing`);
    }
  });
  return { checked, lists: byList.size, lost, readErrors, controlsMissed };
}

/** Per list, the copies on `nodes` (hash hex or undefined). */
export async function copies(
  fc: FaultCluster,
  lists: readonly ListId[],
  nodes: readonly number[],
): Promise<Map<ListId, (string | undefined)[]>> {
  const out = new Map<ListId, (string | undefined)[]>();
  await pool(lists, 8, async (listId) => {
    out.set(listId, await Promise.all(nodes.map((i) => fc.copy(i, listId))));
  });
  return out;
}

/** Lists whose copies on `nodes` are not all present and identical (empty: all agree). */
export async function disagreeing(
  fc: FaultCluster,
  lists: readonly ListId[],
  nodes: readonly number[],
): Promise<ListId[]> {
  const all = await copies(fc, lists, nodes);
  return [...all]
    .filter(([, hs]) => hs.some((h) => h === undefined) || new Set(hs).size !== 1)
    .map(([listId]) => listId);
}
