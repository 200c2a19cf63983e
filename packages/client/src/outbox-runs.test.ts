// Which outbox entries may be joined into one push; the client tests run the rule end to end
// against the write check (trolley-client.test.ts, "never deadlocks…").

import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  encodeList,
  opIdFrom,
  writerIdOf,
  writerSecretBytes,
  type ListDoc,
} from '@trolley/core';
import { outboxRuns } from './outbox-runs.ts';
import type { OutboxEntry } from './ports.ts';

const alice = writerIdOf(new Uint8Array(writerSecretBytes).fill(1));
const bob = writerIdOf(new Uint8Array(writerSecretBytes).fill(2));
let n = 0;
const entry = (delta: ListDoc): OutboxEntry => ({
  opId: opIdFrom(new Uint8Array(16).fill(++n)),
  delta: encodeList(delta),
  createdMs: n,
});
const sizes = (entries: OutboxEntry[], bytesMax = Infinity): number[] =>
  outboxRuns(entries, alice, bytesMax).map((r) => r.entries.length);

describe('outbox runs', () => {
  it("joins a device's own changes; a claim of another device's change starts a run, a repeated one does not", () => {
    const a = new ListReplica(alice);
    const b = new ListReplica(bob);
    a.apply(b.addItem('Eggs', 1));
    const own1 = entry(a.addItem('Milk', 1));
    const own2 = entry(a.setWanted('milk', 2));
    const claim = entry(a.setWanted('eggs', 3)); // supersedes bob's quantity
    const again = entry(a.setWanted('eggs', 4)); // claims only what the run already claims
    const own3 = entry(a.addItem('Tea', 1));
    expect(sizes([own1, own2, claim, again, own3])).toEqual([2, 3]);
    // Bob's next change, once seen, is a new claim: a new run.
    a.apply(b.setWanted('eggs', 9));
    expect(sizes([own1, claim, entry(a.removeItem('eggs'))])).toEqual([1, 1, 1]);
  });

  it('sends a full state or bytes that do not decode alone, and keeps runs under the byte bound', () => {
    const a = new ListReplica(alice);
    const e1 = entry(a.addItem('Milk', 1));
    const full = entry(a.state);
    const bad: OutboxEntry = { ...entry(a.addItem('Tea', 1)), delta: new Uint8Array([0xff, 1]) };
    const e2 = entry(a.addItem('Jam', 1));
    const e3 = entry(a.addItem('Oats', 1));
    expect(sizes([e1, full, e2, bad, e2, e3])).toEqual([1, 1, 1, 1, 2]);
    expect(outboxRuns([e1, full], alice, Infinity).map((r) => r.doc === undefined)).toEqual([false, true]);
    expect(sizes([e1, e2, e3], e1.delta.length + e2.delta.length)).toEqual([2, 1]);
  });
});
