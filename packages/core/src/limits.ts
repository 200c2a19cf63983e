// Every limit in the core, in one place (DESIGN.md §4, STYLE.md habit 8). Each bounds something
// that grows; the relationships between them are asserted at the bottom so that a change to one
// cannot silently break another.

export const limits = {
  /** Live items in one list. A shopping list past this is a mistake or an attack. */
  itemsPerListMax: 10_000,
  /** Characters (UTF-16 code units) in an item name, after normalisation and as displayed. */
  itemNameLengthMax: 200,
  /** Characters in a list title. */
  titleLengthMax: 200,
  /** Characters in an item note. */
  noteLengthMax: 1_000,
  /** Largest quantity one operation may add, set, buy or remove. */
  quantityMax: 1_000_000,
  /**
   * Largest value of any single counter contribution accepted from the wire. A contribution is
   * one operation's amount, so this equals quantityMax; kept apart to say what the decoder checks.
   */
  counterValueMax: 1_000_000,
  /** Distinct replicas (devices) that may have written to one list. */
  replicasPerListMax: 65_536,
  /** Characters in a replica ID. */
  replicaIdLengthMax: 64,
  /**
   * Removal records a list keeps so that a peer that missed a removal can be sent a small delta.
   * Older records are pruned; a peer behind the pruned horizon gets the full state instead.
   */
  removalRecordsMax: 256,
  /** Counter per replica: dots are packed into a float64 as replicaIndex·2^32 + counter. */
  dotCounterMax: 2 ** 32 - 1,
  /** Bytes of one encoded list state or delta that the decoder will read. */
  encodedListBytesMax: 16 * 1024 * 1024,
  /** Dots in the causal context's cloud (dots beyond the version vector) after decoding. */
  contextCloudMax: 1_000_000,
  // ---- the cloud ----
  /** Coordinator requests (puts and gets) a storage node keeps in flight; past it: overloaded. */
  pendingRequestsMax: 20_000,
  /** Decoded list states a storage node keeps in memory (least recently used go first). */
  cachedListsMax: 4_096,
  /** Operation IDs a coordinator remembers as acknowledged, to answer retries at once. */
  recentOperationsMax: 100_000,
  /** Frames queued for sending on one socket before new ones are dropped (and counted). */
  socketQueueMax: 10_000,
  /** Longest deadline a request may ask for, in milliseconds from now. */
  deadlineMsMax: 60_000,
  /** Members in a gossiped view (nodes of one cluster). */
  membersMax: 4_096,
  /** Hints one node holds for others; past it, it refuses to stand in (the write goes elsewhere). */
  hintsPerNodeMax: 100_000,
  /** Keys of one Merkle bucket exchanged in one anti-entropy message. */
  antiEntropyKeysMax: 10_000,
  /** Keys one node repairs per anti-entropy round (the throttle that keeps foreground latency). */
  antiEntropyRepairsPerRoundMax: 200,
  /** List states in flight in one node's transfers and hint deliveries. */
  transfersInFlightMax: 64,
  /** Lists one client may watch through one watch message. */
  watchedListsMax: 1_000,
  /** Watches one proxy keeps (client, list) before it forgets the oldest. */
  watchesPerProxyMax: 100_000,
  /** A watch lasts this long unless the client repeats it. */
  watchLeaseMs: 30_000,
  // ---- the gateway (browsers over WebSocket) ----
  /** WebSocket connections one gateway holds; past it, an upgrade is refused with HTTP 503. */
  gatewayConnectionsMax: 10_000,
  /** Puts and gets one browser connection may have in flight; past it: overloaded. */
  gatewayRequestsInFlightMax: 64,
  /** Distinct lists one gateway watches on the proxies for all its connections together. */
  gatewayWatchedListsMax: 50_000,
  /** The gateway pings every connection this often; one that has not answered the last ping is cut. */
  gatewayPingIntervalMs: 15_000,
  /**
   * Bytes queued for one connection (a slow browser) past which live `changed` pushes to it are
   * dropped (and counted); replies are still sent. A changed may be lost; the browser syncs anyway.
   */
  gatewaySendBufferBytesMax: 64 * 1024 * 1024,
} as const;

export type Limits = typeof limits;

// Relationships between limits.
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`limits.ts is inconsistent: ${what}`);
}
check(limits.counterValueMax >= limits.quantityMax, 'a counter contribution must hold one operation');
check(limits.replicasPerListMax <= 2 ** 21, 'replica index must fit the dot packing (53 - 32 bits)');
check(limits.quantityMax * 4 < 2 ** 31, 'quantities must add without losing precision');
check(
  limits.itemNameLengthMax * 4 * limits.itemsPerListMax < limits.encodedListBytesMax,
  'a full list must encode',
);
check(
  limits.gatewayWatchedListsMax <= limits.watchesPerProxyMax,
  "a gateway's watches must fit in one proxy's watch table",
);
check(
  limits.gatewayWatchedListsMax >= limits.watchedListsMax,
  'the gateway must be able to watch what one browser may ask for',
);
check(
  limits.gatewayPingIntervalMs >= 1_000 && 2 * limits.gatewayPingIntervalMs <= limits.watchLeaseMs,
  'a dead browser is cut (two pings) within one lease, so the gateway stops renewing its watches',
);
check(
  limits.gatewaySendBufferBytesMax > limits.encodedListBytesMax + 64 * 1024,
  'one full message must fit in a connection send buffer',
);

// ---- the ring (Dynamo §6.2, strategy 3) ----

export const ringLimits = {
  /** Fewest partitions a ring may have. */
  partitionCountMin: 1,
  /**
   * Most partitions a ring may have. Q fixes the unit of transfer and of Merkle trees; Dynamo ran
   * with Q in the thousands. 2^16 keeps an owner index within 16 bits and the encoded ring < 5 MB.
   */
  partitionCountMax: 65_536,
  /** Q when the caller does not choose: ≥ 50 partitions a node up to 20 nodes (balance ≤ 1.02). */
  partitionCountDefault: 1_024,
  /** Physical nodes in one ring. Every node owns at least one partition, so this is at most Q. */
  nodesMax: 65_536,
  /** Characters in a node ID (ASCII: letters, digits, `_`, `.`, `-`). */
  nodeIdLengthMax: 64,
  /** Capacity weights are integers in 1..weightMax (e.g. relative memory or disk). */
  weightMax: 1_000,
  /** Bytes of an encoded ring the decoder will read. */
  encodedRingBytesMax: 8 * 1024 * 1024,
} as const;

// Relationships between the ring's limits.
check(ringLimits.partitionCountMax <= 2 ** 16, 'an owner index must fit 16 bits in the encoding');
check(
  ringLimits.partitionCountMin <= ringLimits.partitionCountDefault &&
    ringLimits.partitionCountDefault <= ringLimits.partitionCountMax,
  'the default partition count must be a valid one',
);
check(ringLimits.nodesMax <= ringLimits.partitionCountMax, 'every node must be able to own a partition');
check(
  ringLimits.partitionCountMax * ringLimits.weightMax * ringLimits.nodesMax < 2 ** 53,
  'quota arithmetic (Q · weight, total weight) must stay exact in float64',
);
check(
  // header + node table (length byte, ID, 2-byte weight) + owners (≤ 16 bits each)
  16 + ringLimits.nodesMax * (1 + ringLimits.nodeIdLengthMax + 2) + ringLimits.partitionCountMax * 2 <
    ringLimits.encodedRingBytesMax,
  'the largest valid ring must encode within the byte limit',
);
