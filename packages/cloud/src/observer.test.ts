// The node's observer port (observer.ts), over the in-memory cluster: each kind of request is
// reported once, with its outcome and time, when it ends — the figures a process's metrics show.

import { describe, expect, it } from 'vitest';
import { ListReplica, type ReplicaId } from '@trolley/core';
import type { NodeObserver, RequestKind, RequestOutcome } from './observer.ts';
import { MemoryCluster } from './testing/cluster-fixture.ts';

interface Report {
  kind: RequestKind;
  outcome: RequestOutcome;
  ms: number;
  cause: string | undefined;
}

function recorder(): NodeObserver & { reports: Report[]; reads: [number, number][] } {
  const reports: Report[] = [];
  const reads: [number, number][] = [];
  return {
    reports,
    reads,
    request: (kind, outcome, ms, cause) => reports.push({ kind, outcome, ms, cause }),
    read: (answered, inSync) => reads.push([answered, inSync]),
  };
}

const count = (o: { reports: Report[] }, kind: RequestKind, outcome: RequestOutcome): number =>
  o.reports.filter((r) => r.kind === kind && r.outcome === outcome).length;

describe('the node observer', () => {
  it('reports a put, its N − 1 replica writes and a get, each with the time it took', async () => {
    const o = recorder();
    const c = new MemoryCluster(undefined, undefined, { observer: o });
    const listId = c.newListId();
    c.put(c.ids[0] as never, listId, new ListReplica('alice' as ReplicaId).addItem('Milk', 2));
    await c.settle();
    expect(count(o, 'put', 'ok')).toBe(1);
    expect(count(o, 'replica_write', 'ok')).toBe(2);
    c.clock.advance(7);
    c.get(c.ids[0] as never, listId);
    await c.settle();
    expect(count(o, 'get', 'ok')).toBe(1);
    expect(o.reads).toEqual([[3, 3]]);
    expect(o.reports.every((r) => r.ms >= 0 && r.cause === undefined)).toBe(true);
  });

  it('reports a refusal with its cause, and a put that misses W as unknown', async () => {
    const o = recorder();
    const c = new MemoryCluster(undefined, undefined, { observer: o });
    const listId = c.newListId();
    const r = new ListReplica('alice' as ReplicaId);
    c.put(c.ids[0] as never, listId, r.addItem('Tea', 1), { deadlineMs: c.clock.wallMs() - 1 });
    await c.settle();
    expect(o.reports).toEqual([{ kind: 'put', outcome: 'refused', ms: 0, cause: 'deadline_exceeded' }]);
    c.network.setDown('n2', true);
    c.network.setDown('n3', true);
    c.put(c.ids[0] as never, listId, r.addItem('Jam', 1));
    await c.settle();
    c.clock.advance(1_000);
    for (const node of c.nodes) node.tick();
    expect(count(o, 'put', 'unknown')).toBe(1);
    expect(o.reports.find((x) => x.outcome === 'unknown')?.ms).toBeGreaterThanOrEqual(1_000);
  });

  it('reports a read repair, and the divergent replica the read found', async () => {
    const o = recorder();
    const c = new MemoryCluster(undefined, undefined, { observer: o });
    const listId = c.newListId();
    c.network.setDown('n3', true);
    c.put(c.ids[0] as never, listId, new ListReplica('alice' as ReplicaId).addItem('Tea', 1));
    await c.settle();
    c.network.setDown('n3', false);
    c.get(c.ids[0] as never, listId);
    await c.settle();
    expect(o.reads).toEqual([[3, 2]]);
    expect(count(o, 'read_repair', 'ok')).toBe(1);
  });
});
