// Hostile input for the wire (RELIABILITY.md, "wire fuzz and flood"): random bytes, valid headers
// with bad bodies, truncations, bit flips, trailing bytes, unknown tags, unsupported versions,
// wrong frame counts, message types a receiver must refuse, messages of planes a receiver does not
// serve. Seeded, so a failure replays from the seed it prints. For each message it also says, by
// decoding it exactly as the receiver does (with the decoder of the planes it serves), whether the
// receiver must count it as rejected. It draws messages of every plane on purpose, so it writes
// and reads them with the all-planes codec (encodeMessage, decodeMessage).

import {
  decodeAdminMessage,
  decodeClientPortMessage,
  decodeHeader,
  decodeMessage,
  encodeList,
  encodeMessage,
  foreignMessage,
  ListReplica,
  newListId,
  newReplicaId,
  opIdFrom,
  Tag,
  WIRE_VERSION,
  type Message,
  type MessageType,
  type Random,
} from '@trolley/core';

/** mulberry32: small, fast, good enough to draw fuzz from a seed. */
export class SeededRandom implements Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  fill(bytes: Uint8Array): Uint8Array {
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.int(256);
    return bytes;
  }

  bytes(n: number): Uint8Array {
    return this.fill(new Uint8Array(n));
  }
}

export type FuzzTarget = 'proxy' | 'node';

export interface FuzzMessage {
  kind: string;
  frames: Uint8Array[];
}

/** What a client may send a proxy; everything else it must refuse. */
const proxyAccepts: readonly string[] = ['hello', 'stats', 'put', 'get'] satisfies MessageType[];
/**
 * The fuzz speaks to a node's peer port as an operator, so the node reads its frames as the admin
 * plane; of those it rejects the replies (a message of another plane it refuses as from a peer that
 * may not send it, counted apart: not a rejected frame).
 */
const nodeRefuses: readonly string[] = ['admin-read-reply', 'stats-reply', 'ring-change-reply'];
const decodeAs = { proxy: decodeClientPortMessage, node: decodeAdminMessage } as const;

/**
 * Messages that would make a node dial the addresses they carry or change the ring. A mutation
 * that happens to decode as one is drawn again: this test stays on 127.0.0.1 and on one ring.
 */
const unsafe: readonly string[] = ['gossip', 'gossip-reply', 'ring-change'];

function isUnsafe(frame: Uint8Array): boolean {
  const decoded = decodeMessage(frame);
  return decoded.ok && unsafe.includes(decoded.value.type);
}

/** Whether the receiver must count this message as rejected (false: it is not even delivered). */
export function mustReject(target: FuzzTarget, frames: readonly Uint8Array[]): boolean {
  if (frames.length === 0) return false; // zeromq sends nothing for a message of no frames
  if (frames.length !== 1) return true;
  const frame = frames[0] as Uint8Array;
  const decoded = decodeAs[target](frame);
  // A proxy answers another plane's message unknown_type (rejected); a node refuses it as from a
  // peer that may not send it.
  if (!decoded.ok) return target === 'proxy' || foreignMessage(frame, decoded.error) === undefined;
  return target === 'proxy'
    ? !proxyAccepts.includes(decoded.value.type)
    : nodeRefuses.includes(decoded.value.type);
}

/** Whether a proxy must answer with `unsupported_version` (a readable header, another version). */
export function mustAnswerUnsupportedVersion(frames: readonly Uint8Array[]): boolean {
  if (frames.length !== 1) return false;
  const header = decodeHeader(frames[0] as Uint8Array);
  return header.ok && header.value.version !== WIRE_VERSION;
}

const knownTags = Object.values(Tag) as number[];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** A well-formed message of the kind the target normally receives, as a base to mutate. */
function validMessage(rand: SeededRandom, target: FuzzTarget): Message {
  const requestId = 1_000_000 + rand.int(1_000_000);
  const listId = newListId(rand);
  const opId = opIdFrom(rand.bytes(16));
  const deadlineMs = Date.now() + 5_000;
  const delta = (): Uint8Array =>
    encodeList(new ListReplica(newReplicaId(rand)).addItem(`fuzz ${rand.int(1000)}`, 1 + rand.int(9)));
  const common: Message[] = [
    { type: 'put', requestId, listId, opId, deadlineMs, delta: delta() },
    { type: 'get', requestId, listId, deadlineMs, context: new Uint8Array(0) },
    { type: 'stats', requestId },
  ];
  const peer: Message[] = [
    { type: 'replica-put', requestId, listId, opId, deadlineMs, doc: delta() },
    { type: 'replica-get', requestId, listId, deadlineMs },
    { type: 'admin-read', requestId, listId },
  ];
  return rand.pick(
    target === 'proxy' ? [...common, { type: 'hello', requestId, client: 'fuzz' }] : [...common, ...peer],
  );
}

/** A message the target must refuse although it decodes. */
function refusedMessage(rand: SeededRandom, target: FuzzTarget): Message {
  const requestId = rand.int(1_000_000);
  const listId = newListId(rand);
  const forBoth: Message[] = [
    { type: 'put-reply', requestId, outcome: 'ok', acks: 2, replicas: 3 },
    { type: 'get-reply', requestId, delta: new Uint8Array(0), answered: 2, inSync: 2, replicas: 3 },
    { type: 'stats-reply', requestId, json: '{}' },
    { type: 'node-hello', requestId, nodeId: 'n1', address: 'tcp://127.0.0.1:1', ring: new Uint8Array(4) },
  ];
  const proxyOnly: Message[] = [
    { type: 'replica-get', requestId, listId, deadlineMs: Date.now() + 5_000 },
    { type: 'admin-read', requestId, listId },
    { type: 'error', requestId, code: 'internal', message: 'fuzz' },
  ];
  return rand.pick(
    target === 'proxy' ? [...forBoth, ...proxyOnly] : [...forBoth, { type: 'hello', requestId, client: 'x' }],
  );
}

export function fuzzMessage(rand: SeededRandom, target: FuzzTarget): FuzzMessage {
  for (;;) {
    const m = drawMessage(rand, target);
    if (!m.frames.some(isUnsafe)) return m;
  }
}

function drawMessage(rand: SeededRandom, target: FuzzTarget): FuzzMessage {
  const valid = (): Uint8Array => encodeMessage(validMessage(rand, target));
  const kinds = [
    'random',
    'header+garbage',
    'truncated',
    'bit-flip',
    'trailing',
    'unknown-tag',
    'version',
    'frames',
    'empty',
    'refused-type',
  ] as const;
  const kind = rand.pick(kinds);
  switch (kind) {
    case 'random':
      return { kind, frames: [rand.bytes(1 + rand.int(300))] };
    case 'header+garbage':
      return {
        kind,
        frames: [
          concat(
            Uint8Array.of(WIRE_VERSION, rand.pick(knownTags)),
            varint(rand.int(1 << 20)),
            rand.bytes(rand.int(120)),
          ),
        ],
      };
    case 'truncated': {
      const m = valid();
      return { kind, frames: [m.slice(0, 1 + rand.int(m.length - 1))] };
    }
    case 'bit-flip': {
      const m = valid();
      for (let flips = 1 + rand.int(4); flips > 0; flips--) {
        const at = rand.int(m.length);
        m[at] = (m[at] as number) ^ (1 + rand.int(255));
      }
      return { kind, frames: [m] };
    }
    case 'trailing':
      return { kind, frames: [concat(valid(), rand.bytes(1 + rand.int(16)))] };
    case 'unknown-tag': {
      let tag = rand.int(256);
      while (knownTags.includes(tag)) tag = rand.int(256);
      return {
        kind,
        frames: [
          concat(Uint8Array.of(WIRE_VERSION, tag), varint(rand.int(1 << 20)), rand.bytes(rand.int(64))),
        ],
      };
    }
    case 'version': {
      const m = valid();
      let version = rand.int(256);
      while (version === WIRE_VERSION) version = rand.int(256);
      m[0] = version;
      return { kind, frames: [m] };
    }
    case 'frames': {
      const parts = rand.pick([0, 2, 3, 5]);
      return {
        kind: `frames-${parts}`,
        frames: Array.from({ length: parts }, () => (rand.int(2) === 0 ? valid() : rand.bytes(rand.int(40)))),
      };
    }
    case 'empty':
      return { kind, frames: [new Uint8Array(0)] };
    case 'refused-type':
      return { kind, frames: [encodeMessage(refusedMessage(rand, target))] };
  }
}
