// The quorum of a read (Dynamo §4.5, read repair §5), pure, as riak_kv_get_core: replicas' answers
// in, actions out — answer the caller once R have answered (after a short grace for the rest), and
// repair every replica that answered with less than the merged state, including those that answer
// after the caller was answered. No I/O: time and the digest (replica/list-digest.ts, of a state)
// are arguments.

import { ListDoc, encodeList, hashEquals, merge, type NodeId } from '@trolley/core';

/** The digest of a full state, as replicas report theirs. */
export type StateDigest = (state: ListDoc) => Uint8Array;

export interface GetReply {
  node: NodeId;
  doc: ListDoc | undefined;
  hash: Uint8Array | undefined;
}

export interface GetState {
  readonly r: number;
  readonly replicas: readonly NodeId[];
  readonly replies: GetReply[];
  merged: ListDoc | undefined;
  /** `merged` encoded (once: hashed, answered with, and pushed to the replicas repaired). */
  mergedBytes: Uint8Array | undefined;
  mergedHash: Uint8Array | undefined;
  replied: boolean;
  /** Set when R replicas have answered: answer then, or when all have, whichever comes first. */
  graceUntilMs: number | undefined;
}

export type GetAction =
  | {
      kind: 'answer';
      merged: ListDoc;
      mergedBytes: Uint8Array;
      mergedHash: Uint8Array;
      answered: number;
      /** Replicas whose answer already was the merged state. */
      inSync: number;
    }
  /** Read repair: `node` answered with less than `merged`, and gets it, in full. */
  | { kind: 'repair'; node: NodeId; merged: ListDoc; mergedBytes: Uint8Array };

export function getState(r: number, replicas: readonly NodeId[]): GetState {
  return {
    r,
    replicas,
    replies: [],
    merged: undefined,
    mergedBytes: undefined,
    mergedHash: undefined,
    replied: false,
    graceUntilMs: undefined,
  };
}

/** A replica's answer (doc undefined: it holds nothing). */
export function getReply(
  s: GetState,
  reply: GetReply,
  o: { nowMs: number; graceMs: number; digest: StateDigest },
): GetAction[] {
  s.replies.push(reply);
  if (!s.replied && s.replies.length >= Math.min(s.r, s.replicas.length)) {
    // R have answered. Wait a moment for the rest, so that the answer can tell the client
    // whether its state is on all N replicas; answer at once when they are all in.
    if (s.replies.length === s.replicas.length || o.graceMs === 0) return answer(s, o.digest);
    s.graceUntilMs ??= o.nowMs + o.graceMs;
    return [];
  }
  // Unanswered (fewer replicas than R): kept for the deadline to refuse.
  if (s.replied) return repairs(s, [reply]);
  return [];
}

/** The grace is over (the caller checks graceUntilMs): answer with what is in. */
export function getGraceOver(s: GetState, digest: StateDigest): GetAction[] {
  return s.replied ? [] : answer(s, digest);
}

/** Every replica asked has answered and the caller has been: nothing more to do. */
export function getDone(s: GetState): boolean {
  return s.replied && s.replies.length === s.replicas.length;
}

function answer(s: GetState, digest: StateDigest): GetAction[] {
  if (s.replies.length < s.r) return []; // fewer healthy replicas than R: wait for the deadline
  const merged = ListDoc.empty();
  for (const r of s.replies) if (r.doc !== undefined) merge(merged, r.doc);
  const mergedBytes = encodeList(merged);
  // Replicas that all hold a copy with one digest hold one state, which is then the merge: its
  // digest is theirs (the usual read costs no digest of its own).
  const [first] = s.replies;
  const agreed =
    first?.hash !== undefined &&
    s.replies.every(
      (r) => r.doc !== undefined && r.hash !== undefined && hashEquals(r.hash, first.hash as Uint8Array),
    );
  const mergedHash = agreed ? (first.hash as Uint8Array) : digest(merged);
  s.merged = merged;
  s.mergedBytes = mergedBytes;
  s.mergedHash = mergedHash;
  s.replied = true;
  const empty = merged.ctx.dotCount === 0;
  const inSync = s.replies.filter((r) =>
    r.hash === undefined ? empty : hashEquals(r.hash, mergedHash),
  ).length;
  return [
    { kind: 'answer', merged, mergedBytes, mergedHash, answered: s.replies.length, inSync },
    ...repairs(s, s.replies),
  ];
}

/**
 * Read repair (§5): a replica that answered with less gets the merged state, in full. Not the
 * difference (missingFor against its answer): that delta carries the whole merged context and
 * is only correct joined into a state that still holds everything the answer held, and by the
 * time it lands the replica may hold less (a crash lost uncommitted writes it had answered with,
 * or its fallback copy was transferred away and dropped). Joined into less, the context would
 * claim dots whose values never arrive: writes lost for good, and spread by later full-state
 * pushes (anti-entropy, transfers) to the other replicas.
 */
function repairs(s: GetState, replies: readonly GetReply[]): GetAction[] {
  const { merged, mergedBytes } = s;
  if (merged === undefined || mergedBytes === undefined || merged.ctx.dotCount === 0) return [];
  const out: GetAction[] = [];
  for (const r of replies)
    if (r.hash === undefined || !hashEquals(r.hash, s.mergedHash))
      out.push({ kind: 'repair', node: r.node, merged, mergedBytes });
  return out;
}
