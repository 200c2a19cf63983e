import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrolleyError, displayName, isItemKey, itemName, keyByRules, normaliseName } from '../index.ts';
import { chooseSeed } from '../testing/arbitraries.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);

describe('item names', () => {
  it('normalise: trimmed, case-folded, inner spaces collapsed', () => {
    expect(normaliseName('  Brown   BREAD ')).toBe('brown bread');
    expect(itemName(' Brown  Bread ')).toEqual({ key: 'brown bread', display: 'Brown Bread' });
  });

  it('normalisation is a fixpoint on any text, so keys survive the wire', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        const k = normaliseName(s);
        expect(normaliseName(k)).toBe(k);
      }),
      { seed, numRuns: 1000 },
    );
    expect(normaliseName('\u210c')).toBe('h');
  });

  it('the ASCII fast paths give what the general rules give', () => {
    const ascii = fc.string({
      unit: fc.constantFrom(' ', ' ', 'A', 'z', 'Q', 'm', '1', '.', '-', '~', '@', '['),
      maxLength: 20,
    });
    fc.assert(
      fc.property(ascii, (s) => {
        expect(normaliseName(s)).toBe(keyByRules(s));
        expect(displayName(s)).toBe(s.normalize('NFC').trim().replace(/\s+/g, ' '));
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('refuses empty, over-long and control-character names with a typed error', () => {
    for (const bad of ['', '   ', 'x'.repeat(201), 'a\u0000b']) {
      expect(() => itemName(bad)).toThrow(TrolleyError);
    }
    expect(isItemKey('Milk')).toBe(false);
    expect(isItemKey('milk')).toBe(true);
  });
});
