// The ZeroMQ implementation of the storage node's transport port.
//
//   peers ──DEALER──► ROUTER (listen)        requests from peers, admin reads, stats
//   this  ──DEALER──► each peer's ROUTER     our requests to peers; their replies come back here
//   this  ──DEALER──► each proxy's node port client requests forwarded by a proxy
//
// Secure (the usual case): every socket speaks CURVE. The ROUTER admits only keys of the keyring
// (ZAP), and each frame sent to it carries the sender's credential (keys.ts), so the node knows
// which member sent it; a DEALER pins its server's key, so what comes back on it is from that
// server. Every inbound message's frame count and credential are checked; a bad one is counted,
// logged (rate limited) and dropped.

import type * as zmq from 'zeromq';
import { RefusalLog, type Logger, type NodeTransport, type Peer, type ReplyTo } from '@trolley/cloud';
import { systemClock } from './clock.ts';
import { claimedKey, splitAddress, type MemberAuth } from './keys.ts';
import { releaseZapDomain, zapDomain } from './zap.ts';
import { Sender, dealer, receiveLoop, router, watchHandshakes, type CurveClient } from './zmq.ts';

type Route =
  | { via: 'router'; identity: Uint8Array }
  | { via: 'proxy'; sender: Sender; credential: Uint8Array; client: Uint8Array }
  | { via: 'dealer'; link: PeerLink }
  | { via: 'local'; deliver: (frame: Uint8Array) => void };

export type FrameHandler = (frame: Uint8Array, replyTo: ReplyTo, from: Peer) => void;

export interface ZmqNodeTransportOptions {
  /** This node's ID: its routing ID toward proxies. */
  id: string;
  /** Endpoint to bind for peers (tcp://host:port; port 0 or * picks one). */
  listen: string;
  /** Peer node IDs and their endpoints. */
  peers: ReadonlyMap<string, string>;
  /** Node ports of the proxies, each with its key when secure (tcp://host:5556#KEY). */
  proxies: readonly string[];
  logger: Logger;
  /** This node's keys and keyring (insecure without keys: benchmarks only). */
  auth: MemberAuth;
}

export class ZmqNodeTransport implements NodeTransport {
  /** Messages dropped for a wrong frame count or credential. */
  rejected = 0;
  private handler: FrameHandler = () => undefined;
  private readonly refusals: RefusalLog;
  private readonly zap: { domain: string; refused: () => number } | undefined;
  private readonly handshakesFailed: () => number;
  private readonly sockets: zmq.Socket[] = [];
  private readonly peerSenders = new Map<string, PeerLink>();
  private readonly proxySenders: PeerLink[] = [];
  private readonly routerSender: Sender;
  private readonly addresses: Map<string, string>;

  private constructor(
    private readonly o: ZmqNodeTransportOptions,
    private readonly peerRouter: zmq.Router,
    readonly endpoint: string,
    zap: { domain: string; refused: () => number } | undefined,
  ) {
    this.sockets.push(peerRouter);
    this.routerSender = new Sender(peerRouter, o.logger);
    this.addresses = new Map(o.peers);
    this.refusals = new RefusalLog({ logger: o.logger, clock: systemClock });
    this.zap = zap;
    this.handshakesFailed = watchHandshakes(peerRouter, 'peer port', o.logger);
  }

  static async start(o: ZmqNodeTransportOptions): Promise<ZmqNodeTransport> {
    const keys = o.auth.keys;
    const zap = keys === undefined ? undefined : await zapDomain(o.auth.keyring, o.logger);
    const peerRouter = router(
      keys === undefined || zap === undefined ? undefined : { keys, zapDomain: zap.domain },
    );
    await peerRouter.bind(o.listen);
    const t = new ZmqNodeTransport(o, peerRouter, peerRouter.lastEndpoint ?? o.listen, zap);
    void receiveLoop(
      peerRouter,
      (frames) => {
        if (frames.length !== 3)
          return t.reject('peer request with wrong frame count', `${frames.length} frames`);
        const from = o.auth.sender(frames[1] as Buffer);
        if (from === undefined)
          return t.reject('peer request without a member credential', claimedKey(frames[1] as Buffer));
        t.handler(frames[2] as Buffer, asReplyTo({ via: 'router', identity: frames[0] as Buffer }), from);
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
    const p = this.peer(to);
    if (p === undefined) this.refusals.warn('send to an unknown node', 'no address or key', { to });
    else p.sender.send([p.credential, frame]);
  }

  reply(replyTo: ReplyTo, frame: Uint8Array): void {
    const r = replyTo as unknown as Route;
    switch (r.via) {
      case 'router':
        this.routerSender.send([r.identity, frame]);
        return;
      case 'proxy':
        r.sender.send([r.credential, r.client, frame]);
        return;
      case 'dealer':
        // Back along our own DEALER to the peer (anti-entropy pushes, say): its ROUTER wants our
        // credential first, as with any frame we send it.
        r.link.sender.send([r.link.credential, frame]);
        return;
      case 'local':
        r.deliver(frame);
        return;
    }
  }

  /** A route for a request made in this process (the node's own front): its answer goes to `deliver`. */
  localRoute(deliver: (frame: Uint8Array) => void): ReplyTo {
    return asReplyTo({ via: 'local', deliver });
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

  /**
   * Each Sender writes what was queued in a turn in one burst on process.nextTick, scheduled at
   * its first send (zmq.ts); ticks run in the order they were scheduled, so one scheduled now runs
   * after the bursts of everything sent before it.
   */
  afterSends(f: () => void): void {
    process.nextTick(f);
  }

  /** Sends a frame addressed to each proxy itself (not to a client): a node's hello. */
  toProxies(frame: Uint8Array): void {
    for (const p of this.proxySenders) p.sender.send([p.credential, new Uint8Array(0), frame]);
  }

  /** Frames dropped because a socket's queue was full or had no peer. */
  get dropped(): number {
    let n = this.routerSender.dropped;
    for (const p of [...this.peerSenders.values(), ...this.proxySenders]) n += p.sender.dropped;
    return n;
  }

  /** Handshakes refused on the peer port: keys not in the keyring, or no CURVE at all. */
  get handshakesRefused(): number {
    return this.handshakesFailed();
  }

  close(): void {
    for (const s of this.sockets) s.close();
    if (this.zap !== undefined) releaseZapDomain(this.zap.domain);
  }

  private peer(id: string): PeerLink | undefined {
    const known = this.peerSenders.get(id);
    if (known !== undefined) return known;
    const address = this.addresses.get(id);
    if (address === undefined) return undefined;
    const serverKey = this.o.auth.keyOf(id);
    if (this.o.auth.secure && serverKey === undefined) return undefined; // not in our keyring
    const socket = dealer(undefined, this.curveTo(serverKey));
    this.sockets.push(socket);
    socket.connect(splitAddress(address).endpoint);
    const link: PeerLink = {
      sender: new Sender(socket, this.o.logger),
      credential: this.o.auth.credentialFor(serverKey),
    };
    this.peerSenders.set(id, link);
    // What comes back on this socket is from the holder of serverKey: the node `id`.
    const from: Peer = { role: 'node', id };
    void receiveLoop(
      socket,
      (frames) => {
        if (frames.length !== 1)
          return this.reject('peer reply with wrong frame count', `${frames.length} frames`);
        this.handler(frames[0] as Buffer, asReplyTo({ via: 'dealer', link }), from);
      },
      this.o.logger,
    );
    return link;
  }

  private connectProxy(address: string): void {
    const { endpoint, serverKey } = splitAddress(address);
    const member = serverKey === undefined ? undefined : this.o.auth.keyring?.member(serverKey);
    if (this.o.auth.secure && (serverKey === undefined || member?.role !== 'proxy')) {
      this.o.logger.error('proxy address without a proxy key of the keyring; not connecting', { address });
      return;
    }
    const socket = dealer(this.o.id, this.curveTo(serverKey));
    this.sockets.push(socket);
    socket.connect(endpoint);
    const link: PeerLink = {
      sender: new Sender(socket, this.o.logger),
      credential: this.o.auth.credentialFor(serverKey),
    };
    this.proxySenders.push(link);
    const from: Peer = { role: 'proxy', id: member?.id ?? endpoint };
    void receiveLoop(
      socket,
      (frames) => {
        if (frames.length !== 2)
          return this.reject('proxy frame with wrong frame count', `${frames.length} frames`);
        this.handler(
          frames[1] as Buffer,
          asReplyTo({
            via: 'proxy',
            sender: link.sender,
            credential: link.credential,
            client: frames[0] as Buffer,
          }),
          from,
        );
      },
      this.o.logger,
    );
  }

  private curveTo(serverKey: string | undefined): CurveClient | undefined {
    const keys = this.o.auth.keys;
    return keys === undefined || serverKey === undefined ? undefined : { keys, serverKey };
  }

  private reject(reason: string, detail: string): void {
    this.rejected++;
    this.refusals.warn('frame rejected', reason, { detail });
  }
}

interface PeerLink {
  sender: Sender;
  /** The first frame of every message on this link: our credential for its receiver. */
  credential: Uint8Array;
}

function asReplyTo(route: Route): ReplyTo {
  return route as unknown as ReplyTo;
}
