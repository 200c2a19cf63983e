import { describe, expect, it } from 'vitest';
import {
  aisleOf,
  aisleOverridesFrom,
  aisles,
  groupByAisle,
  itemAisle,
  storeOrder,
  withAisleOverride,
  type Aisle,
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
