// ZeroMQ plumbing shared by every process: socket options (message size limit, heartbeats, no
// linger), a serialising sender (a zeromq socket allows one send in flight) with a bounded queue,
// and a receive loop that hands each multipart message on and never lets a bad one escape.
// RELIABILITY.md: without heartbeats a silent partition goes unnoticed; with maxMessageSize an
// oversized sender is disconnected; a ROUTER passes any number of frames, so callers validate.

import * as zmq from 'zeromq';
import { limits, messageBytesMax } from '@trolley/core';
import { RefusalLog, type Logger } from '@trolley/cloud';
import { systemClock } from './clock.ts';
import { z85, type KeyPair } from './keys.ts';

export const heartbeat = { intervalMs: 1_000, timeoutMs: 3_000 } as const;

export const commonOptions = {
  linger: 0,
  maxMessageSize: messageBytesMax,
  heartbeatInterval: heartbeat.intervalMs,
  heartbeatTimeout: heartbeat.timeoutMs,
  heartbeatTimeToLive: heartbeat.timeoutMs,
  sendHighWaterMark: limits.socketQueueMax,
  receiveHighWaterMark: limits.socketQueueMax,
  sendTimeout: 0,
} as const;

/** CURVE settings of a server socket: its key pair, and the ZAP domain that admits clients (zap.ts). */
export interface CurveServer {
  keys: KeyPair;
  zapDomain: string;
}

/** CURVE settings of a client socket: its key pair, and the server's public key it insists on. */
export interface CurveClient {
  keys: KeyPair;
  serverKey: string;
}

function serverOptions(curve: CurveServer | undefined): Partial<zmq.SocketOptions<zmq.Router>> {
  if (curve === undefined) return {};
  return {
    curveServer: true,
    curvePublicKey: z85(curve.keys.publicKey),
    curveSecretKey: z85(curve.keys.secretKey),
    zapDomain: curve.zapDomain,
    // Without a ZAP handler, libzmq would let any key in; with this, it lets nobody in.
    zapEnforceDomain: true,
  };
}

function clientOptions(curve: CurveClient | undefined): Partial<zmq.SocketOptions<zmq.Dealer>> {
  if (curve === undefined) return {};
  return {
    curveServerKey: z85(curve.serverKey),
    curvePublicKey: z85(curve.keys.publicKey),
    curveSecretKey: z85(curve.keys.secretKey),
  };
}

/** A ROUTER; with `curve`, a CURVE server whose clients the ZAP domain admits. */
export function router(curve?: CurveServer): zmq.Router {
  return new zmq.Router({ ...commonOptions, handover: true, ...serverOptions(curve) });
}

/**
 * Counts and logs (at warn, rate limited) the handshakes a CURVE server socket failed: a client
 * that does not speak CURVE, or whose key ZAP refused. Returns the count so far.
 */
export function watchHandshakes(socket: zmq.Socket, what: string, log: Logger): () => number {
  let failed = 0;
  const refusals = new RefusalLog({ logger: log, clock: systemClock });
  void (async () => {
    try {
      for await (const event of socket.events) {
        if (!event.type.startsWith('handshake:error')) continue;
        failed++;
        const error = 'error' in event ? String(event.error.message) : '';
        refusals.warn('handshake failed', `${what}: ${event.type}`, { socket: what, error });
      }
    } catch {
      // the socket closed
    }
  })();
  return () => failed;
}

/**
 * A DEALER. Messages queue (up to the high-water mark) until the connection is up, so the first
 * request after connecting is not lost; a message that waits past its deadline is refused by its
 * receiver, so queueing never makes a write apply late.
 */
export function dealer(routingId?: string, curve?: CurveClient): zmq.Dealer {
  return new zmq.Dealer({
    ...commonOptions,
    ...(routingId === undefined ? {} : { routingId }),
    ...clientOptions(curve),
  });
}

/**
 * Sends multipart messages in order through a bounded queue; drops (and counts) when the queue is
 * full or the socket refuses a message.
 *
 * With `sendTimeout: 0` (commonOptions) a zeromq send never waits: it hands the message to libzmq
 * (ZMQ_DONTWAIT) at once and returns a promise already settled (rejected with EAGAIN when there is
 * no live connection or the peer's queue is full), so two sends can never collide. Such a socket
 * is written in bursts: what is sent while the process works through what it has received (one
 * macrotask and its microtasks) queues here, and goes out back to back, without an await per
 * frame, when that work is done (process.nextTick runs after the microtasks drain). Messages
 * written together reach libzmq's I/O thread together: one wake-up and one TCP write for the
 * burst instead of one each, on this side and the receiver's. A socket that may wait (another
 * sendTimeout) is written one awaited send at a time, as zeromq requires.
 */
export class Sender {
  private queue: Uint8Array[][] = [];
  private busy = false;
  /** True when the socket's sends settle at once (sendTimeout 0): written in bursts. */
  private readonly immediate: boolean;
  dropped = 0;

  constructor(
    private readonly socket: zmq.Writable & zmq.Socket,
    private readonly log: Logger,
  ) {
    this.immediate = socket.sendTimeout === 0;
  }

  send(frames: Uint8Array[]): void {
    if (this.queue.length >= limits.socketQueueMax) {
      this.dropped++;
      return;
    }
    this.queue.push(frames);
    if (this.busy) return;
    this.busy = true;
    if (this.immediate) process.nextTick(this.writeBurst);
    else void this.pump();
  }

  /** Writes everything queued, in order (immediate sockets only). */
  private readonly writeBurst = (): void => {
    const burst = this.queue;
    this.queue = [];
    this.busy = false;
    for (const frames of burst) {
      if (this.socket.closed) return;
      let sent: Promise<void>;
      try {
        sent = this.socket.send(frames);
      } catch (e) {
        this.onFailure(e);
        continue;
      }
      sent.then(undefined, this.onFailure);
    }
  };

  private readonly onFailure = (e: unknown): void => {
    // EAGAIN: no live connection or the peer's queue is full. Best effort: drop.
    this.dropped++;
    if ((e as { code?: string }).code !== 'EAGAIN') this.log.debug('send failed', { cause: String(e) });
  };

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.socket.closed) {
      const frames = this.queue.shift() as Uint8Array[];
      try {
        await this.socket.send(frames);
      } catch (e) {
        this.onFailure(e);
      }
    }
    this.busy = false;
  }
}

/** Receives until the socket closes; `onMessage` must not throw, but if it does we log and go on. */
export async function receiveLoop(
  socket: zmq.Readable & zmq.Socket,
  onMessage: (frames: Buffer[]) => void,
  log: Logger,
): Promise<void> {
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (e) {
      if (socket.closed) return;
      const code = (e as { code?: string }).code;
      if (code === 'EAGAIN' || code === 'ETERM') return;
      log.warn('receive failed', { cause: String(e) });
      continue;
    }
    try {
      onMessage(frames);
    } catch (e) {
      log.error('handler threw on a frame; dropped', { cause: String(e), stack: (e as Error).stack });
    }
  }
}
