// The small interfaces through which the pure packages meet the world (DESIGN.md §4). Real
// implementations live in the Node and browser adapters; the simulator supplies seeded ones.

/** A source of randomness. Production uses a CSPRNG; tests and the simulator use a seeded one. */
export interface Random {
  /** Fills `bytes` with random bytes and returns it. */
  fill(bytes: Uint8Array): Uint8Array;
}

/** Time as the pure code may see it. */
export interface Clock {
  /** Milliseconds on a monotonic clock: for timeouts and intervals, never for ordering data. */
  monotonicMs(): number;
  /** Milliseconds since the Unix epoch: for display and logs only. */
  wallMs(): number;
}
