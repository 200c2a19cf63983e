// The wire protocol between clients, proxies and storage nodes: one ZeroMQ frame per message
// (after the routing frames), or one binary WebSocket frame between a browser and the gateway;
// written down in docs/PROTOCOL.md. Messages are a union keyed on
// `type`; each has a numeric tag on the wire. The numbers are part of the protocol: append only.
//
//   frame   = version:u8 tag:u8 requestId:varint body
//   listId  = 16 bytes (a UUID v4)      opId = 16 bytes      deadlineMs = varint (Unix ms)
//   bytes   = varint length + raw       string = varint length + UTF-8
//
// Decoding is bounded and total: any byte sequence gives a message or a typed error.

import { err, ok, TrolleyError, type Result } from '../errors.ts';
import { parseListId, writerSecretBytes, type ListId } from '../ids.ts';
import { hexOf } from '../hash.ts';
import { limits } from '../limits.ts';
import { DecodeFailure, Reader, Writer } from '../codec/bytes.ts';

export const WIRE_VERSION = 1;
export const SUPPORTED_WIRE_VERSIONS: readonly number[] = [1];

/** Numeric tags. Append only. */
export const Tag = {
  hello: 1,
  'hello-reply': 2,
  put: 3,
  'put-reply': 4,
  get: 5,
  'get-reply': 6,
  error: 7,
  'replica-put': 8,
  'replica-put-reply': 9,
  'replica-get': 10,
  'replica-get-reply': 11,
  'admin-read': 12,
  'admin-read-reply': 13,
  stats: 14,
  'stats-reply': 15,
  'node-hello': 16,
  gossip: 17,
  'gossip-reply': 18,
  'hinted-put': 19,
  'ae-root': 20,
  'ae-buckets': 21,
  'ae-keys': 22,
  'ae-keys-reply': 23,
  'ring-change': 24,
  'ring-change-reply': 25,
  watch: 26,
  changed: 27,
  'gateway-hello': 28,
} as const;

/** Error codes carried by `error` messages. Append only. */
export const WireError = {
  malformed: 1,
  unsupported_version: 2,
  deadline_exceeded: 3,
  unavailable: 4,
  too_large: 5,
  internal: 6,
  overloaded: 7,
  unknown_type: 8,
  storage_failed: 9,
  /** A put whose delta claims changes nobody made, or carries new dots of another writer. */
  refused: 10,
  /** A put that would take the list past one of its limits (items, bytes). */
  limit_exceeded: 11,
  /**
   * A request the node understood and will not carry out as asked: a ring change that needs
   * `force`, one adding a node the keyring does not know, a hint for a node outside the ring.
   * (Older peers read an unknown code as `internal`.)
   */
  invalid_argument: 12,
} as const;
export type WireErrorName = keyof typeof WireError;

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

export type OpId = string & { readonly __opId: true };

export type Message =
  | { type: 'hello'; requestId: number; client: string }
  | {
      type: 'hello-reply';
      requestId: number;
      version: number;
      server: string;
      messageBytesMax: number;
      /** The answering server's clock, so a client can write deadlines in it (§3, clocks). */
      wallMs: number;
    }
  | {
      type: 'put';
      requestId: number;
      listId: ListId;
      opId: OpId;
      deadlineMs: number;
      delta: Uint8Array;
      /**
       * The writer's secret (writerSecretBytes): its hash is the writer's replica ID, the only
       * replica whose new dots this put may carry. Absent or empty: none (legacy replica IDs only).
       */
      writer?: Uint8Array;
    }
  | { type: 'put-reply'; requestId: number; outcome: 'ok' | 'unknown'; acks: number; replicas: number }
  | { type: 'get'; requestId: number; listId: ListId; deadlineMs: number; context: Uint8Array }
  | {
      type: 'get-reply';
      requestId: number;
      /** What the caller is missing (an encoded ListDoc carrying the merged context). */
      delta: Uint8Array;
      /** Replicas that answered, and how many of them already held the merged state. */
      answered: number;
      inSync: number;
      replicas: number;
    }
  | { type: 'error'; requestId: number; code: WireErrorName; message: string }
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
  | { type: 'admin-read'; requestId: number; listId: ListId }
  | {
      type: 'admin-read-reply';
      requestId: number;
      state: Uint8Array | undefined;
      hash: Uint8Array | undefined;
    }
  | { type: 'stats'; requestId: number }
  | { type: 'stats-reply'; requestId: number; json: string }
  | { type: 'node-hello'; requestId: number; nodeId: string; address: string; ring: Uint8Array }
  | { type: 'gossip'; requestId: number; from: string; members: WireMember[]; ring: Uint8Array }
  | { type: 'gossip-reply'; requestId: number; from: string; members: WireMember[]; ring: Uint8Array }
  | {
      type: 'hinted-put';
      requestId: number;
      listId: ListId;
      opId: OpId;
      deadlineMs: number;
      doc: Uint8Array;
      /** The owner this write is held for. */
      target: string;
    }
  | { type: 'ae-root'; requestId: number; partition: number; root: Uint8Array }
  /** Empty `buckets`: the roots agree. */
  | { type: 'ae-buckets'; requestId: number; partition: number; buckets: Uint8Array[] }
  | { type: 'ae-keys'; requestId: number; partition: number; bucket: number; entries: WireEntry[] }
  /** The keys the sender of ae-keys should push; the replier pushes the ones it has newer. */
  | { type: 'ae-keys-reply'; requestId: number; partition: number; wanted: ListId[] }
  | {
      type: 'ring-change';
      requestId: number;
      add: WireRingNode[];
      remove: string[];
      /**
       * Make the change even if the ring it leaves keeps none of the current nodes or has fewer
       * than N (the node refuses such a change otherwise). On the wire: a trailing u8, written only
       * when set, so frames without it are those of before.
       */
      force?: boolean;
    }
  | { type: 'ring-change-reply'; requestId: number; ringVersion: number }
  /** Client → proxy: tell me when these lists change (a lease: repeat it within watchLeaseMs). */
  | { type: 'watch'; requestId: number; listIds: ListId[] }
  /**
   * Node → proxies → watching clients: a write to this list became cloud-ok; `delta` is that
   * write (joining it is always safe), so a watcher is up to date without asking.
   */
  | { type: 'changed'; requestId: number; listId: ListId; delta: Uint8Array }
  /**
   * Gateway → browser, once, right after a WebSocket opens: the gateway's wall clock (so that the
   * browser can express deadlines in it), the largest frame it accepts, and its name.
   */
  | { type: 'gateway-hello'; requestId: number; wallMs: number; messageBytesMax: number; server: string };

export interface WireMember {
  id: string;
  address: string;
  heartbeat: number;
}

export interface WireEntry {
  key: ListId;
  hash: Uint8Array;
}

export interface WireRingNode {
  id: string;
  address: string;
  weight: number;
}

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

const tagNames = new Map<number, MessageType>(Object.entries(Tag).map(([k, v]) => [v, k as MessageType]));
const errorNames = new Map<number, WireErrorName>(
  Object.entries(WireError).map(([k, v]) => [v, k as WireErrorName]),
);
const purposeNames = new Map<number, PushPurpose>(
  Object.entries(PushPurposeCode).map(([k, v]) => [v, k as PushPurpose]),
);

/** Largest frame any socket accepts: one full list plus headroom for the envelope. */
export const messageBytesMax = limits.encodedListBytesMax + 64 * 1024;
const shortStringMax = 4096;
const hashBytes = 16;

// ---- encoding ----------------------------------------------------------------------------------

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer(64 + payloadSize(m));
  w.u8(WIRE_VERSION);
  w.u8(Tag[m.type]);
  w.varint(m.requestId);
  switch (m.type) {
    case 'hello':
      w.string(m.client);
      break;
    case 'hello-reply':
      w.varint(m.version);
      w.string(m.server);
      w.varint(m.messageBytesMax);
      w.varint(m.wallMs);
      break;
    case 'put':
      writeId(w, listIdBytes(m.listId));
      writeId(w, hexBytes(m.opId));
      w.varint(m.deadlineMs);
      w.bytes(m.delta);
      w.bytes(m.writer ?? noWriter);
      break;
    case 'put-reply':
      w.u8(m.outcome === 'ok' ? 0 : 1);
      w.varint(m.acks);
      w.varint(m.replicas);
      break;
    case 'get':
      writeId(w, listIdBytes(m.listId));
      w.varint(m.deadlineMs);
      w.bytes(m.context);
      break;
    case 'get-reply':
      w.bytes(m.delta);
      w.varint(m.answered);
      w.varint(m.inSync);
      w.varint(m.replicas);
      break;
    case 'error':
      w.varint(WireError[m.code]);
      w.string(m.message.slice(0, 1000));
      break;
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
    case 'admin-read-reply':
      writeOptionalState(w, m.state, m.hash);
      break;
    case 'admin-read':
      writeId(w, listIdBytes(m.listId));
      break;
    case 'stats':
      break;
    case 'stats-reply':
      w.string(m.json);
      break;
    case 'node-hello':
      w.string(m.nodeId);
      w.string(m.address);
      w.bytes(m.ring);
      break;
    case 'gossip':
    case 'gossip-reply':
      w.string(m.from);
      w.varint(m.members.length);
      for (const x of m.members) {
        w.string(x.id);
        w.string(x.address);
        w.varint(x.heartbeat);
      }
      w.bytes(m.ring);
      break;
    case 'hinted-put':
      writeId(w, listIdBytes(m.listId));
      writeId(w, hexBytes(m.opId));
      w.varint(m.deadlineMs);
      w.bytes(m.doc);
      w.string(m.target);
      break;
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
    case 'ring-change':
      w.varint(m.add.length);
      for (const n of m.add) {
        w.string(n.id);
        w.string(n.address);
        w.varint(n.weight);
      }
      w.varint(m.remove.length);
      for (const id of m.remove) w.string(id);
      if (m.force === true) w.u8(1);
      break;
    case 'ring-change-reply':
      w.varint(m.ringVersion);
      break;
    case 'watch':
      w.varint(m.listIds.length);
      for (const id of m.listIds) writeId(w, listIdBytes(id));
      break;
    case 'changed':
      writeId(w, listIdBytes(m.listId));
      w.bytes(m.delta);
      break;
    case 'gateway-hello':
      w.varint(m.wallMs);
      w.varint(m.messageBytesMax);
      w.string(m.server);
      break;
  }
  return w.finish();
}

function payloadSize(m: Message): number {
  switch (m.type) {
    case 'put':
      return m.delta.length;
    case 'get':
      return m.context.length;
    case 'get-reply':
      return m.delta.length;
    case 'replica-put':
      return m.doc.length;
    case 'replica-get-reply':
    case 'admin-read-reply':
      return m.state?.length ?? 0;
    case 'node-hello':
    case 'gossip':
    case 'gossip-reply':
      return m.ring.length + ('members' in m ? m.members.length * 48 : 0);
    case 'hinted-put':
      return m.doc.length;
    case 'ae-keys':
      return m.entries.length * 32;
    case 'ae-keys-reply':
      return m.wanted.length * 16;
    case 'ae-buckets':
      return m.buckets.length * 16;
    case 'watch':
      return m.listIds.length * 16;
    case 'changed':
      return m.delta.length;
    case 'ae-root':
    case 'ring-change':
    case 'ring-change-reply':
    case 'hello':
    case 'hello-reply':
    case 'put-reply':
    case 'error':
    case 'replica-put-reply':
    case 'replica-get':
    case 'admin-read':
    case 'stats':
    case 'stats-reply':
    case 'gateway-hello':
      return 0;
  }
}

function writeId(w: Writer, b: Uint8Array): void {
  for (const x of b) w.u8(x);
}

function writeOptionalState(w: Writer, state: Uint8Array | undefined, hash: Uint8Array | undefined): void {
  if (state === undefined || hash === undefined) {
    w.u8(0);
    return;
  }
  w.u8(1);
  writeId(w, hash);
  w.bytes(state);
}

function listIdBytes(id: ListId): Uint8Array {
  return hexBytes(id.replaceAll('-', ''));
}

function hexBytes(hex: string): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

// ---- decoding ----------------------------------------------------------------------------------

/** The header alone, for routing and for error replies to a message whose body is bad. */
export interface Header {
  version: number;
  type: MessageType | undefined;
  requestId: number;
}

export function decodeHeader(frame: Uint8Array): Result<Header> {
  try {
    const r = new Reader(frame);
    const version = r.u8();
    const tag = r.u8();
    const requestId = r.varint();
    return ok({ version, type: tagNames.get(tag), requestId });
  } catch (e) {
    if (e instanceof DecodeFailure) return err(new TrolleyError(e.code, `bad frame header: ${e.message}`));
    throw e;
  }
}

export function decodeMessage(frame: Uint8Array): Result<Message> {
  if (frame.length > messageBytesMax)
    return err(
      new TrolleyError('limit_exceeded', `frame of ${frame.length} bytes; the limit is ${messageBytesMax}`),
    );
  try {
    const r = new Reader(frame);
    const version = r.u8();
    if (!SUPPORTED_WIRE_VERSIONS.includes(version))
      throw new DecodeFailure(
        'decode_version',
        `wire version ${version}; supported: ${SUPPORTED_WIRE_VERSIONS.join(', ')}`,
      );
    const tag = r.u8();
    const type = tagNames.get(tag);
    if (type === undefined) return r.fail(`unknown message tag ${tag}`);
    const requestId = r.varint();
    const m = readBody(r, type, requestId);
    if (r.left !== 0) r.fail(`${r.left} bytes after the end`);
    return ok(m);
  } catch (e) {
    if (e instanceof DecodeFailure)
      return err(new TrolleyError(e.code, `cannot decode message: ${e.message}`));
    throw e;
  }
}

function readBody(r: Reader, type: MessageType, requestId: number): Message {
  switch (type) {
    case 'hello':
      return { type, requestId, client: r.string(shortStringMax) };
    case 'hello-reply':
      return {
        type,
        requestId,
        version: r.varint(),
        server: r.string(shortStringMax),
        messageBytesMax: r.varint(),
        wallMs: r.varint(),
      };
    case 'put': {
      const put: MessageOf<'put'> = {
        type,
        requestId,
        listId: readListId(r),
        opId: readOpId(r),
        deadlineMs: r.varint(),
        delta: r.bytes(limits.encodedListBytesMax),
      };
      const writer = readWriter(r);
      if (writer.length > 0) put.writer = writer;
      return put;
    }
    case 'put-reply': {
      const outcome = r.u8();
      if (outcome > 1) r.fail('unknown put outcome');
      return {
        type,
        requestId,
        outcome: outcome === 0 ? 'ok' : 'unknown',
        acks: r.varint(),
        replicas: r.varint(),
      };
    }
    case 'get':
      return {
        type,
        requestId,
        listId: readListId(r),
        deadlineMs: r.varint(),
        context: r.bytes(limits.encodedListBytesMax),
      };
    case 'get-reply':
      return {
        type,
        requestId,
        delta: r.bytes(limits.encodedListBytesMax),
        answered: r.varint(),
        inSync: r.varint(),
        replicas: r.varint(),
      };
    case 'error': {
      const code = errorNames.get(r.varint()) ?? 'internal';
      return { type, requestId, code, message: r.string(shortStringMax) };
    }
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
    case 'admin-read-reply': {
      const present = r.u8();
      if (present > 1) r.fail('bad presence byte');
      if (present === 0) return { type, requestId, state: undefined, hash: undefined };
      const hash = readFixed(r, hashBytes);
      return { type, requestId, hash, state: r.bytes(limits.encodedListBytesMax) };
    }
    case 'admin-read':
      return { type, requestId, listId: readListId(r) };
    case 'stats':
      return { type, requestId };
    case 'stats-reply':
      return { type, requestId, json: r.string(limits.encodedListBytesMax) };
    case 'node-hello':
      return {
        type,
        requestId,
        nodeId: r.string(shortStringMax),
        address: r.string(shortStringMax),
        ring: r.bytes(limits.encodedListBytesMax),
      };
    case 'gossip':
    case 'gossip-reply': {
      const from = r.string(shortStringMax);
      const n = r.count(limits.membersMax, 'members', 3);
      const members: WireMember[] = [];
      for (let i = 0; i < n; i++)
        members.push({
          id: r.string(shortStringMax),
          address: r.string(shortStringMax),
          heartbeat: r.varint(),
        });
      return { type, requestId, from, members, ring: r.bytes(limits.encodedListBytesMax) };
    }
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
    case 'ae-root':
      return { type, requestId, partition: r.varint(), root: readFixed(r, hashBytes) };
    case 'ae-buckets': {
      const partition = r.varint();
      const n = r.count(256, 'buckets', hashBytes);
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
    case 'ring-change': {
      const nAdd = r.count(limits.membersMax, 'nodes to add', 3);
      const add: WireRingNode[] = [];
      for (let i = 0; i < nAdd; i++)
        add.push({ id: r.string(shortStringMax), address: r.string(shortStringMax), weight: r.varint() });
      const nRemove = r.count(limits.membersMax, 'nodes to remove', 1);
      const remove: string[] = [];
      for (let i = 0; i < nRemove; i++) remove.push(r.string(shortStringMax));
      const change: MessageOf<'ring-change'> = { type, requestId, add, remove };
      // Absent (not forced, or a frame from before the flag) or 1: never 0, so one encoding each.
      if (r.left > 0) {
        if (r.u8() !== 1) r.fail('a force flag other than 1');
        change.force = true;
      }
      return change;
    }
    case 'ring-change-reply':
      return { type, requestId, ringVersion: r.varint() };
    case 'watch': {
      const n = r.count(limits.watchedListsMax, 'watched lists', 16);
      const listIds: ListId[] = [];
      for (let i = 0; i < n; i++) listIds.push(readListId(r));
      return { type, requestId, listIds };
    }
    case 'changed':
      return { type, requestId, listId: readListId(r), delta: r.bytes(limits.encodedListBytesMax) };
    case 'gateway-hello':
      return {
        type,
        requestId,
        wallMs: r.varint(),
        messageBytesMax: r.varint(),
        server: r.string(shortStringMax),
      };
  }
}

function readFixed(r: Reader, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.u8();
  return b;
}

function readListId(r: Reader): ListId {
  const h = hexOf(readFixed(r, 16));
  try {
    return parseListId(
      `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
    );
  } catch {
    return r.fail('a list ID that is not a UUID v4');
  }
}

const noWriter = new Uint8Array(0);

/** A put's writer secret: none (empty) or exactly writerSecretBytes. */
function readWriter(r: Reader): Uint8Array {
  const b = r.bytes(writerSecretBytes);
  if (b.length !== 0 && b.length !== writerSecretBytes) r.fail('a writer secret of the wrong length');
  return b;
}

function readOpId(r: Reader): OpId {
  return hexOf(readFixed(r, 16)) as OpId;
}

/** A fresh operation ID from 16 random bytes. */
export function opIdFrom(bytes: Uint8Array): OpId {
  if (bytes.length !== 16) throw new TrolleyError('invalid_argument', 'an operation ID is 16 bytes');
  return hexOf(bytes) as OpId;
}
