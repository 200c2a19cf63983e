// MD5, for ring positions (Dynamo §4.2) and state digests. Not for security: list IDs are
// unguessable because they are random, not because of this hash.

import { md5 as md5lib } from 'js-md5';

export function md5(bytes: Uint8Array | string): Uint8Array {
  return new Uint8Array(md5lib.arrayBuffer(bytes));
}

export function hashEquals(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * How a list ID appears in logs: the first 8 hex digits of its MD5. A list ID is the key to its
 * list (whoever has it may read and change the list), so it is never logged in clear; this is
 * enough to follow one list through the logs of every process, and cannot be turned back into the
 * ID.
 */
export function listIdForLog(listId: string): string {
  return hexOf(md5(listId).subarray(0, 4));
}

/** Bytes as lower-case hex, two digits each. */
export function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
