// The watch table's promises (watch-table.ts): a watch replaces the client's set; when the table is
// full, room is made max-min fairly — taken only from the client holding the most, never from one
// at or below an equal share — so that clients asking for many lists cannot push out a client
// holding few, and a newcomer still gets its share. Leases lapse unless renewed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseSeed } from '@trolley/core/testing/arbitraries';
import { WatchTable } from './watch-table.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('watch table', () => {
  it('a watch replaces the set; an empty one stops watching', () => {
    const t = new WatchTable<string>({ capacity: 100, perClientMax: 10 });
    t.replace('a', 'A', ['x', 'y'], 0);
    t.replace('a', 'A', ['y', 'z'], 0);
    expect(t.watchersOf('x', 0)).toEqual([]);
    expect(t.watchersOf('y', 0)).toEqual(['A']);
    expect(t.watchersOf('z', 0)).toEqual(['A']);
    expect(t.entries).toBe(2);
    const r = t.replace('a', 'A', ids('l', 15), 0);
    expect(r).toMatchObject({ watched: 10, refused: 5 });
    t.replace('a', 'A', [], 0);
    expect([t.entries, t.clientCount, t.listCount]).toEqual([0, 0, 0]);
  });

  it('full: attackers asking for all they may cannot take from a client holding few, and a newcomer gets its share', () => {
    const capacity = 1_000;
    const t = new WatchTable<string>({ capacity, perClientMax: 100 });
    t.replace('honest', 'honest', ids('h', 5), 0);
    for (let i = 0; i < 30; i++) t.replace(`attacker${i}`, `attacker${i}`, ids(`a${i}`, 100), 0);
    // And again, as an attacker would, to take back what it lost.
    for (let i = 0; i < 30; i++) t.replace(`attacker${i}`, `attacker${i}`, ids(`a${i}`, 100), 0);
    expect(t.entries).toBe(capacity);
    expect(t.heldBy('honest')).toBe(5);
    for (const id of ids('h', 5)) expect(t.watchersOf(id, 0)).toEqual(['honest']);
    const late = t.replace('late', 'late', ids('n', 5), 0);
    expect(late).toMatchObject({ watched: 5, refused: 0 });
    const held = Array.from({ length: 30 }, (_, i) => t.heldBy(`attacker${i}`));
    // 995 entries among 30 attackers: each holds 33 or 34 (an equal share, give or take one).
    expect(Math.min(...held)).toBeGreaterThanOrEqual(32);
    expect(Math.max(...held)).toBeLessThanOrEqual(34);
    console.log(
      `watch table ${capacity}: 30 clients asking for 100 each (twice), a client holding 5 keeps 5, ` +
        `a newcomer asking for 5 gets 5; the 30 hold ${Math.min(...held)}–${Math.max(...held)} each`,
    );
  });

  it('a lease lapses unless renewed, and lapsed watches make room first', () => {
    const t = new WatchTable<string>({ capacity: 10, perClientMax: 10, leaseMs: 30_000 });
    t.replace('a', 'A', ids('a', 10), 0);
    expect(t.watchersOf('a-0', 29_999)).toEqual(['A']);
    expect(t.watchersOf('a-0', 30_000)).toEqual([]);
    // b arrives after a's lease lapsed: a is swept, b gets everything it asks for.
    expect(t.replace('b', 'B', ids('b', 10), 30_000)).toMatchObject({ watched: 10, refused: 0 });
    expect(t.heldBy('a')).toBe(0);
    t.replace('b', 'B', ids('b', 10), 50_000); // renewed
    expect(t.expire(70_000)).toBe(0);
    expect(t.expire(80_000)).toBe(1);
  });

  it('property: in bounds, and nobody at or below an equal share ever loses a watch to another', () => {
    const clients = 8;
    const capacity = 60;
    const perClientMax = 20;
    let replaces = 0;
    let takes = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            client: fc.integer({ min: 0, max: clients - 1 }),
            from: fc.integer({ min: 0, max: 40 }),
            count: fc.integer({ min: 0, max: 25 }),
          }),
          { maxLength: 60 },
        ),
        (steps) => {
          const t = new WatchTable<number>({ capacity, perClientMax });
          for (const s of steps) {
            const key = `c${s.client}`;
            const asked = Array.from({ length: s.count }, (_, i) => `l${s.from + i}`);
            const before = new Map(Array.from({ length: clients }, (_, c) => [`c${c}`, t.heldBy(`c${c}`)]));
            const holders = [...before].filter(([k, n]) => n > 0 || k === key).length;
            const r = t.replace(key, s.client, asked, 0);
            replaces++;
            let sum = 0;
            for (let c = 0; c < clients; c++) sum += t.heldBy(`c${c}`);
            expect(sum).toBe(t.entries);
            expect(t.entries).toBeLessThanOrEqual(capacity);
            expect(r.watched).toBe(t.heldBy(key));
            expect(r.watched + r.refused).toBe(new Set(asked).size);
            for (const [victim, n] of r.taken) {
              takes += n;
              expect(victim).not.toBe(key);
              // Taken from only while above an equal share of the table.
              expect(before.get(victim) ?? 0).toBeGreaterThan(capacity / holders);
              // And never left with less than the asker got, but one.
              expect(t.heldBy(victim)).toBeGreaterThanOrEqual(r.watched - 1);
            }
            // Refused only when the table is full and no one holds two more than the asker.
            if (r.refused > 0 && r.watched < Math.min(perClientMax, new Set(asked).size)) {
              expect(t.entries).toBe(capacity);
              for (let c = 0; c < clients; c++) expect(t.heldBy(`c${c}`)).toBeLessThanOrEqual(r.watched + 1);
            }
          }
        },
      ),
      { seed, numRuns: 300 },
    );
    console.log(
      `watch table property: ${replaces} replaces, ${takes} watches taken fairly, 0 violations; seed ${seed}`,
    );
  });
});
