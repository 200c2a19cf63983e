// The gateway's share of watches, against a real local cloud (3 storage nodes and a proxy as child
// processes) with `ws` clients as browsers. Measured before this: 50 connections watching 1,000
// lists each filled the gateway (gatewayWatchedListsMax), and an honest browser that came next got
// 0 of 5 live updates. Now the gateway's table is max-min fair across connections: 60 attacking
// connections of 1,000 lists each cannot take the 5 lists of a browser that watched before them,
// and a browser arriving into the full table still gets its 5 — each of them 5 of 5 live updates.
// The refusals are counted and logged (rate limited, with the connection's number and address),
// and no list ID appears in clear in the gateway's log. The watch travels to the cloud through the
// gateway's CloudClient, direct by default: a list it has located (a few at a time) is watched at its
// coordinator's front, the others at the proxy; to each, one connection per 1,000 lists at most
// (watch lanes), each replacing its set. So the watches are counted at every client port of the
// cloud, the proxy's and the three fronts' (their `stats`).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  ListReplica,
  decodeClientMessage,
  encodeList,
  encodeMessage,
  limits,
  newListId,
  newReplicaId,
  type ListId,
  type Message,
} from '@trolley/core';
import { recordingLogger, type LogLine } from '@trolley/cloud/testing';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { ClientPorts, putAcked, replyMs, sum } from '../../cli/src/testing/cloud-checks.ts';
import { startGateway, type RunningGateway } from './gateway.ts';

/** How long a test waits for an event that must come: a guard against a hang, not a budget. */
const hangMs = 120_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** Polls `done` every 10 ms until it holds (for counters, which have no events). */
async function poll(what: string, done: () => boolean): Promise<void> {
  const giveUp = performance.now() + hangMs;
  while (!done()) {
    if (performance.now() > giveUp) throw new Error(`timed out after ${hangMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A browser stand-in: a `ws` client that keeps what it receives, decoded. */
class Browser {
  readonly received: Message[] = [];
  private nextRequestId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      const m = isBinary ? decodeClientMessage(new Uint8Array(data)) : undefined;
      if (m?.ok === true) this.received.push(m.value);
    });
    ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<Browser> {
    const ws = new WebSocket(url);
    const b = new Browser(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return b;
  }

  /**
   * Sends its watched set, then a hello: the gateway handles a connection's frames in order, so
   * the watch has been handled once the hello is answered.
   */
  async watch(listIds: readonly ListId[]): Promise<void> {
    this.ws.send(encodeMessage({ type: 'watch', requestId: this.nextRequestId++, listIds: [...listIds] }));
    const hello = this.nextRequestId++;
    this.ws.send(encodeMessage({ type: 'hello', requestId: hello, client: 'test' }));
    await poll('the hello after a watch', () => this.received.some((m) => m.requestId === hello));
  }

  /** How many `changed` pushes arrived for this list. */
  pushes(listId: ListId): number {
    return this.received.filter((m) => m.type === 'changed' && m.listId === listId).length;
  }

  close(): void {
    this.ws.terminate();
  }
}

let tc: TestCluster;
let gateway: RunningGateway;
let syncUrl: string;
const logged: LogLine[] = [];
const browsers: Browser[] = [];
const clients: { close(): void }[] = [];

beforeAll(async () => {
  tc = await TestCluster.start({ nodes: 3 });
  const logger = recordingLogger(logged);
  gateway = await startGateway({ cloud: tc.cluster.clientEndpoints, host: '127.0.0.1', port: 0, logger });
  syncUrl = `${gateway.url.replace(/^http/, 'ws')}sync`;
});

afterAll(async () => {
  for (const b of browsers) b.close();
  for (const c of clients) c.close();
  const results = await Promise.allSettled([gateway.stop(), disposeAll()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

const open = async (): Promise<Browser> => {
  const b = await Browser.open(syncUrl);
  browsers.push(b);
  return b;
};

describe('gateway: a fair share of watches', () => {
  it('60 connections watching 1,000 lists each cannot push out a browser watching 5; a newcomer gets 5 of 5 too', async () => {
    const ports = new ClientPorts(tc);
    const writer = new CloudClient([tc.cluster.clientEndpoint]);
    clients.push(ports, writer);
    type CloudWatches = { clients: number; entries: number; cut: number; at: number[] };
    /** The watches the cloud holds, summed over its client ports; `at`: the entries at each. */
    const cloudWatches = async (): Promise<CloudWatches> => {
      const all = await ports.stats(replyMs);
      return {
        clients: sum(all.map((p) => p.watches.clients)),
        entries: sum(all.map((p) => p.watches.entries)),
        cut: sum(all.map((p) => p.counters['watchesCut'] ?? 0)),
        at: all.map((p) => p.watches.entries),
      };
    };
    const cloudUntil = async (what: string, done: (w: CloudWatches) => boolean): Promise<CloudWatches> => {
      const giveUp = performance.now() + hangMs;
      for (;;) {
        const w = await cloudWatches();
        if (done(w)) return w;
        if (performance.now() > giveUp)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(w)}`);
        await sleep(20); // the gateway's watch reaches the cloud with no reply: its stats say when
      }
    };
    const write = async (listId: ListId): Promise<void> => {
      const r = new ListReplica(newReplicaId(cryptoRandom));
      expect((await putAcked(writer, listId, encodeList(r.addItem('Milk', 1)))).outcome).toBe('ok');
    };
    const pushedOnce = async (
      b: Browser,
      lists: readonly ListId[],
      before: Map<ListId, number>,
    ): Promise<void> =>
      poll('a push for every list', () => lists.every((id) => b.pushes(id) > (before.get(id) ?? 0)));
    const counts = (b: Browser, lists: readonly ListId[]): Map<ListId, number> =>
      new Map(lists.map((id) => [id, b.pushes(id)]));

    // A browser watches 5 lists; the cloud has them (at their fronts, or at the proxy until located).
    const honestLists = Array.from({ length: 5 }, () => newListId(cryptoRandom));
    const honest = await open();
    await honest.watch(honestLists);
    await cloudUntil("the honest browser's lists at the cloud", (w) => w.entries === 5);

    // 60 connections ask for 1,000 lists each: 60,005 asked for, 50,000 held.
    const started = performance.now();
    const attackers = await Promise.all(Array.from({ length: 60 }, () => open()));
    await Promise.all(
      attackers.map((a) =>
        a.watch(Array.from({ length: limits.watchedListsMax }, () => newListId(cryptoRandom))),
      ),
    );
    const s = gateway.stats();
    expect(s.watchEntries).toBe(limits.gatewayWatchedListsMax);
    expect(s.watchesCut).toBeGreaterThan(0);
    // The union reaches the cloud whole, none of it cut there, in lanes of at most 1,000 lists
    // (each a client where it is held): 50 of them at least.
    const union = await cloudUntil(
      'the union at the cloud',
      (w) => w.entries === limits.gatewayWatchedListsMax,
    );
    expect(union.cut).toBe(0);
    expect(union.clients).toBeGreaterThanOrEqual(limits.gatewayWatchedListsMax / limits.watchedListsMax);
    const attackMs = performance.now() - started;

    // The browser that watched before: one write to each of its lists, each pushed.
    const before = counts(honest, honestLists);
    for (const id of honestLists) await write(id);
    await pushedOnce(honest, honestLists, before);

    // A newcomer into the full table: its watch takes room from the connections holding the most.
    const newcomerLists = Array.from({ length: 5 }, () => newListId(cryptoRandom));
    const newcomer = await open();
    await newcomer.watch(newcomerLists);
    expect(newcomer.received.some((m) => m.type === 'error')).toBe(false);
    expect(gateway.stats().watchListsTaken).toBeGreaterThanOrEqual(5);
    // Its lists reach the cloud in the lanes the taken lists left (the count there stays 50,000),
    // so a first write to one of them shows the way is open: written again until it is pushed.
    const probe = newcomerLists[0] as ListId;
    for (;;) {
      await write(probe);
      const at = performance.now();
      while (newcomer.pushes(probe) === 0 && performance.now() - at < 1_000) await sleep(10);
      if (newcomer.pushes(probe) > 0) break;
      if (performance.now() - started > hangMs) throw new Error('the newcomer was never pushed its list');
    }
    const beforeNew = counts(newcomer, newcomerLists);
    for (const id of newcomerLists) await write(id);
    await pushedOnce(newcomer, newcomerLists, beforeNew);
    const honestGot = honestLists.filter((id) => honest.pushes(id) > (before.get(id) ?? 0)).length;
    const newcomerGot = newcomerLists.filter((id) => newcomer.pushes(id) > (beforeNew.get(id) ?? 0)).length;

    // Seen and logged: warn lines naming the connection, a few a second; no list ID in clear.
    const warned = logged.filter((l) => l.level === 'warn' && l.fields['reason'] === 'watch_refused');
    // A line per refusal names the connection; once a window is over, a line without one counts
    // what was suppressed in it (how many windows pass depends on the machine's speed).
    const perRefusal = warned.filter(
      (l) => l.fields['suppressed'] === undefined || l.fields['connection'] !== undefined,
    );
    const suppressedLines = warned.length - perRefusal.length;
    expect(perRefusal.length).toBeGreaterThan(0);
    expect(perRefusal.length).toBeLessThanOrEqual(3 * Math.ceil(attackMs / 1_000 + 2));
    expect(suppressedLines).toBeLessThanOrEqual(Math.ceil(attackMs / 1_000 + 2));
    for (const w of perRefusal) {
      expect(typeof w.fields['connection']).toBe('number');
      expect(w.fields['remote']).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    expect(logged.filter((l) => uuid.test(JSON.stringify(l)))).toEqual([]);
    const end = gateway.stats();
    const refusedErrors = attackers.reduce(
      (n, a) => n + a.received.filter((m) => m.type === 'error' && m.code === 'overloaded').length,
      0,
    );
    expect(refusedErrors).toBe(end.watchesCut);
    console.log(
      `gateway watch table ${limits.gatewayWatchedListsMax}: 60 connections × ${limits.watchedListsMax} lists → ` +
        `${end.watchEntries} held, ${end.watchesCut} watches cut (${end.watchListsRefused} lists refused, ` +
        `${end.watchListsTaken} taken from the largest); cloud: ${union.entries} lists in ${union.clients} lanes ` +
        `(proxy, fronts: ${union.at.join(', ')}); ` +
        `a browser watching before: ${honestGot} of 5 live updates, a newcomer: ${newcomerGot} of 5; ` +
        `${warned.length} warn lines, 0 list IDs in clear in ${logged.length} log lines`,
    );
    expect([honestGot, newcomerGot]).toEqual([5, 5]);
  });
});
