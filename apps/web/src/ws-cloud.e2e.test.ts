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
  limits,
  newListId,
  newReplicaId,
  opIdFrom,
  type ListId,
} from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { writeUntilPushed } from '../../cli/src/testing/cloud-checks.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';
import { WsCloud, type Connection } from './ws-cloud.ts';

const WebSocketImpl = NodeWebSocket as unknown as typeof WebSocket;
let tc: TestCluster;
let gateway: RunningGateway | undefined;
const gateways: RunningGateway[] = [];
const clouds: WsCloud[] = [];

const newOpId = () => opIdFrom(cryptoRandom.fill(new Uint8Array(16)));
/** How long a test waits for an event that must come: a guard against a hang, not a budget. */
const hangMs = 60_000;
/**
 * The timeout of the test's puts and gets: generous, so that a loaded machine cannot miss it, yet
 * a margin below deadlineMsMax, since the gateway's CloudClient adds its estimate of the proxy's
 * clock offset and a node refuses a deadline further away than deadlineMsMax.
 */
const requestMs = limits.deadlineMsMax - 10_000;
/** The timeout of requests that must settle without waiting for it: they are to take far less. */
const settleTimeoutMs = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, f: () => T | undefined, timeoutMs = hangMs): Promise<T> {
  const start = performance.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

function cloudAt(url: string): WsCloud {
  // A gateway's hello that is slow to come on a loaded machine must not make a test client give up
  // and reconnect: that would add states the test does not expect.
  const c = new WsCloud({
    url,
    WebSocketImpl,
    reconnectBaseMs: 100,
    reconnectMaxMs: 400,
    helloTimeoutMs: hangMs,
  });
  clouds.push(c);
  return c;
}

/** A gateway on this port, as it starts by default (direct). */
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
    const startedWallMs = Date.now();
    writer.start();
    watcher.start();
    await until(
      'both online',
      () => (writer.connection === 'online' && watcher.connection === 'online') || undefined,
    );
    const onlineMs = performance.now() - started;
    expect(states).toEqual(['connecting', 'online']);
    // The gateway runs on this clock: its hello was stamped after the start and before it arrived, so
    // the offset learnt is minus the hello's time in transit, at most the time since the start.
    expect(watcher.clockOffsetMs).toBeLessThanOrEqual(0);
    expect(-watcher.clockOffsetMs).toBeLessThanOrEqual(Date.now() - startedWallMs);

    // put and get
    const listId: ListId = newListId(cryptoRandom);
    const author = new ListReplica(newReplicaId(cryptoRandom));
    author.rename('Browser list');
    const put = await writer.put(listId, encodeList(author.state), { timeoutMs: requestMs, opId: newOpId() });
    expect(put).toMatchObject({ outcome: 'ok', replicas: 3 });
    const reader = new ListReplica(newReplicaId(cryptoRandom));
    const got = await watcher.get(listId, encodeContext(reader.state.ctx, reader.state.replicas), {
      timeoutMs: requestMs,
    });
    const doc = decodeList(got.delta);
    if (!doc.ok) throw doc.error;
    reader.apply(doc.value);
    expect(reader.view().title).toBe('Browser list');

    // changes pushed to the watcher
    const changes: ListId[] = [];
    watcher.onChanged((id) => changes.push(id));
    watcher.watch([listId]);
    // Only a push proves that the watch reached the cloud (the list's front, or the proxy until the
    // gateway has located the list): write until one comes.
    const pushed = await writeUntilPushed(
      'a changed',
      async () => {
        const r = await writer.put(listId, encodeList(author.addItem('Milk', 1)), {
          timeoutMs: requestMs,
          opId: newOpId(),
        });
        expect(r.outcome).toBe('ok');
      },
      () => changes.length > 0,
    );
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.filter((id) => id !== listId)).toEqual([]);

    // the gateway goes away: offline at once, puts 'unknown' and gets rejected without waiting
    const port = g.port;
    await g.stop();
    gateway = undefined;
    await until('both not online', () =>
      writer.connection !== 'online' && watcher.connection !== 'online' ? true : undefined,
    );
    expect(['offline', 'connecting']).toContain(watcher.connection);
    // "At once": long before the requests' own timeout could have fired.
    const t0 = performance.now();
    const offlinePut = await writer.put(listId, encodeList(author.addItem('Bread', 1)), {
      timeoutMs: settleTimeoutMs,
      opId: newOpId(),
    });
    const offlineGet = await watcher
      .get(listId, encodeContext(reader.state.ctx, reader.state.replicas), { timeoutMs: settleTimeoutMs })
      .then(
        () => 'resolved',
        (e: unknown) => (e instanceof Error ? e.name : 'rejected'),
      );
    const offlineMs = performance.now() - t0;
    expect(offlinePut).toEqual({ outcome: 'unknown', acks: 0, replicas: 0 });
    expect(offlineGet).toBe('TrolleyError');
    expect(offlineMs).toBeLessThan(settleTimeoutMs / 2);

    // the same port again: both reconnect by themselves, and the watch is sent again
    const down = performance.now();
    gateway = await gatewayOn(port);
    await until(
      'both online again',
      () => (writer.connection === 'online' && watcher.connection === 'online') || undefined,
    );
    const backMs = performance.now() - down;
    // The watcher re-sends its watch on the gateway's hello; the gateway counts it as it takes it in.
    const restarted = gateway;
    await until('the watch re-sent', () => (restarted.stats().watches > 0 ? true : undefined));
    expect(gateway.stats().watchedLists).toBe(1);
    const seenBefore = changes.length;
    const pushedAgain = await writeUntilPushed(
      'a changed after the restart',
      async () => {
        const r = await writer.put(listId, encodeList(author.addItem('Eggs', 6)), {
          timeoutMs: requestMs,
          opId: newOpId(),
        });
        expect(r.outcome).toBe('ok');
      },
      () => changes.length > seenBefore,
    );
    expect(changes.length).toBeGreaterThan(seenBefore);
    expect(changes.filter((id) => id !== listId)).toEqual([]);
    expect(states.slice(0, 2)).toEqual(['connecting', 'online']);
    expect(states[states.length - 1]).toBe('online');
    console.log(
      `WsCloud: online in ${onlineMs.toFixed(0)} ms; put ok, get "${reader.view().title}"; changed ${pushed.ms.toFixed(1)} ms after the put (${pushed.writes} put(s) until the watch was live); ` +
        `gateway stopped → put unknown and get rejected in ${offlineMs.toFixed(1)} ms; restarted → online again ${backMs.toFixed(0)} ms later, watch re-sent, changed delivered ${pushedAgain.ms.toFixed(1)} ms after the put (${pushedAgain.writes} put(s)); states ${states.join(' → ')}`,
    );
  });

  it("a gateway serves a list at its coordinator's front by default: the proxy carries only what locates it", async () => {
    const direct = await gatewayOn(0);
    const url = syncUrl(direct);
    const writer = cloudAt(url);
    const watcher = cloudAt(url);
    writer.start();
    watcher.start();
    await until(
      'both online',
      () => (writer.connection === 'online' && watcher.connection === 'online') || undefined,
    );
    const proxy = new CloudClient(tc.cluster.clientEndpoints);
    const forwarded = async (): Promise<number> =>
      ((await proxy.proxyStats(hangMs)) as { counters: { forwarded: number } }).counters.forwarded;
    try {
      const listId: ListId = newListId(cryptoRandom);
      const author = new ListReplica(newReplicaId(cryptoRandom));
      const changes: ListId[] = [];
      watcher.onChanged((id) => changes.push(id));
      watcher.watch([listId]);
      const write = async (name: string): Promise<void> => {
        const r = await writer.put(listId, encodeList(author.addItem(name, 1)), {
          timeoutMs: requestMs,
          opId: newOpId(),
        });
        expect(r.outcome).toBe('ok');
      };
      // The first put goes through the proxy and locates the list beside it; once the proxy stops
      // counting puts of it, they go to the front, and a change reaches the watcher from there.
      let last = -1;
      let settled = 0;
      for (let i = 0; settled < 3; i++) {
        await write(`Item ${i}`);
        const now = await forwarded();
        settled = now === last ? settled + 1 : 0;
        last = now;
        if (i > 200) throw new Error('the proxy kept forwarding every put');
      }
      const seen = changes.length;
      const pushed = await writeUntilPushed(
        'a changed from the front',
        () => write('Milk'),
        () => changes.length > seen,
      );
      expect(await forwarded()).toBe(last); // nothing of it went through the proxy
      expect(changes.filter((id) => id !== listId)).toEqual([]);
      console.log(
        `WsCloud through a gateway (direct by default): puts at the coordinator's front (the proxy forwarded none of the last ${settled + pushed.writes}); changed ${pushed.ms.toFixed(1)} ms after the put`,
      );
    } finally {
      proxy.close();
    }
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
      timeoutMs: settleTimeoutMs,
      opId: newOpId(),
    });
    const get = c.get(listId, new Uint8Array(0), { timeoutMs: settleTimeoutMs }).then(
      () => 'resolved',
      (e: unknown) => (e instanceof Error ? e.message : 'rejected'),
    );
    // Both in flight at the gateway (it counts them as it relays them), then the socket goes.
    await until('the put and the get at the gateway', () => {
      const s = dead.stats();
      return s.puts >= 1 && s.gets >= 1 ? true : undefined;
    });
    await dead.stop();
    const [putResult, getResult] = await Promise.all([put, get]);
    const settledMs = performance.now() - t0;
    expect(putResult.outcome).toBe('unknown');
    expect(getResult).toMatch(/not reachable/);
    // At once: long before the requests' own timeout could have fired.
    expect(settledMs).toBeLessThan(settleTimeoutMs / 2);
    c.close();
    expect(c.connection).toBe('offline');
    console.log(
      `WsCloud: a put and a get in flight (${settleTimeoutMs / 1_000} s timeouts) settled ${settledMs.toFixed(0)} ms after sending, when the gateway closed (put unknown, get rejected)`,
    );
  });
});
