// Branded identifiers. A list ID is a UUID v4 from a CSPRNG: unguessable, so it doubles as the
// share link. A replica ID names one device's copy of a list (one per local store).

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

export function isReplicaId(text: string): text is ReplicaId {
  return text.length > 0 && text.length <= limits.replicaIdLengthMax && replicaIdPattern.test(text);
}

export function parseReplicaId(text: string): ReplicaId {
  if (!isReplicaId(text))
    throw new TrolleyError('invalid_argument', `not a replica ID: ${JSON.stringify(text)}`);
  return text;
}
