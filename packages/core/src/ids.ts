// Branded identifiers. A list ID is a UUID v4 from a CSPRNG: unguessable, so it doubles as the
// share link. A replica ID names one device's copy of a list (one per local store).
//
// A writer ID is a replica ID that proves its owner: the SHA-256 of a secret only that device
// holds, so that only it can add new changes under its name (a put carries the secret; the cloud
// hashes it and refuses new dots of any other writer ID). Nobody else can then make changes that
// collide with, or run ahead of, that device's own — which is what keeps a crafted message from
// hiding its later changes (docs/PROTOCOL.md §3, "who may write what"). Replica IDs of any other
// shape are legacy: from devices made before writer IDs, or from tests.

import { sha256 } from '@noble/hashes/sha2.js';
import { TrolleyError } from './errors.ts';
import { limits } from './limits.ts';
import type { Random } from './ports.ts';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type ListId = Brand<string, 'ListId'>;
export type ReplicaId = Brand<string, 'ReplicaId'>;

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const replicaIdPattern = /^[A-Za-z0-9_-]+$/;
const hex = (b: number): string => b.toString(16).padStart(2, '0');

export function newListId(random: Random): ListId {
  const b = random.fill(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40; // version 4
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  const h = Array.from(b, hex).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` as ListId;
}

export function parseListId(text: string): ListId {
  const id = text.trim().toLowerCase();
  if (!uuidV4.test(id))
    throw new TrolleyError('invalid_argument', `not a list ID (a UUID v4): ${JSON.stringify(text)}`);
  return id as ListId;
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 11 characters of base64url: 66 random bits, short on the wire, collision-free in practice. */
export function newReplicaId(random: Random): ReplicaId {
  const b = random.fill(new Uint8Array(11));
  return Array.from(b, (x) => alphabet[x & 63]).join('') as ReplicaId;
}

/** Bytes of a writer secret. */
export const writerSecretBytes = 32;

const writerIdPattern = /^w-[A-Za-z0-9_-]{22}$/;

/** A fresh writer secret from a CSPRNG. */
export function newWriterSecret(random: Random): Uint8Array {
  return random.fill(new Uint8Array(writerSecretBytes));
}

/** The writer ID a secret proves: `w-` and 22 base64url characters of its SHA-256 (132 bits). */
export function writerIdOf(secret: Uint8Array): ReplicaId {
  if (secret.length !== writerSecretBytes)
    throw new TrolleyError('invalid_argument', `a writer secret is ${writerSecretBytes} bytes`);
  const h = sha256(secret);
  let id = 'w-';
  // 22 characters of 6 bits each, taken from the digest's first 17 bytes.
  for (let i = 0; i < 22; i++) {
    const bit = i * 6;
    const byte = bit >> 3;
    const word = ((h[byte] ?? 0) << 8) | (h[byte + 1] ?? 0);
    id += alphabet[(word >> (10 - (bit & 7))) & 63];
  }
  return id as ReplicaId;
}

/** Whether a replica ID has the shape of a writer ID (only its secret's holder may write under it). */
export function isWriterId(id: string): boolean {
  return writerIdPattern.test(id);
}

export function isReplicaId(text: string): text is ReplicaId {
  return text.length > 0 && text.length <= limits.replicaIdLengthMax && replicaIdPattern.test(text);
}

export function parseReplicaId(text: string): ReplicaId {
  if (!isReplicaId(text))
    throw new TrolleyError('invalid_argument', `not a replica ID: ${JSON.stringify(text)}`);
  return text;
}
