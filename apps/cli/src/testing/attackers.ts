// What the member-port tests (member-ports.e2e.test.ts) attack with, and what they watch with:
// - AttackerSocket: a ZeroMQ DEALER that is not a member, either plain (no keys) or CURVE with a
//   client key pair of its own (what any client holds, with the server's public key from the
//   cloud address); it records every message it is sent and what its handshakes did;
// - Trap: a plain ROUTER where an attacker would like lists sent (the address a forged ring or
//   gossip names), which counts the connections and frames it gets;
// - TcpRecorder: a TCP relay between a client and the proxy's client port that keeps every byte
//   both ways, to look for a list ID on the wire.

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import * as zmq from 'zeromq';
import { newKeyPair, z85, type KeyPair } from '@trolley/node';

export interface AttackerOptions {
  /** The server's public key (base64url): a CURVE client; absent: plain. */
  serverKey?: string;
  /** The CURVE key pair to use (a stolen member key); default: a fresh one, as any client has. */
  keys?: KeyPair;
  /** The routing ID to claim (a node's ID, toward a proxy's node port). */
  routingId?: string;
}

export class AttackerSocket {
  readonly socket: zmq.Dealer;
  /** This socket's key pair (CURVE only). */
  readonly keys: KeyPair | undefined;
  /** Every message that came back, as its frames. */
  readonly received: Buffer[][] = [];
  /** Handshake outcomes this socket saw: 'handshake' (done) or a 'handshake:error:…' type. */
  readonly handshakes: string[] = [];
  private readonly loop: Promise<void>;
  /** zeromq allows one send in flight per socket: sends queue behind this. */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    readonly endpoint: string,
    o: AttackerOptions = {},
  ) {
    this.keys = o.serverKey === undefined ? undefined : (o.keys ?? newKeyPair());
    this.socket = new zmq.Dealer({
      linger: 0,
      // Never waits: frames sent before the handshake queue here (and are never delivered if it
      // is refused); once libzmq has given up on a refused connection (it does not retry after a
      // failed handshake) there is nowhere to queue, and a send is counted as unsendable.
      sendHighWaterMark: 100_000,
      sendTimeout: 0,
      ...(o.routingId === undefined ? {} : { routingId: o.routingId }),
      ...(o.serverKey === undefined || this.keys === undefined
        ? {}
        : {
            curveServerKey: z85(o.serverKey),
            curvePublicKey: z85(this.keys.publicKey),
            curveSecretKey: z85(this.keys.secretKey),
          }),
    });
    for (const type of [
      'handshake',
      'handshake:error:protocol',
      'handshake:error:auth',
      'handshake:error:other',
    ] as const)
      this.socket.events.on(type, () => this.handshakes.push(type));
    this.socket.connect(endpoint);
    this.loop = this.receiveLoop();
  }

  /** Messages handed to libzmq (queued for the connection, or sent on it). */
  queued = 0;
  /** Messages libzmq would not take: no connection to queue them for (EAGAIN). */
  unsendable = 0;

  /** Sends one message made of these frames; one libzmq will not take is counted, not thrown. */
  send(frames: Uint8Array[]): Promise<void> {
    const sent = this.sending.then(async () => {
      try {
        await this.socket.send(frames);
        this.queued++;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e;
        this.unsendable++;
      }
    });
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  async close(): Promise<void> {
    if (!this.socket.closed) this.socket.close();
    await this.loop;
  }

  private async receiveLoop(): Promise<void> {
    for (;;) {
      try {
        this.received.push(await this.socket.receive());
      } catch {
        if (this.socket.closed) return;
      }
    }
  }
}

/** A plain ROUTER an attacker listens on: counts the connections and messages it is given. */
export class Trap {
  accepted = 0;
  messages = 0;
  private readonly loop: Promise<void>;

  private constructor(
    readonly socket: zmq.Router,
    readonly endpoint: string,
  ) {
    socket.events.on('accept', () => this.accepted++);
    this.loop = (async () => {
      for (;;) {
        try {
          await socket.receive();
          this.messages++;
        } catch {
          if (socket.closed) return;
        }
      }
    })();
  }

  static async open(): Promise<Trap> {
    const socket = new zmq.Router({ linger: 0 });
    await socket.bind('tcp://127.0.0.1:*');
    return new Trap(socket, socket.lastEndpoint ?? '');
  }

  async close(): Promise<void> {
    if (!this.socket.closed) this.socket.close();
    await this.loop;
  }
}

/**
 * A TCP relay on 127.0.0.1 to `port`: a client pointed at the relay's port reaches the server, and
 * every byte either way is kept in `bytes()`.
 */
export class TcpRecorder {
  private readonly chunks: Buffer[] = [];
  private readonly sockets = new Set<Socket>();

  private readonly server: Server;
  /** The relay's port on 127.0.0.1 (point the client here). */
  port = 0;

  private constructor(targetPort: number) {
    this.server = createServer((inbound) => {
      const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined); // the other side's close ends this one too
      }
      inbound.on('data', (b: Buffer) => {
        this.chunks.push(b);
        outbound.write(b);
      });
      outbound.on('data', (b: Buffer) => {
        this.chunks.push(b);
        inbound.write(b);
      });
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
  }

  static async open(targetPort: number): Promise<TcpRecorder> {
    const recorder = new TcpRecorder(targetPort);
    await new Promise<void>((resolve, reject) => {
      recorder.server.once('error', reject);
      recorder.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = recorder.server.address();
    recorder.port = typeof address === 'object' && address !== null ? address.port : 0;
    return recorder;
  }

  /** Everything relayed so far, both directions. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
