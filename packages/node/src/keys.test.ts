import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrolleyError } from '@trolley/core';
import {
  Credentials,
  Keyring,
  MemberAuth,
  ensureMemberKey,
  readIdentity,
  splitAddress,
  withKey,
  writeMemberKey,
  z85,
} from './keys.ts';

const dirs: string[] = [];
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'trolley-keys-test-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('key files', () => {
  it('writes the secret owner-only, the public half readable, and reads them back', () => {
    const dir = folder();
    const made = writeMemberKey(dir, 'n1', 'node');
    expect(statSync(join(dir, 'n1.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
    expect(readIdentity(dir, 'n1')).toEqual(made);
    expect(ensureMemberKey(dir, 'n1', 'node')).toEqual(made);
    expect(() => writeMemberKey(dir, 'n1', 'node')).toThrow(/exists/);
  });

  it('refuses a secret others may read, a missing key, and a bad name', () => {
    const dir = folder();
    writeMemberKey(dir, 'p', 'proxy');
    chmodSync(join(dir, 'p.key'), 0o644);
    expect(() => readIdentity(dir, 'p')).toThrow(/chmod 600/);
    expect(() => readIdentity(dir, 'nobody')).toThrow(/trolley keys new nobody/);
    expect(() => writeMemberKey(dir, '../x', 'node')).toThrow(TrolleyError);
  });

  it("refuses a member loaded in another role than its key's", () => {
    const dir = folder();
    writeMemberKey(dir, 'n1', 'node');
    expect(() => MemberAuth.load(dir, { id: 'n1', role: 'operator' }, () => undefined)).toThrow(/node's key/);
  });
});

describe('keyring', () => {
  it('names members by key and by ID, and sees a .pub copied in later', () => {
    const dir = folder();
    const other = folder();
    const n1 = writeMemberKey(dir, 'n1', 'node');
    const ring = new Keyring(dir);
    expect(ring.member(n1.publicKey)).toEqual({ id: 'n1', role: 'node', publicKey: n1.publicKey });
    const n4 = writeMemberKey(other, 'n4', 'node');
    expect(ring.named('n4')).toBeUndefined();
    copyFileSync(join(other, 'n4.pub'), join(dir, 'n4.pub'));
    expect(ring.member(n4.publicKey)?.id).toBe('n4');
    expect(ring.isNode('n4')).toBe(true);
  });
});

describe('credentials', () => {
  it('are valid only from their sender to their receiver', () => {
    const dir = folder();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => writeMemberKey(dir, n, 'node')) as [
      ReturnType<typeof writeMemberKey>,
      ReturnType<typeof writeMemberKey>,
      ReturnType<typeof writeMemberKey>,
    ];
    const auth = (id: string): MemberAuth => MemberAuth.load(dir, { id, role: 'node' }, () => undefined);
    const fromA = new Credentials(a).for(b.publicKey);
    expect(auth('b').sender(fromA)).toEqual({ id: 'a', role: 'node' });
    // The same credential shown to c (a replay by b) names nobody.
    expect(auth('c').sender(fromA)).toBeUndefined();
    // c cannot make a's: its own token toward b, under a's key, fails.
    const forged = Buffer.concat([
      Buffer.from(a.publicKey, 'base64url'),
      new Credentials(c).for(b.publicKey).subarray(32),
    ]);
    expect(auth('b').sender(forged)).toBeUndefined();
    expect(auth('b').sender(Buffer.from('node:a'))).toBeUndefined();
  });

  it('insecure members claim a role and ID that nobody checks', () => {
    const auth = MemberAuth.load(undefined, { id: 'n1', role: 'node' }, () => undefined);
    expect(auth.secure).toBe(false);
    expect(auth.sender(auth.credentialFor(undefined))).toEqual({ id: 'n1', role: 'node' });
  });
});

describe('addresses', () => {
  it('carry the server key after #', () => {
    const key = writeMemberKey(folder(), 'proxy', 'proxy').publicKey;
    const address = withKey('tcp://127.0.0.1:5555', key);
    expect(splitAddress(address)).toEqual({ endpoint: 'tcp://127.0.0.1:5555', serverKey: key });
    expect(splitAddress('tcp://h:1')).toEqual({ endpoint: 'tcp://h:1', serverKey: undefined });
    expect(() => splitAddress('tcp://h:1#short')).toThrow(/not a CURVE public key/);
  });

  it('converts keys to the Z85 libzmq takes', () => {
    // RFC 32's test vector: these 8 bytes are "HelloWorld".
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85(bytes.toString('base64url'))).toBe('HelloWorld');
  });
});
