// Merkle trees for anti-entropy (Dynamo §4.7): one tree per partition over (key, state hash).
// Two levels are enough at our partition sizes: the root hashes `buckets` bucket hashes, and a
// bucket hashes the sorted (key, hash) entries whose key falls in it. Replicas compare roots; when
// they differ they compare buckets, and only for differing buckets do they exchange keys.

import { md5 } from '@trolley/core';

export const merkleBuckets = 16;

export interface MerkleEntry {
  key: string;
  hash: Uint8Array;
}

export interface MerkleTree {
  root: Uint8Array;
  buckets: Uint8Array[];
}

/** The bucket of a key: from its last hex digit (list IDs are random UUIDs). */
export function bucketOf(key: string): number {
  return parseInt(key.charAt(key.length - 1), 16) % merkleBuckets;
}

const encoder = new TextEncoder();

/** Builds the tree of a partition from its entries (any order), hashing with `digest` (MD5). */
export function merkleTree(
  entries: readonly MerkleEntry[],
  digest: (bytes: Uint8Array) => Uint8Array = md5,
): MerkleTree {
  const perBucket: MerkleEntry[][] = Array.from({ length: merkleBuckets }, () => []);
  for (const e of entries) perBucket[bucketOf(e.key)]?.push(e);
  const buckets = perBucket.map((list) => {
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const bytes = new Uint8Array(list.length * 52);
    let at = 0;
    for (const e of list) {
      bytes.set(encoder.encode(e.key.padEnd(36, ' ').slice(0, 36)), at);
      bytes.set(e.hash.subarray(0, 16), at + 36);
      at += 52;
    }
    return digest(bytes.subarray(0, at));
  });
  const all = new Uint8Array(merkleBuckets * 16);
  buckets.forEach((b, i) => all.set(b, i * 16));
  return { root: digest(all), buckets };
}

/** Indices of buckets whose hashes differ. */
export function differingBuckets(a: readonly Uint8Array[], b: readonly Uint8Array[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < merkleBuckets; i++) if (!same(a[i], b[i])) out.push(i);
  return out;
}

export function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
