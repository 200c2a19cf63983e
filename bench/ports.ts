// Ports for the benchmarks' local clouds.

import { freePort, portFree } from '../apps/cli/src/local-cluster.ts';

/** A free port whose next one is free too: a proxy's client port (its node port is the next). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await portFree(port + 1))) return port;
  }
  throw new Error('no free pair of adjacent ports on 127.0.0.1');
}
