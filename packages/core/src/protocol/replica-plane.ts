// The replica plane (tags 32–63): a coordinator writing and reading the replicas of a list, and
// every push of a list's state to a replica (read repair, hints, hand-over, anti-entropy), each
// saying why it is sent. Served by storage nodes, between themselves only.

import type { ListId } from '../ids.ts';
import { limits } from '../limits.ts';
import type { Reader, Writer } from '../codec/bytes.ts';
import {
  decoderOf,
  encodeWith,
  hashBytes,
  hexBytes,
  listIdBytes,
  readFixed,
  readListId,
  readOpId,
  readOptionalState,
  shortStringMax,
  writeId,
  writeOptionalState,
  type ErrorMessage,
  type OpId,
  type PlaneCodec,
} from './frame.ts';

export const ReplicaTag = {
  'replica-put': 32,
  'replica-put-reply': 33,
  'replica-get': 34,
  'replica-get-reply': 35,
  'hinted-put': 36,
} as const;

/**
 * Why a `replica-put` that is not a coordinator's quorum write is sent: each meaning its own code,
 * one trailing byte (absent: a quorum write, so those frames are as before the byte), so that no
 * receiver or reader has to guess it from bookkeeping. Every one is answered (`replica-put-reply`
 * or `error`) to its sender. Append only.
 */
export const PushPurposeCode = {
  /** A read coordinator's merged state, to a replica that answered a read with less. */
  'read-repair': 1,
  /** A hint replayed to the owner it was held for. */
  hint: 2,
  /** A list handed to a new owner after a ring change (or from a fallback copy). */
  transfer: 3,
  /** A list the other replica of an anti-entropy exchange lacks. */
  'anti-entropy': 4,
} as const;
export type PushPurpose = keyof typeof PushPurposeCode;

const purposeNames = new Map<number, PushPurpose>(
  Object.entries(PushPurposeCode).map(([k, v]) => [v, k as PushPurpose]),
);

export type ReplicaBody =
  | {
      type: 'replica-put';
      requestId: number;
      /** Why it is sent; absent: a coordinator's quorum write of a client's put. */
      purpose?: PushPurpose;
      listId: ListId;
      opId: OpId;
      deadlineMs: number;
      doc: Uint8Array;
    }
  | { type: 'replica-put-reply'; requestId: number; hash: Uint8Array }
  | { type: 'replica-get'; requestId: number; listId: ListId; deadlineMs: number }
  | {
      type: 'replica-get-reply';
      requestId: number;
      state: Uint8Array | undefined;
      hash: Uint8Array | undefined;
    }
  | {
      type: 'hinted-put';
      requestId: number;
      listId: ListId;
      opId: OpId;
      deadlineMs: number;
      doc: Uint8Array;
      /** The owner this write is held for. */
      target: string;
    };

export type ReplicaMessage = ReplicaBody | ErrorMessage;

export const replicaCodec: PlaneCodec<ReplicaBody> = {
  plane: 'replica',
  tags: ReplicaTag,
  size(m) {
    switch (m.type) {
      case 'replica-put':
      case 'hinted-put':
        return m.doc.length;
      case 'replica-get-reply':
        return m.state?.length ?? 0;
      case 'replica-put-reply':
      case 'replica-get':
        return 0;
    }
  },
  write(w: Writer, m: ReplicaBody): void {
    switch (m.type) {
      case 'replica-put':
        writeId(w, listIdBytes(m.listId));
        writeId(w, hexBytes(m.opId));
        w.varint(m.deadlineMs);
        w.bytes(m.doc);
        if (m.purpose !== undefined) w.u8(PushPurposeCode[m.purpose]);
        break;
      case 'replica-put-reply':
        writeId(w, m.hash);
        break;
      case 'replica-get':
        writeId(w, listIdBytes(m.listId));
        w.varint(m.deadlineMs);
        break;
      case 'replica-get-reply':
        writeOptionalState(w, m.state, m.hash);
        break;
      case 'hinted-put':
        writeId(w, listIdBytes(m.listId));
        writeId(w, hexBytes(m.opId));
        w.varint(m.deadlineMs);
        w.bytes(m.doc);
        w.string(m.target);
        break;
    }
  },
  read(r: Reader, type: ReplicaBody['type'], requestId: number): ReplicaBody {
    switch (type) {
      case 'replica-put': {
        const listId = readListId(r);
        const opId = readOpId(r);
        const deadlineMs = r.varint();
        const doc = r.bytes(limits.encodedListBytesMax);
        const m = { type, requestId, listId, opId, deadlineMs, doc } as const;
        if (r.left === 0) return m;
        const purpose = purposeNames.get(r.u8());
        if (purpose === undefined) return r.fail('unknown push purpose');
        return { ...m, purpose };
      }
      case 'replica-put-reply':
        return { type, requestId, hash: readFixed(r, hashBytes) };
      case 'replica-get':
        return { type, requestId, listId: readListId(r), deadlineMs: r.varint() };
      case 'replica-get-reply':
        return { type, requestId, ...readOptionalState(r) };
      case 'hinted-put':
        return {
          type,
          requestId,
          listId: readListId(r),
          opId: readOpId(r),
          deadlineMs: r.varint(),
          doc: r.bytes(limits.encodedListBytesMax),
          target: r.string(shortStringMax),
        };
    }
  },
};

export const encodeReplicaMessage = (m: ReplicaMessage): Uint8Array => encodeWith(replicaCodec, m);
/** Replica-plane frames only (and `error`). */
export const decodeReplicaMessage = decoderOf(replicaCodec);
