// The proxy routes each request to the first live node of the key's preference list, answers
// hellos and stats itself, refuses what a client may not send, and forgets silent nodes.

import { describe, expect, it } from 'vitest';
import {
  WIRE_VERSION,
  createRing,
  decodeMessage,
  encodeMessage,
  encodeRing,
  parseNodeId,
  partitionOf,
  preferenceList,
  type Message,
} from '@trolley/core';
import { silentLogger } from './ports.ts';
import { Proxy } from './proxy.ts';
import { ManualClock, MemoryCluster } from './testing/cluster-fixture.ts';

function setup(): {
  proxy: Proxy;
  clock: ManualClock;
  toNodes: { node: string; frame: Uint8Array }[];
  toClient: Message[];
  hello: (id: string) => void;
} {
  const clock = new ManualClock();
  const toNodes: { node: string; frame: Uint8Array }[] = [];
  const toClient: Message[] = [];
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
    logger: silentLogger,
    transport: {
      toNode: (node, _client, frame) => toNodes.push({ node, frame }),
      toClient: (_client, frame) => {
        const m = decodeMessage(frame);
        if (m.ok) toClient.push(m.value);
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
  return { proxy, clock, toNodes, toClient, hello };
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
    expect(toNodes).toEqual([{ node: prefs[0], frame }]);
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
    proxy.onClientFrame(client, Uint8Array.from([1, 3, 5, 1, 2]));
    proxy.onClientFrame(client, new Uint8Array(0));
    expect(toNodes).toHaveLength(0);
    expect(toClient.map((m) => (m.type === 'error' ? m.code : m.type))).toEqual([
      'unknown_type',
      'unsupported_version',
      'malformed',
    ]);
    expect(proxy.counters.rejected).toBe(4);
  });

  it('ignores a node frame that is not a matching hello', () => {
    const { proxy, hello } = setup();
    hello('n1');
    proxy.onNodeFrame('n2', new Uint8Array(0), Uint8Array.from([1, 2, 3]));
    proxy.onNodeFrame('n2', new Uint8Array(0), encodeMessage({ type: 'stats', requestId: 1 }));
    expect(proxy.counters.rejected).toBe(2);
    expect((proxy.view()['nodes'] as unknown[]).length).toBe(1);
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
