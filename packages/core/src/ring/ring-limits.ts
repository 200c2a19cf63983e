// Limits of the partitioned ring (Dynamo §6.2, strategy 3), with the relationships between them
// asserted below, as limits.ts does for the list (STYLE.md habit 8). They bound what createRing,
// rebalance and decodeRing accept; the decoder checks every count against them.

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

// Relationships between limits.
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`ring-limits.ts is inconsistent: ${what}`);
}
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
