// The lattice laws: merge is commutative, associative and idempotent on states, and shipping
// the delta a peer is missing gives the peer exactly what merging the whole state would.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListDoc, ListReplica, encodeList, merge, type ReplicaId } from '../index.ts';
import { chooseSeed, opArb } from '../testing/arbitraries.ts';
import { canonical } from '../testing/canonical.ts';
import { performOp } from '../testing/subjects.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 300);

/** Three replicas that act and exchange whole states at random: arbitrary reachable states. */
const statesArb = fc
  .array(fc.tuple(fc.nat({ max: 2 }), opArb, fc.nat({ max: 9 }), fc.nat({ max: 2 })), {
    minLength: 5,
    maxLength: 60,
  })
  .map((steps) => {
    const replicas = [0, 1, 2].map((i) => new ListReplica(`r${i}` as ReplicaId));
    for (const [at, op, shareRoll, to] of steps) {
      const r = replicas[at] as ListReplica;
      try {
        performOp(r, op);
      } catch {
        // operations on absent items are refused; the history goes on
      }
      if (shareRoll < 3 && to !== at) (replicas[to] as ListReplica).apply(r.state);
    }
    return replicas.map((r) => r.state);
  });

const join = (x: ListDoc, y: ListDoc): ListDoc => {
  const c = x.clone();
  merge(c, y);
  return c;
};

describe('CRDT laws on states', () => {
  it('merge is commutative, associative and idempotent; delta-then-merge equals state-merge', () => {
    let histories = 0;
    fc.assert(
      fc.property(statesArb, ([a, b, c]) => {
        if (a === undefined || b === undefined || c === undefined) return;
        histories++;
        expect(canonical(join(a, b))).toBe(canonical(join(b, a)));
        // The encoding is canonical too: equal states, equal bytes (so a state hash names content).
        expect(Buffer.from(encodeList(join(a, b))).equals(Buffer.from(encodeList(join(b, a))))).toBe(true);
        expect(canonical(join(join(a, b), c))).toBe(canonical(join(a, join(b, c))));
        expect(canonical(join(a, a))).toBe(canonical(a));
        // What b is missing from a, shipped alone, brings b to a ⊔ b.
        const delta = new ListReplica('r9' as ReplicaId, a.clone()).missingFor(b.ctx, b.replicas);
        expect(canonical(join(b, delta))).toBe(canonical(join(b, a)));
        // And a delta-then-merge is idempotent too.
        expect(canonical(join(join(b, delta), delta))).toBe(canonical(join(b, a)));
      }),
      { seed, numRuns: runs },
    );
    console.log(`laws: counterexamples 0 of ${histories} histories (3 states each); seed ${seed}`);
  });

  it('a state is the join of the deltas that made it, in any order, duplicated', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.nat(), (ops, shuffleSeed) => {
        const r = new ListReplica('solo' as ReplicaId);
        const deltas: ListDoc[] = [];
        for (const op of ops) {
          try {
            deltas.push(performOp(r, op));
          } catch {
            // refused operations produce no delta
          }
        }
        // A deterministic shuffle with duplicates.
        const order = [...deltas, ...deltas].map((d, i) => ({
          d,
          k: (i * 2654435761 + shuffleSeed) % 4294967296,
        }));
        order.sort((x, y) => x.k - y.k);
        const rebuilt = ListDoc.empty();
        for (const { d } of order) merge(rebuilt, d);
        expect(canonical(rebuilt)).toBe(canonical(r.state));
      }),
      { seed, numRuns: runs },
    );
  });
});
