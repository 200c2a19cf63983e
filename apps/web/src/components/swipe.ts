// Swiping a row on a touch screen: the row follows the finger sideways, and let go past a third of
// its width it acts (right: check off or back on; left: remove) through the same actions as the
// buttons, so Undo is offered as for a tap. Let go short of that, it snaps back. Only a finger (or
// a pen) swipes, and only once its movement is mostly sideways: the row is `touch-action: pan-y`,
// so an upward or downward drag stays the browser's scroll (it cancels the pointer, and the row
// forgets the gesture). An extra: every swipe has a button and a key that does the same.
//
// The row moves by its style during the gesture, not by React state, so a finger's every move
// costs one style write and no render. Once a gesture is a swipe its touch moves are the row's
// (cancelled for the browser), so it leaves no scroll or fling behind: without that, Chromium took
// a tap on Undo right after a swipe for a tap stopping a fling, and dropped its click.

import {
  useEffect,
  useRef,
  type MouseEvent as ReactMouseEvent,
  type PointerEvent as ReactPointerEvent,
} from 'react';

export type SwipeSide = 'right' | 'left';

/** How far, as a share of the row's width, a row must be swiped to act. */
export const swipeShare = 0.35;
/** How far (px) a finger moves before its gesture is told apart (a tap moves less). */
export const swipeSlopPx = 10;

/** What a finger's movement so far is: too small to tell, a sideways swipe, or something else. */
export function gestureOf(dx: number, dy: number): 'undecided' | 'swipe' | 'other' {
  if (Math.hypot(dx, dy) < swipeSlopPx) return 'undecided';
  return Math.abs(dx) > 1.5 * Math.abs(dy) ? 'swipe' : 'other';
}

/** The side a swipe of `dx` px acts on, in a row `width` px wide; undefined when it falls short. */
export function swipeSideOf(dx: number, width: number): SwipeSide | undefined {
  if (!(width > 0) || Math.abs(dx) < width * swipeShare) return undefined;
  return dx > 0 ? 'right' : 'left';
}

interface Gesture {
  pointerId: number;
  x: number;
  y: number;
  dx: number;
  kind: 'undecided' | 'swipe' | 'other';
}

/**
 * Swipe handling for one row: spread `handlers` on the element the finger lands on; `row` is
 * marked with `data-swipe` (the side being swiped, for the hint behind) and `data-armed` (past the
 * threshold); `line` is the part that moves.
 */
export function useSwipe(onSwipe: (side: SwipeSide) => void) {
  const row = useRef<HTMLLIElement>(null);
  const line = useRef<HTMLDivElement>(null);
  const gesture = useRef<Gesture | undefined>(undefined);
  /**
   * Set when a swipe ends, so that a click a browser may send for the same touch does not also act
   * (cleared by the next touch or key, whose clicks are the person's).
   */
  const swiped = useRef(false);

  useEffect(() => {
    const l = line.current;
    if (l === null) return;
    const move = (e: TouchEvent): void => {
      if (gesture.current?.kind === 'swipe' && e.cancelable) e.preventDefault();
    };
    const lift = (e: TouchEvent): void => {
      if (swiped.current && e.cancelable) e.preventDefault(); // no click for this touch
    };
    l.addEventListener('touchmove', move, { passive: false });
    l.addEventListener('touchend', lift, { passive: false });
    return () => {
      l.removeEventListener('touchmove', move);
      l.removeEventListener('touchend', lift);
    };
  }, []);

  const show = (dx: number | undefined): void => {
    const r = row.current;
    const l = line.current;
    if (r === null || l === null) return;
    if (dx === undefined) {
      l.style.transform = '';
      delete r.dataset['swipe'];
      delete r.dataset['armed'];
      return;
    }
    l.style.transform = `translateX(${dx}px)`;
    r.dataset['swipe'] = dx >= 0 ? 'right' : 'left';
    if (swipeSideOf(dx, l.offsetWidth) !== undefined) r.dataset['armed'] = '';
    else delete r.dataset['armed'];
  };

  const end = (e: ReactPointerEvent, act: boolean): void => {
    const g = gesture.current;
    if (g === undefined || g.pointerId !== e.pointerId) return;
    gesture.current = undefined;
    if (g.kind !== 'swipe') return;
    swiped.current = true;
    const side = act ? swipeSideOf(g.dx, line.current?.offsetWidth ?? 0) : undefined;
    show(undefined); // back in place (CSS animates it, unless motion is reduced)
    if (side !== undefined) onSwipe(side);
  };

  const handlers = {
    onPointerDown: (e: ReactPointerEvent) => {
      swiped.current = false;
      if (!e.isPrimary || (e.pointerType !== 'touch' && e.pointerType !== 'pen')) return;
      gesture.current = { pointerId: e.pointerId, x: e.clientX, y: e.clientY, dx: 0, kind: 'undecided' };
    },
    onPointerMove: (e: ReactPointerEvent) => {
      const g = gesture.current;
      if (g === undefined || g.pointerId !== e.pointerId || g.kind === 'other') return;
      const dx = e.clientX - g.x;
      if (g.kind === 'undecided') {
        g.kind = gestureOf(dx, e.clientY - g.y);
        if (g.kind !== 'swipe') return;
        row.current?.setAttribute('data-swiping', '');
      }
      g.dx = dx;
      show(dx);
    },
    onPointerUp: (e: ReactPointerEvent) => {
      row.current?.removeAttribute('data-swiping');
      end(e, true);
    },
    onPointerCancel: (e: ReactPointerEvent) => {
      row.current?.removeAttribute('data-swiping');
      end(e, false);
    },
    onKeyDown: () => {
      swiped.current = false;
    },
    onClickCapture: (e: ReactMouseEvent) => {
      if (!swiped.current) return;
      swiped.current = false;
      e.preventDefault();
      e.stopPropagation();
    },
  };
  return { row, line, handlers };
}
