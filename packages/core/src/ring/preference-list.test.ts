// Preference lists (Dynamo §4.3, §4.6): n distinct physical nodes, the partition's owner first,
// met walking clockwise; the same list for every key of a partition; with `skip`, the first n
// nodes not skipped (the healthy nodes a sloppy quorum writes to); the extended list names every
// node once, in clockwise order.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrolleyError } from '../errors.ts';
import { chooseSeed } from '../testing/arbitraries.ts';
import { parseNodeId, type NodeId } from './node-id.ts';
import { keyPosition, partitionOf, partitionOfPosition, partitionStart } from './position.ts';
import { extendedPreferenceList, preferenceList, preferenceListForKey } from './preference-list.ts';
import { createRing, rebalance, type RingNode, type RingState } from './ring.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 100);

const names = (count: number, from = 0): RingNode[] =>
  Array.from({ length: count }, (_, i) => ({
    id: parseNodeId(`n${from + i}`),
    weight: 1 + ((from + i) % 4),
  }));

/** A ring of 1..24 weighted nodes, Q 24..2048, sometimes after a rebalance. */
const ringArb: fc.Arbitrary<RingState> = fc
  .record({ s: fc.integer({ min: 1, max: 24 }), q: fc.integer({ min: 24, max: 2048 }), grow: fc.nat(3) })
  .map(({ s, q, grow }) => {
    const ring = createRing(names(s), { partitionCount: q });
    return grow === 0 ? ring : rebalance(ring, names(s + grow).slice(grow));
  });

/** The definition, written plainly: owners clockwise from p, first time each is met. */
function reference(ring: RingState, p: number): NodeId[] {
  const seen: NodeId[] = [];
  for (let i = 0; i < ring.partitionCount; i++) {
    const owner = ring.owners[(p + i) % ring.partitionCount] as NodeId;
    if (!seen.includes(owner)) seen.push(owner);
  }
  return seen;
}

describe('preferenceList', () => {
  it('is n distinct nodes, owner first, in clockwise order (all nodes when fewer than n)', () => {
    let checked = 0;
    fc.assert(
      fc.property(ringArb, fc.nat(), fc.integer({ min: 0, max: 6 }), (ring, at, n) => {
        const p = at % ring.partitionCount;
        const list = preferenceList(ring, p, n);
        expect(list.length).toBe(Math.min(n, ring.nodes.length));
        expect(new Set(list).size).toBe(list.length);
        if (n > 0) expect(list[0]).toBe(ring.owners[p]);
        expect(list).toEqual(reference(ring, p).slice(0, n));
        checked++;
      }),
      { seed, numRuns: runs * 5 },
    );
    console.log(
      `ring: preference lists distinct, owner first, clockwise for ${checked} random lists; seed ${seed}`,
    );
  });

  it('is the same for every key of a partition, its first and last positions included', () => {
    fc.assert(
      fc.property(ringArb, fc.array(fc.uuid(), { minLength: 1, maxLength: 50 }), (ring, keys) => {
        const q = ring.partitionCount;
        for (const key of keys) {
          const p = partitionOf(key, q);
          expect(preferenceListForKey(ring, key, 3)).toEqual(preferenceList(ring, p, 3));
          const first = partitionStart(p, q);
          const last = p + 1 < q ? partitionStart(p + 1, q) - 1n : (1n << 128n) - 1n;
          expect(first <= keyPosition(key) && keyPosition(key) <= last).toBe(true);
          expect(partitionOfPosition(first, q)).toBe(p);
          expect(partitionOfPosition(last, q)).toBe(p);
        }
      }),
      { seed, numRuns: runs },
    );
  });

  it('with skip, is the first n nodes not skipped, in the same clockwise order', () => {
    fc.assert(
      fc.property(ringArb, fc.nat(), fc.integer({ min: 1, max: 5 }), fc.nat(), (ring, at, n, mask) => {
        const p = at % ring.partitionCount;
        const down = new Set(ring.nodes.filter((_, i) => (mask >> (i % 30)) & 1).map((node) => node.id));
        const list = preferenceList(ring, p, n, (id) => down.has(id));
        const healthy = reference(ring, p).filter((id) => !down.has(id));
        expect(list).toEqual(healthy.slice(0, n));
        // The nodes that stand in are those just past the top n (hinted handoff's fallbacks).
        const top = preferenceList(ring, p, n);
        for (const id of list) if (!top.includes(id)) expect(top.some((t) => down.has(t))).toBe(true);
      }),
      { seed, numRuns: runs * 5 },
    );
  });

  it('extendedPreferenceList names every node once, clockwise from the partition', () => {
    fc.assert(
      fc.property(ringArb, fc.nat(), (ring, at) => {
        const p = at % ring.partitionCount;
        const all = extendedPreferenceList(ring, p);
        expect([...all].sort()).toEqual(ring.nodes.map((n) => n.id));
        expect(all).toEqual(reference(ring, p));
      }),
      { seed, numRuns: runs },
    );
  });

  it('refuses a partition outside the ring and a negative or fractional n', () => {
    const ring = createRing(names(3), { partitionCount: 8 });
    for (const [p, n] of [
      [-1, 3],
      [8, 3],
      [0.5, 3],
      [0, -1],
      [0, 1.5],
    ] as const)
      expect(() => preferenceList(ring, p, n)).toThrow(TrolleyError);
    expect(preferenceList(ring, 0, 0)).toEqual([]);
  });
});
