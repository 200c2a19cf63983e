// The anti-entropy plane (tags 96–127): two replicas of a partition comparing Merkle roots, then
// bucket hashes, then keys, to find the lists one of them lacks (which it then pushes on the
// replica plane, purpose anti-entropy). Served by storage nodes, between themselves only.

import type { ListId } from '../ids.ts';
import { limits } from '../limits.ts';
import type { Reader, Writer } from '../codec/bytes.ts';
import {
  decoderOf,
  encodeWith,
  hashBytes,
  listIdBytes,
  readFixed,
  readListId,
  writeId,
  type ErrorMessage,
  type PlaneCodec,
} from './frame.ts';

export const AntiEntropyTag = {
  'ae-root': 96,
  'ae-buckets': 97,
  'ae-keys': 98,
  'ae-keys-reply': 99,
} as const;

export interface WireEntry {
  key: ListId;
  hash: Uint8Array;
}

/** Buckets of a partition's Merkle tree (the most an ae-buckets carries). */
const bucketsMax = 256;

export type AntiEntropyBody =
  | { type: 'ae-root'; requestId: number; partition: number; root: Uint8Array }
  /** Empty `buckets`: the roots agree. */
  | { type: 'ae-buckets'; requestId: number; partition: number; buckets: Uint8Array[] }
  | { type: 'ae-keys'; requestId: number; partition: number; bucket: number; entries: WireEntry[] }
  /** The keys the sender of ae-keys should push; the replier pushes the ones it has newer. */
  | { type: 'ae-keys-reply'; requestId: number; partition: number; wanted: ListId[] };

export type AntiEntropyMessage = AntiEntropyBody | ErrorMessage;

export const antiEntropyCodec: PlaneCodec<AntiEntropyBody> = {
  plane: 'anti-entropy',
  tags: AntiEntropyTag,
  size(m) {
    switch (m.type) {
      case 'ae-root':
        return 0;
      case 'ae-buckets':
        return m.buckets.length * 16;
      case 'ae-keys':
        return m.entries.length * 32;
      case 'ae-keys-reply':
        return m.wanted.length * 16;
    }
  },
  write(w: Writer, m: AntiEntropyBody): void {
    switch (m.type) {
      case 'ae-root':
        w.varint(m.partition);
        writeId(w, m.root);
        break;
      case 'ae-buckets':
        w.varint(m.partition);
        w.varint(m.buckets.length);
        for (const b of m.buckets) writeId(w, b);
        break;
      case 'ae-keys':
        w.varint(m.partition);
        w.varint(m.bucket);
        w.varint(m.entries.length);
        for (const e of m.entries) {
          writeId(w, listIdBytes(e.key));
          writeId(w, e.hash);
        }
        break;
      case 'ae-keys-reply':
        w.varint(m.partition);
        w.varint(m.wanted.length);
        for (const k of m.wanted) writeId(w, listIdBytes(k));
        break;
    }
  },
  read(r: Reader, type: AntiEntropyBody['type'], requestId: number): AntiEntropyBody {
    switch (type) {
      case 'ae-root':
        return { type, requestId, partition: r.varint(), root: readFixed(r, hashBytes) };
      case 'ae-buckets': {
        const partition = r.varint();
        const n = r.count(bucketsMax, 'buckets', hashBytes);
        const buckets: Uint8Array[] = [];
        for (let i = 0; i < n; i++) buckets.push(readFixed(r, hashBytes));
        return { type, requestId, partition, buckets };
      }
      case 'ae-keys': {
        const partition = r.varint();
        const bucket = r.varint();
        const n = r.count(limits.antiEntropyKeysMax, 'entries', 32);
        const entries: WireEntry[] = [];
        for (let i = 0; i < n; i++) entries.push({ key: readListId(r), hash: readFixed(r, hashBytes) });
        return { type, requestId, partition, bucket, entries };
      }
      case 'ae-keys-reply': {
        const partition = r.varint();
        const n = r.count(limits.antiEntropyKeysMax, 'keys', 16);
        const wanted: ListId[] = [];
        for (let i = 0; i < n; i++) wanted.push(readListId(r));
        return { type, requestId, partition, wanted };
      }
    }
  },
};

export const encodeAntiEntropyMessage = (m: AntiEntropyMessage): Uint8Array =>
  encodeWith(antiEntropyCodec, m);
/** Anti-entropy-plane frames only (and `error`). */
export const decodeAntiEntropyMessage = decoderOf(antiEntropyCodec);
