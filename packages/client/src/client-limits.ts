// Every limit of the client engine, in one place (STYLE.md habit 8). They belong beside the core's
// in packages/core/src/limits.ts; they live here until that file can take them, and their
// relationships with the core's limits are asserted below, at load.

import { limits } from '@trolley/core';

export const clientLimits = {
  /** Lists one device keeps (created or joined). */
  listsPerClientMax: 10_000,
  /**
   * Outbox entries one list keeps. An operation that would go past it first joins the whole outbox
   * into one entry under a fresh opId (safe: see trolley-client.ts, "outbox coalescing"), so a
   * device offline for a month still has a bounded outbox.
   */
  outboxEntriesPerListMax: 1_000,
  /**
   * Bytes of deltas joined into one push. Larger outboxes go as several puts. Well below the
   * message limit, so one push never risks being refused as too large.
   */
  outboxBatchBytesMax: 1024 * 1024,
  /** Lists synced at once by syncOnce: bounds requests in flight while the cloud is away. */
  listsSyncedInParallelMax: 8,
  /** Times an operation is redone after another writer of the same store got there first. */
  commitConflictRetriesMax: 8,
  /** Failure descriptions a sync summary keeps (the counts are always complete). */
  syncFailuresReportedMax: 20,
  /** Item names a device remembers for suggestions while typing (most recent first). */
  recentItemNamesMax: 200,
  /** Cleared items a device offers to "Buy again", per list. */
  buyAgainPerListMax: 30,
  /**
   * Items whose aisle this device's person chose (over the guess), most recent first: in the
   * browser's localStorage, and in the terminal's home config.json (`trolley item aisle`). The
   * oldest choice goes first (aisles.ts withAisleOverride).
   */
  aisleOverridesMax: 500,
  /**
   * A pause between two check-offs this long or longer ends a shopping trip (aisles.ts learns the
   * store order from each trip). The learning itself is bounded by the aisles, not by time: one
   * learnt place per aisle and the trip under way's aisles, each once (at most 2 × 10 entries).
   */
  aisleTripGapMs: 45 * 60_000,
  /**
   * Lists whose front (their coordinator's client port, from the proxy's `locate`) a CloudClient
   * in direct mode remembers; a list forgotten goes through a proxy until it is located again.
   */
  frontRoutesMax: 100_000,
  /** Fronts (storage nodes' client ports) one CloudClient keeps a connection to; past it, proxies. */
  frontsConnectedMax: 64,
  /** How long a list stays with the proxies after its front failed it or none was named, before it is located again. */
  frontRetryMs: 10_000,
  /** `locate`s one CloudClient has in flight; a list not located for it stays with the proxies until next used. */
  locatesInFlightMax: 16,
  /** Largest per-request timeout the engine passes to the cloud: the nodes' deadline limit. */
  requestTimeoutMsMax: limits.deadlineMsMax,
} as const;

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`client-limits.ts is inconsistent: ${what}`);
}
check(
  clientLimits.outboxBatchBytesMax * 2 <= limits.encodedListBytesMax,
  'a batch of deltas, joined, must stay far from the encoded list limit',
);
check(clientLimits.outboxEntriesPerListMax >= 2, 'coalescing needs at least two entries');
check(clientLimits.listsSyncedInParallelMax >= 1, 'sync must make progress');
