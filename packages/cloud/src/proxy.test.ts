// The proxy routes each request to the first live node of the key's preference list, answers
// hellos and stats itself (naming no node's address), refuses what a client may not send, and
// forgets silent nodes. Its public port is shared fairly: watches replace a client's set and, when
// the table is full, are made room for max-min fairly; each client has a quota of requests in
// flight; every refusal is counted and logged, a few lines a second per reason.

import { describe, expect, it } from 'vitest';
import {
  WIRE_VERSION,
  limits,
  newListId,
  opIdFrom,
  createRing,
  decodeMessage,
  encodeMessage,
  encodeRing,
  parseNodeId,
  partitionOf,
  preferenceList,
  type ListId,
  type Message,
  type Random,
} from '@trolley/core';
import { Proxy } from './proxy.ts';
import { ManualClock, MemoryCluster } from './testing/cluster-fixture.ts';
import { recordingLogger, type LogLine } from './testing/recording-logger.ts';

function setup(): {
  proxy: Proxy;
  clock: ManualClock;
  toNodes: { node: string; client: Uint8Array; frame: Uint8Array }[];
  toClient: Message[];
  /** The client route of each message in toClient. */
  toClientRoute: Uint8Array[];
  hello: (id: string) => void;
  logged: LogLine[];
} {
  const clock = new ManualClock();
  const toNodes: { node: string; client: Uint8Array; frame: Uint8Array }[] = [];
  const toClient: Message[] = [];
  const toClientRoute: Uint8Array[] = [];
  const logged: LogLine[] = [];
  const logger = recordingLogger(logged);
  const ids = ['n1', 'n2', 'n3'].map(parseNodeId);
  const ring = createRing(
    ids.map((id) => ({ id, weight: 1 })),
    { partitionCount: 64 },
  );
  const proxy = new Proxy({
    name: 'p',
    replicas: 3,
    nodeSilenceMsMax: 3_000,
    clock,
    logger,
    transport: {
      toNode: (node, client, frame) => toNodes.push({ node, client, frame }),
      toClient: (client, frame) => {
        const m = decodeMessage(frame);
        if (m.ok) {
          toClient.push(m.value);
          toClientRoute.push(client);
        }
      },
    },
  });
  const hello = (id: string): void =>
    proxy.onNodeFrame(
      id,
      new Uint8Array(0),
      encodeMessage({
        type: 'node-hello',
        requestId: 0,
        nodeId: id,
        address: `tcp://x:${id}`,
        ring: encodeRing(ring),
      }),
    );
  return { proxy, clock, toNodes, toClient, toClientRoute, hello, logged };
}

/** A deterministic Random for list IDs. */
function counterRandom(): Random {
  let n = 0;
  return {
    fill: (bytes) => {
      for (let i = 0; i < bytes.length; i++) bytes[i] = (n * 131 + i * 7) & 0xff;
      n++;
      for (let i = 0; i < 4 && i < bytes.length; i++) bytes[i] = (n >>> (8 * i)) & 0xff;
      return bytes;
    },
  };
}

const client = Uint8Array.from([0, 1, 2, 3]);

describe('proxy', () => {
  it('forwards a request unchanged to the first live node of the preference list', () => {
    const { proxy, toNodes, hello, clock } = setup();
    for (const id of ['n1', 'n2', 'n3']) hello(id);
    const listId = new MemoryCluster().newListId();
    const frame = encodeMessage({
      type: 'get',
      requestId: 7,
      listId,
      deadlineMs: clock.wallMs() + 1000,
      context: new Uint8Array(),
    });
    proxy.onClientFrame(client, frame);
    const ring = proxy.ring;
    if (ring === undefined) throw new Error('the proxy learned no ring');
    const prefs = preferenceList(ring, partitionOf(listId, ring.partitionCount), 3);
    expect(toNodes).toEqual([{ node: prefs[0], client, frame }]);
    // The first choice goes silent: the next one in the preference list takes over.
    clock.advance(4_000);
    for (const id of prefs.slice(1)) hello(id);
    proxy.onClientFrame(client, frame);
    expect(toNodes[1]?.node).toBe(prefs[1]);
  });

  it('answers unavailable when no node is live, and hello and stats itself', () => {
    const { proxy, toClient, toNodes, clock } = setup();
    const listId = new MemoryCluster().newListId();
    proxy.onClientFrame(
      client,
      encodeMessage({
        type: 'get',
        requestId: 1,
        listId,
        deadlineMs: clock.wallMs() + 1000,
        context: new Uint8Array(),
      }),
    );
    proxy.onClientFrame(client, encodeMessage({ type: 'hello', requestId: 2, client: 'test' }));
    proxy.onClientFrame(client, encodeMessage({ type: 'stats', requestId: 3 }));
    expect(toNodes).toHaveLength(0);
    expect(toClient.map((m) => [m.type, m.requestId])).toEqual([
      ['error', 1],
      ['hello-reply', 2],
      ['stats-reply', 3],
    ]);
    expect(toClient[0]).toMatchObject({ code: 'unavailable' });
    expect(toClient[1]).toMatchObject({ version: WIRE_VERSION });
  });

  it('refuses replica and admin messages from clients, unknown versions and junk, counting each', () => {
    const { proxy, toClient, toNodes, hello } = setup();
    for (const id of ['n1', 'n2', 'n3']) hello(id);
    const listId = new MemoryCluster().newListId();
    proxy.onClientFrame(client, encodeMessage({ type: 'admin-read', requestId: 1, listId }));
    const future = encodeMessage({ type: 'hello', requestId: 2, client: 'x' });
    future[0] = 99;
    proxy.onClientFrame(client, future);
    proxy.onClientFrame(client, Uint8Array.from([WIRE_VERSION, 3, 5, 1, 2]));
    proxy.onClientFrame(client, new Uint8Array(0));
    expect(toNodes).toHaveLength(0);
    expect(toClient.map((m) => (m.type === 'error' ? m.code : m.type))).toEqual([
      'unknown_type',
      'unsupported_version',
      'malformed',
    ]);
    expect(proxy.counters.rejected).toBe(4);
  });

  it('reads a client frame of the replica, gossip or anti-entropy plane as a type a client may not send', () => {
    const { proxy, toClient, toNodes, hello } = setup();
    for (const id of ['n1', 'n2', 'n3']) hello(id);
    const listId = new MemoryCluster().newListId();
    const opId = opIdFrom(new Uint8Array(16));
    const foreign: Message[] = [
      { type: 'replica-put', requestId: 1, listId, opId, deadlineMs: 1, doc: new Uint8Array(3) },
      { type: 'gossip', requestId: 2, from: 'n1', members: [], ring: new Uint8Array(0) },
      { type: 'ae-root', requestId: 3, partition: 0, root: new Uint8Array(16) },
    ];
    for (const m of foreign) proxy.onClientFrame(client, encodeMessage(m));
    // A free tag (of another plane's range, or of the client plane's own): malformed.
    proxy.onClientFrame(client, Uint8Array.of(WIRE_VERSION, 40, 4));
    proxy.onClientFrame(client, Uint8Array.of(WIRE_VERSION, 20, 5));
    expect(toNodes).toHaveLength(0);
    expect(toClient.map((m) => (m.type === 'error' ? [m.requestId, m.code] : m.type))).toEqual([
      [1, 'unknown_type'],
      [2, 'unknown_type'],
      [3, 'unknown_type'],
      [4, 'malformed'],
      [5, 'malformed'],
    ]);
    expect(toClient[0]).toMatchObject({ message: 'a client may not send replica-put to a proxy' });
    expect(proxy.counters).toMatchObject({ rejected: 5, unknownType: 3, malformed: 2 });
  });

  it('ignores a node frame that is not a matching hello', () => {
    const { proxy, hello } = setup();
    hello('n1');
    proxy.onNodeFrame('n2', new Uint8Array(0), Uint8Array.from([1, 2, 3]));
    proxy.onNodeFrame('n2', new Uint8Array(0), encodeMessage({ type: 'stats', requestId: 1 }));
    // Another plane's message for the proxy itself (a gossip): not its hello either.
    proxy.onNodeFrame(
      'n2',
      new Uint8Array(0),
      encodeMessage({ type: 'gossip', requestId: 0, from: 'n2', members: [], ring: new Uint8Array(0) }),
    );
    expect(proxy.counters.rejected).toBe(3);
    expect((proxy.view()['nodes'] as unknown[]).length).toBe(1);
  });

  it('refuses a node-hello naming another node than the one it came from, and logs it', () => {
    const { proxy, hello, logged } = setup();
    hello('n1');
    const ring = encodeRing(createRing([{ id: parseNodeId('n2'), weight: 1 }], { partitionCount: 64 }));
    const frame = encodeMessage({
      type: 'node-hello',
      requestId: 0,
      nodeId: 'n2',
      address: 'tcp://x:2',
      ring,
    });
    proxy.onNodeFrame('n1', new Uint8Array(0), frame);
    expect(proxy.counters.badNodeFrames).toBe(1);
    expect((proxy.view()['nodes'] as { id: string }[]).map((n) => n.id)).toEqual(['n1']);
    expect(logged.filter((l) => l.event === 'node frame rejected').map((l) => l.fields)).toMatchObject([
      { node: 'n1', detail: 'a node-hello naming node n2' },
    ]);
    // From n2 itself, the same hello is taken.
    proxy.onNodeFrame('n2', new Uint8Array(0), frame);
    expect((proxy.view()['nodes'] as { id: string }[]).map((n) => n.id)).toEqual(['n1', 'n2']);
  });
});

describe('proxy: live updates', () => {
  it('passes a node\'s "changed" to the clients watching that list, until their lease ends', () => {
    const { proxy, toClient, clock } = setup();
    const c = new MemoryCluster();
    const watched = c.newListId();
    const other = c.newListId();
    const alice = Uint8Array.from([1]);
    const bob = Uint8Array.from([2]);
    proxy.onClientFrame(alice, encodeMessage({ type: 'watch', requestId: 0, listIds: [watched] }));
    proxy.onClientFrame(bob, encodeMessage({ type: 'watch', requestId: 0, listIds: [other] }));
    const changed = encodeMessage({
      type: 'changed',
      requestId: 0,
      listId: watched,
      delta: new Uint8Array(0),
    });
    proxy.onNodeFrame('n1', new Uint8Array(0), changed);
    expect(toClient.map((m) => m.type)).toEqual(['changed']);
    expect(proxy.counters.notified).toBe(1);
    clock.advance(31_000); // past the lease
    proxy.onNodeFrame('n1', new Uint8Array(0), changed);
    expect(proxy.counters.notified).toBe(1);
  });
});

describe('proxy: a fair share of the public port', () => {
  it("a watch replaces the client's set", () => {
    const { proxy, toClient } = setup();
    const random = counterRandom();
    const [a, b, c] = [newListId(random), newListId(random), newListId(random)];
    const alice = Uint8Array.from([1]);
    proxy.onClientFrame(alice, encodeMessage({ type: 'watch', requestId: 0, listIds: [a, b] }));
    proxy.onClientFrame(alice, encodeMessage({ type: 'watch', requestId: 0, listIds: [b, c] }));
    expect(proxy.watchedBy(alice)).toBe(2);
    const changed = (listId: ListId): Uint8Array =>
      encodeMessage({ type: 'changed', requestId: 0, listId, delta: new Uint8Array(0) });
    for (const id of [a, b, c]) proxy.onNodeFrame('n1', new Uint8Array(0), changed(id));
    expect(
      toClient.filter((m) => m.type === 'changed').map((m) => (m.type === 'changed' ? m.listId : '')),
    ).toEqual([b, c]);
  });

  it('110 clients watching 1,000 lists each cannot push out a client watching 5; a newcomer still gets its 5', () => {
    const { proxy, toClient, toClientRoute, clock, logged } = setup();
    const random = counterRandom();
    const honest = Uint8Array.from([0xaa, 1]);
    const newcomer = Uint8Array.from([0xaa, 2]);
    const honestLists = Array.from({ length: 5 }, () => newListId(random));
    proxy.onClientFrame(honest, encodeMessage({ type: 'watch', requestId: 0, listIds: honestLists }));
    const attackers = Array.from({ length: 110 }, (_, i) => Uint8Array.from([0xbb, i]));
    const attackerLists = attackers.map(() =>
      Array.from({ length: limits.watchedListsMax }, () => newListId(random)),
    );
    // Twice over, and the second time ten seconds later, as a client renewing its lease would.
    for (let round = 0; round < 2; round++) {
      for (const [i, a] of attackers.entries())
        proxy.onClientFrame(
          a,
          encodeMessage({ type: 'watch', requestId: 9, listIds: attackerLists[i] ?? [] }),
        );
      clock.advance(10_000);
    }
    const stats = proxy.view()['watches'] as { clients: number; entries: number };
    expect(stats).toMatchObject({ clients: 111, entries: limits.watchesPerProxyMax });
    expect(proxy.watchedBy(honest)).toBe(5);
    // The honest client renews; a newcomer arrives into the full table.
    proxy.onClientFrame(honest, encodeMessage({ type: 'watch', requestId: 0, listIds: honestLists }));
    const newcomerLists = Array.from({ length: 5 }, () => newListId(random));
    proxy.onClientFrame(newcomer, encodeMessage({ type: 'watch', requestId: 0, listIds: newcomerLists }));
    expect([proxy.watchedBy(honest), proxy.watchedBy(newcomer)]).toEqual([5, 5]);
    const before = toClient.length;
    for (const id of [...honestLists, ...newcomerLists])
      proxy.onNodeFrame(
        'n1',
        new Uint8Array(0),
        encodeMessage({ type: 'changed', requestId: 0, listId: id, delta: new Uint8Array(0) }),
      );
    const got = toClientRoute.slice(before).map((r) => r[1]);
    expect(got.filter((x) => x === 1)).toHaveLength(5);
    expect(got.filter((x) => x === 2)).toHaveLength(5);
    const held = attackers.map((a) => proxy.watchedBy(a));
    // Refused excess is answered overloaded, counted and logged (a few lines, not one per frame).
    const refusals = toClient.filter((m) => m.type === 'error' && m.code === 'overloaded');
    expect(refusals.length).toBe(proxy.counters.watchesCut);
    expect(proxy.counters.watchesCut).toBeGreaterThan(0);
    const warned = logged.filter((l) => l.level === 'warn' && l.fields['reason'] === 'watch_refused');
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.length).toBeLessThanOrEqual(6); // 3 a second, two seconds of clock
    expect(warned[0]?.fields['client']).toMatch(/^bb[0-9a-f]{2}$/);
    console.log(
      `proxy watch table ${limits.watchesPerProxyMax}: 110 clients × ${limits.watchedListsMax} lists, twice → ` +
        `they hold ${Math.min(...held)}–${Math.max(...held)} each; a client holding 5 keeps 5 and gets 5 of 5 ` +
        `changes, a newcomer gets 5 of 5; ${proxy.counters.watchesCut} watches cut ` +
        `(${proxy.counters.watchListsRefused} lists refused, ${proxy.counters.watchListsTaken} taken), ${warned.length} warn lines`,
    );
  });

  it('a client with its quota of requests in flight is answered overloaded; others are served; answers and deadlines release', () => {
    const { proxy, toNodes, toClient, hello, clock, logged } = setup();
    for (const id of ['n1', 'n2', 'n3']) hello(id);
    const random = counterRandom();
    const flooder = Uint8Array.from([0xf1, 0x00, 0x0d]);
    const honest = Uint8Array.from([0x0e, 0x57]);
    const get = (requestId: number): Uint8Array =>
      encodeMessage({
        type: 'get',
        requestId,
        listId: newListId(random),
        deadlineMs: clock.wallMs() + 5_000,
        context: new Uint8Array(),
      });
    const quota = limits.clientRequestsInFlightMax;
    for (let i = 1; i <= quota + 50; i++) proxy.onClientFrame(flooder, get(i));
    expect(toNodes).toHaveLength(quota);
    const overloaded = toClient.filter((m) => m.type === 'error' && m.code === 'overloaded');
    expect(overloaded).toHaveLength(50);
    expect(proxy.counters.overloaded).toBe(50);
    // Another client is served at once.
    proxy.onClientFrame(honest, get(1));
    expect(toNodes).toHaveLength(quota + 1);
    expect(toNodes[quota]?.client).toEqual(honest);
    // The node answers one of the flooder's: one more may go.
    const first = toNodes[0];
    if (first === undefined) throw new Error('nothing forwarded');
    const requestId = decodeMessage(first.frame);
    if (!requestId.ok) throw new Error('forwarded frame does not decode');
    proxy.onNodeFrame(
      first.node,
      flooder,
      encodeMessage({
        type: 'error',
        requestId: requestId.value.requestId,
        code: 'unavailable',
        message: 'x',
      }),
    );
    proxy.onClientFrame(flooder, get(10_000));
    proxy.onClientFrame(flooder, get(10_001));
    expect(toNodes).toHaveLength(quota + 2);
    expect(proxy.counters.overloaded).toBe(51);
    // Past their deadline (and a grace for the answer), requests nobody answered stop counting.
    clock.advance(5_000 + 2_000);
    proxy.tick();
    expect(proxy.view()['inFlight']).toEqual({ clients: 0, requests: 0 });
    for (const id of ['n1', 'n2', 'n3']) hello(id);
    proxy.onClientFrame(flooder, get(20_000));
    expect(toNodes).toHaveLength(quota + 3);
    const warned = logged.filter(
      (l) => l.event === 'client frame refused' && l.fields['reason'] === 'overloaded',
    );
    expect(warned.length).toBe(3);
    expect(warned.every((l) => l.fields['client'] === 'f1000d')).toBe(true);
    const summary = logged.find((l) => l.event === 'refusals not logged one by one');
    expect(summary?.fields).toEqual({ reason: 'overloaded', suppressed: 48 });
    console.log(
      `proxy in-flight quota ${quota}: ${quota + 50} gets at once → ${quota} forwarded, 50 overloaded; ` +
        `another client served at once; 3 warn lines + 1 saying 48 suppressed`,
    );
  });

  it('stats name the nodes, their liveness and partitions, but no address', () => {
    const { proxy, hello, toClient } = setup();
    for (const id of ['n1', 'n2', 'n3']) hello(id);
    proxy.onClientFrame(client, encodeMessage({ type: 'stats', requestId: 1 }));
    const reply = toClient[0];
    if (reply?.type !== 'stats-reply') throw new Error('no stats-reply');
    expect(reply.json).not.toContain('tcp://');
    const nodes = (JSON.parse(reply.json) as { nodes: Record<string, unknown>[] }).nodes;
    expect(nodes.map((n) => Object.keys(n).sort())).toEqual(Array(3).fill(['id', 'live', 'partitions']));
  });

  it("logs refused frames with the client's routing ID, a few lines a second per reason, and says how many it did not", () => {
    const { proxy, logged, clock } = setup();
    const junk = Uint8Array.from([0xde, 0xad]);
    for (let i = 0; i < 100; i++) proxy.onClientFrame(junk, Uint8Array.from([WIRE_VERSION, 3, 5, 1, 2]));
    for (let i = 0; i < 10; i++)
      proxy.onClientFrame(
        junk,
        encodeMessage({
          type: 'replica-get',
          requestId: i,
          listId: newListId(counterRandom()),
          deadlineMs: 1,
        }),
      );
    proxy.refuseFrameCount(junk, 3);
    expect(proxy.counters).toMatchObject({
      malformed: 100,
      unknownType: 10,
      badFrameCount: 1,
      rejected: 111,
    });
    const warns = logged.filter((l) => l.level === 'warn');
    expect(warns.map((l) => l.fields['reason'])).toEqual([
      'malformed',
      'malformed',
      'malformed',
      'unknown_type',
      'unknown_type',
      'unknown_type',
      'frame_count',
    ]);
    expect(warns.every((l) => l.fields['client'] === 'dead')).toBe(true);
    clock.advance(1_000);
    proxy.tick();
    const summaries = logged.filter((l) => l.event === 'refusals not logged one by one').map((l) => l.fields);
    expect(summaries).toEqual([
      { reason: 'malformed', suppressed: 97 },
      { reason: 'unknown_type', suppressed: 7 },
    ]);
    // Nothing in any line is a list ID.
    expect(JSON.stringify(logged)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });
});
