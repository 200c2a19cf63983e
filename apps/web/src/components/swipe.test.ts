import { describe, expect, it } from 'vitest';
import { gestureOf, swipeShare, swipeSideOf, swipeSlopPx } from './swipe.ts';

describe('telling a swipe from a tap and a scroll', () => {
  it('waits until the finger has moved past the slop', () => {
    expect(gestureOf(0, 0)).toBe('undecided');
    expect(gestureOf(swipeSlopPx - 1, 0)).toBe('undecided');
    expect(gestureOf(-6, 6)).toBe('undecided');
  });

  it('is a swipe only when the movement is mostly sideways', () => {
    expect(gestureOf(swipeSlopPx, 0)).toBe('swipe');
    expect(gestureOf(-30, 10)).toBe('swipe');
    expect(gestureOf(30, 25)).toBe('other'); // diagonal: left to the scroll
    expect(gestureOf(2, 40)).toBe('other');
    expect(gestureOf(0, -40)).toBe('other');
  });
});

describe('where a swipe acts', () => {
  const width = 400;
  it('acts past the threshold, on the side swiped', () => {
    expect(swipeSideOf(width * swipeShare, width)).toBe('right');
    expect(swipeSideOf(width, width)).toBe('right');
    expect(swipeSideOf(-width * swipeShare, width)).toBe('left');
  });

  it('does nothing short of it, or for a row with no width', () => {
    expect(swipeSideOf(width * swipeShare - 1, width)).toBeUndefined();
    expect(swipeSideOf(-(width * swipeShare - 1), width)).toBeUndefined();
    expect(swipeSideOf(0, width)).toBeUndefined();
    expect(swipeSideOf(100, 0)).toBeUndefined();
    expect(swipeSideOf(100, Number.NaN)).toBeUndefined();
  });
});
