// ZeroMQ plumbing shared by every process: socket options (message size limit, heartbeats, no
// linger), a serialising sender (a zeromq socket allows one send in flight) with a bounded queue,
// and a receive loop that hands each multipart message on and never lets a bad one escape.
// RELIABILITY.md: without heartbeats a silent partition goes unnoticed; with maxMessageSize an
// oversized sender is disconnected; a ROUTER passes any number of frames, so callers validate.

import * as zmq from 'zeromq';
import { limits, messageBytesMax } from '@trolley/core';
import type { Logger } from '@trolley/cloud';

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

export function router(): zmq.Router {
  return new zmq.Router({ ...commonOptions, handover: true });
}

/**
 * A DEALER. Messages queue (up to the high-water mark) until the connection is up, so the first
 * request after connecting is not lost; a message that waits past its deadline is refused by its
 * receiver, so queueing never makes a write apply late.
 */
export function dealer(routingId?: string): zmq.Dealer {
  return new zmq.Dealer({ ...commonOptions, ...(routingId === undefined ? {} : { routingId }) });
}

/**
 * Sends multipart messages in order; drops (and counts) when its queue is full or the socket
 * refuses a message.
 *
 * With `sendTimeout: 0` (commonOptions) a zeromq send never waits: it queues the message with
 * ZMQ_DONTWAIT at once and returns a promise already settled (rejected with EAGAIN when there is
 * no live connection or the peer's queue is full), and there is never a send in flight that a
 * second one could collide with. So such a socket is written synchronously, a whole burst of
 * messages back to back, without an await (a promise resumption) per frame; only the outcome is
 * observed later, for the drop count. A socket that may wait (another sendTimeout) goes through
 * the bounded queue, one awaited send at a time, as zeromq requires.
 */
export class Sender {
  private readonly queue: Uint8Array[][] = [];
  private busy = false;
  /** True when the socket's sends settle at once (sendTimeout 0): no awaiting needed. */
  private readonly immediate: boolean;
  dropped = 0;

  constructor(
    private readonly socket: zmq.Writable & zmq.Socket,
    private readonly log: Logger,
  ) {
    this.immediate = socket.sendTimeout === 0;
  }

  send(frames: Uint8Array[]): void {
    if (this.immediate && !this.busy && !this.socket.closed) {
      this.sendNow(frames);
      return;
    }
    if (this.queue.length >= limits.socketQueueMax) {
      this.dropped++;
      return;
    }
    this.queue.push(frames);
    if (!this.busy) void this.pump();
  }

  /** One send that settles at once; its failure is counted when the promise reports it. */
  private sendNow(frames: Uint8Array[]): void {
    let sent: Promise<void>;
    try {
      sent = this.socket.send(frames);
    } catch (e) {
      this.onFailure(e);
      return;
    }
    sent.then(undefined, this.onFailure);
  }

  private readonly onFailure = (e: unknown): void => {
    // EAGAIN: no live connection or the peer's queue is full. Best effort: drop.
    this.dropped++;
    if ((e as { code?: string }).code !== 'EAGAIN') this.log.debug('send failed', { cause: String(e) });
  };

  private async pump(): Promise<void> {
    this.busy = true;
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
