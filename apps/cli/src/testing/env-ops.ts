// Client-side bookkeeping for the environment-fault tests: each write is an operation with its own
// opId; an 'unknown' outcome (or a refusal) is retried with the SAME opId and the same delta, which
// the protocol promises is harmless. Every attempt is recorded with its times, so a test can tell
// which requests were in flight when a fault struck, and whether anything was acknowledged while it
// should not have been.

import {
  ListDoc,
  decodeList,
  encodeContext,
  encodeList,
  listView,
  newListId,
  preferenceListForKey,
  type ListId,
  type ListView,
  type OpId,
  type RingState,
} from '@trolley/core';
import { adminRead, cryptoRandom, type CloudClient, type Operator } from '@trolley/node';
import { replyMs, requestMs } from './cloud-checks.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Bounds that guard against a hang, never budgets: these tests must pass on a loaded 2-core
// machine, where a request may take seconds. The same values as cloud-checks.ts.
export { hangMs, replyMs, requestMs } from './cloud-checks.ts';

export interface Attempt {
  startMs: number;
  endMs: number;
  outcome: 'ok' | 'unknown' | 'error';
  error?: string;
}

export interface Op {
  listId: ListId;
  opId: OpId;
  /** What the operation did (an item name, say), for the checks. */
  label: string;
  delta: Uint8Array;
  attempts: Attempt[];
  acked: boolean;
  /** True while an attempt is under way (sent, not yet answered or given up on). */
  inFlight: boolean;
}

export function newOp(client: CloudClient, listId: ListId, label: string, delta: ListDoc): Op {
  return {
    listId,
    opId: client.newOpId(),
    label,
    delta: encodeList(delta),
    attempts: [],
    acked: false,
    inFlight: false,
  };
}

/** One put of the operation (same opId, same bytes every time); records the attempt. */
export async function attempt(client: CloudClient, op: Op, timeoutMs: number): Promise<Attempt> {
  const startMs = performance.now();
  let a: Attempt;
  op.inFlight = true;
  try {
    const r = await client.put(op.listId, op.delta, { opId: op.opId, timeoutMs });
    a = { startMs, endMs: performance.now(), outcome: r.outcome };
  } catch (e) {
    a = { startMs, endMs: performance.now(), outcome: 'error', error: String(e) };
  }
  op.inFlight = false;
  op.attempts.push(a);
  if (a.outcome === 'ok') op.acked = true;
  return a;
}

/** Attempts until acknowledged or `untilMs` (performance.now() time) has passed. */
export async function putUntilAcked(
  client: CloudClient,
  op: Op,
  o: { timeoutMs: number; untilMs: number; pauseMs?: number },
): Promise<boolean> {
  for (;;) {
    const a = await attempt(client, op, o.timeoutMs);
    if (a.outcome === 'ok') return true;
    if (performance.now() >= o.untilMs) return false;
    await sleep(o.pauseMs ?? 50);
  }
}

/**
 * Random list IDs, `perGroup` for every distinct preference list (owners in order), so writes
 * reach lists coordinated by, and replicated on, every node.
 */
export function listsForEveryOwnerSet(ring: RingState, n: number, perGroup: number): ListId[] {
  const groups = new Map<string, ListId[]>();
  for (let tries = 0; tries < 100_000; tries++) {
    const id = newListId(cryptoRandom);
    const key = preferenceListForKey(ring, id, n).join(',');
    const group = groups.get(key) ?? [];
    if (group.length < perGroup) group.push(id);
    groups.set(key, group);
    const expected = permutations(ring.nodes.length, n);
    if (groups.size === expected && [...groups.values()].every((g) => g.length >= perGroup)) break;
  }
  return [...groups.values()].flat();
}

/** Ordered selections of n out of k (the possible preference lists, when the ring spreads well). */
function permutations(k: number, n: number): number {
  let p = 1;
  for (let i = 0; i < Math.min(n, k); i++) p *= k - i;
  return p;
}

/**
 * A node's copy of a list, straight from its store (an admin read, as operator `op`): hash and
 * view, or undefined.
 */
export async function replicaOf(
  op: Operator,
  endpoint: string,
  listId: ListId,
  timeoutMs = replyMs,
): Promise<{ hash: string; view: ListView } | undefined> {
  const r = await adminRead(op, endpoint, listId, timeoutMs);
  if (r.state === undefined || r.hash === undefined) return undefined;
  const doc = decodeList(r.state);
  if (!doc.ok) throw doc.error;
  return { hash: Buffer.from(r.hash).toString('hex'), view: listView(doc.value) };
}

/** A list as a person would see it, read through a proxy (an empty context: the whole state). */
export async function readView(
  client: CloudClient,
  listId: ListId,
  timeoutMs = requestMs,
): Promise<ListView> {
  const empty = ListDoc.empty();
  const reply = await client.get(listId, encodeContext(empty.ctx, empty.replicas), { timeoutMs });
  const doc = decodeList(reply.delta);
  if (!doc.ok) throw doc.error;
  return listView(doc.value);
}
