import { describe, expect, it } from 'vitest';
import { ListReplica, md5, parseNodeId, type ListDoc, type ReplicaId } from '@trolley/core';
import { listDigest } from '../replica/list-digest.ts';
import { getDone, getGraceOver, getReply, getState, type GetAction } from './get-core.ts';

const [n1, n2, n3] = ['n1', 'n2', 'n3'].map(parseNodeId) as [
  ReturnType<typeof parseNodeId>,
  ReturnType<typeof parseNodeId>,
  ReturnType<typeof parseNodeId>,
];
const writer = new ListReplica('alice' as ReplicaId);
writer.addItem('Milk', 1);
const full = writer.state.clone();
const digest = (state: ListDoc): Uint8Array => listDigest(state, md5);
const fullHash = digest(full);
const has = { doc: full, hash: fullHash };
const lacks = { doc: undefined, hash: undefined };
const o = (nowMs = 0, graceMs = 20) => ({ nowMs, graceMs, digest });
const kinds = (a: GetAction[]): string[] => a.map((x) => (x.kind === 'repair' ? `repair ${x.node}` : x.kind));

describe('get core: R answers, a grace for the rest, read repair', () => {
  it('waits for R, then a grace; answers at once when all are in, repairing who lacks the state', () => {
    const s = getState(2, [n1, n2, n3]);
    expect(getReply(s, { node: n1, ...has }, o())).toEqual([]);
    expect(getReply(s, { node: n2, ...lacks }, o(5))).toEqual([]); // R in: grace until 25
    expect(s.graceUntilMs).toBe(25);
    const a = getReply(s, { node: n3, ...has }, o(10));
    expect(kinds(a)).toEqual(['answer', 'repair n2']);
    expect(a[0]).toMatchObject({ answered: 3, inSync: 2 });
    expect(getDone(s)).toBe(true);
  });

  it('answers at the end of the grace, and repairs a replica that answers late', () => {
    const s = getState(2, [n1, n2, n3]);
    getReply(s, { node: n1, ...has }, o());
    getReply(s, { node: n2, ...has }, o());
    expect(kinds(getGraceOver(s, digest))).toEqual(['answer']);
    expect(getDone(s)).toBe(false);
    expect(kinds(getReply(s, { node: n3, ...lacks }, o(50)))).toEqual(['repair n3']);
    expect(getDone(s)).toBe(true);
    expect(getGraceOver(s, digest)).toEqual([]); // answered once only
  });

  it('fewer replicas than R: no answer (the deadline refuses), and nothing to repair in an empty list', () => {
    const s = getState(2, [n1]);
    expect(getReply(s, { node: n1, ...has }, o())).toEqual([]);
    expect(s.replied).toBe(false);
    const empty = getState(2, [n1, n2]);
    getReply(empty, { node: n1, ...lacks }, o());
    const a = getReply(empty, { node: n2, ...lacks }, o());
    expect(kinds(a)).toEqual(['answer']);
    expect(a[0]).toMatchObject({ inSync: 2 });
  });
});
