// The replica: joins what it is sent into its copy of a list (a CRDT join: twice is once) and
// answers after the commit; answers reads with its copy. Also the one place that writes a list's
// state to the store, for every mechanism (coordinator's own copy, read repair, read-back), so the
// decoded-state cache stays true.

import {
  ListDoc,
  decodeList,
  encodeList,
  limits,
  listIdForLog,
  merge,
  parseNodeId,
  partitionOf,
  type ListId,
  type MessageOf,
  type NodeId,
} from '@trolley/core';
import { BoundedMap } from '../bounded-map.ts';
import type { ReplyTo } from '../ports.ts';
import type { NodeContext } from '../node/context.ts';

export class Replica {
  private readonly cache = new BoundedMap<string, ListDoc>(limits.cachedListsMax);

  constructor(private readonly ctx: NodeContext) {}

  /** A `replica-put` (hintFor undefined) or `hinted-put` from a coordinator or a background mechanism. */
  put(
    m: MessageOf<'replica-put'> | MessageOf<'hinted-put'>,
    replyTo: ReplyTo,
    hintFor: string | undefined,
  ): void {
    const { ctx } = this;
    const ring = ctx.ring;
    if (ring === undefined) {
      // A new or wiped node, before gossip brings the ring: without it there is no partition to
      // file the list (or a hint) under. Refuse; the sender tries again or goes elsewhere.
      return ctx.replyError(
        replyTo,
        m.requestId,
        'unavailable',
        'this node has not learned the ring yet; retry',
      );
    }
    if (ctx.clock.wallMs() >= m.deadlineMs) {
      // Never apply a write late: its coordinator has already answered without us.
      ctx.counters.lateRejected++;
      return ctx.replyError(
        replyTo,
        m.requestId,
        'deadline_exceeded',
        'the write arrived after its deadline',
      );
    }
    if (hintFor !== undefined && !ring.nodes.some((n) => n.id === hintFor)) {
      // A hint is for an owner in the ring. One for anyone else could never be handed off: it
      // would sit here, a share of hintsPerNodeMax, until that node left a ring it was never in.
      ctx.counters.hintsDropped++;
      return ctx.replyError(
        replyTo,
        m.requestId,
        'invalid_argument',
        `node ${hintFor} is not in ring version ${ring.version}: no hint is held for it`,
      );
    }
    const doc = decodeList(m.doc);
    if (!doc.ok) {
      ctx.counters.rejected++;
      return ctx.replyError(replyTo, m.requestId, 'malformed', doc.error.message);
    }
    if (hintFor !== undefined && ctx.store.hintCount() >= limits.hintsPerNodeMax) {
      ctx.counters.overloaded++;
      return ctx.replyError(replyTo, m.requestId, 'overloaded', 'this node holds too many hints');
    }
    ctx.counters.replicaWrites++;
    const partition = partitionOf(m.listId, ring.partitionCount);
    this.write(
      m.listId,
      partition,
      doc.value,
      m.doc,
      hintFor === undefined ? undefined : parseNodeId(hintFor),
    ).then(
      (hash) => ctx.reply(replyTo, { type: 'replica-put-reply', requestId: m.requestId, hash }),
      (e: unknown) => ctx.replyError(replyTo, m.requestId, 'storage_failed', String(e)),
    );
  }

  get(m: MessageOf<'replica-get'>, replyTo: ReplyTo): void {
    if (this.ctx.clock.wallMs() >= m.deadlineMs) {
      this.ctx.counters.lateRejected++;
      return;
    }
    const stored = this.ctx.store.get(m.listId);
    this.ctx.reply(replyTo, {
      type: 'replica-get-reply',
      requestId: m.requestId,
      state: stored?.state,
      hash: stored?.hash,
    });
  }

  /** A replica write, plus a durable hint when this node stands in for `hintFor`. */
  async write(
    listId: ListId,
    partition: number,
    doc: ListDoc,
    bytes: Uint8Array,
    hintFor: NodeId | undefined,
  ): Promise<Uint8Array> {
    if (hintFor === undefined) return this.join(listId, partition, doc);
    this.ctx.counters.hintsStored++;
    const [hash] = await Promise.all([
      this.join(listId, partition, doc),
      this.ctx.store.addHint({
        target: hintFor,
        key: listId,
        partition,
        doc: bytes,
        createdMs: this.ctx.clock.wallMs(),
      }),
    ]);
    return hash;
  }

  /** Joins `doc` into this node's copy of the list; resolves with the new hash once committed. */
  async join(listId: ListId, partition: number, doc: ListDoc): Promise<Uint8Array> {
    const state = this.load(listId);
    merge(state, doc);
    const bytes = encodeList(state);
    const hash = this.ctx.digest(bytes);
    try {
      await this.ctx.store.put({ key: listId, partition, state: bytes, hash });
    } catch (e) {
      this.ctx.counters.storeFailures++;
      this.cache.delete(listId); // re-read what is durable next time
      throw e;
    }
    return hash;
  }

  /** This node's copy of a list, decoded (empty if it holds none). */
  load(listId: ListId): ListDoc {
    const cached = this.cache.get(listId);
    if (cached !== undefined) return cached;
    const stored = this.ctx.store.get(listId);
    let doc = ListDoc.empty();
    if (stored !== undefined) {
      const decoded = decodeList(stored.state);
      if (decoded.ok && decoded.value.full) doc = decoded.value;
      else
        this.ctx.log.error('stored state does not decode; starting from peers', {
          list: listIdForLog(listId),
        });
    }
    this.cache.set(listId, doc);
    return doc;
  }

  /** Deletes this node's copy (handed over to its owners). */
  drop(listId: ListId, what: string): void {
    this.cache.delete(listId);
    this.ctx.inBackground(this.ctx.store.delete(listId), what);
  }
}
