import { describe, expect, it } from 'vitest';
import { createRing, parseNodeId, preferenceList, type NodeId } from '@trolley/core';
import { owns, targets } from './placement.ts';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'].map(parseNodeId);
const ring = createRing(
  ids.map((id) => ({ id, weight: 1 })),
  { partitionCount: 16 },
);
const none = (): boolean => false;

describe('placement: targets of a partition', () => {
  it('all owners healthy: the N owners, no hints', () => {
    const owners = preferenceList(ring, 3, 3);
    expect(targets(ring, 3, 3, none)).toEqual(owners.map((node) => ({ node })));
  });

  it('a down owner is replaced by the next healthy node that is not an owner, with a hint naming it', () => {
    const owners = preferenceList(ring, 3, 3);
    const down = owners[1] as NodeId;
    const t = targets(ring, 3, 3, (n) => n === down);
    expect(t).toHaveLength(3);
    expect(t.filter((x) => x.hintFor === undefined).map((x) => x.node)).toEqual(
      owners.filter((o) => o !== down),
    );
    const stand = t.find((x) => x.hintFor !== undefined);
    expect(stand?.hintFor).toBe(down);
    expect(owners).not.toContain(stand?.node);
  });

  it('fewer healthy nodes than N: as many targets as there are healthy nodes', () => {
    const up = new Set(ids.slice(0, 2));
    const t = targets(ring, 0, 3, (n) => !up.has(n));
    expect(t.map((x) => x.node).sort()).toEqual([...up].sort());
  });

  it('each partition is replicated by exactly N distinct nodes, its primary owner among them', () => {
    const mine = Array.from({ length: ring.partitionCount }, (_, p) => p).filter((p) =>
      owns(ring, p, 3, ids[0] as NodeId),
    );
    expect(mine.length).toBeGreaterThan(0);
    for (let p = 0; p < ring.partitionCount; p++) {
      const holders = ids.filter((id) => owns(ring, p, 3, id));
      expect(holders.length).toBe(3);
      expect(holders).toContain(ring.owners[p]);
      expect(mine.includes(p)).toBe(holders.includes(ids[0] as NodeId));
    }
  });
});
