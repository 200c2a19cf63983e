// The history (journal.ts): its join is a bounded semilattice whose pruning every replica agrees
// on; changes record who did what; undo and restore take changes back with the inverse operations,
// keeping what others did meanwhile; the codec carries it (version 4; version 3 is still read, in
// codec/list-codec-v3.test.ts) and refuses bad bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ListDoc } from '../index.ts';
import {
  Journal,
  ListReplica,
  ReplicaTable,
  decodeList,
  dot,
  dotCounter,
  encodeList,
  limits,
  merge,
  type HistoryEntry,
  type ReplicaId,
} from '../index.ts';
import { chooseSeed, opArb } from '../testing/arbitraries.ts';
import { canonical } from '../testing/canonical.ts';
import { performOp } from '../testing/subjects.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 200);

const entry = (seq: number, who: string): HistoryEntry => ({
  seq,
  atMs: 1_800_000_000_000 + seq,
  who,
  kind: 'add',
  name: 'Milk',
  n: 1,
  before: '',
  items: [],
});

/** Entries as (replica name, counter, seq) made by three replicas. */
const entriesArb = fc.array(
  fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 15 })),
  { maxLength: 30 },
);

/** A journal of up to `max` entries holding `es`, in a table of its own with names in `order`. */
function journalOf(es: readonly [string, number, number][], max: number, order: string[]): Journal {
  const table = new ReplicaTable();
  for (const n of order) table.intern(n);
  const j = new Journal(table, max);
  for (const [name, counter, seq] of es) j.add(dot(table.intern(name), counter), entry(seq, name));
  return j;
}

/** A journal's content by replica name: comparable across tables. */
const content = (j: Journal): string =>
  JSON.stringify(j.newestFirst().map(({ replica, entry: e }) => [replica, e.seq, e.atMs]));

const joined = (x: Journal, y: Journal, max: number): Journal => {
  const out = journalOf([], max, []);
  const into = (j: Journal): void =>
    out.join(
      j,
      (j as unknown as { replicas: ReplicaTable }).replicas.names.map((n) =>
        (out as unknown as { replicas: ReplicaTable }).replicas.intern(n),
      ),
    );
  into(x);
  into(y);
  return out;
};

describe('history: the journal is a bounded join-semilattice', () => {
  it('join is commutative, associative and idempotent, and keeps the top K of every entry seen', () => {
    const max = 5;
    fc.assert(
      fc.property(entriesArb, entriesArb, entriesArb, (xs, ys, zs) => {
        // A dot names one event: the same (replica, counter) always carries the same entry.
        const first = new Map<string, number>();
        const fix = (es: [string, number, number][]): [string, number, number][] =>
          es.map(([n, c, s]) => {
            const k = `${n}:${c}`;
            if (!first.has(k)) first.set(k, s);
            return [n, c, first.get(k) as number];
          });
        const [x, y, z] = [fix(xs), fix(ys), fix(zs)];
        const a = journalOf(x, max, ['c', 'a']);
        const b = journalOf(y, max, ['b', 'c', 'a']);
        const c = journalOf(z, max, []);
        expect(content(joined(a, b, max))).toBe(content(joined(b, a, max)));
        expect(content(joined(joined(a, b, max), c, max))).toBe(content(joined(a, joined(b, c, max), max)));
        expect(content(joined(a, a, max))).toBe(content(a));
        // Pruned as it went, each replica still keeps what one that saw everything at once keeps.
        const all = journalOf([...x, ...y, ...z], 1_000, []);
        // The journal keeps its entries in the keep order as they come (a search each, or one
        // sort for a join): the same as sorting them all at the end.
        // (Each test entry's `who` is its replica's name.)
        const sorted = [...all.entries]
          .map(([d, e]) => ({ replica: e.who, entry: e, counter: dotCounter(d) }))
          .sort(
            (p, q) =>
              q.entry.seq - p.entry.seq ||
              (p.replica < q.replica ? 1 : p.replica > q.replica ? -1 : 0) ||
              q.counter - p.counter,
          );
        expect(content(all)).toBe(
          JSON.stringify(sorted.map(({ replica, entry: e }) => [replica, e.seq, e.atMs])),
        );
        expect(all.nextSeq()).toBe(Math.max(0, ...[...all.entries.values()].map((e) => e.seq)) + 1);
        const top = all.newestFirst().slice(0, max);
        expect(content(joined(joined(a, b, max), c, max))).toBe(
          JSON.stringify(top.map(({ replica, entry: e }) => [replica, e.seq, e.atMs])),
        );
      }),
      { seed, numRuns: runs },
    );
  });

  it('lists with history obey the laws; deltas carry the entries a peer lacks', () => {
    let entries = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 2 }), opArb, fc.nat({ max: 9 }), fc.nat({ max: 2 })), {
          minLength: 5,
          maxLength: 80,
        }),
        (steps) => {
          let clock = 0;
          const replicas = [0, 1, 2].map((i) => {
            const r = new ListReplica(`r${i}` as ReplicaId);
            r.author = { name: ['Ana', 'Bruno', ''][i] as string, nowMs: () => ++clock };
            return r;
          });
          for (const [at, op, shareRoll, to] of steps) {
            const r = replicas[at] as ListReplica;
            try {
              if (shareRoll === 9) r.undo();
              else performOp(r, op);
            } catch {
              // refused operations (absent items, nothing to undo) change nothing
            }
            if (shareRoll < 3 && to !== at) (replicas[to] as ListReplica).apply(r.state);
          }
          const [a, b, c] = replicas.map((r) => r.state) as [ListDoc, ListDoc, ListDoc];
          entries += a.journal.size;
          const join = (x: ListDoc, y: ListDoc): ListDoc => {
            const out = x.clone();
            merge(out, y);
            return out;
          };
          expect(canonical(join(a, b))).toBe(canonical(join(b, a)));
          expect(canonical(join(join(a, b), c))).toBe(canonical(join(a, join(b, c))));
          expect(canonical(join(a, a))).toBe(canonical(a));
          const delta = new ListReplica('r9' as ReplicaId, a.clone()).missingFor(b.ctx, b.replicas);
          expect(canonical(join(b, delta))).toBe(canonical(join(b, a)));
          // Through the codec: the same state back, and equal states encode equally.
          const back = decodeList(encodeList(join(a, b)));
          if (!back.ok) throw back.error;
          expect(canonical(back.value)).toBe(canonical(join(a, b)));
          expect(join(a, join(b, c)).journal.size).toBeLessThanOrEqual(limits.historyEntriesMax);
        },
      ),
      { seed, numRuns: runs },
    );
    console.log(`history laws: ${entries} entries on the first replicas; seed ${seed}`);
  });
});

/** Two devices sharing a list, each with a name and a clock that reads 14:02 on 2026-12-06. */
function pair(): [ListReplica, ListReplica] {
  const ana = new ListReplica('ana-phone' as ReplicaId);
  const bruno = new ListReplica('bruno-laptop' as ReplicaId);
  const t = Date.UTC(2026, 11, 6, 14, 2);
  ana.author = { name: 'Ana', nowMs: () => t };
  bruno.author = { name: 'Bruno', nowMs: () => t + 60_000 };
  return [ana, bruno];
}

const said = (r: ListReplica): string[] =>
  r.state.journal.newestFirst().map(({ entry: e }) => `${e.who} ${e.kind} ${e.n} × ${e.name}`);

describe('history: who did what', () => {
  it('records each change with its author, and both devices see both names', () => {
    const [ana, bruno] = pair();
    bruno.apply(ana.addItem('Milk', 2));
    ana.apply(bruno.buy('milk', 2));
    bruno.apply(ana.rename('Saturday'));
    expect(said(ana)).toEqual(['Ana rename 0 × Saturday', 'Bruno buy 2 × Milk', 'Ana add 2 × Milk']);
    expect(said(bruno)).toEqual(said(ana));
    // Without an author nothing is recorded (and a no-op records nothing either).
    const quiet = new ListReplica('quiet' as ReplicaId);
    quiet.addItem('Eggs');
    expect(quiet.state.journal.size).toBe(0);
    ana.checkOff('Milk'); // nothing left to buy: no change
    expect(ana.state.journal.size).toBe(3);
  });

  it('a removed item and a deleted list come back from their entries, with their items', () => {
    const [ana, bruno] = pair();
    bruno.apply(ana.addItem('Milk', 3, 'the big one'));
    bruno.apply(ana.buy('Milk', 1));
    ana.apply(bruno.removeItem('milk'));
    const removal = ana.state.journal.newestFirst()[0]?.entry;
    expect(removal).toMatchObject({
      who: 'Bruno',
      kind: 'remove',
      items: [{ name: 'Milk', wanted: 3, bought: 1 }],
    });
    ana.restore(removal?.items ?? []);
    expect(ana.item('milk')).toMatchObject({ wanted: 3, bought: 1, note: 'the big one' });

    bruno.apply(ana.state);
    bruno.addItem('Eggs', 12);
    bruno.deleteList();
    ana.apply(bruno.state);
    expect(ana.view().deleted).toBe(true);
    const deletion = ana.state.journal.newestFirst()[0]?.entry;
    expect(deletion).toMatchObject({ kind: 'delete', who: 'Bruno', n: 2 });
    ana.restore(deletion?.items ?? [], 'Groceries');
    expect(ana.view()).toMatchObject({ deleted: false, title: 'Groceries' });
    expect(ana.view().items.map((i) => [i.name, i.wanted, i.bought])).toEqual([
      ['Eggs', 12, 0],
      ['Milk', 3, 1],
    ]);
    expect(said(ana)[0]).toBe('Ana restore 2 × Groceries');
  });

  it('undo takes back this device\u2019s last change and keeps a concurrent one by someone else', () => {
    const [ana, bruno] = pair();
    bruno.apply(ana.addItem('Milk', 2));
    const mine = ana.increaseWanted('Milk', 3); // Ana: 5
    const theirs = bruno.increaseWanted('Milk', 1); // Bruno, concurrently: +1
    ana.apply(theirs);
    bruno.apply(mine);
    const { undone } = ana.undo(); // Ana's +3 goes; Bruno's +1 stays
    expect(undone).toMatchObject({ kind: 'increase', n: 3 });
    expect(ana.item('Milk')?.wanted).toBe(3);
    // The next undo goes one further back (not the undo itself): Ana's add of 2.
    expect(ana.undo().undone).toMatchObject({ kind: 'add', n: 2 });
    expect(ana.item('Milk')?.wanted).toBe(1);
    expect(() => ana.undo()).toThrow(/nothing this device did/);
    // Undoing a check-off after Bruno bought one more: only Ana's units come off.
    bruno.apply(ana.state);
    ana.apply(bruno.checkOff('Milk'));
    const extra = ana.buy('Milk', 2);
    bruno.apply(extra);
    bruno.undo(); // Bruno's check-off of 1 goes; Ana's 2 stay
    expect(bruno.item('Milk')?.bought).toBe(2);
  });

  it('a full journal prunes the oldest entries, the same on every replica', () => {
    const [ana, bruno] = pair();
    for (let i = 0; i < limits.historyEntriesMax + 30; i++) {
      const d = i % 2 === 0 ? ana.addItem(`item ${i}`) : bruno.addItem(`item ${i}`);
      (i % 2 === 0 ? bruno : ana).apply(d);
    }
    expect(ana.state.journal.size).toBe(limits.historyEntriesMax);
    expect(canonical(ana.state)).toBe(canonical(bruno.state));
    expect(said(ana).at(-1)).toBe('Ana add 1 × item 30');
  });
});

describe('history: encoding', () => {
  it('writes version 2 without history and 4 with it; bad history bytes are typed errors', () => {
    const quiet = new ListReplica('quiet' as ReplicaId);
    quiet.addItem('Eggs');
    expect(encodeList(quiet.state)[0]).toBe(2);
    const [ana] = pair();
    ana.addItem('Milk', 2);
    ana.removeItem('Milk');
    const bytes = encodeList(ana.state);
    expect(bytes[0]).toBe(4);
    const back = decodeList(bytes);
    if (!back.ok) throw back.error;
    expect(canonical(back.value)).toBe(canonical(ana.state));
    // Every truncation and every single-byte change decodes to a typed error or a valid doc.
    for (let cut = 1; cut < bytes.length; cut++) expect(decodeList(bytes.subarray(0, cut)).ok).toBe(false);
    for (let i = 1; i < bytes.length; i++)
      for (const v of [0, 0x7f, 0xff, (bytes[i] as number) ^ 1]) {
        const bad = bytes.slice();
        bad[i] = v;
        const r = decodeList(bad);
        if (r.ok) expect(encodeList(r.value).length).toBeGreaterThan(0);
        else expect(r.error.code).toMatch(/^(decode_|limit_exceeded)/);
      }
    // Versions 3 and 4 with no entries are refused (a version-2 list says so).
    for (const version of [3, 4]) {
      const empty = encodeList(quiet.state).slice();
      empty[0] = version;
      expect(decodeList(Uint8Array.from([...empty, 0])).ok).toBe(false);
    }
  });

  it('reads back the smallest entries: no name, no device name, a clock at 0 (7 bytes each)', () => {
    // The decoder once took an entry to need 12 bytes and refused such a list as truncated.
    const bare = new ListReplica('b' as ReplicaId);
    bare.author = { name: '', nowMs: () => 0 };
    bare.deleteList(); // an untitled, empty list: the entry names nothing and took nothing away
    const bytes = encodeList(bare.state);
    expect(bytes[0]).toBe(4);
    const back = decodeList(bytes);
    if (!back.ok) throw back.error;
    expect(canonical(back.value)).toBe(canonical(bare.state));
    expect(back.value.journal.size).toBe(1);
  });
});
