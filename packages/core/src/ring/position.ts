// Key positions on the ring and the fixed partitions that cut it (Dynamo §4.2 and §6.2,
// strategy 3). A key — a list ID — is hashed with MD5 to a 128-bit position, as Dynamo does; the
// ring [0, 2^128) is split into Q equal partitions, and partition p holds the positions
// [p·2^128/Q, (p+1)·2^128/Q). Partitions never move on the ring; only their owners change.

import { md5 } from 'js-md5';
import { TrolleyError } from '../errors.ts';
import { ringLimits } from './ring-limits.ts';

const encoder = new TextEncoder();
const RING_BITS = 128n;
const RING_SIZE = 1n << RING_BITS;
/** Positions of the keys hashed lately (keyPosition). */
const recent = new Map<string, bigint>();

/**
 * MD5 of the key's UTF-8 bytes, read as a big-endian unsigned 128-bit integer. The key is encoded
 * with TextEncoder (lone surrogates become U+FFFD) so that Node and browsers agree on every string.
 */
export function keyPosition(key: string): bigint {
  const known = recent.get(key);
  if (known !== undefined) return known;
  const digest = new Uint8Array(md5.arrayBuffer(encoder.encode(key)));
  let position = 0n;
  for (const byte of digest) position = (position << 8n) | BigInt(byte);
  // A pure function of the key, remembered for the keys in use (a hash in JS and 16 BigInt steps
  // were a tenth of a replica write's CPU): forgotten all at once when full, which keeps it O(1).
  if (recent.size >= ringLimits.keyPositionsCachedMax) recent.clear();
  recent.set(key, position);
  return position;
}

/** Throws unless Q is an integer in partitionCountMin..partitionCountMax. */
export function checkPartitionCount(partitionCount: number): void {
  if (
    !Number.isInteger(partitionCount) ||
    partitionCount < ringLimits.partitionCountMin ||
    partitionCount > ringLimits.partitionCountMax
  )
    throw new TrolleyError(
      'invalid_argument',
      `partition count ${partitionCount}: it must be an integer in ` +
        `${ringLimits.partitionCountMin}..${ringLimits.partitionCountMax}`,
    );
}

/** The partition holding a ring position: floor(position · Q / 2^128). */
export function partitionOfPosition(position: bigint, partitionCount: number): number {
  checkPartitionCount(partitionCount);
  if (position < 0n || position >= RING_SIZE)
    throw new TrolleyError('invalid_argument', `ring position ${position} is outside [0, 2^128)`);
  return Number((position * BigInt(partitionCount)) >> RING_BITS);
}

/** The partition holding a key. */
export function partitionOf(key: string, partitionCount: number = ringLimits.partitionCountDefault): number {
  return partitionOfPosition(keyPosition(key), partitionCount);
}

/** The first position of partition p: ceil(p · 2^128 / Q). */
export function partitionStart(partition: number, partitionCount: number): bigint {
  checkPartition(partition, partitionCount);
  const q = BigInt(partitionCount);
  return (BigInt(partition) * RING_SIZE + q - 1n) / q;
}

/** Throws unless Q is valid and the partition is an integer in 0..Q-1. */
export function checkPartition(partition: number, partitionCount: number): void {
  checkPartitionCount(partitionCount);
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount)
    throw new TrolleyError(
      'invalid_argument',
      `partition ${partition}: it must be an integer in 0..${partitionCount - 1}`,
    );
}
