// The worked examples of docs/PROTOCOL.md §8 stay true: each is built here with the real
// ListReplica API (fixed replica IDs), and its bytes, its decoded listing and its read model are
// compared with what the document says. The document is read, not copied: editing an example
// there, or changing what the code writes, fails this test.
//
// In the document an example is a fenced block after a marker comment:
//   <!-- bytes: NAME -->  hex bytes, two digits each, single spaces; a line may end in a comment
//                         after two or more spaces
//   <!-- doc: NAME -->    the listing of the decoded bytes (format: `listing` below)
//   <!-- view: NAME -->   the read model (JSON of ListView; an absent note is left out)

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CausalContext,
  ListDoc,
  ListReplica,
  ReplicaTable,
  decodeContext,
  decodeList,
  dotCounter,
  dotReplica,
  encodeContext,
  encodeList,
  encodeMessage,
  itemFields,
  listView,
  missingFor,
  merge,
  opIdFrom,
  type Dot,
  type DotFun,
  type ListId,
  type ReplicaId,
} from '../index.ts';

const protocolPath = new URL('../../../../docs/PROTOCOL.md', import.meta.url);

interface Example {
  bytes: Uint8Array;
  /** Also compare the listing of the decoded bytes (`<!-- doc: NAME -->`). */
  listed?: boolean;
  /** The read model of this state (`<!-- view: NAME -->`). */
  view?: ListDoc;
}

/** Every example of the document, built with the real API. */
function buildExamples(): Map<string, Example> {
  const out = new Map<string, Example>();
  const put = (name: string, bytes: Uint8Array, more: Omit<Example, 'bytes'> = {}): void => {
    out.set(name, { bytes, ...more });
  };

  // §8.3: "add 2 milk" on a fresh list, then one example per action, in one history of alice's.
  const a = new ListReplica('alice' as ReplicaId);
  const listed = { listed: true };
  put('add-2-milk', encodeList(a.addItem('milk', 2)), listed);
  out.set('add-2-milk-state', { bytes: encodeList(a.state), listed: true, view: a.state.clone() });
  put('rename', encodeList(a.rename('Groceries')), listed);
  put('add-again', encodeList(a.addItem('Milk', 1)), listed);
  put('increase', encodeList(a.increaseWanted('milk', 1)), listed);
  put('decrease', encodeList(a.decreaseWanted('milk', 1)), listed);
  put('set-wanted', encodeList(a.setWanted('milk', 4)), listed);
  put('buy', encodeList(a.buy('milk', 1)), listed);
  put('check-off', encodeList(a.checkOff('milk')), listed);
  put('uncheck', encodeList(a.uncheck('milk')), listed);
  put('note', encodeList(a.setNote('milk', 'semi-skimmed')), listed);
  put('clear-note', encodeList(a.setNote('milk', '')), listed);
  put('remove', encodeList(a.removeItem('milk')), listed);
  a.addItem('bread');
  put('delete', encodeList(a.deleteList()), listed);
  put('edit-after-delete', encodeList(a.addItem('eggs', 6)), listed);

  // §8.8: two devices edit concurrently; the joined state and how it reads.
  const alice = new ListReplica('alice' as ReplicaId);
  alice.addItem('milk', 2);
  const bob = new ListReplica('bob' as ReplicaId, alice.state.clone());
  alice.rename('Groceries');
  alice.addItem('MILK', 1);
  alice.setWanted('milk', 3);
  alice.setNote('milk', 'semi-skimmed');
  bob.rename('Weekend');
  bob.addItem('Milk', 1);
  bob.setNote('milk', 'oat');
  bob.buy('milk', 1);
  bob.addItem('bread');
  const joined = alice.state.clone();
  merge(joined, bob.state);
  put('concurrent-state', encodeList(joined), { listed: true, view: joined });

  // §8.7: a get of a list nobody has written.
  put('empty-context', encodeContext(new CausalContext(), new ReplicaTable()));
  put('get-unknown-no-context', encodeList(ListDoc.empty()));
  const asked = decodeContext(encodeContext(new CausalContext(), new ReplicaTable()));
  if (!asked.ok) throw asked.error;
  put('get-unknown', encodeList(missingFor(ListDoc.empty(), asked.value.ctx, asked.value.replicas)));

  // §8.3: the whole put frame carrying "add 2 milk".
  const fresh = new ListReplica('alice' as ReplicaId);
  put(
    'put-frame',
    encodeMessage({
      type: 'put',
      requestId: 1,
      listId: '0f8fad5b-d9cb-469f-a165-70867728950e' as ListId,
      opId: opIdFrom(Uint8Array.from({ length: 16 }, (_, i) => i)),
      deadlineMs: 1_798_000_000_000,
      delta: encodeList(fresh.addItem('milk', 2)),
      writer: new Uint8Array(0),
    }),
  );
  return out;
}

// ---- the listing of a doc ------------------------------------------------------------------------

/**
 * A doc as the document lists it: whether it is full, its causal context (per replica in name
 * order, counter ranges), then each present part with its dots as `replica:counter` in (name,
 * counter) order: title, deleted, items in key order (fields in order display, note, base, wanted,
 * bought), removal records, horizon.
 */
function listing(doc: ListDoc): string {
  const name = (d: Dot): string => doc.replicas.name(dotReplica(d));
  const dotText = (d: Dot): string => `${name(d)}:${dotCounter(d)}`;
  const order = (x: Dot, y: Dot): number =>
    name(x) < name(y) ? -1 : name(x) > name(y) ? 1 : dotCounter(x) - dotCounter(y);
  const entries = <V>(f: DotFun<V>, value: (v: V) => string): string =>
    f.size === 0
      ? '(none)'
      : [...f.keys()]
          .sort(order)
          .map((d) => `${dotText(d)}${value(f.get(d) as V)}`)
          .join(', ');
  const lines = [doc.full ? 'full state' : 'delta'];
  lines.push(`context: ${contextText(doc)}`);
  if (doc.title !== undefined) lines.push(`title: ${entries(doc.title, (v) => ` ${JSON.stringify(v)}`)}`);
  if (doc.deleted !== undefined) lines.push(`deleted: ${entries(doc.deleted, () => '')}`);
  for (const key of [...doc.items.keys()].sort()) {
    const item = doc.items.get(key);
    const fields: string[] = [];
    for (let i = 0; i < itemFields.length; i++) {
      const store = item?.peek(i) as DotFun<string | number> | undefined;
      if (store === undefined) continue;
      const field = itemFields[i] as string;
      const value = (v: string | number): string =>
        typeof v === 'string' ? JSON.stringify(v) : field === 'wanted' && v > 0 ? `+${v}` : String(v);
      fields.push(`${field} ${entries(store, (v) => ` ${value(v)}`)}`);
    }
    lines.push(`item ${JSON.stringify(key)}: ${fields.length === 0 ? '(no values)' : fields.join('; ')}`);
  }
  for (const d of [...doc.removals.records.keys()].sort(order)) {
    const key = doc.removals.records.get(d) as string;
    lines.push(`removal ${dotText(d)}: ${key === '' ? 'the whole list' : JSON.stringify(key)}`);
  }
  const horizon = doc.removals.horizon;
  const h = horizon.flatMap((c, r) => ((c ?? 0) > 0 ? [`${doc.replicas.name(r)}:${c}`] : []));
  if (h.length > 0) lines.push(`horizon: ${h.join(', ')}`);
  return lines.join('\n');
}

/** Every dot of the context: per replica (name order), its counters as ranges ("1-3, 5"). */
function contextText(doc: ListDoc): string {
  const ctx = doc.ctx;
  const parts: string[] = [];
  const names = [...doc.replicas.names].sort();
  for (const replicaName of names) {
    const r = doc.replicas.lookup(replicaName) as number;
    const counters: number[] = [];
    for (let c = 1; c <= (ctx.vv[r] ?? 0); c++) counters.push(c);
    for (const d of ctx.cloud) if (dotReplica(d) === r) counters.push(dotCounter(d));
    if (counters.length === 0) continue;
    counters.sort((x, y) => x - y);
    const ranges: string[] = [];
    for (let i = 0; i < counters.length;) {
      let j = i;
      while (j + 1 < counters.length && counters[j + 1] === (counters[j] as number) + 1) j++;
      ranges.push(i === j ? `${counters[i]}` : `${counters[i]}-${counters[j]}`);
      i = j + 1;
    }
    parts.push(`${replicaName} ${ranges.join(', ')}`);
  }
  return parts.length === 0 ? '(nothing)' : parts.join('; ');
}

// ---- reading the document ------------------------------------------------------------------------

interface Written {
  bytes: Map<string, string>;
  docs: Map<string, string>;
  views: Map<string, string>;
}

function readDocument(): Written {
  const text = readFileSync(protocolPath, 'utf8');
  const out: Written = { bytes: new Map(), docs: new Map(), views: new Map() };
  const block = /<!-- (bytes|doc|view): ([a-z0-9-]+) -->\s*```[a-z]*\n([\s\S]*?)```/g;
  for (const m of text.matchAll(block)) {
    const [, kind, name, body] = m as unknown as [string, 'bytes' | 'doc' | 'view', string, string];
    const into = kind === 'bytes' ? out.bytes : kind === 'doc' ? out.docs : out.views;
    expect(into.has(name), `${kind} example ${name} written once`).toBe(false);
    into.set(name, body);
  }
  return out;
}

/** The bytes of a hex block: each line is bytes, then optionally two spaces and a comment. */
function hexOf(block: string, name: string): string {
  const bytes: string[] = [];
  for (const line of block.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{2}(?: [0-9a-f]{2})*)(?: {2,}.*)?$/.exec(line);
    expect(m, `example ${name}: a line of bytes, not ${JSON.stringify(line)}`).not.toBeNull();
    bytes.push((m as RegExpExecArray)[1] as string);
  }
  return bytes.join(' ');
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('docs/PROTOCOL.md worked examples', () => {
  const examples = buildExamples();
  const written = readDocument();

  it('writes every example the code builds, and no other', () => {
    expect([...written.bytes.keys()].sort()).toEqual([...examples.keys()].sort());
    const listed = [...examples].filter(([, e]) => e.listed === true).map(([n]) => n);
    expect([...written.docs.keys()].sort()).toEqual(listed.sort());
    const viewed = [...examples].filter(([, e]) => e.view !== undefined).map(([n]) => n);
    expect([...written.views.keys()].sort()).toEqual(viewed.sort());
  });

  for (const [name, example] of examples) {
    it(`${name}: the bytes are those the code writes`, () => {
      expect(hexOf(written.bytes.get(name) ?? '', name)).toBe(hex(example.bytes));
    });
    if (example.listed === true)
      it(`${name}: the listing is what the bytes decode to`, () => {
        const decoded = decodeList(example.bytes);
        if (!decoded.ok) throw decoded.error;
        expect((written.docs.get(name) ?? '').trim()).toBe(listing(decoded.value));
      });
    if (example.view !== undefined) {
      const state = example.view;
      it(`${name}: the read model is what a reader computes`, () => {
        const decoded = decodeList(example.bytes);
        if (!decoded.ok) throw decoded.error;
        const view = JSON.parse(JSON.stringify(listView(decoded.value))) as unknown;
        expect(view).toEqual(JSON.parse(JSON.stringify(listView(state))));
        expect(JSON.parse(written.views.get(name) ?? 'null')).toEqual(view);
      });
    }
  }
});

// For writing the document: `PRINT_EXAMPLES=1 npx vitest run <this file>` prints every block.
if (process.env['PRINT_EXAMPLES'] === '1') {
  for (const [name, e] of buildExamples()) {
    console.log(`<!-- bytes: ${name} -->\n\`\`\`\n${hex(e.bytes)}\n\`\`\``);
    const decoded = decodeList(e.bytes);
    if (e.listed === true && decoded.ok)
      console.log(`<!-- doc: ${name} -->\n\`\`\`\n${listing(decoded.value)}\n\`\`\``);
    if (e.view !== undefined)
      console.log(`<!-- view: ${name} -->\n\`\`\`json\n${JSON.stringify(listView(e.view), null, 2)}\n\`\`\``);
  }
}
