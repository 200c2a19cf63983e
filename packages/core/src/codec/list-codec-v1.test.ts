// Old stores still open: bytes written by list encoding version 1 decode to exactly the docs that
// wrote them, re-encode as version 2, and bad version 1 input still fails with a typed error.

import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  RemovalLog,
  decodeList,
  encodeList,
  listView,
  type ListDoc,
  type ReplicaId,
} from '../index.ts';
import { canonical } from '../testing/canonical.ts';
import { v1Deltas, v1State } from './v1-fixtures.ts';

/** The history the fixture bytes were captured from (do not change: the bytes are frozen). */
function fixtureHistory(): { state: ListDoc; deltas: ListDoc[] } {
  const a = new ListReplica('alice-phone' as ReplicaId);
  const b = new ListReplica('w-Bob0123456789abcdefghij' as ReplicaId);
  const deltas: ListDoc[] = [];
  deltas.push(a.rename('Weekend shop'));
  deltas.push(a.addItem('Oat Milk', 2, 'the blue carton'));
  deltas.push(a.addItem('ripe bananas', 6));
  b.apply(a.state);
  deltas.push(b.addItem('Free Range Eggs 6-pack', 1));
  deltas.push(b.buy('oat milk', 1));
  deltas.push(a.setWanted('Ripe Bananas', 4));
  deltas.push(a.increaseWanted('ripe bananas', 2));
  for (let i = 0; i < 300; i++) {
    deltas.push(a.removeItem('ripe bananas'));
    deltas.push(a.addItem('Ripe  Bananas', 1 + (i % 3)));
  }
  deltas.push(a.addItem('Crème fraîche', 1));
  deltas.push(a.addItem('ÇA VA', 1));
  a.apply(b.state);
  deltas.push(a.uncheck('Oat milk'));
  deltas.push(b.removeItem('free range eggs 6-pack'));
  a.apply(b.state);
  deltas.push(a.decreaseWanted('oat milk', 1));
  return { state: a.state, deltas };
}

const bytesOf = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

function decoded(hex: string): ListDoc {
  const result = decodeList(bytesOf(hex));
  if (!result.ok) throw result.error;
  return result.value;
}

describe('list encoding version 1 (old stores)', () => {
  it('decodes a stored version 1 state to the state that wrote it, and re-encodes it as version 2', () => {
    const { state } = fixtureHistory();
    // The version 1 writer kept 256 removal records (the limit then; now 1,024): the same history
    // keeps the top 256 of the same records under that limit, and that horizon.
    const kept = new RemovalLog(state.replicas, 256);
    for (const [d, key] of state.removals.records) kept.add(d, key);
    state.removals.records.clear();
    for (const [d, key] of kept.records) state.removals.records.set(d, key);
    kept.horizon.forEach((c, r) => (state.removals.horizon[r] = c));
    const bytes = bytesOf(v1State);
    expect(bytes[0]).toBe(1);
    const doc = decoded(v1State);
    expect(canonical(doc)).toBe(canonical(state));
    expect(doc.removals.horizon.some((c) => c > 0)).toBe(true);
    expect(listView(doc)).toMatchObject({
      title: 'Weekend shop',
      items: [
        { key: 'crème fraîche', name: 'Crème fraîche', wanted: 1 },
        { key: 'oat milk', name: 'Oat Milk', wanted: 1, bought: 0, note: 'the blue carton' },
        { key: 'ripe bananas', name: 'Ripe Bananas', wanted: 3 },
        { key: 'ça va', name: 'ÇA VA', wanted: 1 },
      ],
    });
    const v2 = encodeList(doc);
    expect(v2[0]).toBe(2);
    expect(v2.length).toBeLessThan(bytes.length);
    expect(encodeList(state)).toEqual(v2);
  });

  it('decodes stored version 1 deltas to the deltas that were made', () => {
    const { deltas } = fixtureHistory();
    const made = [deltas[1], deltas[5], deltas[7], deltas.at(-3), deltas.at(-1)] as ListDoc[];
    v1Deltas.forEach((hex, i) => expect(canonical(decoded(hex))).toBe(canonical(made[i] as ListDoc)));
  });

  it('refuses truncated and corrupted version 1 bytes with a typed error', () => {
    const bytes = bytesOf(v1State);
    for (let cut = 0; cut < bytes.length; cut += 7) {
      const r = decodeList(bytes.subarray(0, cut));
      expect(r.ok).toBe(false);
    }
    const trailing = decodeList(Uint8Array.from([...bytes, 0]));
    expect(trailing).toMatchObject({ ok: false, error: { code: 'decode_malformed' } });
    // A non-normalised key in version 1 (keys are plain strings there).
    const upper = bytesOf(v1State.replace('6f6174206d696c6b', '4f4154204d494c4b'));
    expect(decodeList(upper)).toMatchObject({ ok: false, error: { code: 'decode_malformed' } });
  });
});
