// Five replicas exchange deltas over a network that drops, duplicates and reorders; after an
// anti-entropy flush every replica holds the same list, and it is the list people meant.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseSeed, historyArb } from '../testing/arbitraries.ts';
import { runHistory } from '../testing/history.ts';
import { canonical } from '../testing/canonical.ts';
import { TrolleySubject, trolley } from '../testing/subjects.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 200);

describe('delivery fuzz', () => {
  it('five replicas with drops, duplicates and reordering converge after a flush', () => {
    let histories = 0;
    let faults = 0;
    fc.assert(
      fc.property(historyArb(120), (history) => {
        const report = runHistory(trolley, 5, history);
        histories++;
        faults += report.dropped + report.duplicated;
        if (report.mismatch !== undefined)
          throw new Error(`${report.mismatch}\n  ${report.violations.join('\n  ')}`);
        expect(report.converged).toBe(true);
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `delivery fuzz: diverged runs 0 of ${histories} (5 replicas, ${faults} drops and duplicates); seed ${seed}`,
    );
  });

  it('with history recorded, the replicas also end with the same history entries', () => {
    let entries = 0;
    fc.assert(
      fc.property(historyArb(120), (history) => {
        const made: TrolleySubject[] = [];
        const named = {
          name: 'trolley delta-CRDT with history',
          replica: (i: number) => {
            const s = new TrolleySubject(i, true);
            made.push(s);
            return s;
          },
        };
        const report = runHistory(named, 5, history);
        if (report.mismatch !== undefined)
          throw new Error(`${report.mismatch}\n  ${report.violations.join('\n  ')}`);
        expect(report.converged).toBe(true);
        const journals = made.map((s) => canonical(s.replica.state));
        for (const j of journals) expect(j).toBe(journals[0]);
        entries += made[0]?.replica.state.journal.size ?? 0;
      }),
      { seed, numRuns: Math.ceil(runs / 2) },
    );
    console.log(`delivery fuzz with history: ${entries} entries kept, equal on every replica; seed ${seed}`);
  });
});
