// Handover: lists held here for another node reach it, then leave here. One mechanism of two kinds,
// as riak_core's handoff, sharing one in-flight limit (transfersInFlightMax):
//
//   hinted handoff  §4.6  hints (writes held for a down owner) are replayed once the owner is
//                         alive, and deleted on its acknowledgement
//   transfer        §4.9  lists this node holds but no longer replicates (ring change, fallback
//                         copies) are pushed to their owners and deleted once all of them have
//                         acknowledged holding exactly what this node holds (the hash in their
//                         acknowledgement)
//
// Each push is a replica-put of its own purpose ('hint', 'transfer'); its answer comes back here
// through the request table, from the node asked only.

import {
  decodeList,
  hashEquals,
  limits,
  partitionOf,
  preferenceList,
  type ListId,
  type NodeId,
} from '@trolley/core';
import type { Replica } from '../replica/replica.ts';
import type { NodeContext } from '../node/context.ts';
import type { Answer, RequestTable } from '../node/requests.ts';

/** A handover request in flight: a hint delivery, a transfer, or the read of an owner's copy. */
interface InFlight {
  kind: 'hint' | 'transfer' | 'read-back';
  node: NodeId;
  key: ListId;
  hintId?: number;
}

export class Handover {
  private readonly inFlight = new Map<number, InFlight>();
  /** Transfers: per key, the owners that have acknowledged the pushed state. */
  private readonly transferAcks = new Map<string, { hash: Uint8Array; acked: Set<string> }>();
  private nextHandoffMs = 0;
  private nextTransferMs = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly requests: RequestTable,
    private readonly replica: Replica,
  ) {
    // Move what no longer belongs here soon after a ring change.
    ctx.onRing(() => {
      this.nextTransferMs = ctx.clock.monotonicMs();
    });
  }

  /** When to run first (spread over nodes). */
  start(handoffMs: number, transferMs: number): void {
    this.nextHandoffMs = handoffMs;
    this.nextTransferMs = transferMs;
  }

  tick(now: number): void {
    if (now >= this.nextHandoffMs) {
      this.nextHandoffMs = now + this.ctx.config.handoffIntervalMs;
      this.handOff();
    }
    if (now >= this.nextTransferMs) {
      this.nextTransferMs = now + this.ctx.config.transferIntervalMs;
      this.transferAway();
    }
  }

  // ---- hinted handoff (§4.6) -------------------------------------------------------------------

  private handOff(): void {
    const { ctx } = this;
    const ring = ctx.ring;
    if (ctx.store.hintCount() === 0 || ring === undefined) return;
    const now = ctx.clock.monotonicMs();
    const ringNodes = new Set<string>(ring.nodes.map((n) => n.id));
    for (const target of ctx.membership.ids()) {
      if (target === ctx.id) continue;
      if (!ringNodes.has(target)) {
        this.dropHints(target);
        continue;
      }
      if (ctx.membership.liveness(target, now) !== 'alive') continue;
      for (const hint of ctx.store.hintsFor(target, limits.transfersInFlightMax)) {
        if (this.inFlight.size >= limits.transfersInFlightMax) return;
        if (this.delivering(hint.id)) continue;
        this.push('hint', target as NodeId, hint.key as ListId, hint.doc, hint.id);
      }
    }
  }

  private delivering(hintId: number): boolean {
    return [...this.inFlight.values()].some((b) => b.hintId === hintId);
  }

  /**
   * Deletes the hints held for a node that left the ring, alive or not: they could never be handed
   * off, and the lists they are about are held here as well, so they move by transfer instead.
   */
  private dropHints(target: string): void {
    for (const hint of this.ctx.store.hintsFor(target, limits.transfersInFlightMax)) {
      if (this.delivering(hint.id)) continue;
      this.ctx.counters.hintsDropped++;
      this.ctx.inBackground(this.ctx.store.deleteHint(hint.id), 'delete hint');
    }
  }

  // ---- transfer: lists held but not replicated here (§4.9 and fallback copies) -----------------

  /**
   * What is still to transfer away: each partition held here that this node does not replicate
   * (its preference list under the current ring lacks it), with the lists of it held here, in
   * partition order. Empty when everything held here belongs here. For stats: the operator page
   * draws a ring change as it moves, and the lists summed are `keysToHandOver` — 0 on every node,
   * with no hints left, means every list has reached all its owners (a list leaves here only once
   * all of them acknowledged it); operators and the elastic benchmark wait for that.
   */
  leaving(): [partition: number, lists: number][] {
    const ring = this.ctx.ring;
    if (ring === undefined) return [];
    const out: [number, number][] = [];
    for (const [p, lists] of this.ctx.store.countByPartition())
      if (!preferenceList(ring, p, this.ctx.quorum.n).includes(this.ctx.id)) out.push([p, lists]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  private transferAway(): void {
    const { ctx } = this;
    const ring = ctx.ring;
    if (ring === undefined) return;
    const now = ctx.clock.monotonicMs();
    for (const [p] of ctx.store.countByPartition()) {
      const owners = preferenceList(ring, p, ctx.quorum.n);
      if (owners.includes(ctx.id)) continue;
      for (const { key, hash } of ctx.store.partitionEntries(p)) {
        let t = this.transferAcks.get(key);
        if (t === undefined || !hashEquals(t.hash, hash)) {
          t = { hash, acked: new Set() };
          this.transferAcks.set(key, t);
        }
        for (const owner of owners) {
          if (t.acked.has(owner) || ctx.membership.isDown(owner, now)) continue;
          if (this.inFlight.size >= limits.transfersInFlightMax) return;
          // Pushed and not answered yet, or its copy is being read back: nothing to push until then.
          if ([...this.inFlight.values()].some((b) => b.kind !== 'hint' && b.key === key && b.node === owner))
            continue;
          const held = this.replica.held(key as ListId);
          if (held === undefined) break;
          ctx.counters.transfersSent++;
          this.push('transfer', owner, key as ListId, held.state);
        }
        this.maybeDropTransferred(key as ListId, p);
      }
    }
  }

  /** Pushes a hint or a list being transferred to `node`, answered to onPushAnswer. */
  private push(
    purpose: 'hint' | 'transfer',
    node: NodeId,
    key: ListId,
    doc: Uint8Array,
    hintId?: number,
  ): void {
    const { ctx } = this;
    const kind = purpose === 'hint' ? 'hint' : 'transfer';
    const requestId = this.requests.openBackground(node, {
      answer: (a) => this.onPushAnswer(requestId, a),
      expire: () => this.inFlight.delete(requestId),
    });
    this.inFlight.set(requestId, { kind, node, key, ...(hintId === undefined ? {} : { hintId }) });
    ctx.send(node, ctx.pushMessage(purpose, requestId, key, doc));
  }

  private onPushAnswer(requestId: number, a: Answer): 'done' | 'keep' {
    const b = this.inFlight.get(requestId);
    if (b === undefined) return 'done';
    if (a.type === 'error') {
      this.inFlight.delete(requestId);
      return 'done';
    }
    if (a.type !== 'replica-put-reply') return 'keep';
    this.inFlight.delete(requestId);
    if (b.kind === 'hint' && b.hintId !== undefined) {
      this.ctx.counters.hintsDelivered++;
      this.ctx.inBackground(this.ctx.store.deleteHint(b.hintId), 'delete hint');
    } else if (b.kind === 'transfer') this.onTransferAck(b.node, b.key, a.hash);
    return 'done';
  }

  /**
   * An owner acknowledged a list pushed to it, with the hash of its copy after joining ours. Only
   * a copy equal to ours proves that it holds everything we hold: then, and only then, the owner
   * counts as having the list. Any other hash leaves the list here — the owner had writes we never
   * saw (the usual case after a ring change: coordinators already write to it), or it did not keep
   * what we sent — and we read its copy back and join it into ours, so that the next push (the
   * next transfer round) can be acknowledged as equal.
   */
  private onTransferAck(owner: NodeId, key: ListId, hash: Uint8Array): void {
    const stored = this.ctx.store.head(key);
    if (stored === undefined) return;
    if (!hashEquals(hash, stored.hash)) {
      this.ctx.counters.transferAcksMismatched++;
      this.readBack(owner, key);
      return;
    }
    let t = this.transferAcks.get(key);
    if (t === undefined || !hashEquals(t.hash, stored.hash)) {
      // Our copy changed since the round began: the owners' earlier acknowledgements were of another state.
      t = { hash: stored.hash, acked: new Set() };
      this.transferAcks.set(key, t);
    }
    t.acked.add(owner);
    const ring = this.ctx.ring;
    if (ring !== undefined) this.maybeDropTransferred(key, partitionOf(key, ring.partitionCount));
  }

  /** Reads an owner's copy of a list being handed over (one read per owner and list at a time). */
  private readBack(owner: NodeId, key: ListId): void {
    const { ctx } = this;
    if (this.inFlight.size >= limits.transfersInFlightMax) return; // the next mismatch asks again
    if ([...this.inFlight.values()].some((b) => b.kind === 'read-back' && b.key === key && b.node === owner))
      return;
    const requestId = this.requests.openBackground(owner, {
      answer: (a) => this.onReadBack(requestId, a),
      expire: () => this.inFlight.delete(requestId),
    });
    this.inFlight.set(requestId, { kind: 'read-back', node: owner, key });
    const deadlineMs = ctx.clock.wallMs() + ctx.config.backgroundDeadlineMs;
    ctx.send(owner, { type: 'replica-get', requestId, listId: key, deadlineMs });
  }

  /** An owner's copy, read back: joined into ours (a join loses nothing), then pushed again soon. */
  private onReadBack(requestId: number, a: Answer): 'done' | 'keep' {
    const { ctx } = this;
    const b = this.inFlight.get(requestId);
    if (b === undefined) return 'done';
    if (a.type === 'error') {
      this.inFlight.delete(requestId);
      return 'done';
    }
    if (a.type !== 'replica-get-reply') return 'keep'; // not what it asked for; its own answer may still come
    this.inFlight.delete(requestId);
    const ring = ctx.ring;
    if (a.state === undefined || ctx.store.head(b.key) === undefined || ring === undefined) return 'done'; // dropped meanwhile: not again
    const doc = decodeList(a.state);
    if (!doc.ok || !doc.value.full) {
      ctx.counters.rejected++;
      ctx.log.warn('replica state rejected', { node: b.node, reason: 'read back for a transfer' });
      return 'done';
    }
    this.replica.join(b.key, partitionOf(b.key, ring.partitionCount), doc.value).then(
      () => {
        this.nextTransferMs = ctx.clock.monotonicMs();
      },
      (e: unknown) => ctx.log.warn("joining an owner's copy failed; will retry", { cause: String(e) }),
    );
    return 'done';
  }

  /** Deletes a list every owner has acknowledged, unless it changed or became ours meanwhile. */
  private maybeDropTransferred(key: ListId, partition: number): void {
    const { ctx } = this;
    const ring = ctx.ring;
    const t = this.transferAcks.get(key);
    const stored = ctx.store.head(key);
    if (ring === undefined || t === undefined || stored === undefined) return;
    const owners = preferenceList(ring, partition, ctx.quorum.n);
    if (owners.includes(ctx.id) || !hashEquals(stored.hash, t.hash)) return;
    if (!owners.every((o) => t.acked.has(o))) return;
    this.transferAcks.delete(key);
    ctx.counters.transferredAway++;
    this.replica.drop(key, 'delete transferred list');
  }
}
