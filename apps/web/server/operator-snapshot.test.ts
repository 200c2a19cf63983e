// The operator page's snapshot, shaped from polled stats: the ring drawn from the ring the nodes
// report (every partition, each node's count), rates from two rounds, the health matrix, a ring
// change while it moves (nodes on two versions; lists still leaving, and the progress), each
// node's front (its watchers, its rates), and stats of the wrong shape read as absent, never a crash.

import { describe, expect, it } from 'vitest';
import {
  createRing,
  encodeRing,
  hexOf,
  parseNodeId,
  preferenceList,
  rebalance,
  type RingState,
} from '@trolley/core';
import { emptyShapeState, shapeSnapshot, type NodeAnswer, type PollRound } from './operator-snapshot.ts';

const ids = ['n1', 'n2', 'n3'].map(parseNodeId);
const ring3 = createRing(
  ids.map((id) => ({ id, weight: 1 })),
  { partitionCount: 64 },
);
const ring4 = rebalance(
  ring3,
  [...ids, parseNodeId('n4')].map((id) => ({ id, weight: 1 })),
);

function stats(
  id: string,
  ring: RingState,
  extra: {
    counters?: Record<string, unknown>;
    leaving?: unknown;
    members?: unknown;
    putTimes?: unknown;
    /** The stats' `front`; the key is left out when this is undefined. */
    front?: unknown;
  } = {},
): NodeAnswer {
  return {
    id,
    stats: {
      nodeId: id,
      ringVersion: ring.version,
      ringHash: `h${ring.version}`,
      ring: hexOf(encodeRing(ring)),
      replicas: 3,
      keys: 10,
      hints: 2,
      leaving: extra.leaving ?? [],
      members: extra.members ?? ring.nodes.map((n) => ({ id: n.id, address: 'x', liveness: 'alive' })),
      counters: { puts: 0, gets: 0, readRepairs: 0, antiEntropyRepairs: 0, ...extra.counters },
      putTimes: extra.putTimes ?? { traced: 0, p50Ms: 0, p99Ms: 0 },
      ...(extra.front === undefined ? {} : { front: extra.front }),
    },
  };
}

const round = (atMs: number, nodes: NodeAnswer[], proxy?: Record<string, unknown>): PollRound => ({
  atMs,
  wallMs: 1_700_000_000_000 + atMs,
  proxy,
  nodes,
});

describe('operator snapshot', () => {
  it('draws every partition of the ring with its owner, and counts per node', () => {
    const { snapshot } = shapeSnapshot(
      round(
        0,
        ids.map((id) => stats(id, ring3)),
        {
          proxy: 'proxy',
          ringVersion: 1,
          nodes: ids.map((id) => ({ id, live: id !== 'n3', partitions: 0 })),
        },
      ),
      emptyShapeState(),
    );
    const ring = snapshot.ring;
    if (ring === null) throw new Error('no ring');
    expect(ring.owners).toHaveLength(64);
    expect(ring.owners.map((i) => ring.nodes[i]?.id)).toEqual(ring3.owners);
    for (const row of snapshot.nodes)
      expect(row.partitionsOwned).toBe(ring3.owners.filter((o) => o === row.id).length);
    expect(snapshot.nodes.map((r) => r.partitionsOwned).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(64);
    expect(snapshot.agreed).toBe(true);
    expect(snapshot.moving).toEqual([]);
    expect(snapshot.move).toBeNull();
    expect(snapshot.nodes.map((r) => r.live)).toEqual([true, true, false]);
    expect(snapshot.proxy).toEqual({ name: 'proxy', ringVersion: 1, liveNodes: 2 });
    expect(snapshot.totals.hints).toBe(6);
    expect(snapshot.health.seen).toEqual([
      ['self', 'alive', 'alive'],
      ['alive', 'self', 'alive'],
      ['alive', 'alive', 'self'],
    ]);
  });

  it('rates per second between two rounds, the put tail, and no negative rate after a restart', () => {
    const first = shapeSnapshot(
      round(0, [
        stats('n1', ring3, { counters: { puts: 100, gets: 50, readRepairs: 5 } }),
        stats('n2', ring3, { counters: { puts: 900 } }),
      ]),
      emptyShapeState(),
    );
    expect(first.snapshot.nodes[0]?.rates).toBeNull();
    const second = shapeSnapshot(
      round(2_000, [
        stats('n1', ring3, {
          counters: { puts: 300, gets: 60, readRepairs: 9 },
          putTimes: { traced: 200, p50Ms: 3.5, p99Ms: 41 },
        }),
        stats('n2', ring3, { counters: { puts: 10 } }), // restarted: its counters began again
      ]),
      first.state,
    );
    const [n1, n2] = second.snapshot.nodes;
    expect(n1?.rates).toMatchObject({ puts: 100, gets: 5, readRepairs: 2 });
    expect(n1?.putP50Ms).toBe(3.5);
    expect(n1?.putP99Ms).toBe(41);
    expect(n2?.rates?.puts).toBe(0);
    expect(second.snapshot.totals).toMatchObject({
      requestsPerSecond: 105,
      repairsPerSecond: 2,
      putP99Ms: 41,
    });
  });

  it('a ring change in progress: the newest ring, who still holds the old, what is leaving and how far it got', () => {
    // n4 joined: n1 and n4 hold v2, n2 has not heard yet; n1 and n2 hold lists of partitions they
    // no longer replicate under v2.
    const leavingFrom = (id: string): number[] =>
      Array.from({ length: 64 }, (_, p) => p).filter(
        (p) => !preferenceList(ring4, p, 3).includes(parseNodeId(id)),
      );
    const l1 = leavingFrom('n1').slice(0, 4);
    const l2 = leavingFrom('n2').slice(0, 2);
    const nodes = (lists: number): NodeAnswer[] => [
      stats('n1', ring4, { leaving: l1.map((p) => [p, lists]) }),
      stats('n2', ring3, { leaving: l2.map((p) => [p, lists]) }),
      stats('n4', ring4),
    ];
    const a = shapeSnapshot(round(0, nodes(5)), emptyShapeState());
    expect(a.snapshot.agreed).toBe(false);
    expect(a.snapshot.ring?.version).toBe(2);
    expect(a.snapshot.ring?.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(a.snapshot.nodes.find((r) => r.id === 'n2')?.ringVersion).toBe(1);
    expect(a.snapshot.moving.map((m) => m.partition)).toEqual(
      [...new Set([...l1, ...l2])].sort((x, y) => x - y),
    );
    for (const m of a.snapshot.moving)
      for (const from of m.from) expect(preferenceList(ring4, m.partition, 3)).not.toContain(from);
    expect(a.snapshot.move).toEqual({ ringVersion: 2, lists: 30, listsAtStart: 30, progress: 0 });
    expect(a.snapshot.nodes.find((r) => r.id === 'n1')?.leavingLists).toBe(20);
    // n3 did not answer: it is in the ring, its row says so, and its health row is unknown.
    const n3 = a.snapshot.nodes.find((r) => r.id === 'n3');
    expect(n3).toMatchObject({ answered: false, inRing: true, lists: null });
    expect(a.snapshot.health.seen[a.snapshot.health.ids.indexOf('n3')]).toEqual([null, null, 'self', null]);

    const b = shapeSnapshot(round(1_000, nodes(2)), a.state);
    expect(b.snapshot.move).toEqual({ ringVersion: 2, lists: 12, listsAtStart: 30, progress: 0.6 });
    const c = shapeSnapshot(
      round(2_000, [stats('n1', ring4), stats('n2', ring4), stats('n4', ring4)]),
      b.state,
    );
    expect(c.snapshot.agreed).toBe(true);
    expect(c.snapshot.moving).toEqual([]);
    expect(c.snapshot.move).toBeNull();
  });

  it("each node's front: its watchers now, requests and notices a second through it; none without one", () => {
    const front = (forwarded: number, notified: number): Record<string, unknown> => ({
      address: 'tcp://127.0.0.1:7001#KEY',
      watches: { clients: 2, lists: 5, entries: 7 },
      inFlight: { clients: 1, requests: 3 },
      counters: { forwarded, notified, rejected: 1, unavailable: 4 },
      handshakesRefused: 0,
    });
    const nodes = (forwarded: number, notified: number): NodeAnswer[] => [
      stats('n1', ring3, { front: front(forwarded, notified) }),
      stats('n2', ring3, { front: null }), // a node without a front
      stats('n3', ring3), // a node that predates `front`
    ];
    const first = shapeSnapshot(round(0, nodes(100, 40)), emptyShapeState());
    const [n1, n2, n3] = first.snapshot.nodes;
    expect(n1?.front).toEqual({
      address: 'tcp://127.0.0.1:7001#KEY',
      watchClients: 2,
      watchedLists: 5,
      watchEntries: 7,
      requestsPerSecond: null, // the first round: no rate yet
      noticesPerSecond: null,
      forwarded: 100,
      notified: 40,
      rejected: 1,
    });
    expect(n2?.front).toBeNull();
    expect(n3?.front).toBeNull();
    expect(first.snapshot.totals).toMatchObject({ frontWatchClients: 2, frontRequestsPerSecond: 0 });

    const second = shapeSnapshot(round(2_000, nodes(300, 60)), first.state);
    expect(second.snapshot.nodes[0]?.front).toMatchObject({ requestsPerSecond: 100, noticesPerSecond: 10 });
    expect(second.snapshot.totals).toMatchObject({ frontWatchClients: 2, frontRequestsPerSecond: 100 });
    // A restarted node's front counts from 0 again: no negative rate.
    const third = shapeSnapshot(round(3_000, nodes(5, 1)), second.state);
    expect(third.snapshot.nodes[0]?.front).toMatchObject({ requestsPerSecond: 0, noticesPerSecond: 0 });
  });

  it('a front of the wrong shape reads as none, and each of its figures of the wrong type as absent', () => {
    const odd = {
      address: 7,
      watches: [2, 5, 7],
      counters: { forwarded: '100', notified: null, rejected: { n: 1 } },
    };
    const nodes = (forwarded: unknown): NodeAnswer[] => [
      stats('n1', ring3, { front: 'tcp://127.0.0.1:7001' }),
      stats('n2', ring3, { front: [1, 2] }),
      stats('n3', ring3, { front: { ...odd, counters: { ...odd.counters, forwarded } } }),
    ];
    const first = shapeSnapshot(round(0, nodes('100')), emptyShapeState());
    const [n1, n2, n3] = first.snapshot.nodes;
    expect(n1?.front).toBeNull();
    expect(n2?.front).toBeNull();
    expect(n3?.front).toEqual({
      address: null,
      watchClients: null,
      watchedLists: null,
      watchEntries: null,
      requestsPerSecond: null,
      noticesPerSecond: null,
      forwarded: null,
      notified: null,
      rejected: null,
    });
    // A counter of the wrong type in one round gives no rate in the next, not a wrong one.
    const second = shapeSnapshot(round(1_000, nodes(50)), first.state);
    expect(second.snapshot.nodes[2]?.front).toMatchObject({ forwarded: 50, requestsPerSecond: null });
    expect(second.snapshot.totals).toMatchObject({ frontWatchClients: 0, frontRequestsPerSecond: 0 });
  });

  it('stats of the wrong shape read as absent; a ring that does not decode is a problem, not a crash', () => {
    const bad: NodeAnswer[] = [
      {
        id: 'n1',
        stats: {
          ring: 'zz',
          counters: 'many',
          members: { n2: 'alive' },
          leaving: [[1], 'x', [-1, 2]],
          keys: '10',
        },
      },
      {
        id: 'n2',
        stats: {
          ring: hexOf(new Uint8Array([1, 2, 3])),
          members: [null, { id: 7 }, { id: 'n1', liveness: 'dancing' }],
        },
      },
      { id: 'n3', error: 'node at tcp://… did not answer' },
      stats('n4', ring4),
    ];
    const { snapshot } = shapeSnapshot(round(0, bad, { nodes: 'none' }), emptyShapeState());
    expect(snapshot.ring?.version).toBe(2); // from n4
    expect(snapshot.problems).toEqual([
      'n3 did not answer: node at tcp://… did not answer',
      'n1 sent a ring that does not decode',
      'n2 sent a ring that does not decode',
    ]);
    const n1 = snapshot.nodes.find((r) => r.id === 'n1');
    expect(n1).toMatchObject({ answered: true, lists: null, rates: null, leavingLists: 0 });
    const i2 = snapshot.health.ids.indexOf('n2');
    expect(snapshot.health.seen[i2]?.[snapshot.health.ids.indexOf('n1')]).toBeNull();
    expect(snapshot.proxy).toEqual({ name: 'proxy', ringVersion: null, liveNodes: 0 });
    expect(shapeSnapshot(round(0, [], undefined), emptyShapeState()).snapshot).toMatchObject({
      ring: null,
      agreed: false,
      nodes: [],
    });
  });
});
