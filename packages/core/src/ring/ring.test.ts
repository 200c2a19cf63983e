// The partition assignment (Dynamo §6.2, strategy 3): what the cloud relies on. Every machine
// computes the same ring from the same inputs; every partition has a known owner; loads follow
// the weights to within one partition; a membership change moves only what it must (the removed
// node's partitions and the surplus of nodes over their new quota) and nothing else; and each
// node's partitions are spread around the ring, with varied successors.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrolleyError } from '../errors.ts';
import { chooseSeed } from '../testing/arbitraries.ts';
import { loadByNode, maxOverMean, maxOverShare, partitionsOf } from './load.ts';
import { parseNodeId, type NodeId } from './node-id.ts';
import { preferenceList } from './preference-list.ts';
import { createRing, ownerChanges, rebalance, ringProblem, type RingNode, type RingState } from './ring.ts';
import { encodeRing } from './ring-codec.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 100);

const idArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/).map(parseNodeId);
const nodesArb = (min: number, max: number, weightMax = 1): fc.Arbitrary<RingNode[]> =>
  fc.uniqueArray(fc.record({ id: idArb, weight: fc.integer({ min: 1, max: weightMax }) }), {
    minLength: min,
    maxLength: max,
    selector: (n) => n.id,
  });
const equal = (ids: readonly string[]): RingNode[] => ids.map((id) => ({ id: parseNodeId(id), weight: 1 }));
const names = (count: number, from = 0): string[] =>
  Array.from({ length: count }, (_, i) => `node-${from + i}`);

/** Loads must be within one partition of the weighted share; a share under 1 still gets 1. */
function expectProportional(ring: RingState): number {
  const load = loadByNode(ring);
  const total = ring.nodes.reduce((a, n) => a + n.weight, 0);
  let worst = 0;
  for (const node of ring.nodes) {
    const share = (ring.partitionCount * node.weight) / total;
    const got = load.get(node.id) ?? 0;
    expect(got).toBeGreaterThanOrEqual(1);
    expect(got).toBeLessThanOrEqual(Math.max(1, Math.ceil(share)));
    worst = Math.max(worst, Math.abs(got - share));
  }
  expect([...load.values()].reduce((a, b) => a + b, 0)).toBe(ring.partitionCount);
  return worst;
}

/** Longest run of consecutive partitions (clockwise, wrapping) with one owner. */
function longestRun(ring: RingState): number {
  const q = ring.partitionCount;
  if (ring.nodes.length === 1) return q;
  let start = 0;
  while (ring.owners[start] === ring.owners[(start + q - 1) % q]) start++;
  let longest = 0;
  let run = 0;
  for (let s = 0; s < q; s++) {
    const p = (start + s) % q;
    run = s > 0 && ring.owners[p] === ring.owners[(p + q - 1) % q] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  return longest;
}

const shuffled = <T>(xs: readonly T[], by: number): T[] =>
  xs
    .map((x, i) => ({ x, k: (i * 2_654_435_761 + by) % 1_000_003 }))
    .sort((a, b) => a.k - b.k)
    .map((e) => e.x);

describe('createRing', () => {
  it('is deterministic: the same nodes, in any order, give the same ring', () => {
    fc.assert(
      fc.property(nodesArb(1, 30, 20), fc.integer({ min: 0, max: 1000 }), (nodes, by) => {
        const a = createRing(nodes, { partitionCount: 512 });
        const b = createRing(shuffled(nodes, by), { partitionCount: 512 });
        expect(b).toEqual(a);
        expect(rebalance(b, shuffled(nodes.slice(1), by + 1).concat(equal(['new'])))).toEqual(
          rebalance(a, nodes.slice(1).concat(equal(['new']))),
        );
      }),
      { seed, numRuns: runs },
    );
  });

  it('gives the same ring on every machine (golden digests of the encoded rings)', () => {
    const digest = (ring: RingState): string => createHash('md5').update(encodeRing(ring)).digest('hex');
    const ring = createRing(
      names(10).map((id, i) => ({ id: parseNodeId(id), weight: 1 + (i % 3) })),
      { partitionCount: 1024 },
    );
    // node-0 and node-1 leave, node-x joins: only orphans move; then three join: surpluses move.
    const changed = rebalance(ring, [...ring.nodes.slice(2), { id: parseNodeId('node-x'), weight: 2 }]);
    const grown = rebalance(changed, [
      ...changed.nodes,
      ...names(3, 20).map((id, i) => ({ id: parseNodeId(id), weight: 1 + i })),
    ]);
    // If any changes, rings computed by old and new builds disagree: that is a protocol change.
    expect([digest(ring), digest(changed), digest(grown)]).toEqual(GOLDEN);
  });

  it('owns every partition by a listed node and follows the weights to within one partition', () => {
    let worst = 0;
    let worstShare = 1;
    fc.assert(
      fc.property(nodesArb(1, 20, 10), fc.integer({ min: 200, max: 4096 }), (nodes, q) => {
        const ring = createRing(nodes, { partitionCount: q });
        expect(ringProblem(ring)).toBeUndefined();
        expect(ring.version).toBe(1);
        worst = Math.max(worst, expectProportional(ring));
        worstShare = Math.max(worstShare, maxOverShare(ring));
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `ring: weighted loads (weights 1..10, 1..20 nodes, Q 200..4096) within ${worst.toFixed(3)} of share, ` +
        `max/share ≤ ${worstShare.toFixed(4)} over ${runs} random rings; seed ${seed}`,
    );
  });

  it('balances equal weights to max/mean ≤ 1.03 for 5..20 nodes at Q = 1024', () => {
    let worst = 1;
    fc.assert(
      fc.property(nodesArb(5, 20), (nodes) => {
        const ratio = maxOverMean(createRing(nodes));
        worst = Math.max(worst, ratio);
        expect(ratio).toBeLessThanOrEqual(1.03);
      }),
      { seed, numRuns: runs },
    );
    for (let s = 3; s <= 20; s++) expect(maxOverMean(createRing(equal(names(s))))).toBeLessThanOrEqual(1.03);
    console.log(
      `ring: balance max/mean ≤ ${worst.toFixed(4)} for 5..20 nodes over ${runs} random rings; seed ${seed}`,
    );
  });

  it('gives a node with a share under one partition one partition', () => {
    const ring = createRing(
      [
        { id: parseNodeId('big'), weight: 1000 },
        { id: parseNodeId('small-1'), weight: 1 },
        { id: parseNodeId('small-2'), weight: 1 },
      ],
      { partitionCount: 3 },
    );
    expect([...loadByNode(ring).values()]).toEqual([1, 1, 1]);
  });

  it('spreads each node around the ring, with varied successors', () => {
    let longest = 0;
    let fewestSuccessors = Infinity;
    fc.assert(
      fc.property(nodesArb(4, 20), (nodes) => {
        const ring = createRing(nodes);
        longest = Math.max(longest, longestRun(ring));
        expect(longestRun(ring)).toBeLessThanOrEqual(2);
        for (const node of ring.nodes) {
          const next = new Set(partitionsOf(ring, node.id).map((p) => preferenceList(ring, p, 2)[1]));
          fewestSuccessors = Math.min(fewestSuccessors, next.size);
          expect(next.size).toBeGreaterThanOrEqual(Math.min(ring.nodes.length - 1, 3));
        }
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `ring: fresh rings of 4..20 nodes: longest run of one owner ${longest}, ` +
        `every node followed by ≥ ${fewestSuccessors} distinct nodes over ${runs} random rings; seed ${seed}`,
    );
  });

  it('refuses bad node lists and partition counts', () => {
    const bad: [RingNode[], number][] = [
      [[], 8],
      [equal(['a', 'a']), 8],
      [[{ id: 'a' as NodeId, weight: 0 }], 8],
      [[{ id: 'a' as NodeId, weight: 1001 }], 8],
      [[{ id: 'a' as NodeId, weight: 1.5 }], 8],
      [[{ id: 'a b' as NodeId, weight: 1 }], 8],
      [equal(['a', 'b', 'c']), 2],
      [equal(['a']), 0],
      [equal(['a']), 65_537],
    ];
    for (const [nodes, partitionCount] of bad)
      expect(() => createRing(nodes, { partitionCount })).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }) as TrolleyError,
      );
    const ring = createRing(equal(['a', 'b']), { partitionCount: 8 });
    expect(() => rebalance(ring, [])).toThrow(TrolleyError);
    expect(() => rebalance({ ...ring, owners: ring.owners.slice(1) }, equal(['a']))).toThrow(TrolleyError);
    expect(() => ownerChanges(ring, createRing(equal(['a']), { partitionCount: 16 }))).toThrow(TrolleyError);
  });
});

describe('rebalance', () => {
  it('on adding a node, moves partitions only to the new node, about Q/(S+1) of them', () => {
    let lo = Infinity;
    let hi = 0;
    for (let s = 1; s <= 30; s++) {
      const ring = createRing(equal(names(s)));
      const grown = rebalance(ring, equal(names(s + 1)));
      const changes = ownerChanges(ring, grown);
      const newcomer = parseNodeId(`node-${s}`);
      expect(grown.version).toBe(2);
      expect(changes.every((c) => c.to === newcomer)).toBe(true);
      expect(changes.length).toBe(partitionsOf(grown, newcomer).length);
      const ideal = 1024 / (s + 1);
      expect(changes.length === Math.floor(ideal) || changes.length === Math.ceil(ideal)).toBe(true);
      lo = Math.min(lo, changes.length / ideal);
      hi = Math.max(hi, changes.length / ideal);
    }
    console.log(
      `ring: adding a node to 1..30 equal nodes moves ${lo.toFixed(3)}..${hi.toFixed(3)} × Q/(S+1), ` +
        `all to the new node`,
    );
  });

  it('on removing a node, moves only the removed node’s partitions', () => {
    fc.assert(
      fc.property(nodesArb(2, 25, 8), fc.nat(), (nodes, pick) => {
        const ring = createRing(nodes);
        const gone = ring.nodes[pick % ring.nodes.length] as RingNode;
        const shrunk = rebalance(
          ring,
          ring.nodes.filter((n) => n.id !== gone.id),
        );
        const changes = ownerChanges(ring, shrunk);
        expect(changes.every((c) => c.from === gone.id)).toBe(true);
        expect(changes.length).toBe(partitionsOf(ring, gone.id).length);
        expectProportional(shrunk);
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `ring: removing one of 2..25 weighted nodes moves only its partitions, ${runs} rings; seed ${seed}`,
    );
  });

  it('through any sequence of joins, leaves and reweights, moves the least it can and stays balanced', () => {
    const stepArb = fc.oneof(
      fc.record({ kind: fc.constant('join' as const), id: idArb, weight: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('reweight' as const),
        pick: fc.nat(),
        weight: fc.integer({ min: 1, max: 6 }),
      }),
    );
    let steps = 0;
    let moved = 0;
    fc.assert(
      fc.property(nodesArb(1, 12, 6), fc.array(stepArb, { maxLength: 25 }), (initial, script) => {
        let ring = createRing(initial, { partitionCount: 256 });
        for (const step of script) {
          const nodes = [...ring.nodes];
          if (step.kind === 'join') {
            if (nodes.some((n) => n.id === step.id)) continue;
            nodes.push({ id: step.id, weight: step.weight });
          } else if (step.kind === 'leave') {
            if (nodes.length === 1) continue;
            nodes.splice(step.pick % nodes.length, 1);
          } else {
            const i = step.pick % nodes.length;
            nodes[i] = { id: (nodes[i] as RingNode).id, weight: step.weight };
          }
          const next = rebalance(ring, nodes);
          expect(ringProblem(next)).toBeUndefined();
          expect(next.version).toBe(ring.version + 1);
          expectProportional(next);
          // Least movement for these loads: every removed partition, and for each kept node only
          // its loss; no node both gives and takes.
          const before = loadByNode(ring);
          const after = loadByNode(next);
          let least = 0;
          for (const [id, had] of before) least += Math.max(0, had - (after.get(id) ?? 0));
          const changes = ownerChanges(ring, next);
          expect(changes.length).toBe(least);
          for (const c of changes) {
            expect((after.get(c.from) ?? 0) < (before.get(c.from) ?? 0)).toBe(true);
            expect((after.get(c.to) ?? 0) > (before.get(c.to) ?? 0)).toBe(true);
          }
          steps++;
          moved += changes.length;
          ring = next;
        }
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `ring: ${steps} random joins/leaves/reweights (Q = 256) each moved exactly the least possible ` +
        `(${moved} partitions in all), loads within one of share; seed ${seed}`,
    );
  });

  it('keeps equal nodes spread through churn', () => {
    let longest = 0;
    let fewestSuccessors = Infinity;
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 20 }), fc.array(fc.boolean(), { maxLength: 30 }), (s, script) => {
        let ring = createRing(equal(names(s)));
        let next = s;
        for (const join of script) {
          const nodes =
            join || ring.nodes.length <= 4
              ? [...ring.nodes, ...equal(names(1, next++))]
              : ring.nodes.slice(1);
          ring = rebalance(ring, nodes);
        }
        longest = Math.max(longest, longestRun(ring));
        expect(longestRun(ring)).toBeLessThanOrEqual(6);
        for (const node of ring.nodes) {
          const after = new Set(partitionsOf(ring, node.id).map((p) => preferenceList(ring, p, 2)[1]));
          fewestSuccessors = Math.min(fewestSuccessors, after.size);
          expect(after.size).toBeGreaterThanOrEqual(3);
        }
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `ring: 4..20 equal nodes after ≤ 30 joins/leaves: longest run of one owner ${longest}, ` +
        `every node followed by ≥ ${fewestSuccessors} distinct nodes over ${runs} runs; seed ${seed}`,
    );
  });
});

const GOLDEN = [
  '0fd4e76c79190e565ab679effb022c58',
  '3008bf118ae192879628294b8e659e01',
  '7ea9fa9bd418d84be0e9042ef548b75c',
];
