// A storage node process: the StorageNode state machine wired to ZeroMQ and SQLite.
//
//   peers ──DEALER──► ROUTER (listen)        replica reads/writes, admin reads, stats
//   this  ──DEALER──► each peer's ROUTER     our requests to replicas (replies come back here)
//   this  ──DEALER──► each proxy's node port client requests forwarded by the proxy; hello every second
//
// Frame counts are validated on every socket; a bad message is counted and dropped, never thrown.

import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type * as zmq from 'zeromq';
import { createRing, encodeMessage, encodeRing, type NodeId, type RingState } from '@trolley/core';
import { StorageNode, type Logger, type NodeTransport, type Quorum, type ReplyTo } from '@trolley/cloud';
import { systemClock } from './clock.ts';
import { SqliteListStore } from './sqlite-list-store.ts';
import { Sender, dealer, receiveLoop, router } from './zmq.ts';

export interface Member {
  id: NodeId;
  address: string;
}

export interface NodeServerOptions {
  id: NodeId;
  /** Where peers reach this node, as bound (e.g. tcp://0.0.0.0:6001). */
  listen: string;
  /** Where peers reach this node, as they should dial it (e.g. tcp://10.0.0.5:6001). */
  advertise: string;
  dataDir: string;
  /** Node ports of the proxies (e.g. tcp://127.0.0.1:5556). */
  proxies: string[];
  /** Every node of the cluster, this one included. */
  members: Member[];
  quorum: Quorum;
  partitionCount: number;
  logger: Logger;
  helloIntervalMs?: number;
}

type Route =
  | { via: 'router'; identity: Uint8Array }
  | { via: 'proxy'; sender: Sender; client: Uint8Array }
  | { via: 'dealer'; sender: Sender };

export interface RunningNode {
  node: StorageNode;
  store: SqliteListStore;
  ring: RingState;
  stop(): Promise<void>;
}

export async function startNode(o: NodeServerOptions): Promise<RunningNode> {
  mkdirSync(o.dataDir, { recursive: true });
  const store = SqliteListStore.open(join(o.dataDir, `${o.id}.db`));
  const ring = createRing(
    o.members.map((m) => ({ id: m.id, weight: 1 })),
    { partitionCount: o.partitionCount },
  );
  const addresses = new Map(o.members.map((m) => [m.id as string, m.address]));
  const sockets: zmq.Socket[] = [];
  const log = o.logger;

  const peerRouter = router();
  sockets.push(peerRouter);
  await peerRouter.bind(o.listen);
  const routerSender = new Sender(peerRouter, log);

  const peers = new Map<string, Sender>();
  const peerSender = (id: string): Sender | undefined => {
    let s = peers.get(id);
    if (s !== undefined) return s;
    const address = addresses.get(id);
    if (address === undefined) return undefined;
    const socket = dealer();
    sockets.push(socket);
    socket.connect(address);
    s = new Sender(socket, log);
    peers.set(id, s);
    const sender = s;
    void receiveLoop(
      socket,
      (frames) => {
        if (frames.length !== 1) return reject('peer reply with wrong frame count', frames.length);
        node.handle(frames[0] as Buffer, asReplyTo({ via: 'dealer', sender }));
      },
      log,
    );
    return s;
  };

  const transport: NodeTransport = {
    send: (to, frame) => {
      const s = peerSender(to);
      if (s === undefined) log.warn('send to an unknown node', { to });
      else s.send([frame]);
    },
    reply: (replyTo, frame) => {
      const r = replyTo as unknown as Route;
      switch (r.via) {
        case 'router':
          routerSender.send([r.identity, frame]);
          return;
        case 'proxy':
          r.sender.send([r.client, frame]);
          return;
        case 'dealer':
          r.sender.send([frame]);
          return;
      }
    },
  };
  const node = new StorageNode({
    id: o.id,
    ring,
    quorum: o.quorum,
    store,
    transport,
    clock: systemClock,
    logger: log,
  });
  const reject = (reason: string, frames: number): void => {
    node.counters.rejected++;
    log.warn('frame rejected', { reason, frames });
  };

  void receiveLoop(
    peerRouter,
    (frames) => {
      if (frames.length !== 2) return reject('peer request with wrong frame count', frames.length);
      node.handle(frames[1] as Buffer, asReplyTo({ via: 'router', identity: frames[0] as Buffer }));
    },
    log,
  );

  const proxySenders: Sender[] = [];
  for (const address of o.proxies) {
    const socket = dealer(o.id);
    sockets.push(socket);
    socket.connect(address);
    const sender = new Sender(socket, log);
    proxySenders.push(sender);
    void receiveLoop(
      socket,
      (frames) => {
        if (frames.length !== 2) return reject('proxy frame with wrong frame count', frames.length);
        node.handle(frames[1] as Buffer, asReplyTo({ via: 'proxy', sender, client: frames[0] as Buffer }));
      },
      log,
    );
  }
  // Connect to every peer now, so that the first replica request does not wait for a handshake.
  for (const m of o.members) if (m.id !== o.id) peerSender(m.id);
  const ringBytes = encodeRing(ring);
  const hello = (): void => {
    const frame = encodeMessage({
      type: 'node-hello',
      requestId: 0,
      nodeId: o.id,
      address: o.advertise,
      ring: ringBytes,
    });
    for (const s of proxySenders) s.send([new Uint8Array(0), frame]);
  };
  hello();
  const helloTimer = setInterval(hello, o.helloIntervalMs ?? 1_000);
  const tickTimer = setInterval(() => node.tick(), 10);

  return {
    node,
    store,
    ring,
    stop: async () => {
      clearInterval(helloTimer);
      clearInterval(tickTimer);
      for (const s of sockets) s.close();
      await Promise.resolve();
      store.close();
    },
  };
}

function asReplyTo(route: Route): ReplyTo {
  return route as unknown as ReplyTo;
}
