// What the real-process tests ask of a running cloud: a list read back through a proxy as a person
// would see it, where each replica of a list is (admin reads on every node), node counters, and
// a small bounded-concurrency pool so hundreds of requests run at once without flooding.
//
// The tests run on a loaded 2-core machine too (`npm run test:loaded`), so every bound here guards
// against a hang and none is a budget: a request to a process may take seconds when the cores are
// busy, and a wait for the cloud to settle is a poll for that state, however long it takes.

import {
  ListDoc,
  ListReplica,
  decodeList,
  encodeContext,
  listView,
  newReplicaId,
  type ListId,
  type ListView,
} from '@trolley/core';
import { CloudClient, adminRead, cryptoRandom, nodeStats, type PutResult } from '@trolley/node';
import type { TestCluster } from './test-cluster.ts';

/** Runs `f` on every item, at most `concurrency` at a time; results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  f: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** The names of the items a pushed delta carries (a `changed` push holds the write that caused it). */
export function itemNames(delta: Uint8Array): string[] {
  const doc = decodeList(delta);
  return doc.ok ? listView(doc.value).items.map((i) => i.name) : [];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long a process may take to answer one direct request (stats, admin read) before it is hung. */
export const replyMs = 30_000;
/**
 * The deadline of a put or get through a proxy: long enough for a loaded machine, under the
 * protocol's limit on deadlines (limits.deadlineMsMax, 60 s), which a node refuses as malformed.
 */
export const requestMs = 50_000;
/** How long a wait for the cloud to reach a state (a node seen alive, replicas agreeing) may take. */
export const hangMs = 180_000;

/**
 * Puts `delta` until it is cloud-ok, every attempt under the same opId (the protocol's promise:
 * a retry of an 'unknown' is harmless, a join is idempotent). An attempt comes back 'unknown' when
 * its deadline (`timeoutMs`) passes or when the proxy sees no live coordinator for a moment (a
 * node's hello late on a loaded machine); either way the operation is tried again, for up to
 * hangMs. Returns the last reply, the attempts made, and the latest deadline any attempt carried.
 */
export async function putAcked(
  client: CloudClient,
  listId: ListId,
  delta: Uint8Array,
  o: { timeoutMs?: number } = {},
): Promise<PutResult & { attempts: number; lastDeadlineMs: number }> {
  const timeoutMs = o.timeoutMs ?? requestMs;
  const giveUp = performance.now() + hangMs;
  const opId = client.newOpId();
  for (let attempts = 1; ; attempts++) {
    const r = await client.put(listId, delta, { opId, timeoutMs });
    // The deadline is taken when the put starts, so this bounds it from above.
    const lastDeadlineMs = Date.now() + timeoutMs;
    if (r.outcome === 'ok' || performance.now() > giveUp) return { ...r, attempts, lastDeadlineMs };
    await sleep(100);
  }
}

/** Reads a list through the proxy with an empty context and applies it to a fresh replica. */
export async function readList(
  client: CloudClient,
  listId: ListId,
  timeoutMs = requestMs,
): Promise<{ replica: ListReplica; view: ListView; answered: number; inSync: number; replicas: number }> {
  const empty = ListDoc.empty();
  const reply = await client.get(listId, encodeContext(empty.ctx, empty.replicas), { timeoutMs });
  const doc = decodeList(reply.delta);
  if (!doc.ok) throw doc.error;
  const replica = new ListReplica(newReplicaId(cryptoRandom));
  replica.apply(doc.value);
  return {
    replica,
    view: replica.view(),
    answered: reply.answered,
    inSync: reply.inSync,
    replicas: reply.replicas,
  };
}

/** What a client port's `stats` says (cloud/src/proxy.ts, `Proxy.view`), as far as the tests read it. */
export interface ClientPortStats {
  /** The port's address (tcp://host:port#KEY). */
  at: string;
  watches: { clients: number; lists: number; entries: number };
  counters: Record<string, number>;
}

/**
 * The cloud's client ports: every proxy's and every node's front. A front is the proxy's state
 * machine and answers `stats` as a proxy does. A direct client (the gateway, by default) sends a
 * list's puts, gets and watch to its coordinator's front once it has located the list, so what a
 * proxy alone counted before is counted across these ports. One connection a port, kept open.
 */
export class ClientPorts {
  private readonly ports: { at: string; client: CloudClient }[];

  constructor(tc: TestCluster) {
    this.ports = [...tc.cluster.clientEndpoints, ...tc.cluster.frontEndpoints].map((at) => ({
      at,
      client: new CloudClient([at]),
    }));
  }

  /** Each port's stats, the proxies first, then the fronts in the order of the nodes. */
  stats(timeoutMs = replyMs): Promise<ClientPortStats[]> {
    return Promise.all(
      this.ports.map(async ({ at, client }) => {
        const s = await client.proxyStats(timeoutMs);
        return {
          at,
          watches: s['watches'] as ClientPortStats['watches'],
          counters: s['counters'] as Record<string, number>,
        };
      }),
    );
  }

  close(): void {
    for (const p of this.ports) p.client.close();
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Which nodes hold a list (by node ID), and the hash each holds. */
export async function holdersOf(
  tc: TestCluster,
  listId: ListId,
  nodes?: number[],
): Promise<Map<string, string>> {
  const which = nodes ?? tc.nodeIds.map((_, i) => i);
  const found = new Map<string, string>();
  await Promise.all(
    which.map(async (i) => {
      const r = await adminRead(tc.cluster.operator, tc.cluster.nodeEndpoint(i), listId, replyMs);
      if (r.state !== undefined && r.hash !== undefined) found.set(tc.nodeIds[i] as string, hex(r.hash));
    }),
  );
  return found;
}

export interface Placement {
  /** Lists held by exactly their preference list, with one hash on all of them. */
  exact: number;
  /** Lists per node. */
  perNode: Map<string, number>;
  problems: string[];
}

/** One pass: is each list on exactly the N nodes of its preference list, identical everywhere? */
export async function placementOnce(tc: TestCluster, listIds: readonly ListId[]): Promise<Placement> {
  const perNode = new Map(tc.nodeIds.map((id) => [id, 0]));
  const problems: string[] = [];
  let exact = 0;
  await pool(listIds, 16, async (listId) => {
    const held = await holdersOf(tc, listId);
    for (const id of held.keys()) perNode.set(id, (perNode.get(id) ?? 0) + 1);
    const want = [...tc.preferenceList(listId)].sort();
    const have = [...held.keys()].sort();
    const hashes = new Set(held.values());
    if (want.join() === have.join() && hashes.size === 1) exact++;
    else
      problems.push(`${listId}: wanted on [${want.join()}], held by [${have.join()}], ${hashes.size} hashes`);
  });
  return { exact, perNode, problems };
}

/**
 * Polls until every list is placed exactly (puts are answered at W, so the last replica may lag a
 * moment behind the reply) or `timeoutMs` (a hang guard) has passed; returns the last pass.
 */
export async function waitForPlacement(
  tc: TestCluster,
  listIds: readonly ListId[],
  timeoutMs = hangMs,
): Promise<Placement & { passes: number }> {
  const deadline = Date.now() + timeoutMs;
  let remaining = listIds;
  let passes = 0;
  for (;;) {
    passes++;
    const p = await placementOnce(tc, remaining);
    if (p.problems.length === 0 || Date.now() > deadline) {
      // A final full pass over every list, for the per-node figures and a fresh problem list.
      const all = await placementOnce(tc, listIds);
      return { ...all, passes };
    }
    remaining = p.problems.map((line) => line.slice(0, 36) as ListId);
    await sleep(200);
  }
}

/** A number from node stats' counters, on each node (throws if a node does not answer). */
export async function nodeCounter(tc: TestCluster, counter: string): Promise<number[]> {
  return Promise.all(
    tc.nodeEndpoints.map(async (address) => {
      const stats = await nodeStats(tc.cluster.operator, address, replyMs);
      const counters = stats['counters'] as Record<string, number>;
      return counters[counter] ?? 0;
    }),
  );
}

/**
 * Frames each node refused: those its state machine rejected, plus (where the node reports its
 * transport apart) those its sockets dropped for a wrong frame count before decoding.
 */
export async function nodeRejects(tc: TestCluster): Promise<number[]> {
  return Promise.all(
    tc.nodeEndpoints.map(async (address) => {
      const stats = await nodeStats(tc.cluster.operator, address, replyMs);
      const counters = stats['counters'] as Record<string, number>;
      const transport = (stats['transport'] ?? {}) as Record<string, number>;
      return (counters['rejected'] ?? 0) + (transport['rejected'] ?? 0);
    }),
  );
}

/**
 * How node `observer` sees node `id`: 'alive', 'suspect' or 'down' where the node reports its
 * membership view, 'alive' where it has none (it then sends to every replica regardless).
 */
export async function livenessSeenBy(tc: TestCluster, observer: number, id: string): Promise<string> {
  const stats = await nodeStats(tc.cluster.operator, tc.cluster.nodeEndpoint(observer), replyMs);
  const members = stats['members'] as { id: string; liveness: string }[] | undefined;
  if (members === undefined) return 'alive';
  return members.find((m) => m.id === id)?.liveness ?? 'unknown';
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Polls `done` every 10 ms until it returns a value; fails after `guardMs` (a hang guard). */
export async function pollUntil<T>(what: string, done: () => T | undefined, guardMs = hangMs): Promise<T> {
  const start = performance.now();
  for (;;) {
    const v = done();
    if (v !== undefined) return v;
    if (performance.now() - start > guardMs)
      throw new Error(`timed out after ${guardMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Writes until a push arrives, and returns how long after the last write was sent it came. A watch
 * has no reply, so a push is the only proof that it reached the proxy: a write made before that is
 * not pushed. So write a fresh change, wait about a second for the push (checking every 10 ms),
 * and write again if none came.
 */
export async function writeUntilPushed(
  what: string,
  write: () => Promise<void>,
  pushed: () => boolean,
  guardMs = hangMs,
): Promise<{ ms: number; writes: number }> {
  const start = performance.now();
  for (let writes = 1; ; writes++) {
    const sent = performance.now();
    await write();
    const written = performance.now();
    while (performance.now() - written < 1_000) {
      if (pushed()) return { ms: performance.now() - sent, writes };
      await sleep(10);
    }
    if (performance.now() - start > guardMs)
      throw new Error(`timed out after ${guardMs} ms waiting for ${what}`);
  }
}
