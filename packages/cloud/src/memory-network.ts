// The in-memory double of the node transport: a network of named endpoints in one process.
// Delivery is asynchronous (queued, delivered by deliver() or deliverAll()), so tests and the
// simulator choose the order, and can cut an endpoint off (its frames vanish both ways). Each
// endpoint has a role, and every frame arrives with its sender as the ZeroMQ transport will tell
// it: `{ role, id: name }` (in memory nobody can lie about who they are).

import type { NodeTransport, Peer, PeerRole, ReplyTo } from './ports.ts';

export type FrameHandler = (frame: Uint8Array, replyTo: ReplyTo, from: Peer) => void;

interface Envelope {
  to: string;
  frame: Uint8Array;
  replyTo: ReplyTo;
  from: Peer;
}

interface MemoryReplyTo extends ReplyTo {
  endpoint: string;
}

export class MemoryNetwork {
  private readonly handlers = new Map<string, FrameHandler>();
  private readonly queue: Envelope[] = [];
  private readonly down = new Set<string>();
  delivered = 0;
  lost = 0;

  /** Joins the network as `name` with `role`; frames for it go to `handler`. */
  endpoint(name: string, handler: FrameHandler, role: PeerRole = 'node'): NodeTransport {
    this.handlers.set(name, handler);
    const replyTo: MemoryReplyTo = { endpoint: name } as MemoryReplyTo;
    const from: Peer = { role, id: name };
    return {
      send: (to, frame) => this.enqueue({ to, frame: frame.slice(), replyTo, from }),
      reply: (back, frame) =>
        this.enqueue({ to: (back as MemoryReplyTo).endpoint, frame: frame.slice(), replyTo, from }),
    };
  }

  /** A ReplyTo naming `name`, for a test that injects a request as if `name` had sent it. */
  replyToOf(name: string): ReplyTo {
    return { endpoint: name } as MemoryReplyTo;
  }

  /** Cuts an endpoint off (or reconnects it): frames to and from it are lost. */
  setDown(name: string, isDown: boolean): void {
    if (isDown) this.down.add(name);
    else this.down.delete(name);
  }

  get inFlight(): number {
    return this.queue.length;
  }

  private enqueue(e: Envelope): void {
    if (this.down.has((e.replyTo as MemoryReplyTo).endpoint)) {
      this.lost++;
      return;
    }
    this.queue.push(e);
  }

  /** Queues a second copy of the frame at `index` (a network duplicate). */
  duplicate(index = 0): boolean {
    const e = this.queue[index];
    if (e === undefined) return false;
    this.queue.push({ ...e, frame: e.frame.slice() });
    return true;
  }

  /** Delivers the queued frame at `index` (default: the oldest). Returns false if none. */
  deliver(index = 0): boolean {
    const [e] = this.queue.splice(index, 1);
    if (e === undefined) return false;
    const handler = this.handlers.get(e.to);
    if (handler === undefined || this.down.has(e.to)) {
      this.lost++;
      return true;
    }
    this.delivered++;
    handler(e.frame, e.replyTo, e.from);
    return true;
  }

  /**
   * Delivers until nothing is queued and `settle` (which lets pending promises, such as store
   * commits, run: a test passes a macrotask wait) brings nothing new. Returns frames delivered.
   */
  async deliverAll(settle: () => Promise<void>, max = 1_000_000): Promise<number> {
    let n = 0;
    while (n < max) {
      if (this.deliver()) {
        n++;
        continue;
      }
      await settle();
      if (this.queue.length === 0) return n;
    }
    return n;
  }
}
