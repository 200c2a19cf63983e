// Key positions and partitions (Dynamo §4.2, §6.2): positions are the MD5 of the key's UTF-8 bytes
// as a big-endian 128-bit integer — the same number node:crypto gives, so any other implementation
// can place keys where we do — and partitions cut the ring into Q equal, contiguous ranges.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrolleyError } from '../errors.ts';
import { chooseSeed } from '../testing/arbitraries.ts';
import { isNodeId, parseNodeId } from './node-id.ts';
import {
  checkPartitionCount,
  keyPosition,
  partitionOf,
  partitionOfPosition,
  partitionStart,
} from './position.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 500);

const nodeMd5 = (key: string): bigint =>
  BigInt('0x' + createHash('md5').update(Buffer.from(key, 'utf8')).digest('hex'));

describe('keyPosition', () => {
  it('is MD5 of the UTF-8 key as a big-endian integer, as node:crypto computes it', () => {
    expect(keyPosition('')).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    expect(keyPosition('The quick brown fox jumps over the lazy dog')).toBe(
      0x9e107d9d372bb6826bd81d3542a419d6n,
    );
    // A lone surrogate is U+FFFD in both encoders.
    expect(keyPosition('a\ud800b')).toBe(nodeMd5('a\ud800b'));
    const keyArb = fc.oneof(
      fc.uuid(),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
    );
    fc.assert(
      fc.property(keyArb, (key) => keyPosition(key) === nodeMd5(key)),
      { seed, numRuns: runs },
    );
    console.log(`ring: MD5 positions equal node:crypto's for ${runs} random keys; seed ${seed}`);
  });
});

describe('partitions', () => {
  it('partitionOf is floor(position · Q / 2^128) and partitions are contiguous ranges', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 1, max: 65_536 }),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        (key, q, position) => {
          const p = partitionOf(key, q);
          expect(p).toBe(Number((keyPosition(key) * BigInt(q)) / (1n << 128n)));
          expect(p >= 0 && p < q).toBe(true);
          const at = partitionOfPosition(position, q);
          // position lies in [start(at), start(at + 1))
          expect(partitionStart(at, q) <= position).toBe(true);
          if (at + 1 < q) expect(position < partitionStart(at + 1, q)).toBe(true);
          expect(partitionOfPosition(partitionStart(at, q), q)).toBe(at);
          if (at > 0) expect(partitionOfPosition(partitionStart(at, q) - 1n, q)).toBe(at - 1);
        },
      ),
      { seed, numRuns: runs },
    );
    console.log(
      `ring: partition ranges exact at their edges for ${runs} random Q and positions; seed ${seed}`,
    );
  });

  it('uses Q = 1024 by default and refuses Q outside 1..65536', () => {
    expect(partitionOf('x')).toBe(partitionOf('x', 1024));
    expect(partitionOf('x', 1)).toBe(0);
    for (const bad of [0, -1, 1.5, 65_537, Number.NaN])
      expect(() => checkPartitionCount(bad)).toThrow(TrolleyError);
    expect(() => partitionOfPosition(1n << 128n, 8)).toThrow(TrolleyError);
    expect(() => partitionOfPosition(-1n, 8)).toThrow(TrolleyError);
    expect(() => partitionStart(8, 8)).toThrow(TrolleyError);
  });
});

describe('node IDs', () => {
  it('accepts 1 to 64 of A-Z a-z 0-9 _ . - and refuses anything else', () => {
    for (const good of ['a', 'cloud-1', 'eu-west.a_2', 'x'.repeat(64)]) expect(parseNodeId(good)).toBe(good);
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'é', 'a:1', ' a'])
      expect(() => parseNodeId(bad)).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }) as TrolleyError,
      );
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (text) => {
        expect(isNodeId(text)).toBe(/^[A-Za-z0-9_.-]{1,64}$/.test(text));
      }),
      { seed, numRuns: runs },
    );
  });
});
