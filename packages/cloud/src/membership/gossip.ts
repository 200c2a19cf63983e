// Gossip and ring adoption (Dynamo §4.8): every gossipIntervalMs this node beats its heartbeat and
// sends its view of the members and its ring to one random member (push-pull: the member answers
// with its own). A newer ring — higher version; equal versions: the greater encoding — is adopted
// wherever it comes from, so every node ends on one ring. Liveness itself is membership.ts.

import { decodeRing, encodeRing, type Message, type MessageOf, type RingState } from '@trolley/core';
import type { Peer, ReplyTo } from '../ports.ts';
import type { NodeContext } from '../node/context.ts';

export class Gossip {
  private nextMs = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly o: {
      /**
       * Whether a node ID is a member of the cluster (a keyring holds its key): gossip about
       * others is skipped.
       */
      isMember: (id: string) => boolean;
      /** Called when this node adopts a ring (to persist it). */
      onRingChange: ((ring: RingState) => void) | undefined;
    },
  ) {}

  /** When to gossip first. */
  start(atMs: number): void {
    this.nextMs = atMs;
  }

  tick(now: number): void {
    if (now < this.nextMs) return;
    this.nextMs = now + this.ctx.config.gossipIntervalMs;
    this.ctx.refusals.flush();
    this.ctx.membership.beat(now);
    const others = this.ctx.membership.others();
    const peer = others[this.ctx.randomInt(others.length)];
    if (peer !== undefined) this.send(peer, 'gossip');
  }

  /** Gossips to every member now (after a ring change, rather than waiting for gossip to wander). */
  toAll(): void {
    for (const peer of this.ctx.membership.others()) this.send(peer, 'gossip');
  }

  private send(peer: string, type: 'gossip' | 'gossip-reply', requestId = 0): void {
    const m: Message = {
      type,
      requestId,
      from: this.ctx.id,
      members: this.ctx.membership.view(),
      ring: this.ctx.ringBytes ?? new Uint8Array(0),
    };
    this.ctx.send(peer, m);
  }

  /**
   * A member's view (push-pull). Only a node may gossip, and only as itself: `from` in the frame
   * must be the authenticated sender, whose own entry is the one that may move its address.
   */
  onGossip(m: MessageOf<'gossip'> | MessageOf<'gossip-reply'>, replyTo: ReplyTo, from: Peer): void {
    const { ctx } = this;
    if (m.from !== from.id)
      return ctx.refusePeerFrame(m, replyTo, from, `a ${m.type} that names ${m.from} as its sender`);
    ctx.counters.gossipIn++;
    const merged = ctx.membership.merge(m.members, ctx.clock.monotonicMs(), {
      sender: from.id,
      heartbeatMax: ctx.clock.wallMs() + ctx.config.heartbeatAheadMsMax,
      isMember: this.o.isMember,
    });
    ctx.counters.heartbeatsRefused += merged.heartbeatsRefused;
    ctx.counters.membersRefused += merged.membersRefused;
    if (merged.heartbeatsRefused + merged.membersRefused > 0)
      ctx.refusals.warn('gossip entries refused', 'gossip_entries', {
        id: from.id,
        heartbeatsAhead: merged.heartbeatsRefused,
        notMembers: merged.membersRefused,
      });
    // The transport learns addresses as membership holds them after the merge: a third party's
    // word about a known member's address was not taken, so it must not reach the transport either.
    for (const x of m.members) {
      const address = ctx.membership.address(x.id);
      if (address !== undefined) ctx.learnAddress(x.id, address);
    }
    if (m.ring.length > 0) {
      const ring = decodeRing(m.ring);
      if (ring.ok) this.consider(ring.value, m.ring);
      else ctx.counters.rejected++;
    }
    if (m.type === 'gossip') this.send(m.from, 'gossip-reply');
  }

  /** A member this node is told of (a seed, a node an operator adds). */
  learn(id: string, address: string, now: number): void {
    this.ctx.membership.introduce(id, address, now);
    this.ctx.learnAddress(id, address);
  }

  /** Adopts `ring` if it is newer (higher version; equal versions: the greater encoding). */
  private consider(ring: RingState, bytes: Uint8Array): void {
    const mine = this.ctx.ring;
    const mineBytes = this.ctx.ringBytes;
    if (mine !== undefined && mineBytes !== undefined) {
      if (ring.version < mine.version) return;
      if (ring.version === mine.version && compareBytes(bytes, mineBytes) <= 0) return;
    }
    this.adopt(ring, bytes);
    this.ctx.log.info('ring adopted', { version: ring.version, nodes: ring.nodes.length });
  }

  /** Follows `ring` from now on (every mechanism that keeps state by ring hears of it: context.onRing). */
  adopt(ring: RingState, bytes: Uint8Array = encodeRing(ring)): void {
    const changed = this.ctx.ring !== undefined;
    this.ctx.adoptRing(ring, bytes);
    if (changed) this.ctx.counters.ringChanges++;
    this.o.onRingChange?.(ring);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}
