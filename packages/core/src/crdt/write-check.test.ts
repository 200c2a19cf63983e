// The write check, rule by rule (the property test in packages/cloud runs it through the real
// coordinator among honest histories).

import { describe, expect, it } from 'vitest';
import { writerIdOf, writerSecretBytes, type ReplicaId } from '../ids.ts';
import { limits } from '../limits.ts';
import { dot } from './dots.ts';
import { ListDoc } from './list-doc.ts';
import { ListReplica } from './list-replica.ts';
import { checkWrite, knownFrom } from './write-check.ts';

const secret = (n: number): Uint8Array => new Uint8Array(writerSecretBytes).fill(n);
const alice = writerIdOf(secret(1));
const bob = writerIdOf(secret(2));

/** The cloud's copy after alice added milk and bob added eggs. */
function cloud(): { state: ListDoc; a: ListReplica; b: ListReplica } {
  const a = new ListReplica(alice);
  const b = new ListReplica(bob);
  b.apply(a.addItem('Milk', 1));
  a.apply(b.addItem('Eggs', 2));
  return { state: a.state.clone(), a, b };
}

const check = (delta: ListDoc, writer: ReplicaId | undefined, state: ListDoc) =>
  checkWrite(delta, 100, writer, knownFrom(state, 1_000));

describe('the write check', () => {
  it("takes an honest device's changes, removals of what exists included", () => {
    const { state, a, b } = cloud();
    expect(check(a.buy('milk', 1), alice, state)).toBeUndefined();
    expect(check(b.removeItem('milk'), bob, state)).toBeUndefined(); // bob saw alice's milk
    expect(check(b.deleteList(), bob, state)).toBeUndefined();
  });

  it('takes history entries under the writer\u2019s own dots, and refuses one forged under another\u2019s', () => {
    const { state, a } = cloud();
    a.author = { name: 'Alice', nowMs: () => 1 };
    const honest = a.buy('milk', 1);
    expect(honest.journal.size).toBe(1);
    expect(check(honest, alice, state)).toBeUndefined();
    // The same entry, said to be bob's: a new dot of another writer.
    const forged = new ListDoc(false);
    const [entry] = honest.journal.entries.values();
    if (entry === undefined) throw new Error('no entry');
    forged.journal.add(dot(forged.replicas.intern(bob), 99), { ...entry, who: 'Bob' });
    expect(check(forged, alice, state)?.code).toBe('refused');
  });

  it('refuses a context claiming changes nobody made, however small', () => {
    const { state } = cloud();
    const claim = new ListDoc(false);
    const r = claim.replicas.intern(alice);
    claim.ctx.vv[r] = 1_000_000;
    expect(check(claim, bob, state)?.code).toBe('refused');
    expect(check(claim, undefined, state)?.code).toBe('refused');
    // One dot past what exists, in the cloud of the context rather than the vector.
    const one = new ListDoc(false);
    one.ctx.add(dot(one.replicas.intern(bob), 5));
    expect(check(one, alice, state)?.code).toBe('refused');
    // A writer's claims on its own name hurt only itself: allowed.
    expect(check(claim, alice, state)).toBeUndefined();
  });

  it("refuses new changes under another writer's name; a legacy name anyone may use", () => {
    const { state } = cloud();
    const forger = new ListReplica(alice); // without alice's secret
    const forged = forger.addItem('Poison', 1);
    expect(check(forged, bob, state)?.code).toBe('refused');
    expect(check(forged, undefined, state)?.code).toBe('refused');
    const legacy = new ListReplica('old-device' as ReplicaId).addItem('Tea', 1);
    expect(check(legacy, undefined, state)).toBeUndefined();
    expect(check(legacy, bob, state)).toBeUndefined();
  });

  it('refuses a change that reuses a dot the cloud holds in another place; takes it again in the same place', () => {
    const { state, a } = cloud();
    const milk = a.state.items.get('milk');
    const [d] = milk === undefined ? [] : [...milk.display.keys()];
    if (d === undefined) throw new Error('milk has a name dot');
    const reuse = new ListDoc(false, a.state.replicas);
    reuse.ctx.add(d);
    reuse.mention('eggs');
    reuse.removals.add(d, 'eggs'); // the same event, now a removal record of another item
    expect(check(reuse, alice, state)?.code).toBe('refused');
    const retry = new ListDoc(false, a.state.replicas);
    retry.ctx.add(d);
    retry.mention('milk').display.set(d, 'Milk');
    expect(check(retry, alice, state)).toBeUndefined();
  });

  it('refuses a write that would pass the item or byte limit, and takes the same write below it', () => {
    const { state } = cloud();
    const big = new ListReplica(bob, state.clone());
    const delta = new ListDoc(false, big.state.replicas);
    for (let i = 0; i < limits.itemsPerListMax - 2; i++) {
      const d = big.addItem(`item ${i}`, 1);
      for (const [key, item] of d.items) delta.items.set(key, item);
      delta.ctx.join(d.ctx, undefined);
    }
    // 2 items known + 9,998 new: exactly at the limit.
    expect(check(delta, bob, state)).toBeUndefined();
    // One more item known in the cloud (alice's salt): the same write would pass it.
    const fuller = state.clone();
    new ListReplica(alice, fuller).addItem('Salt', 1);
    expect(check(delta, bob, fuller)?.code).toBe('limit_exceeded');
    const small = new ListReplica(bob, state.clone()).addItem('Salt', 1);
    expect(checkWrite(small, limits.listBytesWriteMax, bob, knownFrom(state, 1))?.code).toBe(
      'limit_exceeded',
    );
  });
});
