// The cluster's keys (ZeroMQ CURVE, RFC 26: X25519 key pairs) and who holds them.
//
// Every member — storage node, proxy, operator — has a key pair. Its files live in a keys folder,
// as czmq's certificate store keeps them: NAME.key holds the secret (owner-only, 0600), NAME.pub
// the public half with the member's ID and role. A process's keyring is its keys folder: the
// public keys there are the allow-list of its member ports (ZAP, zap.ts), and name the members
// (a node's ID is the ID in its .pub file). Adding a member is copying its .pub into every
// member's folder; the keyring re-reads the folder when it changes.
//
// Keys are written as base64url (43 characters, shell-safe), also in cloud addresses:
// `tcp://host:5555#<proxy public key>`. libzmq takes them in Z85, converted here.
//
// ZeroMQ authenticates connections, not frames, and zeromq.js does not expose the ZAP User-Id of
// a frame. So a frame sent to a ROUTER carries a credential: the sender's public key and a token
// that only the sender and the receiver can compute (HMAC of the X25519 shared secret). CURVE
// keeps it secret on the wire, and a token made for one receiver is worth nothing at another, so
// a member can speak only as itself. Frames on a DEALER come from the server whose key it pinned.

import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { TrolleyError } from '@trolley/core';
import type { PeerRole } from '@trolley/cloud';

export type MemberRole = Exclude<PeerRole, 'client'>;
const memberRoles: readonly MemberRole[] = ['node', 'proxy', 'operator'];

/** Bytes of a CURVE key. */
export const keyBytes = 32;
/** Bytes of a credential: the sender's public key, then a 16-byte token. */
export const credentialBytes = keyBytes + 16;

export interface KeyPair {
  /** base64url, 43 characters. */
  publicKey: string;
  secretKey: string;
}

/** A member as its .pub file names it. */
export interface MemberKey {
  id: string;
  role: MemberRole;
  publicKey: string;
}

/** A member with its secret: the process's own identity. */
export interface Identity extends MemberKey {
  secretKey: string;
}

export function newKeyPair(): KeyPair {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  return { publicKey: jwk.x as string, secretKey: jwk.d as string };
}

const keyPattern = /^[A-Za-z0-9_-]{43}$/;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isKey(s: string): boolean {
  return keyPattern.test(s) && Buffer.from(s, 'base64url').length === keyBytes;
}

function parseKey(s: unknown, what: string): string {
  if (typeof s !== 'string' || !isKey(s))
    throw new TrolleyError('invalid_argument', `${what} is not a CURVE key (43 base64url characters)`);
  return s;
}

// ---- files ---------------------------------------------------------------------------------------

/**
 * Makes a key pair for member `id` with `role` in `dir` (created owner-only): ID.key (0600) and
 * ID.pub. Refuses to overwrite a key that exists.
 */
export function writeMemberKey(dir: string, id: string, role: MemberRole): Identity {
  if (!namePattern.test(id))
    throw new TrolleyError('invalid_argument', `"${id}" is not a usable key name (letters, digits, . _ -)`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, `${id}.key`);
  if (existsSync(keyFile))
    throw new TrolleyError('invalid_argument', `${keyFile} exists; remove it first to make a new key`);
  const identity: Identity = { id, role, ...newKeyPair() };
  const pub: MemberKey = { id, role, publicKey: identity.publicKey };
  writeFileSync(keyFile, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600); // even under a permissive umask, or over an older file
  writeFileSync(join(dir, `${id}.pub`), `${JSON.stringify(pub, null, 2)}\n`, { mode: 0o644 });
  return identity;
}

/** The key pair of member `id` in `dir`, made if it is not there yet. */
export function ensureMemberKey(dir: string, id: string, role: MemberRole): Identity {
  return existsSync(join(dir, `${id}.key`)) ? readIdentity(dir, id) : writeMemberKey(dir, id, role);
}

/** Reads DIR/ID.key; refuses a key file others may read. */
export function readIdentity(dir: string, id: string): Identity {
  const file = join(dir, `${id}.key`);
  if (!existsSync(file))
    throw new TrolleyError(
      'not_found',
      `no key ${file}; make one with: trolley keys new ${id} --role <node|proxy|operator> --keys ${dir}`,
    );
  const mode = statSync(file).mode & 0o077;
  if (mode !== 0)
    throw new TrolleyError('invalid_argument', `${file} may be read by others; run: chmod 600 ${file}`);
  const text = readFileSync(file, 'utf8');
  const k = parseMemberFile(text, file);
  const secretKey = parseKey((JSON.parse(text) as { secretKey?: unknown }).secretKey, `secretKey in ${file}`);
  if (publicOf(secretKey) !== k.publicKey)
    throw new TrolleyError('invalid_argument', `${file}: the public key is not the secret key's`);
  return { ...k, secretKey };
}

function parseMemberFile(text: string, file: string): MemberKey {
  let o: { id?: unknown; role?: unknown; publicKey?: unknown };
  try {
    o = JSON.parse(text) as typeof o;
  } catch {
    throw new TrolleyError('invalid_argument', `${file} is not a key file (JSON)`);
  }
  if (typeof o.id !== 'string' || !namePattern.test(o.id))
    throw new TrolleyError('invalid_argument', `${file}: missing or bad "id"`);
  if (!memberRoles.includes(o.role as MemberRole))
    throw new TrolleyError('invalid_argument', `${file}: "role" must be node, proxy or operator`);
  return { id: o.id, role: o.role as MemberRole, publicKey: parseKey(o.publicKey, `publicKey in ${file}`) };
}

function publicOf(secretKey: string): string {
  return createPublicKey(privateKeyObject(secretKey)).export({ format: 'jwk' }).x as string;
}

/** PKCS#8 DER of an X25519 secret key, before its 32 bytes (RFC 8410). */
const x25519Pkcs8Prefix = Buffer.from('302e020100300506032b656e04220420', 'hex');

function privateKeyObject(secretKey: string): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([x25519Pkcs8Prefix, Buffer.from(secretKey, 'base64url')]),
    format: 'der',
    type: 'pkcs8',
  });
}

// ---- the keyring ----------------------------------------------------------------------------------

/**
 * The members a process trusts: every .pub in its keys folder. Re-read when the folder changes
 * (a member added by copying its .pub), at most once a second.
 */
export class Keyring {
  private byKey = new Map<string, MemberKey>();
  private byId = new Map<string, MemberKey>();
  private readMs = 0;
  private folderMtimeMs = -1;

  constructor(
    readonly dir: string,
    private readonly onProblem: (problem: string) => void = () => undefined,
  ) {
    this.reload();
  }

  /** The member holding `publicKey` (base64url), if it is in the keyring. */
  member(publicKey: string): MemberKey | undefined {
    this.refresh();
    const m = this.byKey.get(publicKey);
    if (m !== undefined) return m;
    // A member just added (its .pub copied in) must not wait for the next re-read.
    this.refresh(true);
    return this.byKey.get(publicKey);
  }

  /** The member named `id` (a node ID, a proxy's or operator's name). */
  named(id: string): MemberKey | undefined {
    this.refresh();
    const m = this.byId.get(id);
    if (m !== undefined) return m;
    this.refresh(true);
    return this.byId.get(id);
  }

  /** Whether `id` names a storage node of the keyring. */
  isNode(id: string): boolean {
    return this.named(id)?.role === 'node';
  }

  members(): MemberKey[] {
    this.refresh();
    return [...this.byKey.values()];
  }

  private refresh(immediately = false): void {
    const now = Date.now();
    if (!immediately && now - this.readMs < 1_000) return;
    this.readMs = now;
    let mtime: number;
    try {
      mtime = statSync(this.dir).mtimeMs;
    } catch {
      return;
    }
    if (mtime !== this.folderMtimeMs) this.reload();
  }

  private reload(): void {
    const byKey = new Map<string, MemberKey>();
    const byId = new Map<string, MemberKey>();
    let names: string[];
    try {
      this.folderMtimeMs = statSync(this.dir).mtimeMs;
      names = readdirSync(this.dir).filter((n) => n.endsWith('.pub'));
    } catch {
      this.onProblem(`keys folder ${this.dir} cannot be read`);
      names = [];
    }
    for (const name of names.sort()) {
      try {
        const k = parseMemberFile(readFileSync(join(this.dir, name), 'utf8'), name);
        if (byId.has(k.id)) {
          this.onProblem(`two keys for ${k.id} in ${this.dir}; kept the first`);
          continue;
        }
        byKey.set(k.publicKey, k);
        byId.set(k.id, k);
      } catch (e) {
        this.onProblem(`${name} skipped: ${(e as Error).message}`);
      }
    }
    this.byKey = byKey;
    this.byId = byId;
    this.readMs = Date.now();
  }
}

// ---- credentials -----------------------------------------------------------------------------------

/**
 * Makes and checks the credential of frames sent to a ROUTER: the sender's public key, and the
 * first 16 bytes of HMAC-SHA256(X25519(sender, receiver), "trolley member v1" ‖ sender ‖ receiver).
 * Shared secrets are computed once per peer and kept (a keyring is small).
 */
export class Credentials {
  private readonly secret: KeyObject;
  private readonly publicBytes: Buffer;
  private readonly made = new Map<string, Buffer>();
  private readonly expected = new Map<string, Buffer>();

  constructor(readonly identity: Identity) {
    this.secret = privateKeyObject(identity.secretKey);
    this.publicBytes = Buffer.from(identity.publicKey, 'base64url');
  }

  /** The credential for frames this process sends to the member whose key is `receiver`. */
  for(receiver: string): Buffer {
    let c = this.made.get(receiver);
    if (c === undefined) {
      const token = this.token(receiver, this.publicBytes, Buffer.from(receiver, 'base64url'));
      c = Buffer.concat([this.publicBytes, token]);
      this.made.set(receiver, c);
    }
    return c;
  }

  /**
   * Whether `credential` is valid for this process as receiver, coming from the holder of
   * `sender` (its first 32 bytes). Ask only for keys of the keyring: the shared secrets kept
   * are one per member.
   */
  check(credential: Uint8Array, sender: string): boolean {
    if (credential.length !== credentialBytes) return false;
    let expected = this.expected.get(sender);
    if (expected === undefined) {
      expected = this.token(sender, Buffer.from(sender, 'base64url'), this.publicBytes);
      this.expected.set(sender, expected);
    }
    return timingSafeEqual(Buffer.from(credential.buffer, credential.byteOffset + keyBytes, 16), expected);
  }

  private token(peer: string, from: Buffer, to: Buffer): Buffer {
    const shared = diffieHellman({
      privateKey: this.secret,
      publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: peer }, format: 'jwk' }),
    });
    return createHmac('sha256', shared)
      .update('trolley member v1')
      .update(from)
      .update(to)
      .digest()
      .subarray(0, 16);
  }
}

/** The key a refused credential claims, for the log line. */
export function claimedKey(credential: Uint8Array): string {
  return credential.length >= keyBytes
    ? `key ${Buffer.from(credential.buffer, credential.byteOffset, keyBytes).toString('base64url')}`
    : `${credential.length} bytes`;
}

// ---- addresses --------------------------------------------------------------------------------------

/**
 * Splits `tcp://host:port#KEY` into the endpoint and the server's public key. A ZeroMQ endpoint
 * never holds '#', so the key is whatever follows the first one.
 */
export function splitAddress(address: string): { endpoint: string; serverKey: string | undefined } {
  const at = address.indexOf('#');
  if (at < 0) return { endpoint: address, serverKey: undefined };
  const serverKey = address.slice(at + 1);
  if (!isKey(serverKey))
    throw new TrolleyError(
      'invalid_argument',
      `the key after # in ${address} is not a CURVE public key (43 base64url characters)`,
    );
  return { endpoint: address.slice(0, at), serverKey };
}

export function withKey(endpoint: string, publicKey: string): string {
  return `${splitAddress(endpoint).endpoint}#${publicKey}`;
}

// ---- Z85 (ZeroMQ RFC 32), the key encoding libzmq takes -----------------------------------------------

const z85Alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

export function z85(key: string): string {
  const bytes = Buffer.from(key, 'base64url');
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = (z85Alphabet[value % 85] as string) + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

// ---- a member's authentication, as its sockets use it -------------------------------------------------

/**
 * What a member process needs to speak on member ports: its identity, its keyring, and its
 * credentials. Absent (an insecure cluster, for benchmarks only), a frame's first frame is a bare
 * claim "role:id" that nobody checks.
 */
export class MemberAuth {
  readonly credentials: Credentials | undefined;

  constructor(
    /** Who this process says it is (its key's ID and role when secure). */
    readonly self: { id: string; role: MemberRole },
    readonly keyring: Keyring | undefined,
    identity: Identity | undefined,
  ) {
    this.credentials = identity === undefined ? undefined : new Credentials(identity);
  }

  /** Loads ID.key and the keyring from `dir`; undefined dir: insecure. */
  static load(
    dir: string | undefined,
    self: { id: string; role: MemberRole },
    onProblem: (problem: string) => void,
  ): MemberAuth {
    if (dir === undefined) return new MemberAuth(self, undefined, undefined);
    const identity = readIdentity(dir, self.id);
    if (identity.role !== self.role)
      throw new TrolleyError(
        'invalid_argument',
        `${dir}/${self.id}.key is a ${identity.role}'s key, not a ${self.role}'s`,
      );
    return new MemberAuth(self, new Keyring(dir, onProblem), identity);
  }

  get secure(): boolean {
    return this.credentials !== undefined;
  }

  /** This member's key pair (secure only). */
  get keys(): KeyPair | undefined {
    return this.credentials?.identity;
  }

  /** The first frame of what this member sends to the member whose key is `receiverKey`. */
  credentialFor(receiverKey: string | undefined): Uint8Array {
    if (this.credentials === undefined) return Buffer.from(`${this.self.role}:${this.self.id}`);
    if (receiverKey === undefined) throw new TrolleyError('invalid_argument', 'no key for the receiver');
    return this.credentials.for(receiverKey);
  }

  /** Who sent a frame whose first frame is `credential`; undefined: not a member (refuse it). */
  sender(credential: Uint8Array): { id: string; role: MemberRole } | undefined {
    if (this.credentials === undefined) {
      const [role, id] = Buffer.from(credential).toString().split(':');
      return memberRoles.includes(role as MemberRole) && id !== undefined && id !== ''
        ? { role: role as MemberRole, id }
        : undefined;
    }
    if (credential.length !== credentialBytes) return undefined;
    const key = Buffer.from(credential.buffer, credential.byteOffset, keyBytes).toString('base64url');
    const member = this.keyring?.member(key);
    if (member === undefined || !this.credentials.check(credential, key)) return undefined;
    return { id: member.id, role: member.role };
  }

  /** The public key of the member named `id` (secure), undefined if the keyring has none. */
  keyOf(id: string): string | undefined {
    return this.keyring?.named(id)?.publicKey;
  }
}
