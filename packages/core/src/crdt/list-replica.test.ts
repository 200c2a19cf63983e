import { describe, expect, it } from 'vitest';
import { ListReplica, TrolleyError, encodeList, limits, type ReplicaId } from '../index.ts';
import { canonical } from '../testing/canonical.ts';

const replica = (): ListReplica => new ListReplica('alice' as ReplicaId);

describe('operations', () => {
  it('adding an existing item adds to its wanted quantity', () => {
    const r = replica();
    r.addItem('Eggs', 6);
    r.addItem('eggs', 6);
    expect(r.item('EGGS')).toMatchObject({ name: 'eggs', wanted: 12, bought: 0, remaining: 12 });
  });

  it('set, increase, decrease (never below zero), buy, check off, uncheck', () => {
    const r = replica();
    r.addItem('Milk', 2);
    r.setWanted('milk', 5);
    r.increaseWanted('milk', 2);
    r.decreaseWanted('milk', 3);
    expect(r.item('milk')?.wanted).toBe(4);
    r.decreaseWanted('milk', 10);
    expect(r.item('milk')?.wanted).toBe(0);
    r.setWanted('milk', 3);
    r.buy('milk', 1);
    expect(r.item('milk')).toMatchObject({ bought: 1, remaining: 2, done: false });
    r.checkOff('milk');
    expect(r.item('milk')).toMatchObject({ bought: 3, remaining: 0, done: true, overBought: false });
    r.uncheck('milk');
    expect(r.item('milk')).toMatchObject({ bought: 0, remaining: 3, done: false });
  });

  it('clear bought removes done items only; rename and notes', () => {
    const r = replica();
    r.rename('  Weekly   shop ');
    r.addItem('Milk', 1, 'oat');
    r.addItem('Tea', 1);
    r.checkOff('milk');
    r.clearBought();
    expect(r.view()).toMatchObject({ title: 'Weekly shop', items: [{ key: 'tea' }] });
    r.setNote('tea', 'green');
    expect(r.item('tea')?.note).toBe('green');
    r.setNote('tea', '');
    expect(r.item('tea')?.note).toBeUndefined();
  });

  it('bad input gets a typed error and changes nothing', () => {
    const r = replica();
    r.addItem('Milk', 1);
    const before = canonical(r.state);
    const attempts: [string, () => unknown][] = [
      ['invalid_argument', () => r.addItem('Milk', 0)],
      ['invalid_argument', () => r.addItem('Milk', 1.5)],
      ['invalid_argument', () => r.addItem('Milk', limits.quantityMax + 1)],
      ['invalid_argument', () => r.addItem('   ', 1)],
      ['limit_exceeded', () => r.addItem('x'.repeat(limits.itemNameLengthMax + 1), 1)],
      ['not_found', () => r.buy('bread', 1)],
      ['invalid_argument', () => r.buy('milk', -1)],
      ['invalid_argument', () => r.setWanted('milk', -1)],
      ['invalid_argument', () => r.rename('')],
      ['limit_exceeded', () => r.setNote('milk', 'n'.repeat(limits.noteLengthMax + 1))],
    ];
    for (const [code, attempt] of attempts) {
      expect(attempt).toThrow(TrolleyError);
      try {
        attempt();
      } catch (e) {
        expect((e as TrolleyError).code).toBe(code);
      }
    }
    expect(canonical(r.state)).toBe(before);
  });

  it('an operation that changes nothing makes an empty delta', () => {
    const r = replica();
    r.addItem('Milk', 1);
    r.checkOff('milk');
    const d = r.checkOff('milk');
    expect(d.items.size).toBe(0);
    expect(encodeList(d).length).toBeLessThan(12);
  });

  it('deltas are small: bytes grow with the change, not with the list', () => {
    const r = replica();
    for (let i = 0; i < 500; i++) r.addItem(`item ${i}`, 1);
    const small = encodeList(r.buy('item 7', 1)).length;
    expect(small).toBeLessThan(40);
    const other = new ListReplica('bob' as ReplicaId, r.state.clone());
    r.buy('item 9', 2);
    r.removeItem('item 11');
    const missing = encodeList(r.missingFor(other.state.ctx, other.state.replicas)).length;
    const full = encodeList(r.state).length;
    console.log(`sync: 2 changes on a 500-item list: ${missing} bytes sent, full state ${full} bytes`);
    expect(missing * 50).toBeLessThan(full);
  });
});

describe('sync past the removal-record horizon', () => {
  it('a peer that missed pruned removal records gets the full state, and converges', () => {
    const a = replica();
    const old = new ListReplica('bob' as ReplicaId);
    a.addItem('Keep', 1);
    old.apply(a.state);
    for (let i = 0; i < limits.removalRecordsMax + 10; i++) {
      a.addItem(`gone ${i % 7}`, 1);
      a.removeItem(`gone ${i % 7}`);
    }
    a.removeItem('keep');
    expect(a.state.removals.size).toBe(limits.removalRecordsMax);
    const delta = a.missingFor(old.state.ctx, old.state.replicas);
    expect(delta.full).toBe(true);
    old.apply(delta);
    expect(old.view()).toEqual(a.view());
    // Now up to date: the next change travels as a small partial delta.
    a.addItem('Fresh', 1);
    const next = a.missingFor(old.state.ctx, old.state.replicas);
    expect(next.full).toBe(false);
    old.apply(next);
    expect(old.view()).toEqual(a.view());
  });
});
