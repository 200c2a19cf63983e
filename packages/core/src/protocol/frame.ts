// What every plane of the wire protocol shares: the frame's envelope, the tag ranges of the planes,
// the `error` message (any request of any plane may be answered with it), the field encodings, and
// the machinery that makes a plane's decoder from its codec (docs/PROTOCOL.md, §2).
//
//   frame   = version:u8 tag:u8 requestId:varint body
//   listId  = 16 bytes (a UUID v4)      opId = 16 bytes      deadlineMs = varint (Unix ms)
//   bytes   = varint length + raw       string = varint length + UTF-8
//
// A plane is the set of messages one kind of conversation uses, with a range of tags of its own:
//
//   client        1–31    clients ↔ proxies and gateways (and a proxy ↔ the coordinating node)
//   replica      32–63    a coordinator ↔ the replicas of a list
//   gossip       64–95    membership and the ring between nodes, and a node's hello to proxies
//   anti-entropy 96–127   two replicas comparing and repairing what they hold
//   admin       128–159   an operator's tools ↔ nodes and proxies
//
// (0 and 160–255 belong to no plane.) `error` (tag 7) is the one message of every plane. A
// receiver decodes with the decoder of the planes it serves; a frame of another plane is a typed
// error (`decode_wrong_plane`), never a message. Decoding is bounded and total: any byte sequence
// gives a message or a typed error.

import { err, ok, TrolleyError, type Result } from '../errors.ts';
import { parseListId, type ListId } from '../ids.ts';
import { hexOf } from '../hash.ts';
import { limits } from '../limits.ts';
import { DecodeFailure, Reader, Writer } from '../codec/bytes.ts';

/**
 * The wire version (every frame's first byte). 2: the planes' tag ranges (version 1 had one flat
 * list of tags); a node, proxy, gateway or client speaks one version, so all are upgraded together.
 */
export const WIRE_VERSION = 2;
export const SUPPORTED_WIRE_VERSIONS: readonly number[] = [2];

export type PlaneName = 'client' | 'replica' | 'gossip' | 'anti-entropy' | 'admin';

/** Each plane's tags, first and last (inclusive). A new message takes a free tag of its plane. */
export const planeTagRanges: Readonly<Record<PlaneName, readonly [first: number, last: number]>> = {
  client: [1, 31],
  replica: [32, 63],
  gossip: [64, 95],
  'anti-entropy': [96, 127],
  admin: [128, 159],
};

/** The plane whose range holds `tag`, or undefined (0, or 160–255). */
export function planeOfTag(tag: number): PlaneName | undefined {
  for (const [plane, [first, last]] of Object.entries(planeTagRanges))
    if (tag >= first && tag <= last) return plane as PlaneName;
  return undefined;
}

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

/** The answer to a request of any plane that failed. Its tag (7) lies in the client range. */
export interface ErrorMessage {
  type: 'error';
  requestId: number;
  code: WireErrorName;
  message: string;
}
export const errorTag = 7;

export type OpId = string & { readonly __opId: true };

/** Largest frame any socket accepts: one full list plus headroom for the envelope. */
export const messageBytesMax = limits.encodedListBytesMax + 64 * 1024;
export const shortStringMax = 4096;
export const hashBytes = 16;

/** What every message has. */
export interface Envelope {
  type: string;
  requestId: number;
}

/**
 * One plane's messages (without `error`): their tags, and how each body is written and read.
 * (Methods, not function properties: a codec of one plane is then a codec of `Envelope`.)
 */
export interface PlaneCodec<M extends Envelope> {
  readonly plane: PlaneName;
  readonly tags: { readonly [type: string]: number };
  /** Bytes the body will take beyond a small constant (to size the writer once). */
  size(m: M): number;
  write(w: Writer, m: M): void;
  read(r: Reader, type: M['type'], requestId: number): M;
}

type MessagesOf<C> = C extends PlaneCodec<infer M> ? M : never;

/** Checks that a codec's tags lie in its plane's range (our invariant: a test calls it). */
export function tagsInRange(codec: PlaneCodec<Envelope>): boolean {
  const [first, last] = planeTagRanges[codec.plane];
  return Object.values(codec.tags).every((t) => t >= first && t <= last && t !== errorTag);
}

/** Writes `m` (a message of `codec`'s plane, or an error) as one frame. */
export function encodeWith<M extends Envelope>(codec: PlaneCodec<M>, m: M | ErrorMessage): Uint8Array {
  if (m.type === 'error') return encodeError(m as ErrorMessage);
  const tag = codec.tags[m.type];
  if (tag === undefined) throw new TrolleyError('invalid_argument', `${m.type} is no ${codec.plane} message`);
  const w = new Writer(64 + codec.size(m as M));
  w.u8(WIRE_VERSION);
  w.u8(tag);
  w.varint(m.requestId);
  codec.write(w, m as M);
  return w.finish();
}

function encodeError(m: ErrorMessage): Uint8Array {
  const w = new Writer(64 + m.message.length * 3);
  w.u8(WIRE_VERSION);
  w.u8(errorTag);
  w.varint(m.requestId);
  w.varint(WireError[m.code]);
  w.string(m.message.slice(0, 1000));
  return w.finish();
}

/** A decoder of frames of the given planes (and `error`); a frame of any other plane is refused. */
export type PlaneDecoder<M> = (frame: Uint8Array) => Result<M | ErrorMessage>;

export function decoderOf<C extends PlaneCodec<Envelope>[]>(
  ...codecs: C
): PlaneDecoder<MessagesOf<C[number]>> {
  const byTag = new Map<number, { type: string; codec: PlaneCodec<Envelope> }>();
  for (const codec of codecs)
    for (const [type, tag] of Object.entries(codec.tags)) byTag.set(tag, { type, codec });
  const served = codecs.map((c) => c.plane);
  return (frame) => decodeFrame(frame, byTag, served) as Result<MessagesOf<C[number]> | ErrorMessage>;
}

function decodeFrame(
  frame: Uint8Array,
  byTag: ReadonlyMap<number, { type: string; codec: PlaneCodec<Envelope> }>,
  served: readonly PlaneName[],
): Result<Envelope> {
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
    const entry = byTag.get(tag);
    if (entry === undefined && tag !== errorTag) {
      const plane = planeOfTag(tag);
      if (plane !== undefined && !served.includes(plane))
        return err(
          new TrolleyError(
            'decode_wrong_plane',
            `tag ${tag} is a ${plane}-plane message; this receiver reads ${served.join(', ')} only`,
          ),
        );
      return r.fail(`unknown message tag ${tag}`);
    }
    const requestId = r.varint();
    const m = entry === undefined ? readError(r, requestId) : entry.codec.read(r, entry.type, requestId);
    if (r.left !== 0) r.fail(`${r.left} bytes after the end`);
    return ok(m);
  } catch (e) {
    if (e instanceof DecodeFailure)
      return err(new TrolleyError(e.code, `cannot decode message: ${e.message}`));
    throw e;
  }
}

const errorNames = new Map<number, WireErrorName>(
  Object.entries(WireError).map(([k, v]) => [v, k as WireErrorName]),
);

function readError(r: Reader, requestId: number): ErrorMessage {
  const code = errorNames.get(r.varint()) ?? 'internal';
  return { type: 'error', requestId, code, message: r.string(shortStringMax) };
}

// ---- field encodings shared by the planes --------------------------------------------------------

export function writeId(w: Writer, b: Uint8Array): void {
  for (const x of b) w.u8(x);
}

export function listIdBytes(id: ListId): Uint8Array {
  return hexBytes(id.replaceAll('-', ''));
}

export function hexBytes(hex: string): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/** A list's state and hash, or a byte 0 for none. */
export function writeOptionalState(
  w: Writer,
  state: Uint8Array | undefined,
  hash: Uint8Array | undefined,
): void {
  if (state === undefined || hash === undefined) {
    w.u8(0);
    return;
  }
  w.u8(1);
  writeId(w, hash);
  w.bytes(state);
}

export function readOptionalState(r: Reader): {
  state: Uint8Array | undefined;
  hash: Uint8Array | undefined;
} {
  const present = r.u8();
  if (present > 1) r.fail('bad presence byte');
  if (present === 0) return { state: undefined, hash: undefined };
  const hash = readFixed(r, hashBytes);
  return { hash, state: r.bytes(limits.encodedListBytesMax) };
}

export function readFixed(r: Reader, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.u8();
  return b;
}

export function readListId(r: Reader): ListId {
  const h = hexOf(readFixed(r, 16));
  try {
    return parseListId(
      `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
    );
  } catch {
    return r.fail('a list ID that is not a UUID v4');
  }
}

export function readOpId(r: Reader): OpId {
  return hexOf(readFixed(r, 16)) as OpId;
}

/** A fresh operation ID from 16 random bytes. */
export function opIdFrom(bytes: Uint8Array): OpId {
  if (bytes.length !== 16) throw new TrolleyError('invalid_argument', 'an operation ID is 16 bytes');
  return hexOf(bytes) as OpId;
}
