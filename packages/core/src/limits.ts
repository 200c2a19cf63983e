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
