// Lists written in list encoding version 3 (the first encoding of the history) still open: they
// decode to exactly the docs that wrote them and re-encode as version 4, which says the same
// history in fewer bytes; bad version 4 history bytes fail with a typed error, never a crash.

import { describe, expect, it } from 'vitest';
import { ListReplica, decodeList, encodeList, type ListDoc, type ReplicaId } from '../index.ts';
import { canonical } from '../testing/canonical.ts';
import { v3Deltas, v3State } from './v3-fixtures.ts';

/** The history the fixture bytes were captured from (do not change: the bytes are frozen). */
function fixtureHistory(): { state: ListDoc; deltas: ListDoc[] } {
  let clock = Date.UTC(2026, 11, 6, 18, 30, 12, 345);
  const a = new ListReplica('ana-phone' as ReplicaId);
  const b = new ListReplica('w-Bruno0123456789abcdefgh' as ReplicaId);
  a.author = { name: 'Ana', nowMs: () => (clock += 61_234) };
  b.author = { name: 'Bruno Ç', nowMs: () => (clock += 7_001) };
  const deltas: ListDoc[] = [];
  deltas.push(a.rename('Groceries'));
  deltas.push(a.addItem('Oat Milk', 2, 'the blue carton'));
  deltas.push(a.addItem('ripe bananas', 6));
  b.apply(a.state);
  deltas.push(b.addItem('Crème fraîche', 1));
  deltas.push(b.buy('oat milk', 1));
  deltas.push(a.setWanted('Ripe Bananas', 4));
  deltas.push(a.setNote('oat milk', 'the green one'));
  a.apply(b.state);
  deltas.push(a.checkOff('oat milk'));
  deltas.push(a.uncheck('Oat milk'));
  deltas.push(b.removeItem('crème fraîche'));
  a.apply(b.state);
  deltas.push(a.undo().delta);
  for (let i = 0; i < 60; i++) {
    deltas.push(a.increaseWanted('ripe bananas', 1 + (i % 3)));
    deltas.push(b.addItem(`Item ${i}`, 1));
  }
  a.apply(b.state);
  deltas.push(a.decreaseWanted('ripe bananas', 2));
  deltas.push(a.rename('Weekend shop'));
  a.author = { name: '', nowMs: () => (clock += 1) };
  deltas.push(a.buy('Ripe bananas', 10));
  deltas.push(a.clearBought());
  a.author = { name: 'Ana', nowMs: () => (clock += 3_600_000) };
  deltas.push(a.deleteList());
  b.apply(a.state);
  deltas.push(b.undo().delta);
  a.apply(b.state);
  return { state: a.state, deltas };
}

const bytesOf = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

function decoded(bytes: Uint8Array): ListDoc {
  const result = decodeList(bytes);
  if (!result.ok) throw result.error;
  return result.value;
}

describe('list encoding version 3 (lists stored with history before version 4)', () => {
  it('decodes a stored state and its deltas to the docs that wrote them', () => {
    const { state, deltas } = fixtureHistory();
    const old = bytesOf(v3State);
    expect(old[0]).toBe(3);
    const back = decoded(old);
    expect(back.journal.size).toBe(100);
    expect(canonical(back)).toBe(canonical(state));
    expect(back.journal.newestFirst()).toEqual(state.journal.newestFirst());
    for (const [i, hex] of v3Deltas)
      expect(canonical(decoded(bytesOf(hex)))).toBe(canonical(deltas[i] as ListDoc));
  });

  it('re-encodes them as version 4: the same docs, in fewer bytes', () => {
    const old = bytesOf(v3State);
    const now = encodeList(decoded(old));
    expect(now[0]).toBe(4);
    expect(canonical(decoded(now))).toBe(canonical(decoded(old)));
    expect(now.length).toBeLessThan(old.length * 0.8);
    let before = 0;
    let after = 0;
    for (const [, hex] of v3Deltas) {
      const delta = bytesOf(hex);
      const again = encodeList(decoded(delta));
      expect(canonical(decoded(again))).toBe(canonical(decoded(delta)));
      before += delta.length;
      after += again.length;
    }
    expect(after).toBeLessThan(before);
    console.log(
      `history fixture: state ${old.length} → ${now.length} bytes, ${v3Deltas.length} deltas ${before} → ${after}`,
    );
  });
});

describe('list encoding version 4: the history section', () => {
  it('carries every field exactly: names not in word case, device names back and forth, far-apart clocks', () => {
    const a = new ListReplica('a' as ReplicaId);
    const b = new ListReplica('b' as ReplicaId);
    const clocks = [0, Number.MAX_SAFE_INTEGER, 1_800_000_000_000, 5];
    let tick = 0;
    const names = ['Ana', 'Ana Luísa 🛒', '', 'Ana'];
    const say = (r: ListReplica): void => {
      r.author = {
        name: names[tick % names.length] as string,
        nowMs: () => clocks[tick++ % clocks.length] as number,
      };
    };
    say(a);
    a.addItem('MILK', 2, 'semi');
    say(a);
    a.addItem('iPhone charger');
    say(a);
    a.addItem('Crème  Fraîche', 3);
    say(a);
    a.setWanted('milk', 7);
    b.apply(a.state);
    say(b);
    b.removeItem('iphone charger');
    say(b);
    b.rename('Ça va');
    a.apply(b.state);
    say(a);
    a.undo();
    say(a);
    a.clearBought();
    say(a);
    a.checkOff('crème fraîche');
    say(a);
    a.clearBought();
    say(a);
    a.deleteList();
    for (const doc of [a.state, b.state]) {
      const bytes = encodeList(doc);
      expect(bytes[0]).toBe(4);
      const back = decoded(bytes);
      expect(canonical(back)).toBe(canonical(doc));
      expect(back.journal.newestFirst()).toEqual(doc.journal.newestFirst());
      expect(encodeList(back)).toEqual(bytes);
    }
  });

  it('every truncation and every single-byte change of a stored history is a typed error or a valid doc', () => {
    const bytes = encodeList(decoded(bytesOf(v3State)));
    const start = bytes.length - 1_200; // the history section and what comes before it
    for (let cut = start; cut < bytes.length; cut++)
      expect(decodeList(bytes.subarray(0, cut)).ok).toBe(false);
    for (let i = start; i < bytes.length; i++)
      for (const v of [0, 1, 0x7f, 0xff, (bytes[i] as number) ^ 1]) {
        const bad = bytes.slice();
        bad[i] = v;
        const r = decodeList(bad);
        if (r.ok) expect(canonical(decoded(encodeList(r.value)))).toBe(canonical(r.value));
        else expect(r.error.code).toMatch(/^(decode_|limit_exceeded)/);
      }
  });
});
