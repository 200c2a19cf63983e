// The ZeroMQ implementation of the storage node's transport port.
//
//   peers ──DEALER──► ROUTER (listen)        requests from peers, admin reads, stats
//   this  ──DEALER──► each peer's ROUTER     our requests to peers; their replies come back here
//   this  ──DEALER──► each proxy's node port client requests forwarded by a proxy
//
// Every inbound message's frame count is checked; a bad one is counted and dropped.

import type * as zmq from 'zeromq';
import type { Logger, NodeTransport, ReplyTo } from '@trolley/cloud';
import { Sender, dealer, receiveLoop, router } from './zmq.ts';

type Route =
  | { via: 'router'; identity: Uint8Array }
  | { via: 'proxy'; sender: Sender; client: Uint8Array }
  | { via: 'dealer'; sender: Sender };

export type FrameHandler = (frame: Uint8Array, replyTo: ReplyTo) => void;

export interface ZmqNodeTransportOptions {
  /** This node's ID: its routing ID toward proxies. */
  id: string;
  /** Endpoint to bind for peers (tcp://host:port; port 0 or * picks one). */
  listen: string;
  /** Peer node IDs and their endpoints. */
  peers: ReadonlyMap<string, string>;
  /** Node ports of the proxies. */
  proxies: readonly string[];
  logger: Logger;
}

export class ZmqNodeTransport implements NodeTransport {
  /** Messages dropped for a wrong frame count. */
  rejected = 0;
  private handler: FrameHandler = () => undefined;
  private readonly sockets: zmq.Socket[] = [];
  private readonly peerSenders = new Map<string, Sender>();
  private readonly proxySenders: Sender[] = [];
  private readonly routerSender: Sender;
  private readonly addresses: Map<string, string>;

  private constructor(
    private readonly o: ZmqNodeTransportOptions,
    private readonly peerRouter: zmq.Router,
    readonly endpoint: string,
  ) {
    this.sockets.push(peerRouter);
    this.routerSender = new Sender(peerRouter, o.logger);
    this.addresses = new Map(o.peers);
  }

  static async start(o: ZmqNodeTransportOptions): Promise<ZmqNodeTransport> {
    const peerRouter = router();
    await peerRouter.bind(o.listen);
    const t = new ZmqNodeTransport(o, peerRouter, peerRouter.lastEndpoint ?? o.listen);
    void receiveLoop(
      peerRouter,
      (frames) => {
        if (frames.length !== 2) return t.reject('peer request with wrong frame count', frames.length);
        t.handler(frames[1] as Buffer, asReplyTo({ via: 'router', identity: frames[0] as Buffer }));
      },
      o.logger,
    );
    // Connect to every peer now, so that the first request does not wait for a handshake.
    for (const id of o.peers.keys()) if (id !== o.id) t.peer(id);
    for (const address of o.proxies) t.connectProxy(address);
    return t;
  }

  /** Where inbound frames go (set once the state machine exists). */
  onFrame(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(to: string, frame: Uint8Array): void {
    const s = this.peer(to);
    if (s === undefined) this.o.logger.warn('send to an unknown node', { to });
    else s.send([frame]);
  }

  reply(replyTo: ReplyTo, frame: Uint8Array): void {
    const r = replyTo as unknown as Route;
    switch (r.via) {
      case 'router':
        this.routerSender.send([r.identity, frame]);
        return;
      case 'proxy':
        r.sender.send([r.client, frame]);
        return;
      case 'dealer':
        r.sender.send([frame]);
        return;
    }
  }

  learnAddress(node: string, address: string): void {
    if (node === this.o.id || this.addresses.get(node) === address) return;
    const known = this.addresses.has(node);
    this.addresses.set(node, address);
    if (known) {
      // The node moved: reconnect (its old socket stays open until close; rare).
      this.peerSenders.delete(node);
    }
  }

  /** Sends a frame addressed to each proxy itself (not to a client): a node's hello. */
  toProxies(frame: Uint8Array): void {
    for (const s of this.proxySenders) s.send([new Uint8Array(0), frame]);
  }

  /** Frames dropped because a socket's queue was full or had no peer. */
  get dropped(): number {
    let n = this.routerSender.dropped;
    for (const s of [...this.peerSenders.values(), ...this.proxySenders]) n += s.dropped;
    return n;
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }

  private peer(id: string): Sender | undefined {
    let s = this.peerSenders.get(id);
    if (s !== undefined) return s;
    const address = this.addresses.get(id);
    if (address === undefined) return undefined;
    const socket = dealer();
    this.sockets.push(socket);
    socket.connect(address);
    const sender = new Sender(socket, this.o.logger);
    this.peerSenders.set(id, sender);
    void receiveLoop(
      socket,
      (frames) => {
        if (frames.length !== 1) return this.reject('peer reply with wrong frame count', frames.length);
        this.handler(frames[0] as Buffer, asReplyTo({ via: 'dealer', sender }));
      },
      this.o.logger,
    );
    s = sender;
    return s;
  }

  private connectProxy(address: string): void {
    const socket = dealer(this.o.id);
    this.sockets.push(socket);
    socket.connect(address);
    const sender = new Sender(socket, this.o.logger);
    this.proxySenders.push(sender);
    void receiveLoop(
      socket,
      (frames) => {
        if (frames.length !== 2) return this.reject('proxy frame with wrong frame count', frames.length);
        this.handler(frames[1] as Buffer, asReplyTo({ via: 'proxy', sender, client: frames[0] as Buffer }));
      },
      this.o.logger,
    );
  }

  private reject(reason: string, frames: number): void {
    this.rejected++;
    this.o.logger.warn('frame rejected', { reason, frames });
  }
}

function asReplyTo(route: Route): ReplyTo {
  return route as unknown as ReplyTo;
}
