// What stats say is still to hand over after a ring change (`leaving`: partitions held here but
// not replicated here, with their lists), and the ring itself in stats (hex of its encoding):
// what the operator page draws while a ring change moves. A node taken out of the ring holds
// every list it had as leaving, and nothing once the transfers are acknowledged.

import { describe, expect, it } from 'vitest';
import { ListReplica, decodeRing, encodeRing, parseNodeId, type ReplicaId } from '@trolley/core';
import { MemoryCluster } from '../testing/cluster-fixture.ts';

const id = parseNodeId;
const leavingOf = (s: Record<string, unknown>): [number, number][] => s['leaving'] as [number, number][];
const total = (l: [number, number][]): number => l.reduce((sum, [, n]) => sum + n, 0);

describe('stats: the ring and what is leaving', () => {
  it('a removed node lists what it still holds as leaving, until its transfers are acknowledged', async () => {
    const c = new MemoryCluster(['n1', 'n2', 'n3'].map(id), { n: 2, r: 1, w: 2 });
    const writer = new ListReplica('alice' as ReplicaId);
    for (let i = 0; i < 24; i++) c.put(id('n1'), c.newListId(), writer.addItem(`item ${i}`, 1));
    await c.settle();
    for (const n of c.nodes) expect(leavingOf(n.stats())).toEqual([]);
    const held = c.stores[2]?.count() ?? 0;
    expect(held).toBeGreaterThan(0);

    c.operator(id('n1'), { type: 'ring-change', requestId: 900, add: [], remove: [id('n3')] });
    await c.settle();
    for (let round = 0; round < 10 && c.nodes.some((n) => n.ring?.version !== 2); round++) {
      c.clock.advance(1_000);
      for (const n of c.nodes) n.tick();
      await c.settle();
    }
    const s3 = c.nodes[2]?.stats() ?? {};
    expect(s3['ringVersion']).toBe(2);
    const leaving = leavingOf(s3);
    // Everything n3 held is leaving (it replicates nothing now), partition by partition, in order.
    expect(total(leaving)).toBe(c.stores[2]?.count());
    expect(leaving.map(([p]) => p)).toEqual(
      [...(c.stores[2]?.countByPartition().keys() ?? [])].sort((a, b) => a - b),
    );
    // The ring in stats is the node's ring, as encoded.
    const decoded = decodeRing(Uint8Array.from(Buffer.from(String(s3['ring']), 'hex')));
    if (!decoded.ok) throw decoded.error;
    expect(encodeRing(decoded.value)).toEqual(encodeRing(c.nodes[2]?.ring ?? decoded.value));
    expect(s3['replicas']).toBe(2);

    for (let round = 0; round < 30 && total(leavingOf(c.nodes[2]?.stats() ?? {})) > 0; round++) {
      c.clock.advance(1_000);
      for (const n of c.nodes) n.tick();
      await c.settle();
    }
    expect(leavingOf(c.nodes[2]?.stats() ?? {})).toEqual([]);
    for (const n of c.nodes.slice(0, 2)) expect(leavingOf(n.stats())).toEqual([]);
    console.log(
      `n3 held ${held} lists in ${leaving.length} partitions as leaving after its removal; 0 after transfer`,
    );
  });
});
