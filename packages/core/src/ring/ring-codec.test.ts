// The ring's encoding (ring-codec.ts): every ring round-trips, the encoding is canonical (bytes
// that decode re-encode to themselves), and no input — random, truncated, bit-flipped — makes the
// decoder throw or hang: each gives a typed error.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrolleyError } from '../errors.ts';
import { chooseSeed } from '../testing/arbitraries.ts';
import { parseNodeId } from './node-id.ts';
import { createRing, rebalance, ringProblem, type RingNode, type RingState } from './ring.ts';
import { decodeRing, encodeRing, RING_ENCODING_VERSION } from './ring-codec.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 200);
const decodeCodes = new Set(['decode_truncated', 'decode_version', 'decode_malformed', 'limit_exceeded']);

const idArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/).map(parseNodeId);
const nodesArb = fc.uniqueArray(fc.record({ id: idArb, weight: fc.integer({ min: 1, max: 1000 }) }), {
  minLength: 1,
  maxLength: 40,
  selector: (n) => n.id,
});
const ringArb: fc.Arbitrary<RingState> = fc
  .record({ nodes: nodesArb, q: fc.integer({ min: 40, max: 3000 }), more: nodesArb })
  .map(({ nodes, q, more }) => {
    const ring = createRing(nodes, { partitionCount: q });
    const next = [...nodes.slice(1), ...more.filter((m) => !nodes.some((n) => n.id === m.id))];
    return next.length > 0 && next.length <= q ? rebalance(ring, next) : ring;
  });

function expectTypedOrCanonical(bytes: Uint8Array): 'ok' | 'error' {
  const result = decodeRing(bytes);
  if (result.ok) {
    expect(ringProblem(result.value)).toBeUndefined();
    expect(encodeRing(result.value)).toEqual(bytes);
    return 'ok';
  }
  expect(result.error).toBeInstanceOf(TrolleyError);
  expect(decodeCodes.has(result.error.code)).toBe(true);
  return 'error';
}

describe('ring encoding', () => {
  it('round-trips every ring', () => {
    fc.assert(
      fc.property(ringArb, (ring) => {
        const decoded = decodeRing(encodeRing(ring));
        expect(decoded).toEqual({ ok: true, value: ring });
      }),
      { seed, numRuns: runs },
    );
    const one = createRing([{ id: parseNodeId('solo'), weight: 1 }], { partitionCount: 1 });
    expect(decodeRing(encodeRing(one))).toEqual({ ok: true, value: one });
    const wide = createRing(
      Array.from({ length: 300 }, (_, i) => ({ id: parseNodeId(`node-${i}`), weight: 1 + (i % 7) })),
      { partitionCount: 65_536 },
    );
    expect(decodeRing(encodeRing(wide))).toEqual({ ok: true, value: wide });
    const twenty = createRing(
      Array.from({ length: 20 }, (_, i) => ({ id: parseNodeId(`node-${i}`), weight: 1 })),
    );
    const size = encodeRing(twenty).length;
    expect(size).toBeLessThan(1024);
    console.log(
      `ring: encode/decode round-trips ${runs} random rings (+1 and 300 nodes); ` +
        `20 nodes at Q = 1024 encode in ${size} bytes; seed ${seed}`,
    );
  });

  it('gives a typed error, never a throw, for random, truncated and bit-flipped bytes', () => {
    const tally = { ok: 0, error: 0 };
    fc.assert(
      fc.property(
        ringArb,
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        (ring, random, cut, flips) => {
          const bytes = encodeRing(ring);
          tally[expectTypedOrCanonical(random)]++;
          tally[expectTypedOrCanonical(Uint8Array.of(RING_ENCODING_VERSION, ...random))]++;
          tally[expectTypedOrCanonical(bytes.subarray(0, cut % bytes.length))]++;
          const flipped = bytes.slice();
          for (const f of flips) {
            const bit = f % (flipped.length * 8);
            flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
          }
          tally[expectTypedOrCanonical(flipped)]++;
          tally[expectTypedOrCanonical(Uint8Array.of(...bytes, 0))]++;
        },
      ),
      { seed, numRuns: runs * 2 },
    );
    console.log(
      `ring: decoder fuzz ${tally.ok + tally.error} inputs (random, truncated, bit-flipped, trailing): ` +
        `${tally.error} typed errors, ${tally.ok} valid canonical rings, no throw; seed ${seed}`,
    );
  });

  it('names what is wrong', () => {
    const ring = createRing(
      ['a', 'b', 'c'].map((id): RingNode => ({ id: parseNodeId(id), weight: 1 })),
      { partitionCount: 8 },
    );
    const bytes = encodeRing(ring);
    const code = (b: Uint8Array): string => {
      const r = decodeRing(b);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(new Uint8Array())).toBe('decode_truncated');
    expect(code(Uint8Array.of(2, ...bytes.subarray(1)))).toBe('decode_version');
    expect(code(bytes.subarray(0, bytes.length - 1))).toBe('decode_truncated');
    expect(code(Uint8Array.of(...bytes, 0))).toBe('decode_malformed');
    // version 1, ring version 1, 65537 partitions
    expect(code(Uint8Array.of(1, 1, 0x81, 0x80, 0x04))).toBe('limit_exceeded');
    // a second node with the first node's ID
    const dup = { ...ring, nodes: [ring.nodes[0] as RingNode, ring.nodes[0] as RingNode] };
    expect(() => encodeRing(dup)).toThrow(TrolleyError);
    expect(code(new Uint8Array(9 * 1024 * 1024))).toBe('limit_exceeded');
    // an owner index past the table: 3 nodes take 2 bits; 0b11 is index 3
    const bad = bytes.slice();
    bad[bad.length - 1] = 0xff;
    expect(code(bad)).toBe('decode_malformed');
  });
});
