import { describe, expect, it } from 'vitest';
import {
  aisleLearningFrom,
  aisleOf,
  aisleOverridesFrom,
  aisles,
  groupByAisle,
  itemAisle,
  learnCheckOff,
  learntAisleOrder,
  noAisleLearning,
  storeOrder,
  withAisleOverride,
  type Aisle,
  type AisleLearning,
} from './aisles.ts';
import { clientLimits } from './client-limits.ts';

describe('aisleOf', () => {
  it.each([
    ['Milk', 'dairy'],
    ['oat milk', 'dairy'],
    ['Bananas', 'produce'],
    ['free-range eggs', 'dairy'],
    ['Sourdough bread', 'bakery'],
    ['Tomatoes', 'produce'],
    ['Toilet paper', 'household'],
    ['Leite', 'dairy'],
    ['laranjas', 'produce'],
    ['Spaghetti', 'pantry'],
    ['Pasta', 'pantry'],
    ['Tea', 'pantry'],
    ['Shampoo', 'care'],
    ['Red wines', 'drinks'],
    ['Widgets', 'other'],
    ['', 'other'],
  ])('%j is in %s', (name, aisle) => {
    expect(aisleOf(name)).toBe(aisle);
  });

  it('walks the shop in a fixed order, ending with other', () => {
    expect(aisles[0]).toBe('produce');
    expect(aisles[aisles.length - 1]).toBe('other');
    expect(new Set(aisles).size).toBe(aisles.length);
  });
});

describe('this device’s aisles (kept per device, read back by the web app and the terminal alike)', () => {
  it('a store order holds every aisle once: the saved ones first, in their order, anything else left out', () => {
    expect(storeOrder([])).toEqual([...aisles]);
    const order = storeOrder(['dairy', 'produce', 'dairy', 'nonsense', 7, null, ['bakery']]);
    expect(order.slice(0, 3)).toEqual(['dairy', 'produce', 'bakery']);
    expect([...order].sort()).toEqual([...aisles].sort());
  });

  it('an item’s aisle is the one chosen for it on this device, else the guess; a choice equal to the guess is forgotten', () => {
    let overrides = aisleOverridesFrom([]);
    expect(itemAisle('Milk', overrides)).toBe('dairy');
    overrides = aisleOverridesFrom(withAisleOverride(overrides, 'Milk', 'drinks'));
    expect(itemAisle('  MILK ', overrides)).toBe('drinks'); // by normalised name
    expect(itemAisle('Bread', overrides)).toBe('bakery');
    overrides = aisleOverridesFrom(withAisleOverride(overrides, 'Widgets', 'household'));
    expect([...overrides.keys()]).toEqual(['widgets', 'milk']); // newest first
    expect(withAisleOverride(overrides, 'milk', 'dairy')).toEqual([['widgets', 'household']]);
  });

  it('keeps at most aisleOverridesMax choices, the oldest going first, and reads damaged entries as absent', () => {
    let saved: [string, Aisle][] = [];
    for (let i = 0; i <= clientLimits.aisleOverridesMax; i++)
      saved = withAisleOverride(aisleOverridesFrom(saved), `thing ${i}`, 'frozen');
    expect(saved).toHaveLength(clientLimits.aisleOverridesMax);
    expect(saved[0]).toEqual([`thing ${clientLimits.aisleOverridesMax}`, 'frozen']);
    expect(saved.some(([k]) => k === 'thing 0')).toBe(false);
    const read = aisleOverridesFrom([
      ['milk', 'drinks'],
      ['eggs', 'nowhere'],
      'bread',
      ['x'],
      null,
      ['tea', 'care'],
    ]);
    expect([...read]).toEqual([
      ['milk', 'drinks'],
      ['tea', 'care'],
    ]);
  });

  it('groups what is left to buy under its aisle in store order (empty aisles left out), then what is done', () => {
    const item = (name: string, done = false): { name: string; done: boolean } => ({ name, done });
    const items = [
      item('Apples'),
      item('Bread', true),
      item('Milk'),
      item('Tea'),
      item('Widgets'),
      item('Yogurt'),
    ];
    const order = storeOrder(['pantry', 'dairy']);
    const overrides = new Map<string, Aisle>([['widgets', 'pantry']]);
    const { toBuy, done } = groupByAisle(items, order, overrides);
    expect(toBuy.map((g) => [g.aisle, g.items.map((i) => i.name)])).toEqual([
      ['pantry', ['Tea', 'Widgets']],
      ['dairy', ['Milk', 'Yogurt']],
      ['produce', ['Apples']],
    ]);
    expect(done.map((i) => i.name)).toEqual(['Bread']);
    expect(groupByAisle([], order, overrides)).toEqual({ toBuy: [], done: [] });
  });
});

const minute = 60_000;
const gap = clientLimits.aisleTripGapMs;

/** Check-offs, one a minute, in these aisles; each trip starts a gap after the last one ended. */
function shop(trips: readonly (readonly Aisle[])[], from: AisleLearning = noAisleLearning): AisleLearning {
  let state = from;
  let now = state.trip.lastMs + gap;
  for (const trip of trips) {
    for (const aisle of trip) {
      state = learnCheckOff(state, aisle, now);
      now += minute;
    }
    now += gap;
  }
  return state;
}

/** The learnt order of just these aisles, once the last trip is over. */
function orderOf(state: AisleLearning, among: readonly Aisle[]): Aisle[] {
  return learntAisleOrder(state, state.trip.lastMs + gap).filter((a) => among.includes(a));
}

describe('the store order learnt from check-offs', () => {
  const shown: Aisle[] = ['produce', 'dairy', 'pantry'];

  it('is the usual order while nothing was learnt', () => {
    expect(learntAisleOrder(noAisleLearning, 0)).toEqual([...aisles]);
  });

  it('follows the order a trip checked items off in, once the trip is over', () => {
    // Pantry, then produce (twice: only the first counts), then dairy.
    const state = shop([['pantry', 'produce', 'produce', 'dairy']]);
    expect(orderOf(state, shown)).toEqual(['pantry', 'produce', 'dairy']);
  });

  it('does not change while the trip is under way', () => {
    const state = shop([['pantry', 'produce', 'dairy']]);
    expect(learntAisleOrder(state, state.trip.lastMs + gap - 1)).toEqual([...aisles]);
    expect(learntAisleOrder(state, state.trip.lastMs + gap).indexOf('pantry')).toBe(0);
  });

  it('a pause shorter than the gap keeps one trip; the gap starts another', () => {
    let state = learnCheckOff(noAisleLearning, 'pantry', 1_000_000);
    state = learnCheckOff(state, 'produce', 1_000_000 + gap - 1);
    expect(state.trip.aisles).toEqual(['pantry', 'produce']);
    state = learnCheckOff(state, 'dairy', 1_000_000 + 2 * gap);
    expect(state.trip.aisles).toEqual(['dairy']);
    expect(state.places).toEqual({ pantry: 0, produce: 1 });
  });

  it('moves towards the newer trips: one contrary trip does not undo several, a few do', () => {
    const usual = shop([
      ['pantry', 'produce', 'dairy'],
      ['pantry', 'produce', 'dairy'],
      ['pantry', 'produce', 'dairy'],
    ]);
    const once = shop([['dairy', 'produce', 'pantry']], usual);
    expect(orderOf(once, shown)).toEqual(['pantry', 'produce', 'dairy']);
    const moved = shop(
      [
        ['dairy', 'produce', 'pantry'],
        ['dairy', 'produce', 'pantry'],
      ],
      once,
    );
    expect(orderOf(moved, shown)).toEqual(['dairy', 'produce', 'pantry']);
  });

  it('learns nothing from a trip through one aisle', () => {
    const state = shop([['pantry', 'produce', 'dairy'], ['dairy']]);
    expect(state.places).toEqual({ pantry: 0, produce: 0.5, dairy: 1 });
    expect(orderOf(state, shown)).toEqual(['pantry', 'produce', 'dairy']);
  });

  it('places aisles never learnt by the usual order among the learnt ones', () => {
    const state = shop([['pantry', 'produce']]);
    // Pantry learnt first (0), produce last (1, before 'other', also 1, by the usual order).
    expect(learntAisleOrder(state, state.trip.lastMs + gap)).toEqual([
      'pantry',
      'bakery',
      'dairy',
      'meat',
      'frozen',
      'drinks',
      'household',
      'care',
      'produce',
      'other',
    ]);
  });

  it('stays bounded: one place per aisle and each aisle once in the trip, however many check-offs', () => {
    let state = noAisleLearning;
    let now = 0;
    for (let i = 0; i < 10_000; i++) {
      state = learnCheckOff(state, aisles[(i * 7) % aisles.length] ?? 'other', now);
      now += i % 50 === 0 ? gap : minute;
    }
    expect(Object.keys(state.places).length).toBeLessThanOrEqual(aisles.length);
    expect(state.trip.aisles.length).toBeLessThanOrEqual(aisles.length);
    expect(JSON.stringify(state).length).toBeLessThan(1_000);
    for (const place of Object.values(state.places)) expect(place).toBeGreaterThanOrEqual(0);
  });

  it('reads back what it stored, and drops what is malformed without throwing', () => {
    const state = shop([
      ['pantry', 'produce', 'dairy'],
      ['bakery', 'meat'],
    ]);
    expect(aisleLearningFrom(JSON.parse(JSON.stringify(state)))).toEqual(state);
    for (const bad of [null, 3, 'x', [], { places: 'x', trip: 7 }])
      expect(aisleLearningFrom(bad)).toEqual(noAisleLearning);
    expect(
      aisleLearningFrom({
        places: { pantry: 0.2, nowhere: 0.1, dairy: 7, meat: 'x' },
        trip: { aisles: ['meat', 'meat', 'mars', 3], lastMs: 'soon' },
      }),
    ).toEqual({ places: { pantry: 0.2 }, trip: { aisles: ['meat'], lastMs: 0 } });
  });

  it('ignores a check-off with no usable time', () => {
    const state = shop([['pantry', 'produce']]);
    expect(learnCheckOff(state, 'dairy', Number.NaN)).toBe(state);
  });
});
