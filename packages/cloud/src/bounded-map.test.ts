import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.ts';

describe('BoundedMap', () => {
  it('holds at most sizeMax entries, forgetting the least recently used', () => {
    const m = new BoundedMap<number, string>(4);
    for (let i = 0; i < 4; i++) m.set(i, `v${i}`);
    // 0 is used now and then: it stays while everything else cycles through.
    for (let i = 4; i < 40; i++) {
      if (i % 2 === 0) expect(m.get(0)).toBe('v0');
      m.set(i, `v${i}`);
      expect(m.size).toBe(4);
    }
    expect(m.get(0)).toBe('v0');
    expect(m.has(38)).toBe(true);
    expect(m.has(35)).toBe(false);
    expect(m.get(1)).toBeUndefined();
  });

  it('set replaces a value and makes it the newest; delete forgets it', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3);
    m.set('c', 4);
    expect(m.get('a')).toBe(3);
    expect(m.has('b')).toBe(false);
    m.delete('a');
    expect(m.get('a')).toBeUndefined();
    expect(m.size).toBe(1);
  });
});
