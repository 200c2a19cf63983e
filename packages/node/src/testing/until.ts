// Waiting in real-process tests: for an event, never for a time budget (a wait that has not seen
// its event by the hang guard is a hang), and free loopback ports to bind.

import { createServer } from 'node:net';

export type Poll<T> = { done: true; value: T } | { done: false; seen: string };

/**
 * Polls until `poll` says its condition holds, pausing `pauseMs` between tries; fails, saying what
 * it waited for and what it saw last, only if the hang guard passes first.
 */
export async function until<T>(
  what: string,
  poll: () => Promise<Poll<T>>,
  hangGuardMs: number,
  pauseMs = 100,
): Promise<T> {
  const started = performance.now();
  for (let tries = 1; ; tries++) {
    const p = await poll();
    if (p.done) return p.value;
    if (performance.now() - started > hangGuardMs)
      throw new Error(
        `still waiting for ${what} after ${tries} tries in ${hangGuardMs / 1000} s (hang guard); last: ${p.seen}`,
      );
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** A TCP port on `host` that was free a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
