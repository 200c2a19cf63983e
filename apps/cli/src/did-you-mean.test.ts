import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from './did-you-mean.ts';

describe('did you mean', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('list', 'list')).toBe(0);
    expect(editDistance('lsit', 'list')).toBe(1);
    expect(editDistance('lis', 'list')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests close words only, nearest first', () => {
    const commands = ['list', 'item', 'sync', 'status', 'watch', 'start', 'keys'];
    expect(didYouMean('lsit', commands)).toEqual(['list']);
    expect(didYouMean('stauts', commands)[0]).toBe('status');
    expect(didYouMean('sta', commands)).toEqual(['start', 'status']);
    expect(didYouMean('banana', commands)).toEqual([]);
    expect(didYouMean('', commands)).toEqual([]);
    expect(didYouMean('Grocerys', ['Groceries', 'Party'])).toEqual(['Groceries']);
  });
});
