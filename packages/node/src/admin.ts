// Direct requests to one storage node (not through a proxy): read a replica's copy of a list,
// a node's stats, a ring change — and ringChangeConfirmed, which makes a ring change either take
// effect in the ring the whole cluster agrees on or fail loudly. For operators and tests; the
// node answers on its peer port, and only to an operator: every call takes the operator's keys
// (MemberAuth of role operator, operatorKeys()). A node's address is tcp://host:port, with its key
// after # (tcp://host:port#KEY) unless the operator's keyring names it (by node ID). Requests and
// answers are the admin plane's (PROTOCOL.md §3): an answer of any other plane is not one.

import type * as zmq from 'zeromq';
import {
  TrolleyError,
  decodeAdminMessage,
  describeRingChange,
  encodeAdminMessage,
  parseNodeId,
  pendingRingChange,
  ringChangeProblem,
  ringReflects,
  type AdminMessage,
  type ListId,
  type RingChange,
  type RingNode,
} from '@trolley/core';
import { MemberAuth, splitAddress } from './keys.ts';
import { dealer } from './zmq.ts';

/** An operator's keys: what ring changes, admin reads and node stats need. */
export type Operator = MemberAuth;

/**
 * The operator NAME (default "operator") of the keys folder `dir`: NAME.key and the keyring.
 * Undefined dir: an insecure cluster (benchmarks only).
 */
export function operatorKeys(dir: string | undefined, name = 'operator'): Operator {
  return MemberAuth.load(dir, { id: name, role: 'operator' }, () => undefined);
}

/** The node's key: after # in its address, else the keyring's key for node `id`. */
function nodeKey(
  op: Operator,
  address: string,
  id: string | undefined,
): { endpoint: string; key: string | undefined } {
  const { endpoint, serverKey } = splitAddress(address);
  const key = serverKey ?? (id === undefined ? undefined : op.keyOf(id));
  if (op.secure && key === undefined)
    throw new TrolleyError(
      'invalid_argument',
      `no key for the node at ${address}: give it as ${endpoint}#KEY (its .pub file), or put its .pub in ${op.keyring?.dir ?? 'the keys folder'}`,
    );
  return { endpoint, key };
}

async function ask(
  op: Operator,
  address: string,
  request: AdminMessage,
  timeoutMs: number,
  id?: string,
): Promise<AdminMessage> {
  const { endpoint, key } = nodeKey(op, address, id);
  const keys = op.keys;
  const socket: zmq.Dealer = dealer(
    undefined,
    keys === undefined || key === undefined ? undefined : { keys, serverKey: key },
  );
  socket.receiveTimeout = timeoutMs;
  socket.connect(endpoint);
  try {
    await socket.send([op.credentialFor(key), encodeAdminMessage(request)]);
    for (;;) {
      const frames = await socket.receive();
      const m = decodeAdminMessage(frames[0] ?? new Uint8Array());
      if (m.ok && m.value.requestId === request.requestId) return m.value;
    }
  } catch (e) {
    throw new TrolleyError('not_found', `node at ${address} did not answer: ${String(e)}`);
  } finally {
    socket.close();
  }
}

export async function adminRead(
  op: Operator,
  address: string,
  listId: ListId,
  timeoutMs = 2_000,
): Promise<{ state: Uint8Array | undefined; hash: Uint8Array | undefined }> {
  const m = await ask(op, address, { type: 'admin-read', requestId: 1, listId }, timeoutMs);
  if (m.type !== 'admin-read-reply') throw new TrolleyError('invalid_argument', `unexpected ${m.type}`);
  return { state: m.state, hash: m.hash };
}

export async function nodeStats(
  op: Operator,
  address: string,
  timeoutMs = 2_000,
  id?: string,
): Promise<Record<string, unknown>> {
  const m = await ask(op, address, { type: 'stats', requestId: 1 }, timeoutMs, id);
  if (m.type !== 'stats-reply') throw new TrolleyError('invalid_argument', `unexpected ${m.type}`);
  return JSON.parse(m.json) as Record<string, unknown>;
}

/** Asks a node to change the ring: add nodes (ID, address, weight) and remove nodes (IDs). */
export async function ringChange(
  op: Operator,
  address: string,
  change: { add?: { id: string; address: string; weight?: number }[]; remove?: string[]; force?: boolean },
  timeoutMs = 5_000,
): Promise<number> {
  // Peers dial a node at its plain address and find its key in their keyrings.
  const add = (change.add ?? []).map((n) => ({
    id: n.id,
    address: splitAddress(n.address).endpoint,
    weight: n.weight ?? 1,
  }));
  const m = await ask(
    op,
    address,
    { type: 'ring-change', requestId: 1, add, remove: change.remove ?? [], force: change.force ?? false },
    timeoutMs,
  );
  if (m.type === 'error')
    throw new TrolleyError(
      // A node without a ring yet may take it later; anything else is a change no ring can take.
      m.code === 'unavailable' ? 'not_found' : 'invalid_argument',
      `the node at ${address} refused the ring change: ${m.message}`,
    );
  if (m.type !== 'ring-change-reply') throw new TrolleyError('invalid_argument', `unexpected ${m.type}`);
  return m.ringVersion;
}

// ---- confirmed ring changes ----------------------------------------------------------------------
//
// A ring change answered by one node is not yet a ring change of the cluster: two changes made at
// once on the same base ring (through the same node's gossip window, or through two nodes) both
// produce version v+1, and gossip keeps only the one with the greater encoding. So an operator's
// change is confirmed here: apply it through one node; poll every node of the ring (and the added
// and removed ones) until all that answer hold one ring (same version and hash) at least as new
// as the answered version; check that this ring reflects the change. If it does not, a concurrent
// change won: issue the change again (it is stated as the ring it wants, so repeating it is safe —
// the node answers a change its ring already reflects without a new version) and wait again, a
// bounded number of times. Anything else — a node that does not answer, no agreement by the
// deadline, attempts used up — is a TrolleyError that says where the cluster stands.

export interface RingChangeRequest {
  add?: { id: string; address: string; weight?: number }[];
  remove?: string[];
  /** Allow a ring that keeps none of the current nodes, or has fewer than N. */
  force?: boolean;
}

export interface ConfirmRingChangeOptions {
  /** Everything, all attempts included, ends by then (default 60 s from the call). */
  timeoutMs?: number;
  /** How many times the change may be issued (default 5). */
  attempts?: number;
  /** A ring node that has not answered for this long while the others agree is an error (default 10 s). */
  silentMs?: number;
  /** Between polls of the nodes' stats (default 200 ms). */
  pollMs?: number;
  /** One line per step, for the operator. */
  progress?: (line: string) => void;
  /** What the operator should run to try again, for error messages (default: "the same ring change"). */
  again?: string;
}

export interface ConfirmedRingChange {
  /** The ring version every answering node holds, with the change in it. */
  version: number;
  ringHash: string;
  nodes: RingNode[];
  /** The node (ID) that applied the change the last time it was issued. */
  appliedBy: string;
  /** How many times the change was issued (1: no concurrent change got in the way). */
  attempts: number;
  /** The versions the nodes answered, one per attempt. */
  answered: number[];
  /** Node IDs that reported the agreed ring. */
  agreeing: string[];
  /** Removed nodes that did not answer (they learn the ring by gossip if they come back). */
  silentRemoved: string[];
  /** Things the operator should look at that do not undo the change (e.g. an address mismatch). */
  warnings: string[];
}

/** What one node reports about its ring and members (from its stats). */
interface RingView {
  id: string;
  version: number;
  hash: string;
  nodes: RingNode[];
  members: { id: string; address: string }[];
}

async function ringView(op: Operator, address: string, timeoutMs: number, id?: string): Promise<RingView> {
  const s = await nodeStats(op, address, timeoutMs, id);
  const weights = (s['ringWeights'] ?? {}) as Record<string, number>;
  const ids = Array.isArray(s['ringNodes']) ? (s['ringNodes'] as string[]) : [];
  const members = Array.isArray(s['members']) ? (s['members'] as { id: string; address: string }[]) : [];
  return {
    id: String(s['nodeId']),
    version: typeof s['ringVersion'] === 'number' ? s['ringVersion'] : 0,
    hash: typeof s['ringHash'] === 'string' ? s['ringHash'] : '',
    nodes: ids.map((id) => ({ id: parseNodeId(id), weight: weights[id] ?? 1 })),
    members: members.map((m) => ({ id: m.id, address: m.address })),
  };
}

const ringText = (v: { version: number; nodes: readonly RingNode[] }): string =>
  `v${v.version} [${v.nodes.map((n) => (n.weight === 1 ? n.id : `${n.id}×${n.weight}`)).join(' ')}]`;

/**
 * Applies a ring change through the first of `via` (node endpoints) that answers, and waits until
 * the cluster agrees on a ring that reflects it, issuing it again if a concurrent change won. See
 * the comment above. Throws TrolleyError: 'invalid_argument' for a change no ring can take (or a
 * node refused), 'not_found' when nodes do not answer or agree in time, 'limit_exceeded' when the
 * attempts ran out; the message says what state the cluster is in and what to run next.
 */
export async function ringChangeConfirmed(
  op: Operator,
  via: readonly string[],
  request: RingChangeRequest,
  options: ConfirmRingChangeOptions = {},
): Promise<ConfirmedRingChange> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const attempts = options.attempts ?? 5;
  const silentMs = options.silentMs ?? 10_000;
  const pollMs = options.pollMs ?? 200;
  const progress = options.progress ?? ((): void => undefined);
  const again = options.again ?? 'the same ring change';
  const add = (request.add ?? []).map((n) => ({
    id: parseNodeId(n.id),
    address: n.address,
    weight: n.weight ?? 1,
  }));
  const change: RingChange = {
    add: add.map((n) => ({ id: n.id, weight: n.weight })),
    remove: (request.remove ?? []).map((id) => parseNodeId(id)),
  };
  const problem = ringChangeProblem(change);
  if (problem !== undefined) throw new TrolleyError('invalid_argument', problem);
  if (via.length === 0) throw new TrolleyError('invalid_argument', 'no node to send the ring change to');
  const what = describeRingChange(change);
  const removed = new Set<string>(change.remove);

  // An added node must be running at the address given, under the ID given: otherwise the ring
  // would name a node that no peer can reach.
  for (const n of add) {
    const view = await ringView(op, n.address, 2_000, n.id).catch(() => undefined);
    if (view === undefined)
      throw new TrolleyError(
        'not_found',
        `${n.id} does not answer at ${n.address}; nothing was changed. Start it first ` +
          `(trolley node --id ${n.id} --advertise ${n.address} --seeds …), then run ${again}.`,
      );
    if (view.id !== n.id)
      throw new TrolleyError(
        'invalid_argument',
        `the node at ${n.address} is ${view.id}, not ${n.id}; nothing was changed`,
      );
  }

  const answered: number[] = [];
  let appliedBy = '';
  let last: RingView | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const applied = await applyThrough(op, via, add, change.remove, request.force ?? false, deadline, again);
    answered.push(applied.version);
    appliedBy = applied.view.id;
    progress(
      `ring v${applied.version} applied by ${appliedBy}` +
        (attempt > 1 ? ` (attempt ${attempt} of ${attempts})` : '') +
        '; waiting for the cluster to agree…',
    );
    const agreed = await waitForOneRing(op, applied.view, applied.version, add, removed, {
      deadline,
      silentMs,
      pollMs,
      progress,
      what,
      again,
    });
    last = agreed.ring;
    if (ringReflects(agreed.ring.nodes, change)) {
      const present = [
        ...change.add.map((n) => `${n.id} present`),
        ...change.remove.map((id) => `${id} absent`),
      ].join(', ');
      progress(`agreed on v${agreed.ring.version} (${present})`);
      const warnings: string[] = [];
      for (const n of add) {
        const self = agreed.selfAddress.get(n.id);
        if (self !== undefined && self !== splitAddress(n.address).endpoint)
          warnings.push(
            `${n.id} advertises ${self}, not ${n.address}: peers dial ${self}; check its --advertise`,
          );
      }
      for (const w of warnings) progress(`warning: ${w}`);
      return {
        version: agreed.ring.version,
        ringHash: agreed.ring.hash,
        nodes: agreed.ring.nodes,
        appliedBy,
        attempts: attempt,
        answered,
        agreeing: agreed.agreeing,
        silentRemoved: agreed.silentRemoved,
        warnings,
      };
    }
    const pending = pendingRingChange(agreed.ring.nodes, change);
    progress(
      `agreed on ${ringText(agreed.ring)}, which lacks ${describeRingChange(pending)}: ` +
        'a concurrent ring change won; issuing it again',
    );
  }
  throw new TrolleyError(
    'limit_exceeded',
    `ring change (${what}) not confirmed after ${attempts} attempts: each time another ring change won. ` +
      `The cluster agrees on ${last === undefined ? 'no ring' : ringText(last)}, which lacks ` +
      `${last === undefined ? what : describeRingChange(pendingRingChange(last.nodes, change))}; nothing is half-applied. ` +
      `Is someone else changing the ring? When they are done, run ${again}.`,
  );
}

/** Sends the change to the first node of `via` that answers; returns the version and its view. */
async function applyThrough(
  op: Operator,
  via: readonly string[],
  add: readonly { id: string; address: string; weight: number }[],
  remove: readonly string[],
  force: boolean,
  deadline: number,
  again: string,
): Promise<{ version: number; view: RingView }> {
  const failures: string[] = [];
  for (const address of via) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      const version = await ringChange(
        op,
        address,
        { add: [...add], remove: [...remove], force },
        Math.min(5_000, left),
      );
      const view = await ringView(op, address, Math.min(2_000, Math.max(1, deadline - Date.now())));
      return { version, view };
    } catch (e) {
      // A refusal is final; a node that did not answer may or may not have applied it, which is
      // fine: the change is idempotent, so the next node is asked the same.
      if (e instanceof TrolleyError && e.code === 'invalid_argument') throw e;
      failures.push(`${address}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new TrolleyError(
    'not_found',
    `no node took the ring change (${failures.join('; ') || 'out of time'}). It may have been applied ` +
      `by a node that answered too late; run trolley cluster status to see the ring, then ${again}.`,
  );
}

interface Agreement {
  ring: RingView;
  agreeing: string[];
  silentRemoved: string[];
  /** The address each node reports for itself. */
  selfAddress: Map<string, string>;
}

/**
 * Polls the nodes until every one that should answer (the nodes of every ring seen, and the added
 * ones; removed nodes may be gone) reports one ring of version ≥ minVersion. Throws TrolleyError
 * ('not_found') at the deadline, or when the others agree and some node has stayed silent for
 * silentMs, with a description of what each node holds.
 */
async function waitForOneRing(
  op: Operator,
  first: RingView,
  minVersion: number,
  add: readonly { id: string; address: string }[],
  removed: ReadonlySet<string>,
  o: {
    deadline: number;
    silentMs: number;
    pollMs: number;
    progress: (line: string) => void;
    what: string;
    again: string;
  },
): Promise<Agreement> {
  const addresses = new Map<string, string>();
  const selfAddress = new Map<string, string>();
  const wanted = new Set<string>([...add.map((n) => n.id), ...removed]);
  const lastHeard = new Map<string, number>();
  const started = Date.now();
  const learn = (v: RingView): void => {
    for (const m of v.members) if (!addresses.has(m.id)) addresses.set(m.id, m.address);
    for (const m of v.members) if (m.id === v.id) selfAddress.set(v.id, m.address);
    for (const n of v.nodes) wanted.add(n.id);
  };
  learn(first);
  // The operator's addresses for the added nodes win: they answered there.
  for (const n of add) addresses.set(n.id, n.address);
  let lastSummary = '';
  for (;;) {
    const ids = [...wanted].sort();
    const views = await Promise.all(
      ids.map(async (id) => {
        const address = addresses.get(id);
        if (address === undefined) return undefined;
        const left = Math.max(1, Math.min(1_000, o.deadline - Date.now()));
        const v = await ringView(op, address, left, id).catch(() => undefined);
        return v?.id === id ? v : undefined; // another node at that address does not count
      }),
    );
    const now = Date.now();
    const heard: RingView[] = [];
    for (const [i, id] of ids.entries()) {
      const v = views[i];
      if (v === undefined) continue;
      lastHeard.set(id, now);
      heard.push(v);
      learn(v);
    }
    const rings = new Map<string, RingView>();
    for (const v of heard) rings.set(`${v.version}/${v.hash}`, v);
    const one = rings.size === 1 ? heard[0] : undefined;
    const agreed = one !== undefined && one.version >= minVersion && one.hash !== '';
    // Who must answer: the nodes of the ring the others agree on (or of any ring seen, while they
    // do not agree) and the added ones; removed nodes may be gone, and so may a node that only a
    // stale ring names.
    const must = new Set<string>([...(agreed ? one.nodes.map((n) => n.id) : ids), ...add.map((n) => n.id)]);
    const silent = ids.filter((id, i) => views[i] === undefined && must.has(id) && !removed.has(id));
    const summary = ids
      .map((id, i) => {
        const v = views[i];
        return `${id} ${v === undefined ? 'no answer' : ringText(v)}`;
      })
      .join(', ');
    // (a ring seen this round may name nodes not asked yet: ask them next round)
    if (agreed && silent.length === 0 && wanted.size === ids.length)
      return {
        ring: one,
        agreeing: heard.map((v) => v.id),
        silentRemoved: ids.filter((id, i) => views[i] === undefined && removed.has(id)),
        selfAddress,
      };
    if (summary !== lastSummary) {
      o.progress(`  ${summary}`);
      lastSummary = summary;
    }
    const longSilent = silent.filter((id) => now - (lastHeard.get(id) ?? started) >= o.silentMs);
    if ((agreed && longSilent.length > 0) || now >= o.deadline) {
      const state =
        agreed && one !== undefined
          ? `the answering nodes agree on ${ringText(one)}`
          : 'the nodes do not agree on one ring yet';
      const missing = silent.map((id) => `${id} (${addresses.get(id) ?? 'address unknown'})`).join(', ');
      throw new TrolleyError(
        'not_found',
        `ring change (${o.what}) not confirmed: ${state}` +
          (silent.length > 0 ? `; no answer from ${missing}` : '') +
          `. Each node: ${summary}. A node that comes back adopts the newest ring by gossip; ` +
          `run trolley cluster status to watch, then ${o.again} to confirm (it changes nothing ` +
          'if the ring already has it).',
      );
    }
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}
