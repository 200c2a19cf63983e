// What the operator page shows, shaped from one round of polling the cluster: the proxy's stats
// and each storage node's (admin.ts nodeStats, as `trolley cluster status` reads them). Pure: the
// poller (operator.ts) passes the answers and the time in, with the state of the round before
// (counters, for rates per second; the size of a ring change when it began, for its progress),
// and gets the snapshot to push to the pages and the next state. Nothing from the nodes is
// trusted to have the right shape: a field of the wrong type reads as absent, a ring that does not
// decode is reported and ignored. No Node APIs: the page imports the types from here.

import { decodeRing, preferenceList, type RingState } from '@trolley/core';
import { readFrontStats, type FrontReading } from '@trolley/cloud';

/** One node's answer to `stats` (parsed JSON), or why it gave none. */
export interface NodeAnswer {
  id: string;
  stats?: Record<string, unknown>;
  error?: string;
}

/** One round of polling. */
export interface PollRound {
  /** Monotonic ms (rates). */
  atMs: number;
  /** Wall-clock ms (shown). */
  wallMs: number;
  /** The proxy's stats, undefined if it did not answer. */
  proxy: Record<string, unknown> | undefined;
  nodes: readonly NodeAnswer[];
}

/** The counters rates are computed from, per second between two rounds. */
export const rateCounters = [
  'puts',
  'gets',
  'replicaWrites',
  'readRepairs',
  'antiEntropyRepairs',
  'hintedWrites',
  'hintsDelivered',
  'transfersSent',
] as const;
export type RateCounter = (typeof rateCounters)[number];

export type Liveness = 'alive' | 'suspect' | 'down';

/**
 * A node's front (its own client port: stats `front`), where direct clients send a list's puts,
 * gets and watch. Each figure null when the node's answer lacks it or has it of the wrong type.
 */
export interface FrontRow extends FrontReading {
  /**
   * Puts and gets it forwarded to its node, and notices it sent its watchers, per second since the
   * last round (null on the first).
   */
  requestsPerSecond: number | null;
  noticesPerSecond: number | null;
}

export interface NodeRow {
  id: string;
  /** It answered this round. */
  answered: boolean;
  error: string | null;
  /** In the ring the snapshot draws. */
  inRing: boolean;
  /** The proxy's view: it says hello and is live (null: the proxy does not know it). */
  live: boolean | null;
  ringVersion: number | null;
  partitionsOwned: number | null;
  lists: number | null;
  hints: number | null;
  /** Lists held here that belong elsewhere now (still to hand over). */
  leavingLists: number | null;
  /** Per second since the last round; null on the first round it answered. */
  rates: Record<RateCounter, number> | null;
  /** Puts this node coordinated since the last round: how many, and their p50 and p99 (ms). */
  putsTraced: number | null;
  putP50Ms: number | null;
  putP99Ms: number | null;
  /** Totals since the node started. */
  readRepairs: number | null;
  antiEntropyRepairs: number | null;
  /** Its front; null when it has none (stats `front` null, absent or not an object) or did not answer. */
  front: FrontRow | null;
}

/** A partition being handed over: the nodes that still hold lists of it that belong elsewhere. */
export interface MovingPartition {
  partition: number;
  from: string[];
  lists: number;
}

export interface Snapshot {
  wallMs: number;
  /** The newest ring any node reported; null when none did. */
  ring: {
    version: number;
    partitionCount: number;
    /** N, as the nodes report it. */
    replicas: number | null;
    nodes: { id: string; weight: number }[];
    /** Per partition, the index in `nodes` of its owner. */
    owners: number[];
  } | null;
  /** Every node that answered holds that ring. */
  agreed: boolean;
  /** Partitions still being handed over (lists held by nodes that no longer replicate them). */
  moving: MovingPartition[];
  /** The hand-over in progress: lists still to move, and how many there were when it began. */
  move: { ringVersion: number; lists: number; listsAtStart: number; progress: number } | null;
  nodes: NodeRow[];
  /** health[i][j]: how node ids[i] sees node ids[j] (null: it did not answer, or does not know j). */
  health: { ids: string[]; seen: (Liveness | 'self' | null)[][] };
  proxy: { name: string; ringVersion: number | null; liveNodes: number } | null;
  totals: {
    hints: number;
    repairsPerSecond: number;
    requestsPerSecond: number;
    putP99Ms: number | null;
    /** Of requestsPerSecond, those that came in at the nodes' fronts. */
    frontRequestsPerSecond: number;
    /** Clients (connections) watching at the nodes' fronts now, summed over the fronts. */
    frontWatchClients: number;
  };
  /** Problems with this round (nodes that did not answer, rings that did not decode). */
  problems: string[];
}

/** A front's counters as read in one round (undefined: of the wrong type). */
export interface FrontCounts {
  atMs: number;
  forwarded: number | undefined;
  notified: number | undefined;
}

/** What one round leaves for the next. */
export interface ShapeState {
  counters: Map<string, { atMs: number; values: Record<RateCounter, number> }>;
  /** Each node's front's counters that its rates are computed from. */
  fronts: Map<string, FrontCounts>;
  /** The hand-over being tracked: the ring version it belongs to and its size when first seen. */
  move: { ringVersion: number; listsAtStart: number } | undefined;
}

export const emptyShapeState = (): ShapeState => ({
  counters: new Map(),
  fronts: new Map(),
  move: undefined,
});

// ---- readers: a field of the wrong type reads as undefined -------------------------------------

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Bytes of an even-length hex string, undefined for anything else. */
export function bytesOfHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const livenessOf = (v: unknown): Liveness | null =>
  v === 'alive' || v === 'suspect' || v === 'down' ? v : null;

/** [partition, lists] pairs, the malformed ones left out. */
function leavingOf(v: unknown): [number, number][] {
  const out: [number, number][] = [];
  for (const e of arr(v)) {
    const pair = arr(e);
    const p = num(pair[0]);
    const n = num(pair[1]);
    if (p !== undefined && n !== undefined && Number.isInteger(p) && p >= 0) out.push([p, n]);
  }
  return out;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Per second between two reads of a counter (0 after a restart, not negative); null without both. */
function perSecond(now: number | undefined, before: number | undefined, seconds: number): number | null {
  if (now === undefined || before === undefined || seconds <= 0) return null;
  return round2(Math.max(0, now - before) / seconds);
}

/**
 * A node's front from its stats' `front`, and what its rates are computed from next round; null
 * (and nothing kept) when that is not an object.
 */
function frontOf(
  v: unknown,
  atMs: number,
  before: FrontCounts | undefined,
): { row: FrontRow; kept: FrontCounts } | null {
  const f = readFrontStats(v);
  if (f === null) return null;
  const forwarded = f.forwarded ?? undefined;
  const notified = f.notified ?? undefined;
  const seconds = before === undefined ? 0 : (atMs - before.atMs) / 1000;
  return {
    row: {
      ...f,
      requestsPerSecond: perSecond(forwarded, before?.forwarded, seconds),
      noticesPerSecond: perSecond(notified, before?.notified, seconds),
    },
    kept: { atMs, forwarded, notified },
  };
}

/**
 * The snapshot of one round, and the state for the next. `state` is not changed.
 */
export function shapeSnapshot(
  round: PollRound,
  state: ShapeState,
): { snapshot: Snapshot; state: ShapeState } {
  const problems: string[] = [];
  const answered = round.nodes.filter((n) => n.stats !== undefined);
  for (const n of round.nodes)
    if (n.stats === undefined)
      problems.push(`${n.id} did not answer${n.error === undefined ? '' : `: ${n.error}`}`);

  // The newest ring any node holds (a ring change spreads by gossip: some may still hold the old).
  let ring: RingState | undefined;
  const versions = new Map<string, string>(); // node → `${version}/${hash}`
  for (const n of answered) {
    const s = n.stats as Record<string, unknown>;
    versions.set(n.id, `${num(s['ringVersion']) ?? 0}/${str(s['ringHash']) ?? ''}`);
    const hex = str(s['ring']);
    if (hex === undefined || hex === '') continue;
    const bytes = bytesOfHex(hex);
    const decoded = bytes === undefined ? undefined : decodeRing(bytes);
    if (decoded === undefined || !decoded.ok) {
      problems.push(`${n.id} sent a ring that does not decode`);
      continue;
    }
    if (ring === undefined || decoded.value.version > ring.version) ring = decoded.value;
  }
  const agreed = answered.length > 0 && new Set(versions.values()).size === 1;
  const replicas = answered.map((n) => num(n.stats?.['replicas'])).find((x) => x !== undefined) ?? null;

  // Who is moving what: lists held by a node that is not among a partition's N replicas.
  const movingBy = new Map<number, MovingPartition>();
  for (const n of answered) {
    for (const [p, lists] of leavingOf(n.stats?.['leaving'])) {
      if (ring !== undefined && p >= ring.partitionCount) continue;
      const m = movingBy.get(p) ?? { partition: p, from: [], lists: 0 };
      m.from.push(n.id);
      m.lists += lists;
      movingBy.set(p, m);
    }
  }
  // A node that still holds an older ring reports against it; with the newest ring, a partition it
  // does replicate there is not leaving it.
  if (ring !== undefined && replicas !== null)
    for (const m of movingBy.values()) {
      const owners = new Set<string>(preferenceList(ring, m.partition, replicas));
      m.from = m.from.filter((id) => !owners.has(id));
    }
  const moving = [...movingBy.values()]
    .filter((m) => m.from.length > 0)
    .sort((a, b) => a.partition - b.partition);
  const listsMoving = moving.reduce((sum, m) => sum + m.lists, 0);
  const ringVersion = ring?.version ?? 0;
  let move: ShapeState['move'];
  if (listsMoving === 0) move = undefined;
  else if (state.move === undefined || state.move.ringVersion !== ringVersion)
    move = { ringVersion, listsAtStart: listsMoving };
  else move = { ringVersion, listsAtStart: Math.max(state.move.listsAtStart, listsMoving) };

  // Proxy's view of liveness.
  const proxyNodes = new Map<string, boolean>();
  for (const v of arr(round.proxy?.['nodes'])) {
    const o = obj(v);
    const id = str(o?.['id']);
    if (id !== undefined) proxyNodes.set(id, o?.['live'] === true);
  }

  // Every node anyone mentions: asked, in the ring, or a member someone knows.
  const ids = new Set<string>(round.nodes.map((n) => n.id));
  for (const n of ring?.nodes ?? []) ids.add(n.id);
  for (const n of answered)
    for (const m of arr(n.stats?.['members'])) {
      const id = str(obj(m)?.['id']);
      if (id !== undefined) ids.add(id);
    }
  const allIds = [...ids].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const inRing = new Set<string>(ring?.nodes.map((n) => n.id) ?? []);
  const byId = new Map(round.nodes.map((n) => [n.id, n]));

  const counters: ShapeState['counters'] = new Map();
  const fronts: ShapeState['fronts'] = new Map();
  const rows: NodeRow[] = allIds.map((id) => {
    const answer = byId.get(id);
    const s = answer?.stats;
    const c = obj(s?.['counters']);
    const putTimes = obj(s?.['putTimes']);
    let rates: NodeRow['rates'] = null;
    if (c !== undefined) {
      const values = Object.fromEntries(rateCounters.map((k) => [k, num(c[k]) ?? 0])) as Record<
        RateCounter,
        number
      >;
      counters.set(id, { atMs: round.atMs, values });
      const before = state.counters.get(id);
      const seconds = before === undefined ? 0 : (round.atMs - before.atMs) / 1000;
      if (before !== undefined && seconds > 0)
        rates = Object.fromEntries(
          // A restarted node's counters start again at 0: no negative rates.
          rateCounters.map((k) => [k, round2(Math.max(0, values[k] - before.values[k]) / seconds)]),
        ) as Record<RateCounter, number>;
    }
    const traced = num(putTimes?.['traced']) ?? null;
    const front = frontOf(s?.['front'], round.atMs, state.fronts.get(id));
    if (front !== null) fronts.set(id, front.kept);
    return {
      id,
      answered: s !== undefined,
      error: answer?.error ?? null,
      inRing: inRing.has(id),
      live: proxyNodes.get(id) ?? null,
      ringVersion: num(s?.['ringVersion']) ?? null,
      partitionsOwned: ring === undefined ? null : ring.owners.filter((o) => o === id).length,
      lists: num(s?.['keys']) ?? null,
      hints: num(s?.['hints']) ?? null,
      leavingLists: s === undefined ? null : leavingOf(s['leaving']).reduce((sum, [, n]) => sum + n, 0),
      rates,
      putsTraced: traced,
      putP50Ms: traced === null || traced === 0 ? null : (num(putTimes?.['p50Ms']) ?? null),
      putP99Ms: traced === null || traced === 0 ? null : (num(putTimes?.['p99Ms']) ?? null),
      readRepairs: num(c?.['readRepairs']) ?? null,
      antiEntropyRepairs: num(c?.['antiEntropyRepairs']) ?? null,
      front: front?.row ?? null,
    };
  });

  const seen = allIds.map((observer) => {
    const s = byId.get(observer)?.stats;
    const members = new Map<string, Liveness | null>();
    for (const m of arr(s?.['members'])) {
      const o = obj(m);
      const id = str(o?.['id']);
      if (id !== undefined) members.set(id, livenessOf(o?.['liveness']));
    }
    return allIds.map((other): Liveness | 'self' | null =>
      other === observer ? 'self' : s === undefined ? null : (members.get(other) ?? null),
    );
  });

  const sumRates = (keys: readonly RateCounter[]): number =>
    round2(
      rows.reduce((sum, { rates: r }) => sum + (r === null ? 0 : keys.reduce((a, k) => a + r[k], 0)), 0),
    );
  const p99s = rows.flatMap((r) => (r.putP99Ms === null ? [] : [r.putP99Ms]));
  const proxyName = str(round.proxy?.['proxy']);
  const ringIndex = new Map<string, number>(ring?.nodes.map((n, i) => [n.id, i]) ?? []);

  const snapshot: Snapshot = {
    wallMs: round.wallMs,
    ring:
      ring === undefined
        ? null
        : {
            version: ring.version,
            partitionCount: ring.partitionCount,
            replicas,
            nodes: ring.nodes.map((n) => ({ id: n.id, weight: n.weight })),
            owners: ring.owners.map((o) => ringIndex.get(o) ?? -1),
          },
    agreed,
    moving,
    move:
      move === undefined
        ? null
        : {
            ringVersion,
            lists: listsMoving,
            listsAtStart: move.listsAtStart,
            progress: round2(1 - listsMoving / move.listsAtStart),
          },
    nodes: rows,
    health: { ids: allIds, seen },
    proxy:
      round.proxy === undefined
        ? null
        : {
            name: proxyName ?? 'proxy',
            ringVersion: num(round.proxy['ringVersion']) ?? null,
            liveNodes: [...proxyNodes.values()].filter(Boolean).length,
          },
    totals: {
      hints: rows.reduce((sum, r) => sum + (r.hints ?? 0), 0),
      repairsPerSecond: sumRates(['readRepairs', 'antiEntropyRepairs']),
      requestsPerSecond: sumRates(['puts', 'gets']),
      putP99Ms: p99s.length === 0 ? null : Math.max(...p99s),
      frontRequestsPerSecond: round2(rows.reduce((sum, r) => sum + (r.front?.requestsPerSecond ?? 0), 0)),
      frontWatchClients: rows.reduce((sum, r) => sum + (r.front?.watchClients ?? 0), 0),
    },
    problems,
  };
  return { snapshot, state: { counters, fronts, move } };
}
