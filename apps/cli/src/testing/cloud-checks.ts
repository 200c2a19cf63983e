// What the real-process tests ask of a running cloud: a list read back through a proxy as a person
// would see it, where each replica of a list is (admin reads on every node), node counters, and
// a small bounded-concurrency pool so hundreds of requests run at once without flooding.

import {
  ListDoc,
  ListReplica,
  decodeList,
  encodeContext,
  newReplicaId,
  type ListId,
  type ListView,
} from '@trolley/core';
import { adminRead, cryptoRandom, nodeStats, type CloudClient } from '@trolley/node';
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reads a list through the proxy with an empty context and applies it to a fresh replica. */
export async function readList(
  client: CloudClient,
  listId: ListId,
  timeoutMs = 5_000,
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
      const r = await adminRead(tc.cluster.nodeEndpoint(i), listId);
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
 * moment behind the reply) or the time is up; returns the last pass.
 */
export async function waitForPlacement(
  tc: TestCluster,
  listIds: readonly ListId[],
  timeoutMs = 15_000,
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
      const stats = await nodeStats(address);
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
      const stats = await nodeStats(address);
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
  const stats = await nodeStats(tc.cluster.nodeEndpoint(observer));
  const members = stats['members'] as { id: string; liveness: string }[] | undefined;
  if (members === undefined) return 'alive';
  return members.find((m) => m.id === id)?.liveness ?? 'unknown';
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
