// fast-check arbitraries for operations and histories. Names come from a small pool with
// spelling variants, so that replicas collide on the same items often.

import fc from 'fast-check';
import type { Step } from './history.ts';
import type { Op } from './intent-model.ts';

const names = ['Milk', 'milk', ' MILK ', 'Eggs', 'Bread', 'brown  bread', 'Apples'];
const titles = ['Groceries', 'Party', 'Week 12'];
const notes = ['', 'organic', 'the big one'];

const name = fc.constantFrom(...names);
const qty = fc.integer({ min: 1, max: 5 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('rename' as const), title: fc.constantFrom(...titles) }),
  },
  {
    weight: 6,
    arbitrary: fc.oneof(
      fc.record({ kind: fc.constant('add' as const), name, qty }),
      fc.record({ kind: fc.constant('add' as const), name, qty, note: fc.constantFrom(...notes) }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('set' as const), name, qty: fc.integer({ min: 0, max: 6 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inc' as const), name, n: qty }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dec' as const), name, n: qty }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('buy' as const), name, n: qty }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('check' as const), name }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('uncheck' as const), name }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('note' as const), name, note: fc.constantFrom(...notes) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), name }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clearBought' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
);

const index = fc.nat({ max: 1000 });

/** A history step: operations, network faults and anti-entropy, weighted toward operations. */
export const stepArb = (faults: boolean): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('op' as const), at: index, op: opArb }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), to: index, pick: index }) },
    {
      weight: faults ? 1 : 0,
      arbitrary: fc.record({ kind: fc.constant('drop' as const), to: index, pick: index }),
    },
    {
      weight: faults ? 1 : 0,
      arbitrary: fc.record({ kind: fc.constant('duplicate' as const), to: index, pick: index }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: index, to: index }) },
  );

export const historyArb = (maxSteps: number, faults = true): fc.Arbitrary<Step[]> =>
  fc.array(stepArb(faults), { minLength: Math.ceil(maxSteps / 4), maxLength: maxSteps, size: 'max' });

/** The seed for this run: FC_SEED if set (to replay), else fresh. Printed by every property test. */
export function chooseSeed(fromEnv: string | undefined, fresh: number): number {
  const parsed = fromEnv === undefined ? Number.NaN : Number(fromEnv);
  return Number.isSafeInteger(parsed) ? parsed : fresh;
}
