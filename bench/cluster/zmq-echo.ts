// The raw ZeroMQ baseline of the cluster benchmark (docs/PERFORMANCE.md): a ROUTER that sends back
// every message it receives, unchanged, in its own process. Run by bench/cluster/run.ts as
//   node --import tsx bench/cluster/zmq-echo.ts [endpoint]      (default tcp://127.0.0.1:*)
// It prints one line "ready <endpoint>" once bound, and exits on SIGTERM or SIGINT, or when its
// stdin closes (so it never outlives a benchmark that died).
//
// This file also holds the client side (echoRun): one DEALER, 100-byte messages, a fixed number
// of round trips in flight, round trips per second and their latency.

import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as zmq from 'zeromq';
import { percentile } from '../common.ts';

export const ECHO_MESSAGE_BYTES = 100;

export interface EchoRun {
  inFlight: number;
  roundTrips: number;
  perSec: number;
  p50Us: number;
  p99Us: number;
}

/**
 * Round trips through the echo server at `endpoint` for `durationMs` with `inFlight` messages
 * outstanding at all times (1 = strictly one after another). Each message carries its sequence
 * number in its first 4 bytes so its send time can be found when it comes back.
 */
export async function echoRun(endpoint: string, inFlight: number, durationMs: number): Promise<EchoRun> {
  const socket = new zmq.Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  socket.connect(endpoint);
  try {
    // Handshake and warm-up: a few round trips before anything is timed.
    const probe = Buffer.alloc(ECHO_MESSAGE_BYTES);
    for (let i = 0; i < 200; i++) {
      await socket.send(probe);
      await socket.receive();
    }
    const capacity = 1 << 22;
    const sentAt = new Float64Array(capacity);
    const latencies: number[] = [];
    let nextSeq = 0;
    let received = 0;
    const start = performance.now();
    const end = start + durationMs;
    let sending = true;

    const message = (seq: number): Buffer => {
      const b = Buffer.alloc(ECHO_MESSAGE_BYTES);
      b.writeUInt32LE(seq, 0);
      return b;
    };
    // Keep `inFlight` outstanding: the receiver signals the sender each time a reply frees a slot.
    let wake: (() => void) | undefined;
    const sender = async (): Promise<void> => {
      while (sending) {
        while (nextSeq - received >= inFlight) {
          await new Promise<void>((r) => (wake = r));
          if (!sending) return;
        }
        const seq = nextSeq++;
        sentAt[seq % capacity] = performance.now();
        await socket.send(message(seq));
      }
    };
    const receiver = async (): Promise<void> => {
      for (;;) {
        const [frame] = await socket.receive();
        const now = performance.now();
        const seq = (frame as Buffer).readUInt32LE(0);
        latencies.push(now - (sentAt[seq % capacity] ?? now));
        received++;
        if (now >= end) sending = false;
        const w = wake;
        wake = undefined;
        w?.();
        if (!sending && received === nextSeq) return;
      }
    };
    await Promise.all([sender(), receiver()]);
    const elapsed = performance.now() - start;
    const sorted = Float64Array.from(latencies).sort();
    return {
      inFlight,
      roundTrips: received,
      perSec: (received * 1000) / elapsed,
      p50Us: percentile(sorted, 0.5) * 1000,
      p99Us: percentile(sorted, 0.99) * 1000,
    };
  } finally {
    socket.close();
  }
}

async function serve(endpoint: string): Promise<void> {
  const socket = new zmq.Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  await socket.bind(endpoint);
  const stop = (): void => {
    socket.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.stdout.write(`ready ${socket.lastEndpoint ?? endpoint}\n`);
  try {
    for (;;) {
      const frames = await socket.receive();
      await socket.send(frames);
    }
  } catch (e) {
    if (!socket.closed) throw e;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await serve(process.argv[2] ?? 'tcp://127.0.0.1:*');
