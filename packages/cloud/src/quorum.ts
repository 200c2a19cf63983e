// N, R, W (Dynamo §4.5): each list is kept on N nodes; a write is acknowledged (cloud-ok) after W
// of them have committed it, a read answers after R of them have replied. R + W > N makes every
// read quorum overlap every write quorum; an operator may insist on less (say, for speed).

import { TrolleyError } from '@trolley/core';

export interface Quorum {
  n: number;
  r: number;
  w: number;
}

export const defaultQuorum: Quorum = { n: 3, r: 2, w: 2 };

export function checkQuorum(q: Quorum, options: { allowWeak?: boolean; nodes?: number } = {}): Quorum {
  const whole = (x: number): boolean => Number.isSafeInteger(x) && x >= 1;
  if (!whole(q.n) || !whole(q.r) || !whole(q.w))
    throw new TrolleyError(
      'invalid_argument',
      `N, R and W must be whole numbers ≥ 1 (got N=${q.n} R=${q.r} W=${q.w})`,
    );
  if (q.r > q.n || q.w > q.n)
    throw new TrolleyError('invalid_argument', `R and W cannot exceed N (got N=${q.n} R=${q.r} W=${q.w})`);
  if (q.r + q.w <= q.n && options.allowWeak !== true)
    throw new TrolleyError(
      'invalid_argument',
      `R + W must exceed N so that reads see acknowledged writes (got N=${q.n} R=${q.r} W=${q.w}); pass --weak-quorum to insist`,
    );
  if (options.nodes !== undefined && options.nodes < q.n)
    throw new TrolleyError(
      'invalid_argument',
      `N=${q.n} needs at least ${q.n} nodes; the cluster has ${options.nodes}`,
    );
  return q;
}
