import { describe, expect, it } from 'vitest';
import { TrolleyError, limits } from '@trolley/core';
import { parseItemEntry } from './item-entry.ts';

describe('parseItemEntry', () => {
  it.each([
    ['2 bananas', 'bananas', 2],
    ['bananas x2', 'bananas', 2],
    ['bananas x 2', 'bananas', 2],
    ['Bananas ×3', 'Bananas', 3],
    ['bananas *4', 'bananas', 4],
    ['2x bananas', 'bananas', 2],
    ['2 x bananas', 'bananas', 2],
    ['bananas 2x', 'bananas', 2],
    ['  12   free-range eggs ', 'free-range eggs', 12],
    ['3 bananas x2', 'bananas x2', 3],
  ])('reads %j as %j × %i', (text, name, quantity) => {
    expect(parseItemEntry(text)).toEqual({ name, quantity, counted: true });
  });

  it.each([
    'milk',
    '7up',
    '500 g flour',
    '1 kg rice',
    'Vitamin B12',
    'bananas 2',
    '2',
    'x2',
    '0 bananas',
    'bananas x0',
  ])('keeps %j whole, one of it', (text) => {
    expect(parseItemEntry(text)).toEqual({ name: text.trim(), quantity: 1, counted: false });
  });

  it('refuses a quantity above the limit with a typed error', () => {
    expect(() => parseItemEntry(`${limits.quantityMax + 1} eggs`)).toThrow(TrolleyError);
    expect(parseItemEntry(`${limits.quantityMax} eggs`).quantity).toBe(limits.quantityMax);
  });

  it('never throws on odd input', () => {
    for (const text of ['', ' ', 'x', '×', '1 ', ' x 1', '\u0000 2', '9'.repeat(40) + ' eggs'])
      expect(() => parseItemEntry(text)).not.toThrow(TypeError);
  });
});
