// Parts of the list encoding that both versions share: section flags and bounded readers.

import { limits } from '../limits.ts';
import type { ReplicaTable } from '../crdt/dots.ts';
import { DecodeFailure, type Reader } from './bytes.ts';

export const FLAG_FULL = 1;
export const FLAG_TITLE = 2;
export const FLAG_DELETED = 4;
// Sections that are often empty in a delta are present only when their flag is set.
export const FLAG_VECTOR = 8;
export const FLAG_CLOUD = 16;
export const FLAG_ITEMS = 32;
export const FLAG_REMOVALS = 64;
export const FLAG_HORIZON = 128;
export const MASK_ALL = 0b11111;
// Control characters are refused in every user string, as in names.ts.
// eslint-disable-next-line no-control-regex
export const control = /[\u0000-\u001f\u007f-\u009f]/;

export function readVectorInto(r: Reader, table: ReplicaTable, vv: number[], nonEmpty = false): void {
  const n = r.count(table.size, 'version-vector entries', 2);
  if (nonEmpty && n === 0) r.fail('an empty vector under its flag');
  for (let i = 0; i < n; i++) {
    const rep = r.varint();
    if (rep >= table.size) r.fail('replica index outside the table');
    if ((vv[rep] ?? 0) > 0) r.fail('a replica appears twice in a vector');
    const c = r.varint();
    if (c < 1 || c > limits.dotCounterMax) r.fail('vector counter out of range');
    vv[rep] = c;
  }
}

export function readText(r: Reader, lengthMax: number, allowEmpty: boolean): string {
  const s = r.string(lengthMax * 4);
  if (s.length > lengthMax)
    throw new DecodeFailure('limit_exceeded', `text of ${s.length} characters; the limit is ${lengthMax}`);
  if (!allowEmpty && s.length === 0) r.fail('empty text');
  if (control.test(s)) r.fail('control characters in text');
  return s;
}

export function readAmount(r: Reader, min: number): number {
  const v = r.varint();
  if (v < min || v > limits.counterValueMax) r.fail('quantity out of range');
  return v;
}
