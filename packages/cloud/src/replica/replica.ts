// The replica: joins what it is sent into its copy of a list (a CRDT join: twice is once) and
// answers after the commit; answers reads with its copy. Also the one place that writes a list's
// state to the store, for every mechanism (coordinator's own copy, read repair, read-back), so the
// decoded-state cache stays true.
//
// A write costs what it changes (issue 13): the replica stores the delta it joined (the bytes it
// was sent, not a re-encoding of the list) and keeps the list's digest up to date from the items
// the delta touched (list-digest.ts). Now and then — when the deltas since the last whole state
// would pass limits.storedDeltasMax, or half that state's bytes (plus limits.storedDeltaBytesSlack)
// — the write stores the list whole instead, so loading replays few deltas and a write costs,
// amortised, about two bytes of encoding per byte it changes. A full state joined (repair,
// transfer, anti-entropy) is stored whole too: it may change every item.

import {
  ListDoc,
  TrolleyError,
  decodeList,
  err,
  encodeList,
  limits,
  listIdForLog,
  merge,
  parseNodeId,
  partitionOf,
  type ListId,
  type MessageOf,
  type NodeId,
  type Result,
  type WireErrorName,
} from '@trolley/core';
import { BoundedMap } from '../bounded-map.ts';
import type { ReplyTo, StoredList } from '../ports.ts';
import type { NodeContext } from '../node/context.ts';
import type { RequestKind } from '../observer.ts';
import { ListDigest } from './list-digest.ts';

/** A list as this node holds it in memory: decoded, with its digest and what its stored form costs. */
interface Copy {
  doc: ListDoc;
  digest: ListDigest;
  /** Whether the store holds the list (a node that holds none still has an empty copy to read). */
  stored: boolean;
  /** Bytes of the whole state last stored, and count and bytes of the deltas stored after it. */
  wholeBytes: number;
  deltas: number;
  deltaBytes: number;
  /** encodeList(doc), made when a reader first needs it after a change. */
  encoded: Uint8Array | undefined;
}

/** A list's state, encoded whole, and its digest, as reads and pushes send them. */
export interface HeldList {
  state: Uint8Array;
  hash: Uint8Array;
}

/**
 * A stored list, decoded: its whole state joined with every delta stored after it. An error if any
 * part does not decode (a damaged store).
 */
export function storedDoc(stored: StoredList): Result<ListDoc> {
  const whole = decodeList(stored.state);
  if (!whole.ok) return whole;
  if (!whole.value.full)
    return err(new TrolleyError('decode_malformed', 'the stored state is not a full state'));
  for (const bytes of stored.deltas) {
    const delta = decodeList(bytes);
    if (!delta.ok) return delta;
    merge(whole.value, delta.value);
  }
  return whole;
}

export class Replica {
  private readonly cache = new BoundedMap<string, Copy>(limits.cachedListsMax);

  /**
   * @param onClientWrite told of a client's write this node is sent as a replica (a replica-put or
   *   a hinted-put from its coordinator, after the coordinator's write check), with the write as
   *   sent, before it is committed: live updates for clients watching at this node's front.
   */
  constructor(
    private readonly ctx: NodeContext,
    private readonly onClientWrite?: (listId: ListId, delta: Uint8Array) => void,
  ) {}

  /** A `replica-put` (hintFor undefined) or `hinted-put` from a coordinator or a background mechanism. */
  put(
    m: MessageOf<'replica-put'> | MessageOf<'hinted-put'>,
    replyTo: ReplyTo,
    hintFor: string | undefined,
  ): void {
    const { ctx } = this;
    const startMs = ctx.clock.monotonicMs();
    const kind = pushKind(m);
    const refuse = (code: WireErrorName, message: string): void => {
      ctx.replyError(replyTo, m.requestId, code, message);
      ctx.observer.request(kind, 'refused', 0, code);
    };
    const ring = ctx.ring;
    if (ring === undefined) {
      // A new or wiped node, before gossip brings the ring: without it there is no partition to
      // file the list (or a hint) under. Refuse; the sender tries again or goes elsewhere.
      return refuse('unavailable', 'this node has not learned the ring yet; retry');
    }
    if (ctx.clock.wallMs() >= m.deadlineMs) {
      // Never apply a write late: its coordinator has already answered without us.
      ctx.counters.lateRejected++;
      return refuse('deadline_exceeded', 'the write arrived after its deadline');
    }
    if (hintFor !== undefined && !ring.nodes.some((n) => n.id === hintFor)) {
      // A hint is for an owner in the ring. One for anyone else could never be handed off: it
      // would sit here, a share of hintsPerNodeMax, until that node left a ring it was never in.
      ctx.counters.hintsDropped++;
      return refuse(
        'invalid_argument',
        `node ${hintFor} is not in ring version ${ring.version}: no hint is held for it`,
      );
    }
    const doc = decodeList(m.doc);
    if (!doc.ok) {
      ctx.counters.rejected++;
      return refuse('malformed', doc.error.message);
    }
    if (hintFor !== undefined && ctx.store.hintCount() >= limits.hintsPerNodeMax) {
      ctx.counters.overloaded++;
      return refuse('overloaded', 'this node holds too many hints');
    }
    ctx.counters.replicaWrites++;
    // A client's write (not a mechanism's push: repair, hint, transfer, anti-entropy).
    if (m.type === 'hinted-put' || m.purpose === undefined) this.onClientWrite?.(m.listId, m.doc);
    const partition = partitionOf(m.listId, ring.partitionCount);
    this.write(
      m.listId,
      partition,
      doc.value,
      m.doc,
      hintFor === undefined ? undefined : parseNodeId(hintFor),
    ).then(
      (hash) => {
        ctx.observer.request(kind, 'ok', ctx.clock.monotonicMs() - startMs);
        ctx.reply(replyTo, { type: 'replica-put-reply', requestId: m.requestId, hash });
      },
      (e: unknown) => {
        ctx.observer.request(kind, 'failed', ctx.clock.monotonicMs() - startMs);
        ctx.replyError(replyTo, m.requestId, 'storage_failed', String(e));
      },
    );
  }

  get(m: MessageOf<'replica-get'>, replyTo: ReplyTo): void {
    if (this.ctx.clock.wallMs() >= m.deadlineMs) {
      this.ctx.counters.lateRejected++;
      return;
    }
    const held = this.held(m.listId);
    this.ctx.reply(replyTo, {
      type: 'replica-get-reply',
      requestId: m.requestId,
      state: held?.state,
      hash: held?.hash,
    });
  }

  /** This node's copy of a list, if it holds one (from the cache when it can: no read). */
  private heldCopy(listId: ListId): Copy | undefined {
    const cached = this.cache.get(listId);
    if (cached !== undefined) return cached.stored ? cached : undefined;
    return this.ctx.store.head(listId) === undefined ? undefined : this.copy(listId);
  }

  /** Whether this node holds a copy of the list. */
  holds(listId: ListId): boolean {
    return this.heldCopy(listId) !== undefined;
  }

  /** This node's copy of a list, encoded whole, and its digest; undefined if it holds none. */
  held(listId: ListId): HeldList | undefined {
    const copy = this.heldCopy(listId);
    if (copy === undefined) return undefined;
    copy.encoded ??= encodeList(copy.doc);
    return { state: copy.encoded, hash: copy.digest.value(copy.doc) };
  }

  /**
   * The bytes this node's copy takes in the store, at least its encoded size (for the write
   * check's listBytesWriteMax); `exact` encodes it to know.
   */
  storedBytes(listId: ListId, exact: boolean): number {
    const copy = this.heldCopy(listId);
    if (copy === undefined) return 0;
    if (!exact) return copy.wholeBytes + copy.deltaBytes;
    copy.encoded ??= encodeList(copy.doc);
    return copy.encoded.byteLength;
  }

  /** A replica write, plus a durable hint when this node stands in for `hintFor`. */
  async write(
    listId: ListId,
    partition: number,
    doc: ListDoc,
    bytes: Uint8Array,
    hintFor: NodeId | undefined,
  ): Promise<Uint8Array> {
    if (hintFor === undefined) return this.join(listId, partition, doc, bytes);
    this.ctx.counters.hintsStored++;
    const [hash] = await Promise.all([
      this.join(listId, partition, doc, bytes),
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

  /**
   * Joins `doc` into this node's copy of the list; resolves with the new digest once committed.
   * `bytes`, when given, is `doc` as it was received (a delta is stored as those bytes).
   */
  async join(listId: ListId, partition: number, doc: ListDoc, bytes?: Uint8Array): Promise<Uint8Array> {
    const copy = this.copy(listId);
    merge(copy.doc, doc);
    copy.digest.update(copy.doc, doc);
    copy.encoded = undefined;
    const hash = copy.digest.value(copy.doc);
    const { store } = this.ctx;
    let written: Promise<void>;
    if (copy.stored && !doc.full && bytes !== undefined && !this.compactionDue(copy, bytes.byteLength)) {
      copy.deltas += 1;
      copy.deltaBytes += bytes.byteLength;
      written = store.append({ key: listId, partition, delta: bytes, hash });
    } else {
      const state = encodeList(copy.doc);
      copy.encoded = state;
      copy.stored = true;
      copy.wholeBytes = state.byteLength;
      copy.deltas = 0;
      copy.deltaBytes = 0;
      written = store.put({ key: listId, partition, state, hash });
    }
    try {
      await written;
    } catch (e) {
      this.ctx.counters.storeFailures++;
      this.cache.delete(listId); // re-read what is durable next time
      throw e;
    }
    return hash;
  }

  /** This node's copy of a list, decoded (empty if it holds none). Callers must not change it. */
  load(listId: ListId): ListDoc {
    return this.copy(listId).doc;
  }

  /** Deletes this node's copy (handed over to its owners). */
  drop(listId: ListId, what: string): void {
    this.cache.delete(listId);
    this.ctx.inBackground(this.ctx.store.delete(listId), what);
  }

  private compactionDue(copy: Copy, adding: number): boolean {
    return (
      copy.deltas + 1 > limits.storedDeltasMax ||
      copy.deltaBytes + adding > copy.wholeBytes / 2 + limits.storedDeltaBytesSlack
    );
  }

  private copy(listId: ListId): Copy {
    const cached = this.cache.get(listId);
    if (cached !== undefined) return cached;
    const stored = this.ctx.store.get(listId);
    let doc: ListDoc | undefined;
    if (stored !== undefined) {
      const decoded = storedDoc(stored);
      if (decoded.ok) doc = decoded.value;
      else
        this.ctx.log.error('stored state does not decode; starting from peers', {
          list: listIdForLog(listId),
          error: decoded.error.message,
        });
    }
    doc ??= ListDoc.empty();
    const copy: Copy = {
      doc,
      digest: ListDigest.of(doc, this.ctx.digest),
      stored: stored !== undefined,
      wholeBytes: stored?.state.byteLength ?? 0,
      deltas: stored?.deltas.length ?? 0,
      deltaBytes: stored?.deltas.reduce((n, d) => n + d.byteLength, 0) ?? 0,
      encoded: undefined,
    };
    this.cache.set(listId, copy);
    return copy;
  }
}

/** Which kind of request a push is, for the observer: by its message and purpose. */
function pushKind(m: MessageOf<'replica-put'> | MessageOf<'hinted-put'>): RequestKind {
  if (m.type === 'hinted-put') return 'hinted_write';
  if (m.purpose === undefined) return 'replica_write';
  switch (m.purpose) {
    case 'read-repair':
      return 'read_repair';
    case 'hint':
    case 'transfer':
      return 'handover';
    case 'anti-entropy':
      return 'anti_entropy';
  }
}
