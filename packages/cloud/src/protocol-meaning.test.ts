// What docs/PROTOCOL.md §8 says the cloud does, checked against the real storage nodes (in memory):
// a get of a list nobody has written (§8.7; its bytes are read from the document), what a
// `changed` notice carries and when (§8.7), and what becomes of a change made under a reused dot
// (§8.1).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ListReplica, listView, type ListId, type ReplicaId } from '@trolley/core';
import { MemoryCluster } from './testing/cluster-fixture.ts';

const protocolPath = new URL('../../../docs/PROTOCOL.md', import.meta.url);

/** The bytes of the document's example NAME (`<!-- bytes: NAME -->`, then a fenced block). */
function documentBytes(name: string): string {
  const text = readFileSync(protocolPath, 'utf8');
  const m = new RegExp(`<!-- bytes: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (m === null) throw new Error(`no example ${name} in PROTOCOL.md`);
  return (m[1] as string)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (/^([0-9a-f]{2}(?: [0-9a-f]{2})*)/.exec(line) as RegExpExecArray)[1])
    .join(' ');
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const alice = (): ListReplica => new ListReplica('alice' as ReplicaId);

describe('PROTOCOL.md §8 against the storage nodes', () => {
  it('a get of a list nobody has written answers an empty list from every replica (§8.7)', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const bare = c.get(c.ids[0] as never, listId);
    const withContext = c.get(c.ids[1] as never, listId, alice());
    await c.settle();
    const a = c.reply(bare);
    const b = c.reply(withContext);
    if (a?.type !== 'get-reply' || b?.type !== 'get-reply') throw new Error('expected two get-replies');
    expect(hex(a.delta)).toBe(documentBytes('get-unknown-no-context'));
    expect(hex(b.delta)).toBe(documentBytes('get-unknown'));
    for (const r of [a, b]) expect(r).toMatchObject({ answered: 3, inSync: 3, replicas: 3 });
  });

  it('`changed` carries the put delta as sent, once: not for a retry answered from memory (§8.7)', async () => {
    const told: { listId: ListId; delta: string }[] = [];
    const c = new MemoryCluster(undefined, undefined, {
      onWriteAccepted: (listId, delta) => told.push({ listId, delta: hex(delta) }),
    });
    const listId = c.newListId();
    const r = alice();
    const delta = r.addItem('milk', 2);
    const opId = c.opId();
    const first = c.put(c.ids[0] as never, listId, delta, { opId });
    await c.settle();
    expect(c.reply(first)).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    const again = c.put(c.ids[0] as never, listId, delta, { opId });
    await c.settle();
    expect(c.reply(again)).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    expect(told).toEqual([{ listId, delta: documentBytes('add-2-milk') }]);
  });

  it('a change under a reused dot is acknowledged and lost, or refused when the dot sits elsewhere (§8.1)', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const first = c.put(c.ids[0] as never, listId, alice().addItem('milk', 2));
    await c.settle();
    expect(c.reply(first)).toMatchObject({ outcome: 'ok' });

    // The same replica ID starting again from nothing: its dots alice:1 and alice:2 are taken.
    const same = c.put(c.ids[0] as never, listId, alice().addItem('milk', 5));
    await c.settle();
    expect(c.reply(same)).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    for (let i = 0; i < 3; i++) {
      const stored = c.stored(i, listId);
      expect(stored && listView(stored).items.map((x) => [x.key, x.wanted])).toEqual([['milk', 2]]);
    }

    const elsewhere = c.put(c.ids[0] as never, listId, alice().addItem('eggs', 1));
    await c.settle();
    expect(c.reply(elsewhere)).toMatchObject({ type: 'error', code: 'refused' });
  });
});
