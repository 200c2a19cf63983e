// LiveSync (in @trolley/client) wired for Node: the real clock, the CSPRNG and Node's timers, and a
// change feed over the cloud's pushed `changed` notices.

import type { ChangeFeed, LiveSyncEnv } from '@trolley/client';
import { cryptoRandom, systemClock } from './clock.ts';
import type { CloudClient } from './cloud-client.ts';

export const nodeLiveSyncEnv: LiveSyncEnv = {
  clock: systemClock,
  random: cryptoRandom,
  timers: {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  },
};

/**
 * Notices pushed by the cloud: a `watch` lease on the proxy, renewed by the client, and a
 * `changed` message whenever a write to a watched list becomes cloud-ok anywhere in the cloud.
 */
export function pushedChanges(cloud: CloudClient): ChangeFeed {
  return {
    start: (watching, onChanged) => {
      const stop = cloud.watch(watching(), onChanged);
      const refresh = setInterval(() => cloud.addWatched(watching()), 2_000);
      return () => {
        clearInterval(refresh);
        stop();
      };
    },
  };
}
