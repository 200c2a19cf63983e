// The message codec, plane by plane: a message of every type round-trips through its plane's
// decoder with a tag in its plane's range; a plane's decoder refuses a frame of every other plane
// with a typed error (decode_wrong_plane) and reads `error` on every plane; a ring change's `force`
// is optional on the wire; and no input — random bytes, truncations, bit flips of valid messages —
// makes any plane's decoder (or the all-planes one) throw: each gives a message or a typed error.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  PushPurposeCode,
  SUPPORTED_WIRE_VERSIONS,
  Tag,
  WIRE_VERSION,
  decodeAdminMessage,
  decodeAntiEntropyMessage,
  decodeClientMessage,
  decodeGossipMessage,
  decodeMessage,
  decodeReplicaMessage,
  encodeAdminMessage,
  encodeAntiEntropyMessage,
  encodeClientMessage,
  encodeGossipMessage,
  encodeList,
  encodeMessage,
  encodeReplicaMessage,
  messageBytesMax,
  planeCodecs,
  planeOfTag,
  planeTagRanges,
  tagsInRange,
  type Message,
  type MessageOf,
  type MessageType,
  type PlaneName,
  type ReplicaId,
} from '../index.ts';
import type { Result } from '../errors.ts';
import { parseListId } from '../ids.ts';
import { opIdFrom } from './messages.ts';
import { chooseSeed } from '../testing/arbitraries.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 300);
const decodeCodes = new Set([
  'decode_truncated',
  'decode_version',
  'decode_malformed',
  'decode_wrong_plane',
  'limit_exceeded',
]);

const listId = parseListId('0b6d3c1e-7a8f-4c2d-9e0f-1a2b3c4d5e6f');
const opId = opIdFrom(Uint8Array.from({ length: 16 }, (_, i) => i * 7));
const hash = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
const doc = encodeList(new ListReplica('alice' as ReplicaId).addItem('Milk', 2));

/** One message of every type (the Record makes the compiler ask for a new type's example). */
const examples: Record<MessageType, Message> = {
  hello: { type: 'hello', requestId: 1, client: 'test' },
  'hello-reply': {
    type: 'hello-reply',
    requestId: 2,
    version: 1,
    server: 's',
    messageBytesMax: 0,
    wallMs: 1_790_000_000_000,
  },
  put: { type: 'put', requestId: 3, listId, opId, deadlineMs: 1_700_000_000_000, delta: doc },
  'put-reply': { type: 'put-reply', requestId: 4, outcome: 'unknown', acks: 1, replicas: 3 },
  get: { type: 'get', requestId: 5, listId, deadlineMs: 1_700_000_000_000, context: new Uint8Array(0) },
  'get-reply': { type: 'get-reply', requestId: 6, delta: doc, answered: 2, inSync: 2, replicas: 3 },
  error: { type: 'error', requestId: 7, code: 'overloaded', message: 'busy' },
  locate: { type: 'locate', requestId: 40, listId },
  'locate-reply': {
    type: 'locate-reply',
    requestId: 41,
    listId,
    fronts: ['tcp://10.0.0.5:7001#AbCd', 'tcp://10.0.0.6:7001#EfGh'],
  },
  'replica-put': { type: 'replica-put', requestId: 8, listId, opId, deadlineMs: 9, doc },
  // (a replica-put of each purpose: see the purpose test below)
  'replica-put-reply': { type: 'replica-put-reply', requestId: 9, hash },
  'replica-get': { type: 'replica-get', requestId: 10, listId, deadlineMs: 11 },
  'replica-get-reply': { type: 'replica-get-reply', requestId: 11, state: doc, hash },
  'admin-read': { type: 'admin-read', requestId: 12, listId },
  'admin-read-reply': { type: 'admin-read-reply', requestId: 13, state: undefined, hash: undefined },
  stats: { type: 'stats', requestId: 14 },
  'stats-reply': { type: 'stats-reply', requestId: 15, json: '{"a":1}' },
  'node-hello': {
    type: 'node-hello',
    requestId: 16,
    nodeId: 'n1',
    address: 'tcp://h:1',
    ring: Uint8Array.of(1, 2),
    front: 'tcp://h:2#AbCd',
  },
  gossip: {
    type: 'gossip',
    requestId: 17,
    from: 'n1',
    members: [{ id: 'n2', address: 'tcp://h:2', heartbeat: 5 }],
    ring: new Uint8Array(0),
  },
  'gossip-reply': { type: 'gossip-reply', requestId: 18, from: 'n2', members: [], ring: Uint8Array.of(9) },
  'hinted-put': { type: 'hinted-put', requestId: 19, listId, opId, deadlineMs: 20, doc, target: 'n3' },
  'ae-root': { type: 'ae-root', requestId: 20, partition: 7, root: hash },
  'ae-buckets': { type: 'ae-buckets', requestId: 21, partition: 7, buckets: [hash, hash] },
  'ae-keys': { type: 'ae-keys', requestId: 22, partition: 7, bucket: 3, entries: [{ key: listId, hash }] },
  'ae-keys-reply': { type: 'ae-keys-reply', requestId: 23, partition: 7, wanted: [listId] },
  'ring-change': {
    type: 'ring-change',
    requestId: 24,
    add: [{ id: 'n4', address: 'tcp://h:4', weight: 2 }],
    remove: ['n1'],
    force: true,
  },
  'ring-change-reply': { type: 'ring-change-reply', requestId: 25, ringVersion: 3 },
  watch: { type: 'watch', requestId: 26, listIds: [listId] },
  changed: { type: 'changed', requestId: 0, listId, delta: doc },
  'gateway-hello': {
    type: 'gateway-hello',
    requestId: 0,
    wallMs: 1_763_712_000_123,
    messageBytesMax,
    server: 'trolley gateway',
  },
};

/** Each plane's own decoder and encoder (the encoders take only their plane's messages). */
const planes: Record<
  PlaneName,
  { decode: (frame: Uint8Array) => Result<Message>; encode: (m: never) => Uint8Array }
> = {
  client: { decode: decodeClientMessage, encode: encodeClientMessage },
  replica: { decode: decodeReplicaMessage, encode: encodeReplicaMessage },
  gossip: { decode: decodeGossipMessage, encode: encodeGossipMessage },
  'anti-entropy': { decode: decodeAntiEntropyMessage, encode: encodeAntiEntropyMessage },
  admin: { decode: decodeAdminMessage, encode: encodeAdminMessage },
};
const planeNames = Object.keys(planes) as PlaneName[];
const planeOf = (m: Message): PlaneName => planeOfTag(Tag[m.type]) as PlaneName;
const nonError = Object.values(examples).filter((m) => m.type !== 'error');

describe('message planes', () => {
  it('gives every plane its own tag range, and every tag to one plane (error: every plane)', () => {
    for (const codec of planeCodecs) expect(tagsInRange(codec)).toBe(true);
    const tags = Object.values(Tag);
    expect(new Set(tags).size).toBe(tags.length);
    const ranges = Object.values(planeTagRanges).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++)
      expect((ranges[i] as readonly number[])[0]).toBeGreaterThan(
        (ranges[i - 1] as readonly number[])[1] as number,
      );
    expect(WIRE_VERSION).toBe(2);
    expect(SUPPORTED_WIRE_VERSIONS).toEqual([2]);
    // The client plane kept its version-1 tags; the others moved into their ranges.
    expect(Tag).toMatchObject({
      hello: 1,
      put: 3,
      get: 5,
      error: 7,
      watch: 26,
      changed: 27,
      'gateway-hello': 28,
    });
    expect(Tag).toMatchObject({ 'replica-put': 32, 'node-hello': 64, 'ae-root': 96, 'admin-read': 128 });
  });

  it("round-trips each message through its own plane's encoder and decoder", () => {
    for (const m of Object.values(examples)) {
      const frame = encodeMessage(m);
      expect(frame[0]).toBe(WIRE_VERSION);
      expect(frame[1]).toBe(Tag[m.type]);
      const names = m.type === 'error' ? planeNames : [planeOf(m)];
      for (const name of names) {
        const plane = planes[name];
        expect(plane.encode(m as never)).toEqual(frame);
        const back = plane.decode(frame);
        if (!back.ok) throw back.error;
        expect(back.value).toEqual(m);
      }
      const any = decodeMessage(frame);
      expect(any.ok && any.value).toEqual(m);
    }
    console.log(
      `message planes: ${Object.keys(examples).length} types round-trip in ${planeNames.length} planes (tags 1–${Math.max(...Object.values(Tag))})`,
    );
  });

  it('reads a node-hello without a front (a node with no client port) as before, and names none', () => {
    const hello = {
      type: 'node-hello',
      requestId: 3,
      nodeId: 'n2',
      address: 'tcp://h:1',
      ring: Uint8Array.of(7),
    } as const;
    const frame = encodeMessage(hello);
    expect(frame.length).toBe(encodeMessage({ ...hello, front: 'tcp://h:2' }).length - 10);
    const back = decodeGossipMessage(frame);
    expect(back.ok && back.value).toEqual(hello);
    expect(back.ok && 'front' in back.value).toBe(false);
  });

  it("refuses every other plane's message with a typed error, and a plane's encoder refuses them too", () => {
    let refused = 0;
    for (const name of planeNames)
      for (const m of nonError) {
        if (planeOf(m) === name) continue;
        const r = planes[name].decode(encodeMessage(m));
        expect(r.ok).toBe(false);
        if (r.ok) continue;
        expect(r.error.code).toBe('decode_wrong_plane');
        expect(r.error.message).toContain(`${planeOf(m)}-plane`);
        refused++;
        expect(() => planes[name].encode(m as never)).toThrow(/is no/);
      }
    // A free tag of a plane's own range is malformed, not foreign; one of another plane's is foreign.
    const free = (tag: number): Uint8Array => Uint8Array.of(WIRE_VERSION, tag, 1);
    expect(decodeReplicaMessage(free(40))).toMatchObject({
      error: { code: 'decode_malformed' },
    });
    expect(decodeReplicaMessage(free(10))).toMatchObject({ error: { code: 'decode_wrong_plane' } });
    expect(decodeMessage(free(200))).toMatchObject({ error: { code: 'decode_malformed' } });
    // A version-1 frame is refused whole, whatever plane it was.
    expect(decodeClientMessage(Uint8Array.of(1, 1, 1, 0))).toMatchObject({
      error: { code: 'decode_version' },
    });
    console.log(`message planes: ${refused} foreign (plane, message) pairs refused as decode_wrong_plane`);
  });

  it('round-trips gateway-hello for any clock, limit and name', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.nat({ max: 2 ** 31 }),
        fc.string({ maxLength: 200 }),
        (requestId, wallMs, bytesMax, server) => {
          const m: Message = { type: 'gateway-hello', requestId, wallMs, messageBytesMax: bytesMax, server };
          const back = decodeMessage(encodeMessage(m));
          expect(back.ok && back.value).toEqual(m);
        },
      ),
      { seed, numRuns: runs },
    );
    // A gateway-hello with a name over the bound, or with bytes after it, is malformed.
    const long = encodeMessage({ ...examples['gateway-hello'], server: 'x'.repeat(5_000) } as Message);
    const trailing = Uint8Array.of(...encodeMessage(examples['gateway-hello']), 0);
    expect(decodeMessage(long).ok).toBe(false);
    expect(decodeMessage(trailing).ok).toBe(false);
  });

  it('reads a ring change without the force flag as not forced, and only 1 as forced', () => {
    const { force: _, ...unforced } = examples['ring-change'] as MessageOf<'ring-change'>;
    const plain = encodeMessage(unforced);
    const forced = encodeMessage(examples['ring-change']);
    // The flag is one trailing byte, written only when set: a frame from before it is the same.
    expect(forced.length).toBe(plain.length + 1);
    expect(forced.subarray(0, plain.length)).toEqual(plain);
    const back = decodeMessage(plain);
    expect(back.ok && back.value).toEqual(unforced);
    expect(back.ok && 'force' in back.value).toBe(false);
    expect(decodeMessage(encodeMessage({ ...unforced, force: false }))).toEqual(back);
    for (const flag of [0, 2]) {
      const bad = Uint8Array.of(...plain, flag);
      expect(decodeMessage(bad).ok).toBe(false);
    }
    expect(decodeMessage(Uint8Array.of(...forced, 0)).ok).toBe(false);
    const e = decodeMessage(
      encodeMessage({ type: 'error', requestId: 1, code: 'invalid_argument', message: 'pass --force' }),
    );
    expect(e.ok && e.value).toMatchObject({ code: 'invalid_argument' });
  });

  it('says why a replica-put is sent in one trailing purpose byte, absent for a quorum write', () => {
    const write = encodeMessage(examples['replica-put']);
    const back = decodeMessage(write);
    expect(back.ok && 'purpose' in back.value).toBe(false);
    for (const purpose of ['read-repair', 'hint', 'transfer', 'anti-entropy'] as const) {
      const m: Message = { ...(examples['replica-put'] as MessageOf<'replica-put'>), purpose };
      const frame = encodeMessage(m);
      // The write's frame is unchanged (as before the byte); a push adds one byte after it.
      expect(frame.length).toBe(write.length + 1);
      expect(frame.subarray(0, write.length)).toEqual(write);
      expect(frame[write.length]).toBe(PushPurposeCode[purpose]);
      const decoded = decodeMessage(frame);
      expect(decoded.ok && decoded.value).toEqual(m);
    }
    // An unknown purpose, or a byte after it, is malformed: a receiver never guesses what a push means.
    for (const bad of [0, 5, 255]) expect(decodeMessage(Uint8Array.of(...write, bad)).ok).toBe(false);
    expect(decodeMessage(Uint8Array.of(...write, PushPurposeCode.hint, 0)).ok).toBe(false);
  });

  it(`never throws on random, truncated or bit-flipped frames, in any plane (FC_SEED=${seed})`, () => {
    const valid = Object.values(examples).map(encodeMessage);
    // Random tags would mostly miss the ranges: give some random frames a version and a tag.
    const tags = [...Object.values(Tag), 0, 40, 100, 200, 255];
    let decodedOk = 0;
    let typedErrors = 0;
    const decoders = [decodeMessage, ...planeNames.map((n) => planes[n].decode)];
    const check = (frame: Uint8Array): void => {
      for (const decode of decoders) {
        const r = decode(frame);
        if (r.ok) decodedOk++;
        else {
          typedErrors++;
          expect(decodeCodes.has(r.error.code)).toBe(true);
        }
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .tuple(fc.constantFrom(...tags), fc.uint8Array({ maxLength: 200 }))
            .map(([tag, body]) => Uint8Array.of(WIRE_VERSION, tag, ...body)),
          fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([f, n]) => f.slice(0, n % (f.length + 1))),
          fc
            .tuple(
              fc.constantFrom(...valid),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
            )
            .map(([f, flips]) => {
              const g = f.slice();
              for (const [at, x] of flips) g[at % g.length] = (g[at % g.length] as number) ^ x;
              return g;
            }),
        ),
        (frame) => {
          check(frame);
        },
      ),
      { seed, numRuns: runs * 10 },
    );
    console.log(
      `message decoders fuzz (FC_SEED=${seed}): ${decodedOk + typedErrors} decodes (6 decoders), ${decodedOk} decoded, ${typedErrors} typed errors, 0 throws`,
    );
  });
});
