// Ring changes stated as the ring they want: what a ring still lacks of a change, idempotent
// application (no new version for a change already reflected), and changes no ring can take.

import { describe, expect, it } from 'vitest';
import { TrolleyError } from '../errors.ts';
import { parseNodeId } from './node-id.ts';
import {
  applyRingChange,
  describeRingChange,
  pendingRingChange,
  ringChangeProblem,
  ringReflects,
  type RingChange,
} from './ring-change.ts';
import { createRing, rebalance } from './ring.ts';

const id = parseNodeId;
const base = createRing(
  ['a', 'b', 'c'].map((x) => ({ id: id(x), weight: 1 })),
  { partitionCount: 16 },
);
const addD: RingChange = { add: [{ id: id('d'), weight: 2 }], remove: [] };
const removeB: RingChange = { add: [], remove: [id('b')] };

describe('ring changes', () => {
  it('a change is pending until the ring has the added node with its weight and not the removed one', () => {
    expect(pendingRingChange(base.nodes, addD)).toEqual(addD);
    expect(pendingRingChange(base.nodes, removeB)).toEqual(removeB);
    const withD = applyRingChange(base, addD);
    expect(ringReflects(withD.nodes, addD)).toBe(true);
    expect(ringReflects(withD.nodes, removeB)).toBe(false);
    // Same node, another weight: still pending (a reweight).
    expect(ringReflects(withD.nodes, { add: [{ id: id('d'), weight: 1 }], remove: [] })).toBe(false);
    console.log(`pending on v1: ${describeRingChange(pendingRingChange(base.nodes, addD))}; on v2: nothing`);
  });

  it('applying a change the ring reflects returns the same ring (no new version)', () => {
    const withD = applyRingChange(base, addD);
    expect(withD.version).toBe(2);
    expect(applyRingChange(withD, addD)).toBe(withD);
    expect(applyRingChange(base, { add: [], remove: [id('zz')] })).toBe(base);
  });

  it('the same change on the same base gives the same ring, wherever it is computed', () => {
    const x = applyRingChange(base, addD);
    const y = rebalance(base, [...base.nodes, { id: id('d'), weight: 2 }]);
    expect(x).toEqual(y);
  });

  it('two changes that raced: re-issuing the loser on the winner keeps both', () => {
    const winner = applyRingChange(base, removeB);
    const loser = applyRingChange(base, addD);
    expect(winner.version).toBe(loser.version); // both v2: gossip keeps one
    expect(ringReflects(winner.nodes, addD)).toBe(false);
    const both = applyRingChange(winner, addD);
    expect(both.version).toBe(3);
    expect(ringReflects(both.nodes, addD) && ringReflects(both.nodes, removeB)).toBe(true);
  });

  it('refuses changes no ring can take', () => {
    expect(ringChangeProblem({ add: [], remove: [] })).toMatch(/nothing/);
    expect(ringChangeProblem({ add: [{ id: id('d'), weight: 1 }], remove: [id('d')] })).toMatch(/both/);
    expect(
      ringChangeProblem({
        add: [
          { id: id('d'), weight: 1 },
          { id: id('d'), weight: 2 },
        ],
        remove: [],
      }),
    ).toMatch(/twice/);
    expect(() => applyRingChange(base, { add: [], remove: [id('a'), id('b'), id('c')] })).toThrow(
      TrolleyError,
    );
    expect(() => applyRingChange(base, { add: [{ id: id('d'), weight: 0 }], remove: [] })).toThrow(
      TrolleyError,
    );
  });
});
