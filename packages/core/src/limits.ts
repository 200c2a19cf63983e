// Every limit in the core, in one place (DESIGN.md §4, STYLE.md habit 8). Each bounds something
// that grows; the relationships between them are asserted at the bottom so that a change to one
// cannot silently break another.

export const limits = {
  /**
   * Live items in one list. A shopping list past this is a mistake or an attack: an operation or a
   * client write that would add an item past it is refused (limit_exceeded) before it is stored.
   */
  itemsPerListMax: 10_000,
  /**
   * Items the decoder reads in one list. Writes are checked against itemsPerListMax by whoever
   * takes them, but writes taken at the same time by coordinators that had not seen each other
   * can join into more; the stored list must still decode, so the decoder allows four times as
   * many (four coordinators unaware of each other, each at the limit).
   */
  itemsPerListDecodeMax: 40_000,
  /**
   * Encoded bytes a list may reach through a client write: a write that would take the stored
   * list past it is refused (limit_exceeded). A quarter of encodedListBytesMax, for the same
   * reason as itemsPerListDecodeMax.
   */
  listBytesWriteMax: 4 * 1024 * 1024,
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
   * Chosen by bench:sync (README, Performance): at 256 a client that missed 1,000 changes of a
   * 5,000-item list got the whole list (2.8× the changes); at 1,024 it gets 0.55×, and one that
   * missed more removals than are kept gets a full state no larger than the changes (1.04×). A
   * record costs 2–13 bytes at rest (bench:crdt's ~50-item list, long history: 4.6 → 11 KB).
   */
  removalRecordsMax: 1_024,
  /**
   * History entries a list keeps ("Ana bought 2 × Milk · 14:02", crdt/journal.ts): the greatest by
   * (sequence, replica name, counter), a total order, so every replica that has seen the same
   * entries keeps the same ones. A family's week of shopping is 50–100 changes.
   */
  historyEntriesMax: 100,
  /**
   * Items one history entry remembers of what a removal took away (to bring them back): clearing
   * or deleting more keeps the first ones, by name, and says how many there were.
   */
  historyItemsPerEntryMax: 200,
  /** Characters of a device's display name, the "who" of a history entry. */
  deviceNameLengthMax: 40,
  /** A history entry's sequence number (a Lamport clock): past it, entries share the top value. */
  historySeqMax: 2 ** 40,
  /** Counter per replica: dots are packed into a float64 as replicaIndex·2^32 + counter. */
  dotCounterMax: 2 ** 32 - 1,
  /** Bytes of one encoded list state or delta that the decoder will read. */
  encodedListBytesMax: 16 * 1024 * 1024,
  /** Dots in the causal context's cloud (dots beyond the version vector) after decoding. */
  contextCloudMax: 1_000_000,
  // ---- the cloud ----
  /** Coordinator requests (puts and gets) a storage node keeps in flight; past it: overloaded. */
  pendingRequestsMax: 20_000,
  /**
   * Puts and gets one client (one ZeroMQ connection: its routing ID) may have in flight through
   * one proxy, from forwarding until the node's answer passes back (or the request's deadline);
   * past it the proxy answers `overloaded` without forwarding. One client can so take at most a
   * small share of a node's pendingRequestsMax. A gateway is one client of its proxy: all its
   * browsers together share this (each browser holds at most gatewayRequestsInFlightMax).
   */
  clientRequestsInFlightMax: 1_000,
  /** Decoded list states a storage node keeps in memory (least recently used go first). */
  cachedListsMax: 4_096,
  /**
   * Deltas a storage node stores after a list's last whole state (a write stores its delta, not
   * the list). The write that would pass this, or whose deltas would pass half the whole state's
   * bytes plus storedDeltaBytesSlack, writes the list whole instead: loading a list replays at
   * most this many deltas, and a write costs amortised about two bytes per byte it changes.
   */
  storedDeltasMax: 512,
  storedDeltaBytesSlack: 16 * 1024,
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
  /** Fronts a `locate-reply` names at most: a list's preference list (N is at most 16). */
  frontsPerLocateMax: 16,
  /**
   * Lists one client may watch: a `watch` message replaces the client's watched set and holds at
   * most this many IDs (more is malformed). A client is one ZeroMQ connection at a proxy, one
   * WebSocket at a gateway.
   */
  watchedListsMax: 1_000,
  /**
   * (client, list) watches one proxy keeps for all its clients together. When it is full, room for
   * a client is made max-min fairly: taken from the client that holds the most, never from one at
   * or below an equal share; what cannot be made room for is refused (`overloaded`). Nobody's
   * watches are forgotten because someone else asked for many.
   */
  watchesPerProxyMax: 100_000,
  /** A watch lasts this long unless the client repeats it. */
  watchLeaseMs: 30_000,
  // ---- the gateway (browsers over WebSocket) ----
  /** WebSocket connections one gateway holds; past it, an upgrade is refused with HTTP 503. */
  gatewayConnectionsMax: 10_000,
  /** Puts and gets one browser connection may have in flight; past it: overloaded. */
  gatewayRequestsInFlightMax: 64,
  /**
   * (connection, list) watches one gateway keeps for all its browser connections together (so
   * also a bound on the distinct lists it watches on the proxies). Full: room is made max-min
   * fairly across connections, as in a proxy (watchesPerProxyMax); the rest is refused.
   */
  gatewayWatchedListsMax: 50_000,
  /** The gateway pings every connection this often; one that has not answered the last ping is cut. */
  gatewayPingIntervalMs: 15_000,
  /**
   * Bytes queued for one connection (a slow browser) past which live `changed` pushes to it are
   * dropped (and counted); replies are still sent. A changed may be lost; the browser syncs anyway.
   */
  gatewaySendBufferBytesMax: 64 * 1024 * 1024,
  // ---- the operator page (apps/web/server/operator.ts) ----
  /** Live operator pages (server-sent event streams) one gateway serves at once; past it: HTTP 503. */
  operatorConnectionsMax: 4,
  /**
   * How often the gateway asks the cluster (the proxy's and every node's stats) while an operator
   * page is open; one round at a time, none while no page is open.
   */
  operatorPollIntervalMs: 1_000,
  /** Storage nodes one round asks (the nodes the gateway learns of past it are not shown). */
  operatorNodesMax: 64,
  /** Characters an operator token must have at least (it guards the cluster's addresses and load). */
  operatorTokenLengthMin: 16,
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
  limits.itemsPerListDecodeMax >= 4 * limits.itemsPerListMax &&
    limits.encodedListBytesMax >= 4 * limits.listBytesWriteMax,
  'joins of writes taken unaware of each other (up to four) must still decode',
);
check(
  limits.clientRequestsInFlightMax * 10 <= limits.pendingRequestsMax,
  "one client may take at most a tenth of a node's request table",
);
check(
  limits.gatewayRequestsInFlightMax <= limits.clientRequestsInFlightMax,
  'a proxy must let a gateway have in flight what one browser may',
);
check(
  limits.watchedListsMax * 10 <= limits.watchesPerProxyMax,
  "one client's watches must be a small share of a proxy's table",
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
  limits.operatorPollIntervalMs >= 1_000 && limits.operatorConnectionsMax <= 16,
  'the operator page asks the cluster at most once a second, for a few pages at most',
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
  /**
   * Keys whose ring position a process remembers (position.ts): a write's key is hashed by the
   * coordinator and by each replica, and a watched list's again on every write; ~100 bytes each.
   */
  keyPositionsCachedMax: 4_096,
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
