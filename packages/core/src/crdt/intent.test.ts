// The implementation against the plain intent model, after every step of random multi-replica
// histories; and the proof that the check can fail: a last-writer-wins list fails it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListReplica, type ReplicaId } from '../index.ts';
import { chooseSeed, historyArb, opArb } from '../testing/arbitraries.ts';
import { runHistory } from '../testing/history.ts';
import { lastWriterWins, trolley } from '../testing/subjects.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 300);

describe('intent: implementation ≡ reference model after every step', () => {
  it('holds over random 3-replica histories with drops, duplicates, reordering and anti-entropy', () => {
    let histories = 0;
    let steps = 0;
    let ops = 0;
    fc.assert(
      fc.property(historyArb(80), (history) => {
        const report = runHistory(trolley, 3, history);
        histories++;
        steps += report.steps;
        ops += report.operations;
        if (report.mismatch !== undefined)
          throw new Error(`${report.mismatch}\n  ${report.violations.join('\n  ')}`);
        expect(report.converged).toBe(true);
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `intent: mismatches 0 of ${histories} histories (${steps} steps, ${ops} operations); seed ${seed}`,
    );
  });

  it('a last-writer-wins whole list passes alone but fails the same checks under concurrency', () => {
    // Alone (one replica), LWW is a fine list: the model is not rigged against it.
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const report = runHistory(
          lastWriterWins,
          1,
          ops.map((op) => ({ kind: 'op' as const, at: 0, op })),
        );
        expect(report.mismatch).toBeUndefined();
      }),
      { seed, numRuns: 100 },
    );
    // Concurrently, it loses what people did.
    const result = fc.check(
      fc.property(historyArb(60), (history) => runHistory(lastWriterWins, 3, history).mismatch === undefined),
      { seed, numRuns: 500 },
    );
    expect(result.failed).toBe(true);
    const counterexample = result.counterexample?.[0] ?? [];
    const report = runHistory(lastWriterWins, 3, counterexample);
    expect(report.violations.length).toBeGreaterThan(0);
    console.log(
      `intent: last-writer-wins fails as it should after ${result.numRuns} histories; shrunk counterexample of ${counterexample.length} steps: ${report.violations.join('; ')}; seed ${seed}`,
    );
  });
});

describe('intent: the scenarios people care about', () => {
  const pair = (): [ListReplica, ListReplica] => [
    new ListReplica('alice' as ReplicaId),
    new ListReplica('bob' as ReplicaId),
  ];

  it('two shoppers both buy the last milk: bought 2 of 1, visibly', () => {
    const [a, b] = pair();
    b.apply(a.addItem('Milk', 1));
    const da = a.checkOff('milk');
    const db = b.checkOff('MILK');
    a.apply(db);
    b.apply(da);
    for (const r of [a, b])
      expect(r.item('milk')).toMatchObject({ wanted: 1, bought: 2, overBought: true, done: true });
  });

  it('bought units from two people add up', () => {
    const [a, b] = pair();
    b.apply(a.addItem('Eggs', 12));
    const da = a.buy('eggs', 2);
    const db = b.buy('eggs', 2);
    a.apply(db);
    b.apply(da);
    expect(a.item('eggs')).toMatchObject({ wanted: 12, bought: 4, remaining: 8 });
    expect(b.view()).toEqual(a.view());
  });

  it('a removal removes only what the remover saw: a concurrent add survives', () => {
    const [a, b] = pair();
    b.apply(a.addItem('Bread', 1));
    const remove = a.removeItem('bread');
    const add = b.addItem('Bread', 2);
    a.apply(add);
    b.apply(remove);
    for (const r of [a, b]) expect(r.item('bread')).toMatchObject({ name: 'Bread', wanted: 2, bought: 0 });
  });

  it('a removed then re-added item starts fresh: no old increments come back', () => {
    const [a, b] = pair();
    b.apply(a.addItem('Apples', 5));
    const oldBuy = b.buy('apples', 3); // not yet at a
    a.apply(oldBuy);
    const remove = a.removeItem('apples');
    const readd = a.addItem('Apples', 2);
    b.apply(remove);
    b.apply(readd);
    b.apply(oldBuy); // a late duplicate of the old buy
    for (const r of [a, b]) expect(r.item('apples')).toMatchObject({ wanted: 2, bought: 0 });
  });

  it('no resurrection: a removal everyone has seen stays removed, whatever arrives late', () => {
    const [a, b] = pair();
    const add = a.addItem('Salt');
    b.apply(add);
    const remove = b.removeItem('salt');
    a.apply(remove);
    a.apply(add);
    b.apply(add);
    expect(a.item('salt')).toBeUndefined();
    expect(b.item('salt')).toBeUndefined();
  });

  it('deleting a list: racing adds survive and bring it back; otherwise it stays deleted', () => {
    const [a, b] = pair();
    b.apply(a.rename('Party'));
    b.apply(a.addItem('Chips', 3));
    const del = a.deleteList();
    expect(a.view()).toMatchObject({ deleted: true, items: [] });
    const racing = b.addItem('Dip', 1);
    a.apply(racing);
    b.apply(del);
    for (const r of [a, b]) {
      expect(r.view().deleted).toBe(false);
      expect(r.view().items.map((i) => i.key)).toEqual(['dip']);
    }
    const again = b.deleteList();
    a.apply(again);
    expect(a.view()).toMatchObject({ deleted: true, items: [] });
  });

  it('set wanted keeps increments made concurrently by others', () => {
    const [a, b] = pair();
    b.apply(a.addItem('Water', 2));
    const set = a.setWanted('water', 6);
    const inc = b.increaseWanted('water', 1);
    a.apply(inc);
    b.apply(set);
    for (const r of [a, b]) expect(r.item('water')?.wanted).toBe(7);
  });
});
