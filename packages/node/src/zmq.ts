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

/** Sends multipart messages one at a time; drops (and counts) when its queue is full. */
export class Sender {
  private readonly queue: Uint8Array[][] = [];
  private busy = false;
  dropped = 0;

  constructor(
    private readonly socket: zmq.Writable & zmq.Socket,
    private readonly log: Logger,
  ) {}

  send(frames: Uint8Array[]): void {
    if (this.queue.length >= limits.socketQueueMax) {
      this.dropped++;
      return;
    }
    this.queue.push(frames);
    if (!this.busy) void this.pump();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0 && !this.socket.closed) {
      const frames = this.queue.shift() as Uint8Array[];
      try {
        await this.socket.send(frames);
      } catch (e) {
        // EAGAIN: no live connection or the peer's queue is full. Best effort: drop.
        this.dropped++;
        if ((e as { code?: string }).code !== 'EAGAIN') this.log.debug('send failed', { cause: String(e) });
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
