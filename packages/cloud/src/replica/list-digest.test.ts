import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ListDoc,
  ListReplica,
  decodeList,
  encodeList,
  hexOf,
  limits,
  md5,
  merge,
  type ReplicaId,
} from '@trolley/core';
import { opArb, chooseSeed } from '@trolley/core/testing/arbitraries';
import { performOp } from '@trolley/core/testing/subjects';
import { ListDigest, listDigest } from './list-digest.ts';

const seed = chooseSeed(process.env.FC_SEED, Date.now() ^ (Math.random() * 2 ** 31));
const runs = Number(process.env.FC_RUNS ?? 150);

/** A delta as a replica receives it: through the codec, so its replica table is its own. */
const wire = (doc: ListDoc): ListDoc => {
  const d = decodeList(encodeList(doc));
  if (!d.ok) throw d.error;
  return d.value;
};

/** A server copy that keeps its digest up to date the way the replica does. */
class Copy {
  readonly state = ListDoc.empty();
  readonly digest = ListDigest.of(this.state, md5);
  join(delta: ListDoc): void {
    merge(this.state, delta);
    this.digest.update(this.state, delta);
  }
  get value(): string {
    return hexOf(this.digest.value(this.state));
  }
}

const stepsArb = fc.array(
  fc.record({ at: fc.nat({ max: 2 }), op: opArb, full: fc.boolean(), shared: fc.boolean() }),
  { minLength: 1, maxLength: 40 },
);

describe('ListDigest', () => {
  it(`is kept equal to the digest from scratch, and equal states agree whatever the order they were reached in (seed ${seed})`, () => {
    fc.assert(
      fc.property(stepsArb, fc.nat(), (steps, shuffle) => {
        const writers = [0, 1, 2].map((i) => new ListReplica(`writer-${i}` as ReplicaId));
        // Two of the writers record history (each change an entry), so the entries' sum is covered.
        let clock = 1_700_000_000_000;
        for (const i of [0, 1]) (writers[i] as ListReplica).author = { name: `W${i}`, nowMs: () => clock++ };
        const inOrder = new Copy();
        const deltas: ListDoc[] = [];
        let last = inOrder.value;
        for (const { at, op, full, shared } of steps) {
          const writer = writers[at] as ListReplica;
          let made: ListDoc;
          try {
            made = performOp(writer, op);
          } catch {
            continue; // an operation on an item this writer does not have
          }
          // Now and then a writer's whole state arrives instead of its delta (repair, transfer).
          const delta = wire(full && at === 1 ? writer.state : made);
          // Some changes reach the other writers at once, so they change the same items.
          if (shared) for (const w of writers) if (w !== writer) w.apply(wire(made));
          deltas.push(delta);
          const before = encodeList(inOrder.state);
          inOrder.join(delta);
          const now = inOrder.value;
          expect(now).toBe(hexOf(listDigest(inOrder.state, md5)));
          // The digest names the state: it moves exactly when the canonical encoding does.
          expect(now === last).toBe(Buffer.from(before).equals(Buffer.from(encodeList(inOrder.state))));
          last = now;
        }
        // Another replica receives the same deltas in another order, each twice.
        const other = new Copy();
        const order = deltas
          .map((d, i) => ({ d, k: (i * 7919 + shuffle) % 104729 }))
          .sort((a, b) => a.k - b.k);
        for (const { d } of [...order, ...order]) other.join(d);
        expect(encodeList(other.state)).toEqual(encodeList(inOrder.state));
        expect(other.value).toBe(inOrder.value);
      }),
      { seed, numRuns: runs },
    );
  });

  it('counts removal records as they are pruned past the limit', () => {
    const writer = new ListReplica('writer-0' as ReplicaId);
    const copy = new Copy();
    for (let i = 0; i < limits.removalRecordsMax + 40; i++) {
      copy.join(wire(writer.addItem(`item ${i % 7}`, 1)));
      copy.join(wire(writer.removeItem(`item ${i % 7}`)));
    }
    expect(copy.state.removals.size).toBe(limits.removalRecordsMax);
    expect(copy.value).toBe(hexOf(listDigest(copy.state, md5)));
  });

  it('counts history entries as they are pruned past the limit, two writers with equal seqs included', () => {
    const writers = [0, 1].map((i) => {
      const w = new ListReplica(`writer-${i}` as ReplicaId);
      w.author = { name: `W${i}`, nowMs: () => 1_700_000_000_000 + i };
      return w;
    });
    const copy = new Copy();
    for (let i = 0; i < limits.historyEntriesMax + 60; i++) {
      // Each writer makes a change without seeing the other's: their entries share a seq, and the
      // keep order falls to the writers' names.
      const made = writers.map((w, k) => wire(w.addItem(`item ${k} ${i % 5}`, 1)));
      for (const d of made) copy.join(d);
      (writers[0] as ListReplica).apply(made[1] as ListDoc);
      (writers[1] as ListReplica).apply(made[0] as ListDoc);
      expect(copy.value).toBe(hexOf(listDigest(copy.state, md5)));
    }
    expect(copy.state.journal.size).toBe(limits.historyEntriesMax);
  });

  it('costs what a write changes: one item of a large list is hashed, not the list', () => {
    const writer = new ListReplica('writer-0' as ReplicaId);
    const copy = new Copy();
    for (let i = 0; i < 500; i++) copy.join(wire(writer.addItem(`item ${i}`, 1)));
    let hashed = 0;
    const counting = (b: Uint8Array | string): Uint8Array => {
      hashed += b.length;
      return md5(b);
    };
    const digest = ListDigest.of(copy.state, counting);
    digest.value(copy.state);
    const whole = hashed;
    hashed = 0;
    const delta = wire(writer.buy('item 250', 1));
    merge(copy.state, delta);
    digest.update(copy.state, delta);
    expect(hexOf(digest.value(copy.state))).toBe(hexOf(listDigest(copy.state, md5)));
    expect(hashed).toBeLessThan(whole / 50);

    // A whole state joined (a repair, a transfer) that changes one item hashes that item only.
    hashed = 0;
    const other = wire(copy.state);
    merge(other, wire(writer.buy('item 10', 1)));
    merge(copy.state, other);
    digest.update(copy.state, other);
    expect(hexOf(digest.value(copy.state))).toBe(hexOf(listDigest(copy.state, md5)));
    expect(hashed).toBeLessThan(whole / 50);
  });
});
