// WsCloud, the browser's CloudPort, against a real gateway and a real local cloud (3 storage
// nodes, a proxy), with the `ws` package standing in for the browser's WebSocket: online after the
// gateway's hello, put and get, live changes to a watcher; a gateway that goes away settles every
// request at once and a restarted one is found again by itself, the watch re-sent.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  ListReplica,
  decodeList,
  encodeContext,
  encodeList,
  newListId,
  newReplicaId,
  opIdFrom,
  type ListId,
} from '@trolley/core';
import { cryptoRandom } from '@trolley/node';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';
import { WsCloud, type Connection } from './ws-cloud.ts';

const WebSocketImpl = NodeWebSocket as unknown as typeof WebSocket;
let tc: TestCluster;
let gateway: RunningGateway | undefined;
const gateways: RunningGateway[] = [];
const clouds: WsCloud[] = [];

const newOpId = () => opIdFrom(cryptoRandom.fill(new Uint8Array(16)));

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const start = performance.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function cloudAt(url: string): WsCloud {
  const c = new WsCloud({ url, WebSocketImpl, reconnectBaseMs: 100, reconnectMaxMs: 400 });
  clouds.push(c);
  return c;
}

async function gatewayOn(port: number, cloud = tc.cluster.clientEndpoints): Promise<RunningGateway> {
  const g = await startGateway({ cloud, host: '127.0.0.1', port });
  gateways.push(g);
  return g;
}

const syncUrl = (g: RunningGateway): string => `${g.url.replace(/^http/, 'ws')}sync`;

beforeAll(async () => {
  tc = await TestCluster.start({ nodes: 3 });
  gateway = await gatewayOn(0);
});

afterAll(async () => {
  for (const c of clouds) c.close();
  const results = await Promise.allSettled([...gateways.map((g) => g.stop()), disposeAll()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe('WsCloud', () => {
  it('goes online after the hello, puts, gets, hears changes, and finds a restarted gateway again', async () => {
    const g = gateway as RunningGateway;
    const url = syncUrl(g);
    const writer = cloudAt(url);
    const watcher = cloudAt(url);
    const states: Connection[] = [];
    watcher.onConnection((c) => states.push(c));
    expect(writer.connection).toBe('offline');
    const started = performance.now();
    writer.start();
    watcher.start();
    await until(
      'both online',
      () => (writer.connection === 'online' && watcher.connection === 'online') || undefined,
    );
    const onlineMs = performance.now() - started;
    expect(states).toEqual(['connecting', 'online']);
    expect(Math.abs(watcher.clockOffsetMs)).toBeLessThan(1_000);

    // put and get
    const listId: ListId = newListId(cryptoRandom);
    const author = new ListReplica(newReplicaId(cryptoRandom));
    author.rename('Browser list');
    const put = await writer.put(listId, encodeList(author.state), { timeoutMs: 5_000, opId: newOpId() });
    expect(put).toMatchObject({ outcome: 'ok', replicas: 3 });
    const reader = new ListReplica(newReplicaId(cryptoRandom));
    const got = await watcher.get(listId, encodeContext(reader.state.ctx, reader.state.replicas), {
      timeoutMs: 5_000,
    });
    const doc = decodeList(got.delta);
    if (!doc.ok) throw doc.error;
    reader.apply(doc.value);
    expect(reader.view().title).toBe('Browser list');

    // changes pushed to the watcher
    const changes: ListId[] = [];
    watcher.onChanged((id) => changes.push(id));
    watcher.watch([listId]);
    await new Promise((r) => setTimeout(r, 300)); // the watch reaches the proxy
    const sent = performance.now();
    expect(
      (await writer.put(listId, encodeList(author.addItem('Milk', 1)), { timeoutMs: 5_000, opId: newOpId() }))
        .outcome,
    ).toBe('ok');
    await until('a changed', () => changes[0]);
    const pushMs = performance.now() - sent;
    expect(changes).toEqual([listId]);

    // the gateway goes away: offline at once, puts 'unknown' and gets rejected without waiting
    const port = g.port;
    await g.stop();
    gateway = undefined;
    await until('watcher not online', () => (watcher.connection !== 'online' ? true : undefined), 5_000);
    expect(['offline', 'connecting']).toContain(watcher.connection);
    const t0 = performance.now();
    const offlinePut = await writer.put(listId, encodeList(author.addItem('Bread', 1)), {
      timeoutMs: 5_000,
      opId: newOpId(),
    });
    const offlineGet = await watcher
      .get(listId, encodeContext(reader.state.ctx, reader.state.replicas), { timeoutMs: 5_000 })
      .then(
        () => 'resolved',
        (e: unknown) => (e instanceof Error ? e.name : 'rejected'),
      );
    const offlineMs = performance.now() - t0;
    expect(offlinePut).toEqual({ outcome: 'unknown', acks: 0, replicas: 0 });
    expect(offlineGet).toBe('TrolleyError');
    expect(offlineMs).toBeLessThan(100);

    // the same port again: both reconnect by themselves, and the watch is sent again
    const down = performance.now();
    gateway = await gatewayOn(port);
    await until(
      'both online again',
      () => (writer.connection === 'online' && watcher.connection === 'online') || undefined,
    );
    const backMs = performance.now() - down;
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.stats().watchedLists).toBe(1);
    expect(
      (await writer.put(listId, encodeList(author.addItem('Eggs', 6)), { timeoutMs: 5_000, opId: newOpId() }))
        .outcome,
    ).toBe('ok');
    await until('a changed after the restart', () => changes[1]);
    expect(changes).toEqual([listId, listId]);
    expect(states.slice(0, 2)).toEqual(['connecting', 'online']);
    expect(states[states.length - 1]).toBe('online');
    console.log(
      `WsCloud: online in ${onlineMs.toFixed(0)} ms; put ok, get "${reader.view().title}"; changed ${pushMs.toFixed(1)} ms after the put; ` +
        `gateway stopped → put unknown and get rejected in ${offlineMs.toFixed(1)} ms; restarted → online again ${backMs.toFixed(0)} ms later, watch re-sent, changed delivered; states ${states.join(' → ')}`,
    );
  });

  it('settles requests in flight at once when the socket closes', async () => {
    // A gateway whose cloud never answers: a put and a get stay in flight until the socket goes.
    const dead = await gatewayOn(0, ['tcp://127.0.0.1:1']);
    const c = cloudAt(syncUrl(dead));
    c.start();
    await until('online', () => (c.connection === 'online' ? true : undefined));
    const listId = newListId(cryptoRandom);
    const t0 = performance.now();
    const put = c.put(listId, encodeList(new ListReplica(newReplicaId(cryptoRandom)).addItem('x', 1)), {
      timeoutMs: 20_000,
      opId: newOpId(),
    });
    const get = c.get(listId, new Uint8Array(0), { timeoutMs: 20_000 }).then(
      () => 'resolved',
      (e: unknown) => (e instanceof Error ? e.message : 'rejected'),
    );
    await new Promise((r) => setTimeout(r, 200));
    await dead.stop();
    const [putResult, getResult] = await Promise.all([put, get]);
    const settledMs = performance.now() - t0;
    expect(putResult.outcome).toBe('unknown');
    expect(getResult).toMatch(/not reachable/);
    expect(settledMs).toBeLessThan(3_000);
    c.close();
    expect(c.connection).toBe('offline');
    console.log(
      `WsCloud: a put and a get in flight (20 s timeouts) settled ${settledMs.toFixed(0)} ms after sending, when the gateway closed (put unknown, get rejected)`,
    );
  });
});
