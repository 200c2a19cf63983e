// The browser's side of the ports the shared code takes (DESIGN.md §4): clock, randomness, timers,
// and where the gateway is (the page's own origin: the gateway serves the app and the WebSocket).

import type { Clock, Random } from '@trolley/core';
import type { LiveSyncEnv } from '@trolley/client';

export const browserClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

export const browserRandom: Random = {
  fill: (bytes) => crypto.getRandomValues(bytes),
};

export const browserLiveSyncEnv: LiveSyncEnv = {
  clock: browserClock,
  random: browserRandom,
  timers: {
    setTimeout: (callback, ms) => window.setTimeout(callback, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number | undefined),
  },
};

/** ws(s)://<this origin>/sync: the gateway that served this page. */
export function gatewaySocketUrl(location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/sync`;
}

/** The base of share links: this app's address without the fragment. */
export function appBaseUrl(location: Location = window.location): string {
  return `${location.origin}${location.pathname}`;
}

/** Whether a share link's host is this computer only (a phone that scans it cannot open it). */
export function loopbackHost(link: string): string | undefined {
  let host: string;
  try {
    host = new URL(link).hostname;
  } catch {
    return undefined;
  }
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare.endsWith('.localhost') || /^127\./.test(bare) || bare === '::1'
    ? host
    : undefined;
}
