// The real clock and randomness: the only place the wall clock, the monotonic clock and the
// CSPRNG enter Trolley's processes.

import { randomFillSync } from 'node:crypto';
import type { Clock, Random } from '@trolley/core';

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

export const cryptoRandom: Random = {
  fill: (bytes) => randomFillSync(bytes),
};
