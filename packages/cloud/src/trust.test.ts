// Trust between the cloud's members (Trust part 2), over the in-memory network, where every frame
// arrives with its sender's role and ID as the ZeroMQ transport will authenticate them. A node
// takes each message only from the roles that may send it; a reply only from the node it asked;
// gossip only as its sender's own word about itself (a third party may introduce, not move, a
// member), with heartbeats bounded by the wall clock and members bounded by the keyring; ring
// changes only from operators, and not to fewer than N nodes or to none of today's nodes unless
// forced; a handed-over list is deleted only once its owners hold exactly what we hold; hints only
// for nodes of the ring. Each test also shows the frame that is allowed, so that it can fail.

import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  applyRingChange,
  decodeMessage,
  encodeList,
  encodeMessage,
  encodeRing,
  hashEquals,
  listView,
  md5,
  parseNodeId,
  partitionOf,
  preferenceList,
  type ListDoc,
  type ListId,
  type Message,
  type MessageOf,
  type NodeId,
  type ReplicaId,
} from '@trolley/core';
import type { Peer } from './ports.ts';
import type { StorageNode } from './storage-node.ts';
import { MemoryCluster } from './testing/cluster-fixture.ts';
import { recordingLogger, type LogLine } from './testing/recording-logger.ts';

const id = parseNodeId;
const n1 = id('n1');
const outsider: Peer = { role: 'node', id: 'n9' };
const proxy: Peer = { role: 'proxy', id: 'p1' };
const alice = (): ListReplica => new ListReplica('alice' as ReplicaId);

let requestId = 5_000;
const next = (): number => requestId++;

function node(c: MemoryCluster, i: number): StorageNode {
  return c.nodes[i] as StorageNode;
}

function errorOf(c: MemoryCluster, rid: number): { code: string; message: string } | undefined {
  const m = c.reply(rid);
  return m?.type === 'error' ? { code: m.code, message: m.message } : undefined;
}

function ringChange(add: string[], remove: string[], force?: boolean): Message {
  return {
    type: 'ring-change',
    requestId: next(),
    add: add.map((x) => ({ id: x, address: x, weight: 1 })),
    remove,
    ...(force === undefined ? {} : { force }),
  };
}

function gossip(
  from: string,
  members: { id: string; address: string; heartbeat: number }[],
  ring?: Uint8Array,
): Message {
  return { type: 'gossip', requestId: 0, from, members, ring: ring ?? new Uint8Array(0) };
}

function replicaPut(c: MemoryCluster, listId: ListId, doc: ListDoc, target?: string): Message {
  const common = {
    requestId: next(),
    listId,
    opId: c.opId(),
    deadlineMs: c.clock.wallMs() + 1_000,
    doc: encodeList(doc),
  };
  return target === undefined
    ? { type: 'replica-put', ...common }
    : { type: 'hinted-put', ...common, target };
}

/** Time passes in steps of `stepMs`; every node ticks after each, and frames move. */
async function run(c: MemoryCluster, ms: number, stepMs = 250): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    c.clock.advance(stepMs);
    for (const n of c.nodes) n.tick();
    await c.settle();
  }
}

describe('who may send a node what', () => {
  it('a ring change from a node, a proxy or a client is refused, counted and logged; the ring stays', async () => {
    const logged: LogLine[] = [];
    const c = new MemoryCluster(undefined, undefined, { logger: recordingLogger(logged) });
    const asNode = ringChange(['n4'], []);
    const asProxy = ringChange(['n4'], []);
    const asClient = ringChange(['n4'], []);
    c.sendFrom(outsider, n1, asNode);
    c.sendFrom(proxy, n1, asProxy);
    c.send(n1, asClient);
    await c.settle();
    for (const m of [asNode, asProxy, asClient]) expect(errorOf(c, m.requestId)?.code).toBe('refused');
    expect(c.nodes.map((n) => n.ring?.version)).toEqual([1, 1, 1]);
    expect(node(c, 0).counters.peerFramesRefused).toBe(3);
    expect(node(c, 0).counters.operatorRingChanges).toBe(0);
    const warned = logged.filter((l) => l.level === 'warn' && l.event === 'peer frame refused');
    expect(warned.map((l) => [l.fields['role'], l.fields['id'], l.fields['type']])).toEqual([
      ['node', 'n9', 'ring-change'],
      ['proxy', 'p1', 'ring-change'],
      ['client', 'client', 'ring-change'],
    ]);
    // The same change from an operator is made.
    const asOperator = ringChange(['n4'], []);
    c.operator(n1, asOperator);
    await c.settle();
    expect(c.reply(asOperator.requestId)).toMatchObject({ type: 'ring-change-reply', ringVersion: 2 });
    expect(c.nodes.map((n) => n.ring?.version)).toEqual([2, 2, 2]);
  });

  it('admin reads and stats are answered to an operator only', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const put = c.put(n1, listId, alice().addItem('Milk', 1));
    await c.settle();
    expect(c.reply(put)).toMatchObject({ outcome: 'ok' });
    const asked: { from: Peer | 'client'; m: Message }[] = [];
    for (const from of [outsider, proxy, 'client'] as const) {
      asked.push({ from, m: { type: 'admin-read', requestId: next(), listId } });
      asked.push({ from, m: { type: 'stats', requestId: next() } });
    }
    for (const { from, m } of asked) {
      if (from === 'client') c.send(n1, m);
      else c.sendFrom(from, n1, m);
    }
    await c.settle();
    for (const { m } of asked) expect(errorOf(c, m.requestId)?.code).toBe('refused');
    expect(node(c, 0).counters.peerFramesRefused).toBe(6);
    const read: Message = { type: 'admin-read', requestId: next(), listId };
    const stats: Message = { type: 'stats', requestId: next() };
    c.operator(n1, read);
    c.operator(n1, stats);
    await c.settle();
    const r = c.reply(read.requestId);
    expect(r?.type === 'admin-read-reply' && r.state !== undefined).toBe(true);
    expect(c.reply(stats.requestId)).toMatchObject({ type: 'stats-reply' });
  });

  it('a replica write from a client or a proxy is refused and not stored (it would skip the write check)', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const fromClient = replicaPut(c, listId, alice().addItem('Forged', 1));
    const fromProxy = replicaPut(c, listId, alice().addItem('Forged', 1));
    c.send(n1, fromClient);
    c.sendFrom(proxy, n1, fromProxy);
    await c.settle();
    expect(errorOf(c, fromClient.requestId)?.code).toBe('refused');
    expect(errorOf(c, fromProxy.requestId)?.code).toBe('refused');
    expect(c.stored(0, listId)).toBeUndefined();
    expect(node(c, 0).counters.replicaWrites).toBe(0);
    // From a node, the same write is a replica write.
    const fromNode = replicaPut(c, listId, alice().addItem('Forged', 1));
    c.sendFrom(outsider, n1, fromNode);
    await c.settle();
    expect(c.reply(fromNode.requestId)).toMatchObject({ type: 'replica-put-reply' });
    expect(c.stored(0, listId)).toBeDefined();
  });

  it("reads each sender's frames as its planes only: another plane's message is refused, counted, and changes nothing", async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const operator: Peer = { role: 'operator', id: 'ops' };
    const ringBefore = node(c, 0).ring;
    // Requests of a plane the sender does not speak (answered `refused`), and one-way messages
    // (gossip, a watch: counted, not answered).
    const requests: [Peer | 'client', Message][] = [
      [proxy, { type: 'ae-root', requestId: next(), partition: 0, root: new Uint8Array(16) }],
      [proxy, ringChange([], ['n3'], true)],
      ['client', { type: 'replica-get', requestId: next(), listId, deadlineMs: c.clock.wallMs() + 1_000 }],
      [
        outsider,
        {
          type: 'put',
          requestId: next(),
          listId,
          opId: c.opId(),
          deadlineMs: c.clock.wallMs() + 1_000,
          delta: encodeList(alice().addItem('Forged', 1)),
        },
      ],
      [outsider, { type: 'stats', requestId: next() }],
      [operator, { type: 'replica-get', requestId: next(), listId, deadlineMs: c.clock.wallMs() + 1_000 }],
    ];
    const oneWay: [Peer, Message][] = [
      [proxy, { type: 'gossip', requestId: next(), from: 'n2', members: [], ring: encodeRing(ringBefore!) }],
      [outsider, { type: 'watch', requestId: next(), listIds: [listId] }],
      [
        operator,
        { type: 'gossip-reply', requestId: next(), from: 'n2', members: [], ring: new Uint8Array(0) },
      ],
    ];
    for (const [from, m] of [...requests, ...oneWay]) {
      if (from === 'client') c.send(n1, m);
      else c.sendFrom(from, n1, m);
    }
    await c.settle();
    for (const [, m] of requests) expect(errorOf(c, m.requestId)?.code).toBe('refused');
    for (const [, m] of oneWay) expect(c.reply(m.requestId)).toBeUndefined();
    expect(node(c, 0).counters.peerFramesRefused).toBe(requests.length + oneWay.length);
    expect(node(c, 0).ring).toBe(ringBefore);
    expect(c.stored(0, listId)).toBeUndefined();
    // A free tag in another plane's range, and a version-1 frame: rejected as malformed, unanswered.
    const rejected = node(c, 0).counters.rejected;
    c.sendRaw(n1, Uint8Array.of(2, 40, 1));
    c.sendRaw(n1, Uint8Array.of(1, 3, 1));
    await c.settle();
    expect(node(c, 0).counters.rejected).toBe(rejected + 2);
    // The same ae-root from a node is its plane: answered (with the buckets that differ, or none).
    const fromNode: Message = { type: 'ae-root', requestId: next(), partition: 0, root: new Uint8Array(16) };
    c.sendFrom(outsider, n1, fromNode);
    await c.settle();
    expect(c.reply(fromNode.requestId)).toMatchObject({ type: 'ae-buckets' });
  });

  it('every push says why it is sent and is answered to its sender, a write of its own purpose too', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const pushes = (['read-repair', 'hint', 'transfer', 'anti-entropy'] as const).map((purpose) => ({
      ...(replicaPut(c, listId, alice().addItem('Pushed', 1)) as MessageOf<'replica-put'>),
      purpose,
    }));
    for (const m of pushes) c.sendFrom(outsider, n1, m);
    await c.settle();
    for (const m of pushes) expect(c.reply(m.requestId)).toMatchObject({ type: 'replica-put-reply' });
    expect(node(c, 0).counters.replicaWrites).toBe(4);
    expect(c.stored(0, listId)).toBeDefined();
  });

  it("a replica's acknowledgement counts only from the replica asked", async () => {
    const c = new MemoryCluster();
    c.network.setDown('n2', true);
    c.network.setDown('n3', true);
    const listId = c.newListId();
    const put = c.put(n1, listId, alice().addItem('Salt', 1));
    await c.settle();
    // n1 wrote its own copy and asked n2 and n3 (request IDs 1 and 2): n9 answers for them.
    for (const rid of [1, 2])
      c.sendFrom(outsider, n1, { type: 'replica-put-reply', requestId: rid, hash: new Uint8Array(16) });
    await c.settle();
    expect(c.reply(put)).toBeUndefined();
    expect(node(c, 0).counters.strayReplies).toBe(2);
    c.clock.advance(2_000);
    node(c, 0).tick();
    await c.settle();
    expect(c.reply(put)).toMatchObject({ type: 'put-reply', outcome: 'unknown', acks: 1 });
  });
});

describe('gossip speaks for its sender only', () => {
  it('a gossip naming another node as its sender is refused, ring and all', async () => {
    const c = new MemoryCluster();
    const newer = encodeRing(applyRingChange(c.ring, { add: [], remove: [id('n3')] }));
    const wall = c.clock.wallMs();
    c.sendFrom(outsider, n1, gossip('n2', [{ id: 'n2', address: 'tcp://evil:1', heartbeat: wall }], newer));
    await c.settle();
    expect(node(c, 0).ring?.version).toBe(1);
    expect(node(c, 0).membership.address('n2')).toBe('n2');
    expect(node(c, 0).counters.gossipIn).toBe(0);
    expect(node(c, 0).counters.peerFramesRefused).toBe(1);
    // As itself, the same node is heard.
    c.sendFrom(outsider, n1, gossip('n9', [{ id: 'n9', address: 'n9', heartbeat: wall }], newer));
    await c.settle();
    expect(node(c, 0).counters.gossipIn).toBe(1);
    expect(node(c, 0).ring?.version).toBe(2);
  });

  it("a third party introduces a member but cannot move a known member's address; the member can", async () => {
    const c = new MemoryCluster();
    const n = node(c, 0);
    const wall = c.clock.wallMs();
    c.sendFrom(
      outsider,
      n1,
      gossip('n9', [
        { id: 'n9', address: 'tcp://n9:1', heartbeat: wall },
        { id: 'n2', address: 'tcp://evil:1', heartbeat: wall + 10 }, // newer than n2's: still not its word
        { id: 'n8', address: 'tcp://n8:1', heartbeat: wall }, // never heard of: an introduction
      ]),
    );
    await c.settle();
    expect(n.membership.address('n2')).toBe('n2');
    expect(n.membership.view().find((m) => m.id === 'n2')?.heartbeat).toBe(wall + 10); // liveness news is taken
    expect(n.membership.address('n9')).toBe('tcp://n9:1');
    expect(n.membership.address('n8')).toBe('tcp://n8:1');
    // A member moves itself (a newer heartbeat of its own entry); a third party cannot move n8.
    c.sendFrom(
      outsider,
      n1,
      gossip('n9', [
        { id: 'n9', address: 'tcp://n9:2', heartbeat: wall + 1 },
        { id: 'n8', address: 'tcp://evil:2', heartbeat: wall + 1 },
      ]),
    );
    await c.settle();
    expect(n.membership.address('n9')).toBe('tcp://n9:2');
    expect(n.membership.address('n8')).toBe('tcp://n8:1');
  });

  it('a heartbeat far ahead of the wall clock is refused: it keeps no dead member alive, nor lifts ours', async () => {
    const c = new MemoryCluster();
    const n = node(c, 0);
    c.network.setDown('n3', true);
    c.clock.advance(4_000); // n3 has been silent for 4 s: suspect, down at 5 s
    const wall = c.clock.wallMs();
    const day = 86_400_000;
    const ours = (): number => n.membership.view().find((m) => m.id === 'n1')?.heartbeat ?? 0;
    const before = ours();
    c.sendFrom(
      outsider,
      n1,
      gossip('n9', [
        { id: 'n9', address: 'n9', heartbeat: wall },
        { id: 'n3', address: 'n3', heartbeat: wall + day },
        { id: 'n1', address: 'n1', heartbeat: wall + day },
      ]),
    );
    await c.settle();
    expect(n.counters.heartbeatsRefused).toBe(2);
    expect(ours()).toBe(before);
    c.clock.advance(2_000);
    expect(n.membership.liveness('n3', c.clock.monotonicMs())).toBe('down');
    // Within the bound (10 min by default), the same news is taken: n3 is alive again.
    c.sendFrom(outsider, n1, gossip('n9', [{ id: 'n3', address: 'n3', heartbeat: wall + 60_000 }]));
    await c.settle();
    expect(n.membership.liveness('n3', c.clock.monotonicMs())).toBe('alive');
    expect(n.counters.heartbeatsRefused).toBe(2);
  });

  it('members the keyring does not know are not taken in, nor added to the ring', async () => {
    const c = new MemoryCluster(undefined, undefined, { isMember: (x) => x !== 'n8' });
    const n = node(c, 0);
    const wall = c.clock.wallMs();
    c.sendFrom(
      outsider,
      n1,
      gossip('n9', [
        { id: 'n9', address: 'n9', heartbeat: wall },
        { id: 'n8', address: 'n8', heartbeat: wall },
      ]),
    );
    await c.settle();
    expect(n.membership.address('n8')).toBeUndefined();
    expect(n.membership.address('n9')).toBe('n9');
    expect(n.counters.membersRefused).toBe(1);
    const add8 = ringChange(['n8'], []);
    const add9 = ringChange(['n9'], []);
    c.operator(n1, add8);
    await c.settle();
    expect(errorOf(c, add8.requestId)).toEqual({
      code: 'invalid_argument',
      message: "no key for node n8 in the keyring; add its key to every node's keyring first",
    });
    expect(n.ring?.version).toBe(1);
    c.operator(n1, add9);
    await c.settle();
    expect(c.reply(add9.requestId)).toMatchObject({ type: 'ring-change-reply', ringVersion: 2 });
  });
});

describe('ring changes an operator must insist on', () => {
  it('a ring of fewer than N nodes is refused without force, made with it, and logged at warn', async () => {
    const logged: LogLine[] = [];
    const c = new MemoryCluster(undefined, undefined, { logger: recordingLogger(logged) });
    const plain = ringChange([], ['n3']);
    c.operator(n1, plain);
    await c.settle();
    const refused = errorOf(c, plain.requestId);
    expect(refused?.code).toBe('invalid_argument');
    expect(refused?.message).toMatch(/2 nodes, fewer than N=3.*pass --force/);
    expect(c.nodes.map((n) => n.ring?.version)).toEqual([1, 1, 1]);
    const forced = ringChange([], ['n3'], true);
    c.operator(n1, forced);
    await c.settle();
    expect(c.reply(forced.requestId)).toMatchObject({ type: 'ring-change-reply', ringVersion: 2 });
    expect(node(c, 0).ring?.nodes.map((x) => x.id)).toEqual(['n1', 'n2']);
    expect(node(c, 0).counters.operatorRingChanges).toBe(1);
    const line = logged.find((l) => l.event === 'ring changed by operator');
    expect(line?.level).toBe('warn');
    expect(line?.fields).toMatchObject({
      operator: 'ops',
      version: 2,
      added: [],
      removed: ['n3'],
      force: true,
    });
  });

  it('a ring with none of the current nodes is refused without force', async () => {
    const c = new MemoryCluster();
    const all = ringChange(['n4', 'n5', 'n6'], ['n1', 'n2', 'n3']);
    c.operator(n1, all);
    await c.settle();
    expect(errorOf(c, all.requestId)?.message).toMatch(/keeps none of the current ring's nodes.*--force/);
    expect(node(c, 0).ring?.version).toBe(1);
    // Keeping one of them is an ordinary change.
    const most = ringChange(['n4', 'n5', 'n6'], ['n2', 'n3']);
    c.operator(n1, most);
    await c.settle();
    expect(c.reply(most.requestId)).toMatchObject({ type: 'ring-change-reply', ringVersion: 2 });
  });
});

describe('handover: a list leaves only for owners that hold what we hold', () => {
  /** A 4-node cluster (N=3) and a list that n4 owns and node `holder` does not. */
  function handoverSetup(): { c: MemoryCluster; listId: ListId; holder: number; owners: NodeId[] } {
    const c = new MemoryCluster(['n1', 'n2', 'n3', 'n4'].map(id));
    for (;;) {
      const listId = c.newListId();
      const owners = preferenceList(c.ring, partitionOf(listId, c.ring.partitionCount), 3);
      const holder = c.ids.findIndex((x) => !owners.includes(x));
      if (owners.includes(id('n4')) && holder >= 0) return { c, listId, holder, owners };
    }
  }

  /** Puts a full state straight into node i's store, as a copy it holds (a fallback copy, an old ring's). */
  async function hold(c: MemoryCluster, i: number, listId: ListId, doc: ListDoc): Promise<void> {
    const state = encodeList(doc);
    const partition = partitionOf(listId, c.ring.partitionCount);
    await c.stores[i]?.put({ key: listId, partition, state, hash: md5(state) });
  }

  it('an owner that acknowledges with a hash other than ours does not get the list deleted', async () => {
    const { c, listId, holder } = handoverSetup();
    const writer = alice();
    writer.addItem('Milk', 1);
    await hold(c, holder, listId, writer.state);
    // n4 says it stored every push, with a made-up hash, and stores nothing; all else it handles.
    const realN4 = node(c, 3);
    const liar = c.network.endpoint('n4', (frame, replyTo, from) => {
      const m = decodeMessage(frame);
      if (!m.ok || m.value.type !== 'replica-put') return realN4.handle(frame, replyTo, from);
      const hash = new Uint8Array(16).fill(0xab);
      liar.reply(replyTo, encodeMessage({ type: 'replica-put-reply', requestId: m.value.requestId, hash }));
    });
    await run(c, 8_000);
    const h = node(c, holder);
    expect(h.counters.transferAcksMismatched).toBeGreaterThanOrEqual(2);
    expect(h.counters.transferredAway).toBe(0);
    expect(c.stored(holder, listId)).toBeDefined();
    expect(c.stored(3, listId)).toBeUndefined();
  });

  it('an owner that holds more: its copy is read back and joined, then the list leaves', async () => {
    const { c, listId, holder, owners } = handoverSetup();
    const writer = alice();
    writer.addItem('Milk', 1);
    await hold(c, holder, listId, writer.state);
    writer.addItem('Tea', 2);
    await hold(c, 3, listId, writer.state); // n4 has a write the holder never saw
    await run(c, 8_000);
    const h = node(c, holder);
    expect(h.counters.transferAcksMismatched).toBeGreaterThanOrEqual(1);
    expect(h.counters.transferredAway).toBe(1);
    expect(c.stores[holder]?.get(listId)).toBeUndefined();
    const hashes = owners.map((o) => c.stores[c.ids.indexOf(o)]?.get(listId)?.hash);
    expect(hashes.every((x) => x !== undefined && hashEquals(x, hashes[0]))).toBe(true);
    const kept = c.stored(3, listId);
    expect(kept && listView(kept).items.map((i) => i.key)).toEqual(['milk', 'tea']);
  });
});

describe('hints only for nodes of the ring', () => {
  it('a hinted write for a node outside the ring is refused and counted, not held', async () => {
    const c = new MemoryCluster();
    const listId = c.newListId();
    const stranger = replicaPut(c, listId, alice().addItem('Eggs', 6), 'n7');
    c.sendFrom(outsider, n1, stranger);
    await c.settle();
    expect(errorOf(c, stranger.requestId)?.code).toBe('invalid_argument');
    expect(node(c, 0).counters.hintsDropped).toBe(1);
    expect(c.stores[0]?.hintCount()).toBe(0);
    expect(c.stored(0, listId)).toBeUndefined();
    const forN2 = replicaPut(c, listId, alice().addItem('Eggs', 6), 'n2');
    c.sendFrom(outsider, n1, forN2);
    await c.settle();
    expect(c.reply(forN2.requestId)).toMatchObject({ type: 'replica-put-reply' });
    expect(c.stores[0]?.hintCount()).toBe(1);
  });

  it('hints held for a node that left the ring are deleted and counted, even while it is down', async () => {
    const c = new MemoryCluster(['n1', 'n2', 'n3', 'n4'].map(id));
    const listId = c.newListId();
    c.sendFrom(outsider, n1, replicaPut(c, listId, alice().addItem('Rice', 1), 'n4'));
    await c.settle();
    expect(c.stores[0]?.hintCount()).toBe(1);
    c.network.setDown('n4', true);
    c.clock.advance(3_000); // n4 has been silent long enough to be suspect: no hint goes to it
    c.operator(n1, ringChange([], ['n4']));
    await c.settle();
    expect(node(c, 0).ring?.nodes.map((x) => x.id)).toEqual(['n1', 'n2', 'n3']);
    expect(node(c, 0).membership.liveness('n4', c.clock.monotonicMs())).toBe('suspect');
    await run(c, 1_000);
    expect(c.stores[0]?.hintCount()).toBe(0);
    expect(node(c, 0).counters.hintsDropped).toBe(1);
    expect(node(c, 0).counters.hintsDelivered).toBe(0);
  });
});
