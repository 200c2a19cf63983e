// Random list operations for simulated clients, drawn from the run's generator with the same
// pools and weights as core's opArb (core/src/testing/arbitraries.ts), so that clients collide on
// the same items often: spelling variants of one name, removes racing adds, deletes of the list.

import type { Op } from '@trolley/core/testing/intent-model';
import type { Prng } from './prng.ts';

const names = ['Milk', 'milk', ' MILK ', 'Eggs', 'Bread', 'brown  bread', 'Apples'];
const titles = ['Groceries', 'Party', 'Week 12'];
const notes = ['', 'organic', 'the big one'];

export function randomOp(rng: Prng): Op {
  const name = (): string => rng.pick(names);
  const qty = (): number => rng.range(1, 5);
  const kind = rng.weighted<Op['kind']>([
    [1, 'rename'],
    [6, 'add'],
    [2, 'set'],
    [2, 'inc'],
    [2, 'dec'],
    [4, 'buy'],
    [2, 'check'],
    [1, 'uncheck'],
    [1, 'note'],
    [3, 'remove'],
    [1, 'clearBought'],
    [1, 'delete'],
  ]);
  switch (kind) {
    case 'rename':
      return { kind, title: rng.pick(titles) };
    case 'add':
      return rng.chance(0.5)
        ? { kind, name: name(), qty: qty() }
        : { kind, name: name(), qty: qty(), note: rng.pick(notes) };
    case 'set':
      return { kind, name: name(), qty: rng.range(0, 6) };
    case 'inc':
    case 'dec':
    case 'buy':
      return { kind, name: name(), n: qty() };
    case 'check':
    case 'uncheck':
    case 'remove':
      return { kind, name: name() };
    case 'note':
      return { kind, name: name(), note: rng.pick(notes) };
    case 'clearBought':
    case 'delete':
      return { kind };
  }
}
