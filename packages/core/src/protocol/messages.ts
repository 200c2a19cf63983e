// The wire protocol between clients, proxies and storage nodes: one ZeroMQ frame per message
// (after the routing frames), or one binary WebSocket frame between a browser and the gateway;
// written down in docs/PROTOCOL.md. Messages are grouped in planes, each its own module with its own
// tag range, union type and decoder (frame.ts says what they share):
//
//   client-plane.ts        1–31    hello, put, get, watch, changed, gateway-hello and their replies
//   replica-plane.ts      32–63    replica-put, replica-get, hinted-put and their replies
//   gossip-plane.ts       64–95    node-hello, gossip, gossip-reply
//   anti-entropy-plane.ts 96–127   ae-root, ae-buckets, ae-keys, ae-keys-reply
//   admin-plane.ts       128–159   admin-read, stats, ring-change and their replies
//
// `error` (7) belongs to every plane. A receiver decodes only the planes it serves (a proxy's
// client port: client and admin; a storage node: the planes its sender's role may speak).
//
// This module is the union of every plane. Its decoder, `decodeMessage`, reads any plane: it is
// for what must see every message on purpose — the wire fuzzer, which sends every plane's
// messages to every port to check that each is refused or served, and tests that stand in for
// several parties at once. `encodeMessage` writes any message (encoding a typed message cannot
// confuse planes).

import { err, ok, TrolleyError, type Result } from '../errors.ts';
import { Reader, DecodeFailure } from '../codec/bytes.ts';
import { adminCodec, AdminTag, type AdminBody, type AdminMessage } from './admin-plane.ts';
import { antiEntropyCodec, AntiEntropyTag, type AntiEntropyBody } from './anti-entropy-plane.ts';
import { clientCodec, ClientTag, type ClientBody, type ClientMessage } from './client-plane.ts';
import { decoderOf, encodeWith, errorTag, type ErrorMessage, type PlaneCodec } from './frame.ts';
import { gossipCodec, GossipTag, type GossipBody } from './gossip-plane.ts';
import { replicaCodec, ReplicaTag, type ReplicaBody } from './replica-plane.ts';

export * from './frame.ts';
export * from './client-plane.ts';
export * from './replica-plane.ts';
export * from './gossip-plane.ts';
export * from './anti-entropy-plane.ts';
export * from './admin-plane.ts';

/** Every message of every plane. */
export type Message = ClientBody | ReplicaBody | GossipBody | AntiEntropyBody | AdminBody | ErrorMessage;
export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Every tag, by message type (each plane's table, and error's). */
export const Tag = {
  ...ClientTag,
  error: errorTag,
  ...ReplicaTag,
  ...GossipTag,
  ...AntiEntropyTag,
  ...AdminTag,
} as const;

/** Every plane's codec. */
export const planeCodecs: readonly PlaneCodec<Message>[] = [
  clientCodec,
  replicaCodec,
  gossipCodec,
  antiEntropyCodec,
  adminCodec,
] as PlaneCodec<Message>[];

const codecOfType = new Map<string, PlaneCodec<Message>>();
for (const codec of planeCodecs) for (const type of Object.keys(codec.tags)) codecOfType.set(type, codec);
const tagNames = new Map<number, MessageType>(Object.entries(Tag).map(([k, v]) => [v, k as MessageType]));

/** Writes any message as one frame, with its plane's codec. */
export function encodeMessage(m: Message): Uint8Array {
  const codec = codecOfType.get(m.type) ?? clientCodec;
  return encodeWith(codec, m);
}

/** Reads a frame of any plane: for the wire fuzzer and tests only (a receiver reads its planes). */
export const decodeMessage: (frame: Uint8Array) => Result<Message> = decoderOf(
  clientCodec,
  replicaCodec,
  gossipCodec,
  antiEntropyCodec,
  adminCodec,
);

/**
 * What a proxy's client port carries, both ways: the client plane, and `stats` (admin plane) —
 * read by the proxy from clients and by clients (and test tools) from the proxy.
 */
export type ClientPortMessage = ClientMessage | AdminMessage;
export const decodeClientPortMessage: (frame: Uint8Array) => Result<ClientPortMessage> = decoderOf(
  clientCodec,
  adminCodec,
);

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

/**
 * The type and request ID of a frame that a plane's decoder refused as another plane's message
 * (`decode_wrong_plane`), for the receiver's refusal; undefined if `error` is another failure or
 * the tag is a free one (no message has it: malformed, as a free tag of the receiver's own plane).
 */
export function foreignMessage(
  frame: Uint8Array,
  error: TrolleyError,
): { type: MessageType; requestId: number } | undefined {
  if (error.code !== 'decode_wrong_plane') return undefined;
  const header = decodeHeader(frame);
  if (!header.ok || header.value.type === undefined) return undefined;
  return { type: header.value.type, requestId: header.value.requestId };
}
