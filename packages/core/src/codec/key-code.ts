// Compact strings for the list encoding (version 2): replica IDs packed 6 bits a character, and
// item keys as a static canonical Huffman code over their UTF-8 bytes.
//
// Replica IDs use the base64url alphabet only (ids.ts), so each character is one of 64 digits.
// Item keys are lower-case names ("ripe bananas 1kg"): a fixed code, built once from the byte
// weights below (English letter frequencies, space, digits; every other byte weight 1), spends
// about 4.4 bits a character instead of 8. The code is part of the protocol: the weights and the
// construction (docs/PROTOCOL.md §4.2) must never change, or stored lists stop decoding.

import { assert } from '../errors.ts';
import type { Reader, Writer } from './bytes.ts';

// ---- replica IDs: 6 bits a character ---------------------------------------------------------------

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const digitOf = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) digitOf[alphabet.charCodeAt(i)] = i;

/** Writes a replica ID (base64url characters only): its length, then 6 bits a character, MSB first. */
export function writePackedId(w: Writer, id: string): void {
  w.varint(id.length);
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < id.length; i++) {
    const v = digitOf[id.charCodeAt(i)] ?? -1;
    assert(v >= 0, 'a replica ID of base64url characters');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      w.u8((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) w.u8((acc << (8 - bits)) & 0xff);
}

/** Reads what writePackedId wrote; the padding bits must be zero. */
export function readPackedId(r: Reader, lengthMax: number): string {
  const n = r.varint();
  if (n === 0 || n > lengthMax) r.fail('a replica ID of bad length');
  if (Math.ceil((n * 6) / 8) > r.left) r.fail('a replica ID past the end');
  let s = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    if (bits < 6) {
      acc = ((acc << 8) | r.u8()) & 0xffff;
      bits += 8;
    }
    bits -= 6;
    s += alphabet[(acc >> bits) & 63];
  }
  if ((acc & ((1 << bits) - 1)) !== 0) r.fail('non-zero padding in a replica ID');
  return s;
}

// ---- item keys: a static canonical Huffman code over bytes ---------------------------------------

/** Weights of byte values; all others weigh 1. Part of the protocol: never change. */
const weightsText =
  ' 1800 e 1270 t 910 a 820 o 750 i 700 n 670 s 630 h 610 r 600 d 430 l 400 c 280 u 280 m 240 ' +
  'w 240 f 220 g 200 y 200 p 190 b 150 v 100 k 80 j 20 x 20 q 10 z 10 0 150 1 150 2 150 3 150 ' +
  '4 150 5 150 6 150 7 150 8 150 9 150 . 60 - 60 \u0027 30 , 20 & 20 / 20 ( 10 ) 10 % 10';

interface Code {
  /** Code length per byte value (bits). */
  readonly length: Uint8Array;
  /** Code per byte value, right-aligned in `length` bits. */
  readonly code: Uint32Array;
  /** Codes per length (index = length), for canonical decoding. */
  readonly counts: Uint16Array;
  /** Byte values ordered by (length, value). */
  readonly symbols: Uint8Array;
  readonly maxLength: number;
  readonly minLength: number;
}

function buildCode(): Code {
  const weight = new Array<number>(256).fill(1);
  const parts = weightsText.split(' ');
  // The text is pairs "char weight", the first char being a space (so the string starts with one).
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const ch = parts[i] === '' ? ' ' : (parts[i] as string);
    weight[ch.charCodeAt(0)] = Number(parts[i + 1]);
  }
  // Huffman: repeatedly join the two lightest nodes; ties go to the lower id (leaves are 0–255,
  // joined nodes 256, 257, … in order of making), so the lengths are one fixed function of the weights.
  const parent = new Array<number>(511).fill(-1);
  const byOrder = (a: { w: number; id: number }, b: { w: number; id: number }): number =>
    a.w - b.w || a.id - b.id;
  const live = weight.map((w, id) => ({ w, id })).sort(byOrder);
  let next = 256;
  while (live.length > 1) {
    const [x, y] = live.splice(0, 2) as [{ w: number; id: number }, { w: number; id: number }];
    parent[x.id] = next;
    parent[y.id] = next;
    const node = { w: x.w + y.w, id: next++ };
    // After every node that orders before it (binary search: `live` is sorted; a linear scan here
    // cost ~10 ms at every start of the web app on a phone).
    let lo = 0;
    let hi = live.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byOrder(live[mid] as { w: number; id: number }, node) > 0) hi = mid;
      else lo = mid + 1;
    }
    live.splice(lo, 0, node);
  }
  const length = new Uint8Array(256);
  for (let s = 0; s < 256; s++) {
    let depth = 0;
    for (let n = s; parent[n] !== -1; n = parent[n] as number) depth++;
    length[s] = depth;
  }
  const symbols = Uint8Array.from([...Array(256).keys()].sort((a, b) => length[a]! - length[b]! || a - b));
  const maxLength = length[symbols[255] as number] as number;
  const minLength = length[symbols[0] as number] as number;
  assert(maxLength <= 24, 'key code lengths fit the bit reader');
  const counts = new Uint16Array(maxLength + 1);
  for (let s = 0; s < 256; s++) counts[length[s] as number]!++;
  // Canonical codes: in (length, value) order, each the previous plus one, shifted left as lengths grow.
  const code = new Uint32Array(256);
  let c = 0;
  let len = minLength;
  for (const s of symbols) {
    while ((length[s] as number) > len) {
      c <<= 1;
      len++;
    }
    code[s] = c++;
  }
  return { length, code, counts, symbols, maxLength, minLength };
}

const keyCode = buildCode();

/** Writes `n` bytes of `bytes`: their count, then their codes, MSB first, zero-padded to a byte. */
export function writeCoded(w: Writer, bytes: Uint8Array, from: number, to: number): void {
  w.varint(to - from);
  let acc = 0;
  let bits = 0;
  for (let i = from; i < to; i++) {
    const s = bytes[i] as number;
    const len = keyCode.length[s] as number;
    acc = (acc << len) | (keyCode.code[s] as number);
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      w.u8((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) w.u8((acc << (8 - bits)) & 0xff);
}

/** Reads what writeCoded wrote into `into` at `at`; returns the new end. Padding must be zero. */
export function readCoded(r: Reader, into: Uint8Array, at: number): number {
  const n = r.varint();
  if (at + n > into.length) r.fail('a coded string too long');
  if (Math.ceil((n * keyCode.minLength) / 8) > r.left) r.fail('a coded string past the end');
  const { counts, symbols, maxLength } = keyCode;
  let byte = 0;
  let bitsLeft = 0;
  for (let i = 0; i < n; i++) {
    // Canonical decoding (as zlib's puff.c): codes of each length follow those of the last.
    let code = 0;
    let first = 0;
    let index = 0;
    let len = 1;
    for (; len <= maxLength; len++) {
      if (bitsLeft === 0) {
        byte = r.u8();
        bitsLeft = 8;
      }
      bitsLeft--;
      code |= (byte >> bitsLeft) & 1;
      const count = counts[len] as number;
      if (code - first < count) {
        into[at + i] = symbols[index + code - first] as number;
        break;
      }
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    if (len > maxLength) r.fail('an invalid code');
  }
  if ((byte & ((1 << bitsLeft) - 1)) !== 0) r.fail('non-zero padding in a coded string');
  return at + n;
}
