import { silentLogger, type Peer } from '@trolley/cloud';
import { nodeTransportContract } from '@trolley/cloud/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Credentials, MemberAuth, newKeyPair, readIdentity, writeMemberKey, z85 } from './keys.ts';
import { ZmqNodeTransport } from './zmq-node-transport.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      server.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** A frame still awaited after this long is taken for a hang: a guard, never a budget. */
const hangGuardMs = 120_000;

/** Polls `condition` every 20 ms until it holds; fails only at the hang guard. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > hangGuardMs)
      throw new Error(`no ${what} in ${hangGuardMs / 1000} s (hang guard)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const keysDirs: string[] = [];
afterAll(() => {
  for (const d of keysDirs) rmSync(d, { recursive: true, force: true });
});

/** A keys folder with a node key for each name (and an operator): the members of a test cluster. */
function keysFor(names: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'trolley-keys-'));
  keysDirs.push(dir);
  for (const n of names) writeMemberKey(dir, n, 'node');
  return dir;
}

async function start(
  name: string,
  keysDir: string,
  peers: Map<string, string>,
  onFrame: (frame: Uint8Array, from: Peer) => void = () => undefined,
): Promise<ZmqNodeTransport> {
  const t = await ZmqNodeTransport.start({
    id: name,
    listen: peers.get(name) as string,
    peers,
    proxies: [],
    logger: silentLogger,
    auth: MemberAuth.load(keysDir, { id: name, role: 'node' }, () => undefined),
  });
  t.onFrame((frame, _replyTo, from) => onFrame(new Uint8Array(frame), from));
  return t;
}

nodeTransportContract('ZeroMQ over loopback, CURVE', async (names) => {
  const keysDir = keysFor(names);
  const peers = new Map<string, string>();
  for (const n of names) peers.set(n, `tcp://127.0.0.1:${await freePort()}`);
  const started: ZmqNodeTransport[] = [];
  // Frames handed to any handler so far, those already reported by settle(), and settle()'s waiter.
  let arrived = 0;
  let reported = 0;
  let wake: (() => void) | undefined;
  return {
    endpoint: async (name, handler) => {
      const t = await start(name, keysDir, peers);
      t.onFrame((frame, replyTo) => {
        try {
          handler(frame, replyTo);
        } finally {
          arrived += 1;
          wake?.();
        }
      });
      started.push(t);
      return t;
    },
    // The contract settles only while frames it awaits are still on their way, a bounded number of
    // times: so each settle waits for the next frame to arrive, not for a fixed while (which, times
    // the contract's rounds, would be a time budget for loopback under load).
    settle: async () => {
      if (arrived === reported)
        await new Promise<void>((resolve, reject) => {
          const guard = setTimeout(() => {
            wake = undefined;
            reject(new Error(`no frame arrived in ${hangGuardMs / 1000} s (hang guard)`));
          }, hangGuardMs);
          wake = () => {
            clearTimeout(guard);
            wake = undefined;
            resolve();
          };
        });
      reported = arrived;
    },
    close: async () => {
      for (const t of started) t.close();
      await new Promise((r) => setTimeout(r, 10));
    },
  };
});

describe('member ports: only members speak, each as itself', () => {
  let keysDir: string;
  const peers = new Map<string, string>();
  const got: { frame: string; from: Peer }[] = [];
  let a: ZmqNodeTransport;
  let b: ZmqNodeTransport;
  const sockets: zmq.Socket[] = [];

  beforeAll(async () => {
    keysDir = keysFor(['a', 'b', 'c']);
    for (const n of ['a', 'b', 'c']) peers.set(n, `tcp://127.0.0.1:${await freePort()}`);
    a = await start('a', keysDir, peers);
    b = await start('b', keysDir, peers, (frame, from) =>
      got.push({ frame: Buffer.from(frame).toString(), from }),
    );
  });

  afterAll(() => {
    for (const s of sockets) s.close();
    a.close();
    b.close();
  });

  /** A DEALER to b's peer port, optionally speaking CURVE with `keys`. */
  function attacker(keys?: { publicKey: string; secretKey: string }): zmq.Dealer {
    const serverKey = readIdentity(keysDir, 'b').publicKey;
    const s = new zmq.Dealer({
      linger: 0,
      sendTimeout: 0,
      ...(keys === undefined
        ? {}
        : {
            curveServerKey: z85(serverKey),
            curvePublicKey: z85(keys.publicKey),
            curveSecretKey: z85(keys.secretKey),
          }),
    });
    sockets.push(s);
    s.connect(peers.get('b') as string);
    return s;
  }

  it('tells the handler which member sent a frame', async () => {
    a.send('b', Buffer.from('hello from a'));
    await until('frame from a', () => got.some((g) => g.frame === 'hello from a'));
    expect(got.find((g) => g.frame === 'hello from a')?.from).toEqual({ role: 'node', id: 'a' });
  });

  it('carries an answer to an answer back to the asker, as the asker (anti-entropy pushes so)', async () => {
    // b answers "ping" through the route it came by; a answers that answer along its own DEALER.
    const c = await start('c', keysDir, peers);
    c.onFrame((frame, replyTo) => {
      if (Buffer.from(frame).toString() === 'pong') c.reply(replyTo, Buffer.from('push from c'));
    });
    b.onFrame((frame, replyTo, from) => {
      got.push({ frame: Buffer.from(frame).toString(), from });
      if (Buffer.from(frame).toString() === 'ping') b.reply(replyTo, Buffer.from('pong'));
    });
    try {
      c.send('b', Buffer.from('ping'));
      await until('push from c', () => got.some((g) => g.frame === 'push from c'));
      expect(got.find((g) => g.frame === 'push from c')?.from).toEqual({ role: 'node', id: 'c' });
    } finally {
      c.close();
    }
  });

  it('refuses the handshake of a socket without CURVE, and of a key not in the keyring', async () => {
    const before = b.handshakesRefused;
    const plain = attacker();
    // A send to a peer that never completes its handshake is queued by libzmq, never delivered.
    void plain.send([Buffer.alloc(48), Buffer.from('plain')]).catch(() => undefined);
    await until('refused plain handshake', () => b.handshakesRefused > before);
    const stranger = attacker(newKeyPair());
    void stranger.send([Buffer.alloc(48), Buffer.from('stranger')]).catch(() => undefined);
    await until('refused stranger handshake', () => b.handshakesRefused > before + 1);
    console.log(`peer port: ${b.handshakesRefused - before} handshakes refused (plain, unknown key)`);
    expect(got.map((g) => g.frame)).not.toContain('plain');
    expect(got.map((g) => g.frame)).not.toContain('stranger');
  });

  it("drops a member's frame that claims another member's credential", async () => {
    // c is a member (its key passes ZAP) but sends a's credential bytes, or garbage.
    const c = readIdentity(keysDir, 'c');
    const socket = attacker(c);
    const bKey = readIdentity(keysDir, 'b').publicKey;
    const asA = new Credentials(readIdentity(keysDir, 'a')).for(bKey);
    const forged = Buffer.from(asA);
    forged[40] = (forged[40] ?? 0) ^ 1; // c cannot make a's token; try a near miss
    const rejected = b.rejected;
    await socket.send([forged, Buffer.from('forged as a')]);
    await socket.send([Buffer.from('node:a'), Buffer.from('claimed as a')]);
    // Then one honest frame from c: once it arrives, the two before it (same connection, in order)
    // have been dealt with.
    await socket.send([new Credentials(c).for(bKey), Buffer.from('honest c')]);
    await until('honest frame from c', () => got.some((g) => g.frame === 'honest c'));
    expect(got.find((g) => g.frame === 'honest c')?.from).toEqual({ role: 'node', id: 'c' });
    expect(b.rejected - rejected).toBe(2);
    expect(got.map((g) => g.frame)).not.toContain('forged as a');
    expect(got.map((g) => g.frame)).not.toContain('claimed as a');
  });
});
