// Anti-entropy (Dynamo §4.7): every antiEntropyIntervalMs, one partition this node replicates is
// compared with one other replica of it by Merkle tree (merkle.ts), throttled so that foreground
// latency holds. The exchange, asker → peer:
//
//   ae-root      the asker's root for the partition; the peer answers ae-buckets (empty: agreed)
//   ae-keys      per differing bucket, the asker's (key, hash) entries; the peer pushes what the
//                asker lacks and answers ae-keys-reply with the keys it lacks, which the asker pushes
//
// Each push is a replica-put of purpose 'anti-entropy', sent back along the route the exchange came
// by, and answered to its pusher through the request table.

import { hashEquals, limits, preferenceList, type ListId, type MessageOf, type NodeId } from '@trolley/core';
import { bucketOf, differingBuckets, merkleTree, same, type MerkleTree } from '../merkle.ts';
import { owns } from '../placement.ts';
import type { Peer, ReplyTo } from '../ports.ts';
import type { NodeContext } from '../node/context.ts';
import type { Replica } from '../replica/replica.ts';
import type { Answer, RequestTable } from '../node/requests.ts';

export class AntiEntropy {
  /** The exchange this node started and waits on (one at a time). */
  private round: { requestId: number; peer: NodeId; partition: number } | undefined;
  private cursor = 0;
  private nextMs = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly requests: RequestTable,
    private readonly replica: Replica,
  ) {
    ctx.onRing(() => {
      this.cursor = 0;
    });
  }

  /** When to run first (spread over nodes). */
  start(atMs: number): void {
    this.nextMs = atMs;
  }

  tick(now: number): void {
    if (now < this.nextMs) return;
    this.nextMs = now + this.ctx.config.antiEntropyIntervalMs;
    this.startRound();
  }

  private startRound(): void {
    const { ctx } = this;
    const ring = ctx.ring;
    if (ring === undefined || this.round !== undefined) return;
    // Round-robin over the replicated partitions this node holds data in. Visiting empty ones
    // too made a round of Q partitions (1,024 by default) take Q intervals: a replica that missed
    // a write stayed behind for many minutes. An empty partition here loses nothing: a replica
    // that holds data in it visits it, and pushes what this node lacks.
    const held = ctx.store.countByPartition();
    // (From the partitions held, not all Q: a preference list per held partition, not per partition.)
    const mine = [...held.keys()].filter((p) => owns(ring, p, ctx.quorum.n, ctx.id)).sort((a, b) => a - b);
    if (mine.length === 0) return;
    const now = ctx.clock.monotonicMs();
    const partition = mine[this.cursor++ % mine.length] as number;
    const peers = preferenceList(ring, partition, ctx.quorum.n).filter(
      (n) => n !== ctx.id && ctx.membership.liveness(n, now) === 'alive',
    );
    // Peers in turn, not at random: every other replica of a held partition is visited within
    // (N − 1) sweeps, so a wiped replica is refilled in a bounded time.
    const peer = peers[Math.floor(this.cursor / mine.length) % Math.max(1, peers.length)];
    if (peer === undefined) return;
    const requestId = this.requests.openBackground(peer, {
      answer: (a) => this.onBuckets(a),
      expire: () => {
        this.round = undefined;
      },
    });
    this.round = { requestId, peer, partition };
    ctx.counters.antiEntropyRounds++;
    ctx.send(peer, { type: 'ae-root', requestId, partition, root: this.tree(partition).root });
  }

  private tree(partition: number): MerkleTree {
    return merkleTree(this.ctx.store.partitionEntries(partition), this.ctx.digest);
  }

  private validPartition(p: number): boolean {
    const ring = this.ctx.ring;
    return ring !== undefined && Number.isSafeInteger(p) && p >= 0 && p < ring.partitionCount;
  }

  /** The peer's side: our buckets if the roots differ. */
  onRoot(m: MessageOf<'ae-root'>, replyTo: ReplyTo): void {
    if (!this.validPartition(m.partition)) return;
    const tree = this.tree(m.partition);
    const buckets = same(tree.root, m.root) ? [] : tree.buckets;
    this.ctx.reply(replyTo, { type: 'ae-buckets', requestId: m.requestId, partition: m.partition, buckets });
  }

  /** The asker's side: the peer's buckets (from the peer asked: the request table checked). */
  private onBuckets(a: Answer): 'done' | 'keep' {
    const round = this.round;
    if (a.type === 'error') {
      this.round = undefined;
      return 'done';
    }
    if (a.type !== 'ae-buckets' || round === undefined || round.partition !== a.partition) return 'keep';
    this.round = undefined;
    if (a.buckets.length === 0) {
      this.ctx.counters.antiEntropyAgreed++;
      return 'done';
    }
    const tree = this.tree(a.partition);
    const entries = this.ctx.store.partitionEntries(a.partition);
    for (const bucket of differingBuckets(tree.buckets, a.buckets)) {
      const mine = entries.filter((e) => bucketOf(e.key) === bucket).slice(0, limits.antiEntropyKeysMax);
      const requestId = this.requests.openBackground(round.peer, {
        answer: (k, via) => this.onKeysReply(k, via, round.peer),
      });
      this.ctx.send(round.peer, {
        type: 'ae-keys',
        requestId,
        partition: a.partition,
        bucket,
        entries: mine.map((e) => ({ key: e.key as ListId, hash: e.hash })),
      });
    }
    return 'done';
  }

  /** The peer's side: push what the asker lacks, and say what we lack. */
  onKeys(m: MessageOf<'ae-keys'>, replyTo: ReplyTo, from: Peer): void {
    const { ctx } = this;
    if (!this.validPartition(m.partition)) return;
    const theirs = new Map(m.entries.map((e) => [e.key as string, e.hash]));
    const mine = ctx.store.partitionEntries(m.partition).filter((e) => bucketOf(e.key) === m.bucket);
    const mineByKey = new Map(mine.map((e) => [e.key, e.hash]));
    const wanted: ListId[] = [];
    for (const [key, hash] of theirs) {
      const own = mineByKey.get(key);
      if (own === undefined || !hashEquals(own, hash)) wanted.push(key as ListId);
    }
    let pushed = 0;
    for (const e of mine) {
      if (pushed >= limits.antiEntropyRepairsPerRoundMax) break;
      const their = theirs.get(e.key);
      if (their !== undefined && hashEquals(their, e.hash)) continue;
      if (this.push(e.key as ListId, replyTo, from.id as NodeId)) pushed++;
    }
    ctx.reply(replyTo, {
      type: 'ae-keys-reply',
      requestId: m.requestId,
      partition: m.partition,
      wanted: wanted.slice(0, limits.antiEntropyRepairsPerRoundMax),
    });
  }

  /** The asker's side: push the peer the keys it lacks, back along the route the reply came by. */
  private onKeysReply(a: Answer, replyTo: ReplyTo, peer: NodeId): 'done' | 'keep' {
    if (a.type === 'error') return 'done';
    if (a.type !== 'ae-keys-reply') return 'keep';
    for (const key of a.wanted.slice(0, limits.antiEntropyRepairsPerRoundMax)) this.push(key, replyTo, peer);
    return 'done';
  }

  /** Pushes our copy of `key` (if we hold one) to `peer`, along `replyTo`. */
  private push(key: ListId, replyTo: ReplyTo, peer: NodeId): boolean {
    const { ctx } = this;
    const held = this.replica.held(key);
    if (held === undefined) return false;
    ctx.counters.antiEntropyRepairs++;
    const requestId = this.requests.openBackground(peer, { answer: pushAnswered });
    ctx.reply(replyTo, ctx.pushMessage('anti-entropy', requestId, key, held.state));
    return true;
  }
}

/** A pushed replica's answer: nothing more to do (what failed is found again next round). */
function pushAnswered(a: Answer): 'done' | 'keep' {
  return a.type === 'replica-put-reply' || a.type === 'error' ? 'done' : 'keep';
}
