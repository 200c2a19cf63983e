// A plain reference model of what people mean, for tests (RELIABILITY.md: "checkers test
// intent, not just agreement"). It knows nothing of dots or deltas. A list is the set of
// operations a replica has seen; each operation remembers what it wrote and exactly which writes,
// live in its author's view, it superseded (a removal removes only what the remover saw). A write
// is live unless an operation that superseded it has been seen. The view follows:
//
//   - an item is on the list iff some live write names it     (no lost add, no resurrection)
//   - bought = the sum of live "bought" writes                  (counters add up, re-add is fresh)
//   - wanted = the greatest live "set" (or 0) + live increments
//   - registers show their greatest live value; over-bought is bought > wanted.
//
// The model is quadratic and proud of it: it is meant to be obviously right, not fast.

import { TrolleyError } from '../errors.ts';
import { normaliseName, displayName } from '../crdt/names.ts';
import { compareKeys } from '../crdt/read-model.ts';

export type Op =
  | { kind: 'rename'; title: string }
  | { kind: 'add'; name: string; qty: number; note?: string }
  | { kind: 'set'; name: string; qty: number }
  | { kind: 'inc'; name: string; n: number }
  | { kind: 'dec'; name: string; n: number }
  | { kind: 'buy'; name: string; n: number }
  | { kind: 'check'; name: string }
  | { kind: 'uncheck'; name: string }
  | { kind: 'note'; name: string; note: string }
  | { kind: 'remove'; name: string }
  | { kind: 'clearBought' }
  | { kind: 'delete' };

type Field = 'display' | 'note' | 'base' | 'wanted' | 'bought';
type Target = { t: 'title' } | { t: 'flag' } | { t: 'item'; key: string; field: Field };
interface Write {
  target: Target;
  value: string | number;
}
type Cover =
  { t: 'title' } | { t: 'flag' } | { t: 'item'; key: string; fields: readonly Field[] } | { t: 'allItems' };

export interface Effect {
  readonly id: number;
  readonly op: Op;
  readonly writes: readonly Write[];
  /** The writes (as `effectId.index`) this operation superseded: those live where it was made. */
  readonly covers: ReadonlySet<string>;
}

interface LiveWrite extends Write {
  wid: string;
}

/** The writes of `effects` that nothing in `effects` has superseded. */
function liveWrites(effects: Iterable<Effect>): LiveWrite[] {
  const all = [...effects];
  const dead = new Set<string>();
  for (const e of all) for (const w of e.covers) dead.add(w);
  const live: LiveWrite[] = [];
  for (const e of all)
    e.writes.forEach((w, i) => {
      const wid = `${e.id}.${i}`;
      if (!dead.has(wid)) live.push({ ...w, wid });
    });
  return live;
}

const allFields: readonly Field[] = ['display', 'note', 'base', 'wanted', 'bought'];

/** The view as the tests compare it: the read model without derived flags. */
export interface PlainItem {
  key: string;
  name: string;
  wanted: number;
  bought: number;
  note: string | undefined;
}
export interface PlainView {
  title: string;
  deleted: boolean;
  items: PlainItem[];
}

function coversWrite(c: Cover, w: Target): boolean {
  switch (c.t) {
    case 'title':
      return w.t === 'title';
    case 'flag':
      return w.t === 'flag';
    case 'allItems':
      return w.t === 'item';
    case 'item':
      return w.t === 'item' && w.key === c.key && c.fields.includes(w.field);
  }
}

function greatest<V extends string | number>(values: V[]): V | undefined {
  let best: V | undefined;
  for (const v of values) if (best === undefined || v > best) best = v;
  return best;
}

/** The list a set of effects means. */
export function specView(effects: Iterable<Effect>): PlainView {
  const live = liveWrites(effects);
  const byKey = new Map<string, Write[]>();
  let title: string[] = [];
  let flag = false;
  for (const w of live) {
    if (w.target.t === 'title') title = [...title, w.value as string];
    else if (w.target.t === 'flag') flag = true;
    else {
      const list = byKey.get(w.target.key) ?? [];
      list.push(w);
      byKey.set(w.target.key, list);
    }
  }
  const items: PlainItem[] = [];
  for (const key of [...byKey.keys()].sort(compareKeys)) {
    const ws = byKey.get(key) ?? [];
    const of = (f: Field): (string | number)[] =>
      ws.filter((w) => w.target.t === 'item' && w.target.field === f).map((w) => w.value);
    const sum = (f: Field): number => of(f).reduce<number>((a, v) => a + (v as number), 0);
    items.push({
      key,
      name: greatest(of('display') as string[]) ?? key,
      wanted: Math.max(0, (greatest(of('base') as number[]) ?? 0) + sum('wanted')),
      bought: Math.max(0, sum('bought')),
      note: greatest(of('note') as string[]),
    });
  }
  return { title: greatest(title) ?? '', deleted: flag && items.length === 0, items };
}

const remaining = (i: PlainItem): number => Math.max(0, i.wanted - i.bought);
const done = (i: PlainItem): boolean => i.bought > 0 && remaining(i) === 0;

/**
 * What `op` means when its author has seen `seen`: its writes and covers. Throws the same typed
 * errors as the implementation for an item that is not there.
 */
export function effectOf(id: number, op: Op, seen: ReadonlyMap<number, Effect>): Effect {
  const view = specView(seen.values());
  const find = (name: string): PlainItem => {
    const key = normaliseName(name);
    const item = view.items.find((i) => i.key === key);
    if (item === undefined) throw new TrolleyError('not_found', `no item ${name}`);
    return item;
  };
  const writes: Write[] = [];
  const covers: Cover[] = [];
  const live = liveWrites(seen.values());
  const item = (key: string, field: Field, value: string | number): void => {
    writes.push({ target: { t: 'item', key, field }, value });
  };
  const flagLive = live.some((w) => w.target.t === 'flag');
  if (op.kind !== 'delete' && flagLive) covers.push({ t: 'flag' });
  switch (op.kind) {
    case 'rename':
      covers.push({ t: 'title' });
      writes.push({ target: { t: 'title' }, value: displayName(op.title) });
      break;
    case 'add': {
      const key = normaliseName(op.name);
      covers.push({ t: 'item', key, fields: ['display'] });
      item(key, 'display', displayName(op.name));
      item(key, 'wanted', op.qty);
      if (op.note !== undefined) {
        covers.push({ t: 'item', key, fields: ['note'] });
        if (op.note.trim() !== '') item(key, 'note', op.note.trim());
      }
      break;
    }
    case 'set': {
      const { key } = find(op.name);
      covers.push({ t: 'item', key, fields: ['base', 'wanted'] });
      item(key, 'base', op.qty);
      break;
    }
    case 'inc':
      item(find(op.name).key, 'wanted', op.n);
      break;
    case 'dec': {
      const it = find(op.name);
      const amount = Math.min(op.n, it.wanted);
      if (amount > 0) item(it.key, 'wanted', -amount);
      break;
    }
    case 'buy':
      item(find(op.name).key, 'bought', op.n);
      break;
    case 'check': {
      const it = find(op.name);
      if (remaining(it) > 0) item(it.key, 'bought', remaining(it));
      break;
    }
    case 'uncheck':
      covers.push({ t: 'item', key: find(op.name).key, fields: ['bought'] });
      break;
    case 'note': {
      const { key } = find(op.name);
      covers.push({ t: 'item', key, fields: ['note'] });
      if (op.note.trim() !== '') item(key, 'note', op.note.trim());
      break;
    }
    case 'remove':
      covers.push({ t: 'item', key: find(op.name).key, fields: allFields });
      break;
    case 'clearBought':
      for (const it of view.items) if (done(it)) covers.push({ t: 'item', key: it.key, fields: allFields });
      break;
    case 'delete':
      covers.push({ t: 'allItems' }, { t: 'flag' });
      writes.push({ target: { t: 'flag' }, value: 1 });
      break;
  }
  const superseded = new Set<string>();
  for (const w of live) if (covers.some((c) => coversWrite(c, w.target))) superseded.add(w.wid);
  return { id, op, writes, covers: superseded };
}

/**
 * Named intent checks over a view and the effects its replica has seen: each failure says which
 * promise broke. They follow from specView equality, and exist so that a failing implementation
 * (like a last-writer-wins list) is told what it lost.
 */
export function intentViolations(view: PlainView, seen: Iterable<Effect>): string[] {
  const expected = specView(seen);
  const out: string[] = [];
  const have = new Map(view.items.map((i) => [i.key, i]));
  const want = new Map(expected.items.map((i) => [i.key, i]));
  for (const [key, w] of want) {
    const h = have.get(key);
    if (h === undefined) {
      out.push(`lost add: ${key} should be on the list`);
      continue;
    }
    if (h.bought !== w.bought) out.push(`counter: ${key} bought ${h.bought}, the buys add up to ${w.bought}`);
    if (h.wanted !== w.wanted)
      out.push(`counter: ${key} wanted ${h.wanted}, the changes add up to ${w.wanted}`);
    if (w.bought > w.wanted && !(h.bought > h.wanted)) out.push(`over-bought hidden: ${key}`);
    if (h.name !== w.name)
      out.push(`name: ${key} shows ${JSON.stringify(h.name)}, meant ${JSON.stringify(w.name)}`);
    if (h.note !== w.note)
      out.push(`note: ${key} shows ${JSON.stringify(h.note)}, meant ${JSON.stringify(w.note)}`);
  }
  for (const key of have.keys()) if (!want.has(key)) out.push(`resurrection: ${key} was removed`);
  if (view.title !== expected.title)
    out.push(`title: ${JSON.stringify(view.title)}, meant ${JSON.stringify(expected.title)}`);
  if (view.deleted !== expected.deleted) out.push(`deleted: ${view.deleted}, meant ${expected.deleted}`);
  return out;
}
