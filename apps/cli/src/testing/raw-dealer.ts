// A bare ZeroMQ DEALER for tests that speak the wire protocol by hand: hand-crafted requests
// (a chosen opId, a deadline in the past) and arbitrary frames (fuzzing). It speaks as a client (to
// a proxy) or as an operator (to a node), so it reads replies of the client and admin planes; they
// are kept by request ID, and frames that do not decode (another plane's among them) are counted.
//
// CURVE as the real sockets speak it (zmq.ts): an address with the server's key after #
// (tcp://host:port#KEY, as LocalCluster gives them) is reached over CURVE with a fresh key pair of
// its own, as an anonymous client is; an address without one, in plain ZeroMQ (which a secure
// server refuses: a test of that refusal). With `member`, the socket speaks as that member instead
// (its key pair, and its credential as the first frame of every message), as a member port needs.

import * as zmq from 'zeromq';
import { decodeClientPortMessage, encodeMessage, type ClientPortMessage, type Message } from '@trolley/core';
import { newKeyPair, splitAddress, z85, type KeyPair, type MemberAuth } from '@trolley/node';

export interface RawDealerOptions {
  /** Mirrors the processes' sockets: give up on a send at once rather than block. */
  sendTimeoutMs?: number;
  /** The server's public key (base64url); default: the one after # in the address, if any. */
  serverKey?: string;
  /** Speak as this member (its keys and credential): for a node's peer port or a proxy's node port. */
  member?: MemberAuth;
}

export class RawDealer {
  readonly socket: zmq.Dealer;
  /** Every decoded reply, in arrival order. */
  readonly replies: ClientPortMessage[] = [];
  undecodable = 0;
  private readonly waiters = new Map<number, (m: ClientPortMessage) => void>();
  private readonly loop: Promise<void>;
  /** zeromq allows one send in flight per socket: sends queue behind this. */
  private sending: Promise<void> = Promise.resolve();

  /** The server's public key this socket insists on; undefined: plain ZeroMQ. */
  readonly serverKey: string | undefined;
  /** This socket's key pair (CURVE only): a fresh one, or the member's. */
  readonly keys: KeyPair | undefined;
  /** The first frame of every message (speaking as a member), else none. */
  private readonly credential: Uint8Array | undefined;

  constructor(
    readonly address: string,
    options: RawDealerOptions = {},
  ) {
    const { endpoint, serverKey } = splitAddress(address);
    this.serverKey = options.serverKey ?? serverKey;
    const member = options.member;
    this.keys = this.serverKey === undefined ? undefined : (member?.keys ?? newKeyPair());
    this.credential = member?.credentialFor(this.serverKey);
    this.socket = new zmq.Dealer({
      linger: 0,
      sendTimeout: options.sendTimeoutMs ?? 5_000,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      ...(this.serverKey === undefined || this.keys === undefined
        ? {}
        : {
            curveServerKey: z85(this.serverKey),
            curvePublicKey: z85(this.keys.publicKey),
            curveSecretKey: z85(this.keys.secretKey),
          }),
    });
    this.socket.connect(endpoint);
    this.loop = this.receiveLoop();
  }

  /**
   * Sends one message made of these frames (a DEALER adds no envelope), after the member's
   * credential when speaking as one.
   */
  sendFrames(frames: Uint8Array[]): Promise<void> {
    const all = this.credential === undefined ? frames : [this.credential, ...frames];
    const sent = this.sending.then(() => this.socket.send(all));
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  /**
   * Sends `m` and waits for the reply that carries its request ID. The default wait outlasts any
   * deadline a request may carry (60 s): a receiver answers by its deadline, so giving up is only a
   * guard against a hang, never a budget on a loaded machine.
   */
  async request(m: Message, timeoutMs = 90_000): Promise<ClientPortMessage> {
    const reply = new Promise<ClientPortMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(m.requestId);
        reject(new Error(`no reply to ${m.type} #${m.requestId} from ${this.address} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(m.requestId, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    try {
      await this.sendFrames([encodeMessage(m)]);
    } catch (e) {
      this.waiters.delete(m.requestId);
      throw e;
    }
    return reply;
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.loop;
  }

  private async receiveLoop(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        if (this.socket.closed) return;
        continue;
      }
      const last = frames[frames.length - 1];
      const decoded = frames.length === 1 && last !== undefined ? decodeClientPortMessage(last) : undefined;
      if (decoded?.ok !== true) {
        this.undecodable++;
        continue;
      }
      this.replies.push(decoded.value);
      const waiter = this.waiters.get(decoded.value.requestId);
      if (waiter !== undefined) {
        this.waiters.delete(decoded.value.requestId);
        waiter(decoded.value);
      }
    }
  }
}
