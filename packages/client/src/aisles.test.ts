import { describe, expect, it } from 'vitest';
import { aisleOf, aisles } from './aisles.ts';

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
