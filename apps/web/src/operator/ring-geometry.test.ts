// The ring's geometry: arcs that tile the circle clockwise from the top, and colours that stay
// with their node.

import { describe, expect, it } from 'vitest';
import { NodeColours, arcPath } from './ring-geometry.ts';

const numbers = (path: string): number[] => (path.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);

describe('operator ring geometry', () => {
  it('partition 0 starts at twelve o’clock; each arc ends where the next begins', () => {
    const first = numbers(arcPath(0, 4, 100, 150));
    expect(first.slice(0, 2)).toEqual([200, 50]); // the outer radius, straight up
    for (let i = 0; i < 4; i++) {
      const a = numbers(arcPath(i, 4, 100, 150));
      const b = numbers(arcPath((i + 1) % 4, 4, 100, 150));
      // a's outer end (after M x y A rx ry rot large sweep) is b's outer start
      expect(a.slice(7, 9)).toEqual(b.slice(0, 2));
    }
    expect(numbers(arcPath(1, 4, 100, 150)).slice(7, 9)).toEqual([200, 350]); // a quarter further: the bottom
  });

  it('one partition is a whole band, drawn with a large arc', () => {
    const one = numbers(arcPath(0, 1, 100, 150));
    expect(one[5]).toBe(1); // large-arc flag
  });

  it('a node keeps its colour whoever joins; colours differ', () => {
    const c = new NodeColours();
    const n1 = c.of('n1');
    const n2 = c.of('n2');
    expect(n1).not.toBe(n2);
    for (let i = 3; i < 30; i++) c.of(`n${i}`);
    expect(c.of('n1')).toBe(n1);
    expect(new Set(Array.from({ length: 29 }, (_, i) => c.of(`n${i + 1}`))).size).toBe(29);
  });
});
