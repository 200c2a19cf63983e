// The contract every NodeTransport implementation passes (the in-memory network, ZeroMQ): frames
// arrive intact, replies find their way back to whoever asked, many frames all arrive in order
// between one pair, and sending to an unknown node is harmless.

import { describe, expect, it } from 'vitest';
import type { NodeTransport, ReplyTo } from '../ports.ts';

export type FrameHandler = (frame: Uint8Array, replyTo: ReplyTo) => void;

export interface TransportHarness {
  /** Creates the endpoint `name` (one of the names the harness was made with). */
  endpoint(name: string, handler: FrameHandler): Promise<NodeTransport>;
  /** Lets frames in flight arrive (deliver queued frames, or wait a little). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function eventually(
  condition: () => boolean,
  settle: () => Promise<void>,
  rounds = 500,
): Promise<void> {
  for (let i = 0; i < rounds && !condition(); i++) await settle();
  expect(condition()).toBe(true);
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

/** A plain Uint8Array copy (a transport may hand over a Buffer or a view into a larger buffer). */
const copy = (f: Uint8Array): Uint8Array => new Uint8Array(f);

export function nodeTransportContract(
  name: string,
  make: (names: string[]) => Promise<TransportHarness>,
): void {
  describe(`NodeTransport contract: ${name}`, () => {
    const withHarness = async (names: string[], f: (h: TransportHarness) => Promise<void>): Promise<void> => {
      const h = await make(names);
      try {
        await f(h);
      } finally {
        await h.close();
      }
    };

    it('delivers a frame intact and routes the reply back to the sender', () =>
      withHarness(['a', 'b'], async (h) => {
        const atA: Uint8Array[] = [];
        const atB: Uint8Array[] = [];
        const a = await h.endpoint('a', (f) => atA.push(copy(f)));
        const b = await h.endpoint('b', (f, replyTo) => {
          atB.push(copy(f));
          b.reply(replyTo, Uint8Array.from([...f].reverse()));
        });
        const frame = bytes(1000, 7);
        a.send('b', frame);
        await eventually(
          () => atA.length === 1,
          () => h.settle(),
        );
        expect(atB[0]).toEqual(frame);
        expect(atA[0]).toEqual(Uint8Array.from([...frame].reverse()));
      }));

    it('delivers many frames between one pair, all of them, in order', () =>
      withHarness(['a', 'b'], async (h) => {
        const seen: number[] = [];
        const a = await h.endpoint('a', () => undefined);
        await h.endpoint('b', (f) => seen.push((f[0] as number) * 256 + (f[1] as number)));
        for (let i = 0; i < 500; i++) a.send('b', Uint8Array.from([i >> 8, i & 255, 1, 2, 3]));
        await eventually(
          () => seen.length === 500,
          () => h.settle(),
        );
        expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
      }));

    it('carries large frames (1 MiB)', () =>
      withHarness(['a', 'b'], async (h) => {
        const got: Uint8Array[] = [];
        const a = await h.endpoint('a', () => undefined);
        await h.endpoint('b', (f) => got.push(copy(f)));
        const big = bytes(1 << 20, 3);
        a.send('b', big);
        await eventually(
          () => got.length === 1,
          () => h.settle(),
        );
        expect(got[0]).toEqual(big);
      }));

    it('answers each of several askers through its own route', () =>
      withHarness(['a', 'b', 'c'], async (h) => {
        const atA: number[] = [];
        const atC: number[] = [];
        const a = await h.endpoint('a', (f) => atA.push(f[0] as number));
        const c = await h.endpoint('c', (f) => atC.push(f[0] as number));
        const b = await h.endpoint('b', (f, replyTo) =>
          b.reply(replyTo, Uint8Array.from([(f[0] as number) + 100])),
        );
        for (let i = 0; i < 20; i++) {
          a.send('b', Uint8Array.from([i]));
          c.send('b', Uint8Array.from([50 + i]));
        }
        await eventually(
          () => atA.length === 20 && atC.length === 20,
          () => h.settle(),
        );
        expect(atA.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
        expect(atC.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => 150 + i));
      }));

    it('sending to an unknown node neither throws nor disturbs the others', () =>
      withHarness(['a', 'b'], async (h) => {
        const got: Uint8Array[] = [];
        const a = await h.endpoint('a', () => undefined);
        await h.endpoint('b', (f) => got.push(f));
        expect(() => a.send('nobody', Uint8Array.from([1]))).not.toThrow();
        a.send('b', Uint8Array.from([2]));
        await eventually(
          () => got.length === 1,
          () => h.settle(),
        );
      }));
  });
}
