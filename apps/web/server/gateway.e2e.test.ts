// The gateway against a real local cloud (3 storage nodes and a proxy as child processes) with the
// `ws` client as the browser: the hello, put and get relayed under the browser's request IDs, live
// `changed` pushes to a watching connection, hostile frames each answered with the right error and
// counted exactly, an oversized frame that closes only its own connection, late requests, a
// connection that stops answering pings, and the web app with its cache headers.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  ListReplica,
  WIRE_VERSION,
  decodeList,
  decodeClientMessage,
  encodeContext,
  encodeList,
  encodeMessage,
  foreignMessage,
  limits,
  messageBytesMax,
  newListId,
  newReplicaId,
  opIdFrom,
  type ListId,
  type Message,
  type MessageOf,
  type WireErrorName,
} from '@trolley/core';
import { cryptoRandom } from '@trolley/node';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { SeededRandom, fuzzMessage } from '../../cli/src/testing/wire-fuzz.ts';
import { pollUntil, writeUntilPushed } from '../../cli/src/testing/cloud-checks.ts';
import { startGateway, type RunningGateway } from './gateway.ts';

/** How long a test waits for an event that must come: a guard against a hang, not a budget. */
const hangMs = 60_000;
/**
 * The deadline the test's puts and gets carry: generous, so that a loaded machine cannot miss it,
 * yet a margin below deadlineMsMax, since the gateway's CloudClient adds its estimate of the
 * proxy's clock offset and a node refuses a deadline further away than deadlineMsMax.
 */
const requestMs = limits.deadlineMsMax - 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A browser stand-in: a `ws` client that keeps every message it receives, decoded. */
class Peer {
  readonly received: Message[] = [];
  readonly undecodable: number[] = [];
  closeCode: number | undefined;
  /** Pings received from the gateway. */
  pings = 0;
  private readonly waiters = new Set<() => void>();
  private nextRequestId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      const m = isBinary ? decodeClientMessage(new Uint8Array(data)) : undefined;
      if (m?.ok === true) this.received.push(m.value);
      else this.undecodable.push(data.length);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    ws.on('ping', () => {
      this.pings++;
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static async open(url: string, options: { autoPong?: boolean } = {}): Promise<Peer> {
    const ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
    const peer = new Peer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return peer;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves when `done` holds, checking after every message; fails after timeoutMs (a hang). */
  async until<T>(what: string, done: () => T | undefined, timeoutMs = hangMs): Promise<T> {
    const first = done();
    if (first !== undefined) return first;
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = done();
        if (v === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  send(m: Message): void {
    this.ws.send(encodeMessage(m));
  }

  requestId(): number {
    return this.nextRequestId++;
  }

  /** Sends a request and waits for the reply with its request ID. */
  async request(make: (requestId: number) => Message, timeoutMs = hangMs): Promise<Message> {
    const requestId = this.requestId();
    this.send(make(requestId));
    return this.until(
      `the reply to request ${requestId}`,
      () => this.received.find((m) => m.requestId === requestId && m.type !== 'changed'),
      timeoutMs,
    );
  }

  /**
   * A hello and its reply. The gateway writes to a connection in order, so whatever it had sent
   * this connection before it read the hello has arrived once the reply is here.
   */
  async barrier(): Promise<void> {
    const reply = await this.request((requestId) => ({ type: 'hello', requestId, client: 'barrier' }));
    if (reply.type !== 'hello-reply') throw new Error(`expected hello-reply, got ${JSON.stringify(reply)}`);
  }

  /** The `changed` pushes received, in order. */
  changed(): MessageOf<'changed'>[] {
    return this.received.filter((m): m is MessageOf<'changed'> => m.type === 'changed');
  }

  close(): void {
    this.ws.terminate();
  }
}

const tempDirs: string[] = [];
const gateways: RunningGateway[] = [];
const peers: Peer[] = [];
let tc: TestCluster;
let gateway: RunningGateway;
let syncUrl: string;

const open = async (options: { autoPong?: boolean } = {}, url = syncUrl): Promise<Peer> => {
  const p = await Peer.open(url, options);
  peers.push(p);
  return p;
};

const errorOf = (m: Message): WireErrorName | undefined => (m.type === 'error' ? m.code : undefined);

beforeAll(async () => {
  const web = mkdtempSync(join(tmpdir(), 'trolley-web-'));
  tempDirs.push(web);
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>Trolley test app</title>');
  writeFileSync(join(web, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  writeFileSync(join(web, 'manifest.webmanifest'), '{"name":"Trolley"}');
  mkdirSync(join(web, 'assets'));
  writeFileSync(join(web, 'assets', 'index-abc123.js'), 'console.log(1);');
  tc = await TestCluster.start({ nodes: 3 });
  gateway = await startGateway({
    cloud: tc.cluster.clientEndpoints,
    host: '127.0.0.1',
    port: 0,
    webRoot: web,
  });
  gateways.push(gateway);
  syncUrl = `${gateway.url.replace(/^http/, 'ws')}sync`;
});

afterAll(async () => {
  for (const p of peers) p.close();
  const results = await Promise.allSettled([...gateways.map((g) => g.stop()), disposeAll()]);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe('gateway', () => {
  it('says gateway-hello at once, answers hello, and relays put then get of a real list', async () => {
    const before = Date.now();
    const a = await open();
    const hello = await a.until('gateway-hello', () =>
      a.received.find((m): m is MessageOf<'gateway-hello'> => m.type === 'gateway-hello'),
    );
    expect(hello.requestId).toBe(0);
    expect(hello.messageBytesMax).toBe(messageBytesMax);
    // The gateway runs on this clock: its hello was stamped after we began to connect, before it came.
    expect(hello.wallMs).toBeGreaterThanOrEqual(before);
    expect(hello.wallMs).toBeLessThanOrEqual(Date.now());

    const reply = await a.request((requestId) => ({ type: 'hello', requestId, client: 'test' }));
    expect(reply).toMatchObject({ type: 'hello-reply', version: WIRE_VERSION });

    const listId = newListId(cryptoRandom);
    const author = new ListReplica(newReplicaId(cryptoRandom));
    author.rename('Through the gateway');
    const delta = encodeList(author.addItem('Milk', 2));
    const started = performance.now();
    const put = await a.request((requestId) => ({
      type: 'put',
      requestId,
      listId,
      opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
      deadlineMs: Date.now() + requestMs,
      delta: encodeList(author.state),
    }));
    const putMs = performance.now() - started;
    expect(put).toMatchObject({ type: 'put-reply', outcome: 'ok', replicas: 3 });
    expect(delta.length).toBeGreaterThan(0);

    const reader = new ListReplica(newReplicaId(cryptoRandom));
    const get = await a.request((requestId) => ({
      type: 'get',
      requestId,
      listId,
      deadlineMs: Date.now() + requestMs,
      context: encodeContext(reader.state.ctx, reader.state.replicas),
    }));
    if (get.type !== 'get-reply') throw new Error(`expected get-reply, got ${JSON.stringify(get)}`);
    const doc = decodeList(get.delta);
    if (!doc.ok) throw doc.error;
    reader.apply(doc.value);
    const view = reader.view();
    expect(view.title).toBe('Through the gateway');
    expect(view.items.map((i) => i.name)).toEqual(['Milk']);
    expect(gateway.stats()).toMatchObject({ puts: 1, gets: 1 });
    console.log(
      `gateway: hello skew ${hello.wallMs - before} ms; put ok (${(put as MessageOf<'put-reply'>).acks}/3 acks) in ${putMs.toFixed(1)} ms; get answered ${get.answered}/${get.replicas}, inSync ${get.inSync}; list "${view.title}" with ${view.items.length} item`,
    );
  });

  it('pushes changed to a connection watching the list, and only to it', async () => {
    const writer = await open();
    const watcher = await open();
    const bystander = await open();
    const listId: ListId = newListId(cryptoRandom);
    const other: ListId = newListId(cryptoRandom);
    const watchesBefore = gateway.stats().watches;
    watcher.send({ type: 'watch', requestId: watcher.requestId(), listIds: [listId] });
    bystander.send({ type: 'watch', requestId: bystander.requestId(), listIds: [other] });
    // The gateway counts each watch as it takes it in; the cloud gets the union on a later turn.
    await pollUntil('both watches at the gateway', () =>
      gateway.stats().watches >= watchesBefore + 2 ? true : undefined,
    );
    expect(gateway.stats().watchedLists).toBeGreaterThanOrEqual(2);
    const author = new ListReplica(newReplicaId(cryptoRandom));
    // Only a push proves that the watch reached the cloud (the list's front once the gateway has
    // located it, the proxy until then): write until one comes.
    const first = await writeUntilPushed(
      'a changed at the watcher',
      async () => {
        const put = await writer.request((requestId) => ({
          type: 'put',
          requestId,
          listId,
          opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
          deadlineMs: Date.now() + requestMs,
          delta: encodeList(author.addItem('Eggs', 12)),
        }));
        expect(put).toMatchObject({ type: 'put-reply', outcome: 'ok' });
      },
      () => watcher.changed().length > 0,
    );
    const changed = watcher.changed()[0] as MessageOf<'changed'>;
    expect(changed.listId).toBe(listId);
    const doc = decodeList(changed.delta);
    expect(doc.ok).toBe(true);
    // The gateway pushes a change to all its watchers in one go, so a push of that change to the
    // bystander or the writer would have arrived before these replies.
    await bystander.barrier();
    await writer.barrier();
    expect(bystander.changed()).toHaveLength(0);
    expect(writer.changed()).toHaveLength(0);

    // A new watch replaces the set: the watcher now follows `other` only.
    const movesBefore = gateway.stats().watches;
    watcher.send({ type: 'watch', requestId: watcher.requestId(), listIds: [other] });
    await pollUntil('the new watch at the gateway', () =>
      gateway.stats().watches > movesBefore ? true : undefined,
    );
    // Pushes sent before the move (from earlier writes, if it took several) are in once this replies.
    await watcher.barrier();
    expect(watcher.changed().every((m) => m.listId === listId)).toBe(true);
    const seenBefore = watcher.changed().length;
    const pushedBefore = gateway.stats().changedPushed;
    await writer.request((requestId) => ({
      type: 'put',
      requestId,
      listId,
      opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
      deadlineMs: Date.now() + requestMs,
      delta: encodeList(author.addItem('Bread', 1)),
    }));
    // Nothing may come, so there is no event to wait for: a short pause for a wrong push to show.
    await sleep(300);
    expect(watcher.changed()).toHaveLength(seenBefore);
    expect(gateway.stats().changedPushed).toBe(pushedBefore);
    console.log(
      `gateway: changed pushed to the watcher ${first.ms.toFixed(1)} ms after the put was sent (${first.writes} put${first.writes === 1 ? '' : 's'} until the watch was live); 0 to the bystander; none after the watch moved`,
    );
  });

  it('answers ~1,000 hostile frames each with the right error, counts them exactly, and still serves', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
    const rand = new SeededRandom(seed);
    const p = await open();
    await p.until('gateway-hello', () => p.received.find((m) => m.type === 'gateway-hello'));
    const before = gateway.stats();
    const expected: { code: WireErrorName; requestId: number }[] = [];
    const accepted = new Set(['hello', 'put', 'get', 'watch']);
    const kinds = new Map<string, number>();
    const count = (k: string): void => void kinds.set(k, (kinds.get(k) ?? 0) + 1);
    while (expected.length < 1_000) {
      const m = fuzzMessage(rand, 'proxy');
      const frame = m.frames[0];
      if (m.frames.length !== 1 || frame === undefined) continue;
      // The gateway reads the client plane only: another plane's message (whatever its body) is a
      // type a browser may not send; a free tag, or a client-plane frame that does not decode, is
      // malformed.
      const decoded = decodeClientMessage(frame);
      if (decoded.ok && accepted.has(decoded.value.type)) continue; // a legitimate request: not hostile
      const foreign = decoded.ok ? undefined : foreignMessage(frame, decoded.error);
      p.ws.send(frame);
      count(m.kind);
      expected.push(
        decoded.ok
          ? { code: 'unknown_type', requestId: decoded.value.requestId }
          : foreign !== undefined
            ? { code: 'unknown_type', requestId: foreign.requestId }
            : { code: 'malformed', requestId: 0 },
      );
    }
    // Text frames, and every message type a browser may not send, well-formed.
    for (let i = 0; i < 50; i++) {
      p.ws.send(i % 2 === 0 ? 'hello' : JSON.stringify({ type: 'put', requestId: i }));
      count('text');
      expected.push({ code: 'malformed', requestId: 0 });
    }
    const listId = newListId(rand);
    const refused: Message[] = [
      { type: 'put-reply', requestId: 7001, outcome: 'ok', acks: 2, replicas: 3 },
      { type: 'get-reply', requestId: 7002, delta: new Uint8Array(0), answered: 1, inSync: 1, replicas: 3 },
      { type: 'error', requestId: 7003, code: 'internal', message: 'x' },
      { type: 'stats', requestId: 7004 },
      { type: 'replica-get', requestId: 7005, listId, deadlineMs: Date.now() + 1_000 },
      { type: 'admin-read', requestId: 7006, listId },
      { type: 'changed', requestId: 7007, listId, delta: new Uint8Array(0) },
      { type: 'gateway-hello', requestId: 7008, wallMs: 1, messageBytesMax: 1, server: 'x' },
      { type: 'ring-change', requestId: 7009, add: [], remove: ['n1'] },
      { type: 'node-hello', requestId: 7010, nodeId: 'n1', address: 'tcp://x:1', ring: new Uint8Array(0) },
    ];
    for (const m of refused) {
      p.send(m);
      count('refused-type');
      expected.push({ code: 'unknown_type', requestId: m.requestId });
    }
    const firstReply = p.received.length;
    await p.until(`${expected.length} error replies`, () =>
      p.received.length - firstReply >= expected.length ? true : undefined,
    );
    const replies = p.received.slice(firstReply).map((m) => ({ code: errorOf(m), requestId: m.requestId }));
    expect(p.undecodable).toEqual([]);
    expect(replies).toEqual(expected);
    const after = gateway.stats();
    const malformed = expected.filter((e) => e.code === 'malformed').length;
    const unknownType = expected.filter((e) => e.code === 'unknown_type').length;
    expect(after.malformed - before.malformed).toBe(malformed);
    expect(after.unknownType - before.unknownType).toBe(unknownType);
    expect(after.errorsSent - before.errorsSent).toBe(expected.length);
    expect(after.framesIn - before.framesIn).toBe(expected.length);
    expect(p.closeCode).toBeUndefined();

    // The same connection still does real work.
    const author = new ListReplica(newReplicaId(cryptoRandom));
    const put = await p.request((requestId) => ({
      type: 'put',
      requestId,
      listId: newListId(cryptoRandom),
      opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
      deadlineMs: Date.now() + requestMs,
      delta: encodeList(author.addItem('After the storm', 1)),
    }));
    expect(put).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    console.log(
      `gateway fuzz (FUZZ_SEED=${seed}): ${expected.length} frames (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}) → ${malformed} malformed + ${unknownType} unknown_type, every reply in order and counted; connection open; a put afterwards ok`,
    );
  });

  it('closes only the connection that sends an oversized frame (1009)', async () => {
    const big = await open();
    const bystander = await open();
    const before = gateway.stats().tooLarge;
    big.ws.send(new Uint8Array(messageBytesMax + 1_024));
    const code = await big.until('the close', () => big.closeCode);
    expect(code).toBe(1009);
    expect(gateway.stats().tooLarge).toBe(before + 1);
    const reply = await bystander.request((requestId) => ({
      type: 'hello',
      requestId,
      client: 'still here',
    }));
    expect(reply.type).toBe('hello-reply');
    console.log(
      `gateway: a ${messageBytesMax + 1_024}-byte frame closed its connection with ${code}; tooLarge ${before} → ${before + 1}; the other connection still answered`,
    );
  });

  it('refuses late requests with deadline_exceeded and too many in flight with overloaded', async () => {
    const p = await open();
    const listId = newListId(cryptoRandom);
    const late = await p.request((requestId) => ({
      type: 'put',
      requestId,
      listId,
      opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
      deadlineMs: Date.now() - 1,
      delta: encodeList(new ListReplica(newReplicaId(cryptoRandom)).addItem('Late', 1)),
    }));
    expect(errorOf(late)).toBe('deadline_exceeded');
    const lateGet = await p.request((requestId) => ({
      type: 'get',
      requestId,
      listId,
      deadlineMs: 1,
      context: new Uint8Array(0),
    }));
    expect(errorOf(lateGet)).toBe('deadline_exceeded');

    // 100 gets in one burst: the first 64 are relayed, the rest refused before any reply is back.
    const first = p.requestId();
    for (let i = 0; i < 100; i++)
      p.send({
        type: 'get',
        requestId: first + i,
        listId,
        deadlineMs: Date.now() + requestMs,
        context: new Uint8Array(0),
      });
    for (let i = 1; i < 100; i++) p.requestId();
    const replies = await p.until('100 replies', () => {
      const r = p.received.filter((m) => m.requestId >= first && m.requestId < first + 100);
      return r.length >= 100 ? r : undefined;
    });
    const overloaded = replies.filter((m) => errorOf(m) === 'overloaded').length;
    const answered = replies.filter((m) => m.type === 'get-reply').length;
    expect(overloaded).toBeGreaterThan(0);
    expect(answered).toBeGreaterThanOrEqual(64);
    expect(overloaded + answered).toBe(100);
    console.log(
      `gateway: past deadline → deadline_exceeded (put and get); a burst of 100 gets → ${answered} answered, ${overloaded} overloaded (limit 64 in flight)`,
    );
  });

  it('cuts a connection that does not answer pings', async () => {
    // The polite connection must answer every ping within one interval, in this same busy process:
    // 1 s (the least the gateway's limits allow for its default), not a tighter one that a loaded
    // machine might miss.
    const pingMs = 1_000;
    const g = await startGateway({
      cloud: tc.cluster.clientEndpoints,
      host: '127.0.0.1',
      port: 0,
      pingIntervalMs: pingMs,
    });
    gateways.push(g);
    const url = `${g.url.replace(/^http/, 'ws')}sync`;
    const deaf = await open({ autoPong: false }, url);
    const polite = await open({}, url);
    const started = performance.now();
    await deaf.until('the cut', () => deaf.closeCode);
    const cutAfter = performance.now() - started;
    // The gateway pings only connections that answered the ping before: a second ping after the
    // cut proves the polite connection answered the first and was kept.
    const pingsAtCut = polite.pings;
    await polite.until('two more pings', () =>
      polite.pings >= pingsAtCut + 2 || polite.closeCode !== undefined ? true : undefined,
    );
    expect(polite.closeCode).toBeUndefined();
    await pollUntil('the cut connection no longer counted', () =>
      g.stats().connections === 1 ? true : undefined,
    );
    expect(g.stats()).toMatchObject({ timedOut: 1, connections: 1 });
    await g.stop();
    await g.stop(); // idempotent
    await polite.until('the close on stop', () => polite.closeCode);
    console.log(
      `gateway: a connection deaf to pings (every ${pingMs} ms) cut after ${cutAfter.toFixed(0)} ms; the other kept (${polite.pings} pings received); stop closed it with ${polite.closeCode}`,
    );
  });

  it('serves the app: index.html for / and deep links, no-cache for sw.js, immutable assets, /healthz', async () => {
    const get = async (path: string): Promise<{ status: number; body: string; cache: string | null }> => {
      const r = await fetch(new URL(path, gateway.url));
      return { status: r.status, body: await r.text(), cache: r.headers.get('cache-control') };
    };
    const root = await get('/');
    const headers = (await fetch(gateway.url)).headers;
    expect(headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    const deep = await get('/list/0b6d3c1e-7a8f-4c2d-9e0f-1a2b3c4d5e6f');
    const sw = await get('/sw.js');
    const manifest = await get('/manifest.webmanifest');
    const asset = await get('/assets/index-abc123.js');
    const missingAsset = await get('/assets/missing.js');
    const health = await get('/healthz');
    expect(root).toMatchObject({ status: 200, cache: 'no-cache' });
    expect(root.body).toContain('Trolley test app');
    expect(deep).toMatchObject({ status: 200, cache: 'no-cache' });
    expect(deep.body).toContain('Trolley test app');
    expect(sw).toMatchObject({ status: 200, cache: 'no-cache' });
    expect(sw.body).toContain('addEventListener');
    expect(manifest).toMatchObject({ status: 200, cache: 'no-cache' });
    expect(asset.status).toBe(200);
    expect(asset.cache).toContain('immutable');
    expect(missingAsset.status).toBe(404);
    expect(health.status).toBe(200);
    const parsed = JSON.parse(health.body) as { ok: boolean; connections: number };
    expect(parsed.ok).toBe(true);
    expect(parsed.connections).toBe(gateway.stats().connections);

    // A WebSocket elsewhere than /sync is refused.
    const wrong = new WebSocket(gateway.url.replace(/^http/, 'ws') + 'elsewhere');
    const status = await new Promise<number>((resolve) => {
      wrong.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      wrong.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);

    // Without a webRoot: pages 404, /healthz still answers.
    const bare = await startGateway({ cloud: tc.cluster.clientEndpoints, host: '127.0.0.1', port: 0 });
    gateways.push(bare);
    const page = await fetch(new URL('/', bare.url));
    const bareHealth = await fetch(new URL('/healthz', bare.url));
    expect(page.status).toBe(404);
    expect(bareHealth.status).toBe(200);
    console.log(
      `gateway http: / ${root.status} (${root.cache}), deep link ${deep.status}, sw.js ${sw.cache}, asset ${asset.cache}, missing asset ${missingAsset.status}, /healthz ${health.body}, ws at /elsewhere ${status}; without webRoot / ${page.status}, /healthz ${bareHealth.status}`,
    );
  });
});
