import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CausalContext, ReplicaTable, RemovalLog, dot, dotCounter, dotReplica } from '../index.ts';
import { chooseSeed } from '../testing/arbitraries.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);

describe('causal context', () => {
  it('packs dots losslessly', () => {
    const d = dot(70_000, 2 ** 32 - 1);
    expect([dotReplica(d), dotCounter(d)]).toEqual([70_000, 2 ** 32 - 1]);
  });

  it('keeps dots beyond the vector in the cloud and folds them in as gaps fill', () => {
    const c = new CausalContext();
    c.add(dot(0, 3));
    c.add(dot(0, 2));
    expect(c.vv[0] ?? 0).toBe(0);
    expect(c.cloud.size).toBe(2);
    c.add(dot(0, 1));
    expect(c.vv[0]).toBe(3);
    expect(c.cloud.size).toBe(0);
    expect(c.has(dot(0, 2))).toBe(true);
    expect(c.has(dot(0, 4))).toBe(false);
  });

  it('holds exactly the dots added, in any order, compacted (a set model)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 3 }), fc.integer({ min: 1, max: 30 }))), (pairs) => {
        const c = new CausalContext();
        const model = new Set<number>();
        for (const [r, n] of pairs) {
          c.add(dot(r, n));
          model.add(dot(r, n));
        }
        for (let r = 0; r < 4; r++)
          for (let n = 1; n <= 31; n++) expect(c.has(dot(r, n))).toBe(model.has(dot(r, n)));
        // compact: nothing in the cloud is contiguous with the vector
        for (const d of c.cloud) expect(dotCounter(d)).toBeGreaterThan((c.vv[dotReplica(d)] ?? 0) + 1);
        // a join with a translated copy holds the union
        const other = new CausalContext();
        other.add(dot(0, 1));
        const joined = c.clone();
        joined.join(other, [2]);
        expect(joined.has(dot(2, 1))).toBe(true);
      }),
      { seed, numRuns: 200 },
    );
  });

  it("joins into the union and knows each replica's greatest counter (kept without walking the cloud)", () => {
    const dotsArb = fc.array(fc.tuple(fc.nat({ max: 3 }), fc.integer({ min: 1, max: 40 })), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(dotsArb, dotsArb, fc.boolean(), (xs, ys, vector) => {
        const a = new CausalContext();
        const b = new CausalContext();
        const model = new Set<number>();
        for (const [r, n] of xs) {
          a.add(dot(r, n));
          model.add(dot(r, n));
        }
        // b: either dots one by one, or a vector entry (a contiguous range) plus dots
        if (vector && ys.length > 0) {
          const [r0, n0] = ys[0] as [number, number];
          b.vv[r0] = n0;
          for (let n = 1; n <= n0; n++) model.add(dot(r0, n));
        }
        for (const [r, n] of ys) {
          b.add(dot(r, n));
          model.add(dot(r, n));
        }
        a.join(b, undefined);
        for (let r = 0; r < 4; r++) {
          let top = 0;
          for (let n = 1; n <= 41; n++) {
            expect(a.has(dot(r, n))).toBe(model.has(dot(r, n)));
            if (model.has(dot(r, n))) top = n;
          }
          expect(a.maxCounter(r)).toBe(top);
          expect(a.clone().maxCounter(r)).toBe(top);
        }
        for (const d of a.cloud) expect(dotCounter(d)).toBeGreaterThan((a.vv[dotReplica(d)] ?? 0) + 1);
        expect(a.dotCount).toBe(model.size);
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('removal log', () => {
  it('keeps the same records and horizon whatever order and grouping records arrive in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat({ max: 2 }), fc.integer({ min: 1, max: 200 })), {
          minLength: 1,
          maxLength: 60,
          selector: ([r, n]) => `${r}:${n}`,
        }),
        fc.nat(),
        (records, split) => {
          const table = new ReplicaTable();
          for (const n of ['a', 'b', 'c']) table.intern(n);
          const whole = new RemovalLog(table, 8);
          for (const [r, n] of records) whole.add(dot(r, n), `k${n}`);
          // Same records, split across two logs in another order, then joined.
          const left = new RemovalLog(table, 8);
          const right = new RemovalLog(table, 8);
          records.forEach(([r, n], i) => ((i + split) % 3 === 0 ? left : right).add(dot(r, n), `k${n}`));
          left.join(right, undefined);
          expect([...left.records.keys()].sort()).toEqual([...whole.records.keys()].sort());
          expect(left.horizon).toEqual(whole.horizon);
          expect(whole.size).toBe(Math.min(8, records.length));
          // Every pruned record is at or under the horizon of its replica.
          for (const [r, n] of records)
            if (!whole.records.has(dot(r, n))) expect(n).toBeLessThanOrEqual(whole.horizon[r] ?? 0);
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
