// The codec: every doc round-trips, and no input — random, truncated, bit-flipped — crashes or
// hangs the decoder; each gives a typed error and changes nothing.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LIST_ENCODING_VERSION,
  ListDoc,
  ListReplica,
  TrolleyError,
  dot,
  decodeContext,
  decodeList,
  encodeContext,
  encodeList,
  limits,
  type ReplicaId,
} from '../index.ts';
import { chooseSeed, opArb } from '../testing/arbitraries.ts';
import { canonical } from '../testing/canonical.ts';
import { performOp } from '../testing/subjects.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 300);
const decodeCodes = new Set(['decode_truncated', 'decode_version', 'decode_malformed', 'limit_exceeded']);

/** A replica after some operations, and the deltas they made. */
const replicaArb = fc.array(opArb, { minLength: 1, maxLength: 30 }).map((ops) => {
  const a = new ListReplica('alice' as ReplicaId);
  const b = new ListReplica('bob-2' as ReplicaId);
  const deltas = [];
  for (const [i, op] of ops.entries()) {
    const r = i % 3 === 0 ? b : a;
    try {
      deltas.push(performOp(r, op));
    } catch {
      // refused: absent item
    }
    if (i % 5 === 0) a.apply(b.state);
  }
  return { replica: a, deltas };
});

function expectTypedFailure(result: ReturnType<typeof decodeList> | ReturnType<typeof decodeContext>): void {
  if (result.ok) return;
  expect(result.error).toBeInstanceOf(TrolleyError);
  expect(decodeCodes.has(result.error.code)).toBe(true);
}

describe('list codec', () => {
  it('round-trips states and deltas exactly', () => {
    fc.assert(
      fc.property(replicaArb, ({ replica, deltas }) => {
        for (const doc of [replica.state, ...deltas]) {
          const back = decodeList(encodeList(doc));
          if (!back.ok) throw back.error;
          expect(canonical(back.value)).toBe(canonical(doc));
        }
        const ctx = decodeContext(encodeContext(replica.state.ctx, replica.state.replicas));
        if (!ctx.ok) throw ctx.error;
        expect([...ctx.value.replicas.names].sort()).toEqual(
          replica.state.replicas.names.filter((_, i) => (replica.state.ctx.vv[i] ?? 0) > 0).sort(),
        );
      }),
      { seed, numRuns: runs },
    );
  });

  it('round-trips any item name: case masks, front-coded keys split inside a character, literal spellings, repeated record keys', () => {
    const word = fc.constantFrom(
      'oat',
      'Oat',
      'MILK',
      'ß',
      'İx',
      'ǆ',
      'ǅa',
      'x2',
      '1kg',
      'crème',
      'Ça',
      'ﬁne',
      'σς',
      'Σ',
      '😀b',
      '😁',
    );
    const nameArb = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
      fc.array(word, { minLength: 1, maxLength: 5 }).map((ws) => ws.join(' ')),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(nameArb, fc.boolean()), { minLength: 1, maxLength: 14 }), (names) => {
        const r = new ListReplica('w-Ann0123456789abcdefghij' as ReplicaId);
        const deltas = [];
        for (const [name, remove] of names) {
          try {
            deltas.push(r.addItem(name, 1));
            // removed twice: two records of a key no item holds (the second points at the first)
            if (remove) deltas.push(r.removeItem(name), r.addItem(name, 2), r.removeItem(name));
          } catch {
            // not a valid name
          }
        }
        for (const doc of [r.state, ...deltas]) {
          const bytes = encodeList(doc);
          const back = decodeList(bytes);
          if (!back.ok) throw back.error;
          expect(canonical(back.value)).toBe(canonical(doc));
          expect(encodeList(back.value)).toEqual(bytes);
        }
      }),
      { seed, numRuns: runs },
    );
  });

  it('writes version 2: a delta names its item and writer in few bytes', () => {
    const r = new ListReplica('w-Ann0123456789abcdefghij' as ReplicaId);
    r.addItem('Ripe Bananas 1kg', 2);
    const delta = encodeList(r.increaseWanted('ripe bananas 1kg', 1));
    expect(delta[0]).toBe(LIST_ENCODING_VERSION);
    expect(LIST_ENCODING_VERSION).toBe(2);
    // version, flags, table (1 + 1 + 19 bytes for 25 characters), one item: coded key (1 + 11
    // bytes for 16 characters), mask, one dot and its value. Version 1 took 54 bytes.
    expect(delta.length).toBeLessThanOrEqual(2 + 21 + 1 + 12 + 1 + 3 + 1);
    // The display name is the key with words capitalised: a one-byte mask, not the name again
    // (version 1: 89 bytes).
    const add = encodeList(r.addItem('Free Range Eggs 6-pack', 1));
    expect(add.length).toBeLessThanOrEqual(2 + 21 + 1 + 17 + 1 + 2 * 3 + 1);
  });

  it('an encoding that fails (a hand-built doc with an impossible key) leaves later encodings whole', () => {
    const r = new ListReplica('alice' as ReplicaId);
    r.addItem('Milk', 2);
    const before = encodeList(r.state);
    const forged = new ListDoc(false);
    const d = dot(forged.replicas.intern('alice'), 1);
    forged.ctx.add(d);
    forged.mention('é'.repeat(500)).wanted.set(d, 1); // 1,000 UTF-8 bytes: no valid key is that long
    expect(() => encodeList(forged)).toThrow();
    const after = encodeList(r.state);
    expect(after).toEqual(before);
    const back = decodeList(after);
    if (!back.ok) throw back.error;
    expect(canonical(back.value)).toBe(canonical(r.state));
  });

  it('refuses an unknown version, trailing bytes and a non-normalised key', () => {
    const r = new ListReplica('alice' as ReplicaId);
    r.addItem('Milk', 2);
    const bytes = encodeList(r.state);
    const wrongVersion = bytes.slice();
    wrongVersion[0] = 99;
    expect(decodeList(wrongVersion)).toMatchObject({ ok: false, error: { code: 'decode_version' } });
    expect(decodeList(new Uint8Array([...bytes, 0]))).toMatchObject({
      ok: false,
      error: { code: 'decode_malformed' },
    });
    // A doc built by hand with a key that is not in normal form encodes, but does not decode.
    const forged = new ListDoc(false);
    const d = dot(forged.replicas.intern('alice'), 1);
    forged.ctx.add(d);
    forged.mention('MILK').wanted.set(d, 1);
    expect(decodeList(encodeList(forged))).toMatchObject({ ok: false, error: { code: 'decode_malformed' } });
    forged.items.clear();
    forged.mention('milk').wanted.set(d, 1);
    expect(decodeList(encodeList(forged)).ok).toBe(true);
    expect(decodeList(new Uint8Array(limits.encodedListBytesMax + 1))).toMatchObject({
      ok: false,
      error: { code: 'limit_exceeded' },
    });
  });
});

describe('decoder fuzz', () => {
  it('random, truncated and bit-flipped inputs give a typed error and change nothing', () => {
    let inputs = 0;
    let accepted = 0;
    fc.assert(
      fc.property(
        replicaArb,
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 }),
        ({ replica }, random, flips) => {
          const target = new ListReplica('carol' as ReplicaId);
          target.addItem('Tea', 1);
          const before = canonical(target.state);
          const valid = encodeList(replica.state);
          const candidates: Uint8Array[] = [
            random,
            new Uint8Array([1, ...random]),
            new Uint8Array([2, ...random]),
          ];
          for (let cut = 0; cut < valid.length; cut += Math.max(1, Math.floor(valid.length / 16)))
            candidates.push(valid.subarray(0, cut));
          const flipped = valid.slice();
          for (const [at, bit] of flips)
            flipped[at % flipped.length] = (flipped[at % flipped.length] ?? 0) ^ (1 << bit);
          candidates.push(flipped);
          for (const bytes of candidates) {
            inputs++;
            const result = decodeList(bytes);
            expectTypedFailure(result);
            expectTypedFailure(decodeContext(bytes));
            if (result.ok) {
              // A flip can make another valid doc; joining it must still be safe.
              accepted++;
              const copy = new ListReplica('carol' as ReplicaId, target.state.clone());
              copy.apply(result.value);
              copy.view();
            }
          }
          // Truncations of a valid encoding are never accepted.
          for (let cut = 0; cut < valid.length; cut++)
            expect(decodeList(valid.subarray(0, cut)).ok).toBe(false);
          expect(canonical(target.state)).toBe(before);
        },
      ),
      { seed, numRuns: runs },
    );
    console.log(
      `decoder fuzz: crashes 0 of ${inputs} inputs (${accepted} bit-flips decoded to another valid doc); seed ${seed}`,
    );
  });
});
