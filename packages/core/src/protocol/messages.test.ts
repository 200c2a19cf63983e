// The message codec: a message of every type round-trips (gateway-hello among them), a ring
// change's `force` is optional on the wire (frames from before it still decode), and no input —
// random bytes, truncations, bit flips of valid messages — makes the decoder throw; each gives a
// message or a typed error.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ListReplica,
  PushPurposeCode,
  Tag,
  decodeMessage,
  encodeList,
  encodeMessage,
  messageBytesMax,
  type Message,
  type MessageOf,
  type MessageType,
  type ReplicaId,
} from '../index.ts';
import { parseListId } from '../ids.ts';
import { opIdFrom } from './messages.ts';
import { chooseSeed } from '../testing/arbitraries.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 300);
const decodeCodes = new Set(['decode_truncated', 'decode_version', 'decode_malformed', 'limit_exceeded']);

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

describe('message codec', () => {
  it('round-trips one message of every type, with its tag on the wire', () => {
    for (const m of Object.values(examples)) {
      const frame = encodeMessage(m);
      expect(frame[0]).toBe(1);
      expect(frame[1]).toBe(Tag[m.type]);
      const back = decodeMessage(frame);
      if (!back.ok) throw back.error;
      expect(back.value).toEqual(m);
    }
    expect(Tag['gateway-hello']).toBe(28);
    console.log(
      `message codec: ${Object.keys(examples).length} types round-trip (tags 1–${Math.max(...Object.values(Tag))})`,
    );
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

  it(`never throws on random, truncated or bit-flipped frames (FC_SEED=${seed})`, () => {
    const valid = Object.values(examples).map(encodeMessage);
    let decodedOk = 0;
    let typedErrors = 0;
    const check = (frame: Uint8Array): void => {
      const r = decodeMessage(frame);
      if (r.ok) decodedOk++;
      else {
        typedErrors++;
        expect(decodeCodes.has(r.error.code)).toBe(true);
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
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
      `message decoder fuzz (FC_SEED=${seed}): ${decodedOk + typedErrors} frames, ${decodedOk} decoded, ${typedErrors} typed errors, 0 throws`,
    );
  });
});
