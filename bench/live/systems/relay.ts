// The relays: diagnostics of the live benchmark (`LIVE_SYSTEMS=trolley,yjs,relay-zmq,relay-ws`),
// never run by default. Each is Trolley's client side (a ListReplica per client; a change is one
// delta, the operation joined with the client's marker, encoded as Trolley encodes it; a received
// delta is decoded, joined and read back, as systems/trolley.ts does) over a server that only
// relays: it keeps every delta in memory, replays them to a client that says hello, and passes
// each new one on to every other client. No cloud, no replicas, no disk, no acknowledgement.
//
// - relay-zmq: the transport Trolley's clients use (a DEALER to a ROUTER, CURVE on, the same
//   socket options and burst sender as the cloud: node/src/zmq.ts);
// - relay-ws: the transport y-websocket uses (`ws`, binary frames).
//
// So, in one run: Yjs → relay-ws is what Trolley's CRDT and encoding cost against Yjs's on the
// same transport; relay-ws → relay-zmq is what ZeroMQ costs against a WebSocket; relay-zmq →
// trolley is what the cloud itself adds (the protocol, the write check, three replicas that
// store and fsync every change on the same two cores).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zmq from 'zeromq';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeList, encodeList } from '@trolley/core';
import { silentLogger } from '@trolley/cloud';
import { Sender, commonOptions, newKeyPair, receiveLoop, z85 } from '@trolley/node';
import { ListClient } from './list-client.ts';
import type { ClientContext, Json, LiveClient, LiveServer, LiveSystem, SystemName } from './types.ts';

/** A client's connection to a relay: frames out, frames in. An empty frame is hello / replay done. */
interface Pipe {
  send(bytes: Uint8Array): void;
  close(): void;
}

/** The relay's rule, whatever the transport: replay to a newcomer, pass on to everyone else. */
class Relay<Peer> {
  private readonly log: Uint8Array[] = [];
  private readonly members = new Set<Peer>();

  constructor(private readonly send: (to: Peer, bytes: Uint8Array) => void) {}

  onFrame(from: Peer, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) {
      for (const d of this.log) this.send(from, d);
      this.send(from, new Uint8Array(0));
      this.members.add(from);
      return;
    }
    this.log.push(bytes);
    for (const m of this.members) if (m !== from) this.send(m, bytes);
  }

  leave(peer: Peer): void {
    this.members.delete(peer);
  }
}

async function relayZmq(): Promise<LiveServer> {
  const keys = newKeyPair();
  // CURVE as at a Trolley front; no ZAP handler, so libzmq admits any client key.
  const router = new zmq.Router({
    ...commonOptions,
    curveServer: true,
    curvePublicKey: z85(keys.publicKey),
    curveSecretKey: z85(keys.secretKey),
  });
  await router.bind('tcp://127.0.0.1:0');
  const sender = new Sender(router, silentLogger);
  // A peer is its routing ID, keyed as text; its bytes are kept to send with (not made again per send).
  const routingIds = new Map<string, Buffer>();
  const relay = new Relay<string>((to, bytes) => sender.send([routingIds.get(to) as Buffer, bytes]));
  void receiveLoop(
    router,
    ([id, bytes]) => {
      if (id === undefined || bytes === undefined) return;
      const key = id.toString('latin1');
      if (!routingIds.has(key)) routingIds.set(key, id);
      relay.onFrame(key, bytes);
    },
    silentLogger,
  );
  return {
    endpoint: { url: router.lastEndpoint ?? '', serverKey: z85(keys.publicKey) },
    close: () => {
      router.close();
      return Promise.resolve();
    },
  };
}

async function relayWs(): Promise<LiveServer> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const relay = new Relay<WebSocket>((to, bytes) => to.send(bytes));
  wss.on('connection', (conn) => {
    conn.binaryType = 'nodebuffer';
    conn.on('message', (data: Buffer) => relay.onFrame(conn, data));
    conn.on('close', () => relay.leave(conn));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    endpoint: { url: `ws://127.0.0.1:${port}` },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function field(endpoint: Json, name: string): string {
  if (typeof endpoint === 'object' && endpoint !== null && !Array.isArray(endpoint)) {
    const v = endpoint[name];
    if (typeof v === 'string') return v;
  }
  throw new Error(`relay: bad endpoint ${JSON.stringify(endpoint)}`);
}

function connectZmq(endpoint: Json, onFrame: (bytes: Uint8Array) => void): Pipe {
  const client = newKeyPair();
  const dealer = new zmq.Dealer({
    ...commonOptions,
    curveServerKey: field(endpoint, 'serverKey'),
    curvePublicKey: z85(client.publicKey),
    curveSecretKey: z85(client.secretKey),
  });
  dealer.connect(field(endpoint, 'url'));
  const sender = new Sender(dealer, silentLogger);
  void receiveLoop(dealer, ([bytes]) => bytes !== undefined && onFrame(bytes), silentLogger);
  return { send: (bytes) => sender.send([bytes]), close: () => dealer.close() };
}

async function connectWs(endpoint: Json, onFrame: (bytes: Uint8Array) => void): Promise<Pipe> {
  const ws = new WebSocket(field(endpoint, 'url'));
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer) => onFrame(data));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { send: (bytes) => ws.send(bytes), close: () => ws.close() };
}

/** Trolley's client side over a relay (as systems/trolley.ts reads and writes the list). */
async function relayClient(
  ctx: ClientContext,
  connect: (endpoint: Json, onFrame: (bytes: Uint8Array) => void) => Pipe | Promise<Pipe>,
): Promise<LiveClient> {
  const me = new ListClient(ctx);
  let replayed: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (replayed = resolve));
  const pipe = await connect(ctx.endpoint, (bytes) => {
    if (bytes.byteLength === 0) return replayed?.();
    const doc = decodeList(bytes);
    if (doc.ok) me.receive(doc.value);
  });
  pipe.send(new Uint8Array(0)); // hello: the relay replays what it holds, then an empty frame
  await done;
  pipe.send(encodeList(me.addMarker()));
  return {
    apply(op, marker) {
      pipe.send(encodeList(me.change(op, marker)));
    },
    view: () => me.view(),
    stateDigest: () => me.stateDigest(),
    close() {
      pipe.close();
      return Promise.resolve();
    },
  };
}

export function relaySystem(name: SystemName & `relay-${string}`, transport: 'zmq' | 'ws'): LiveSystem {
  return {
    name,
    describe: () =>
      transport === 'zmq'
        ? "relay over ZeroMQ (DEALER → ROUTER, CURVE, the cloud's socket options): Trolley's client CRDT, a server that only passes deltas on (no replicas, no disk)"
        : "relay over ws (binary frames): Trolley's client CRDT, a server that only passes deltas on (no replicas, no disk)",
    startServer: transport === 'zmq' ? relayZmq : relayWs,
    createClient: (ctx) => relayClient(ctx, transport === 'zmq' ? connectZmq : connectWs),
  };
}
