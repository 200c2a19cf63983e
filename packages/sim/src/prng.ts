// The simulator's one source of chance: sfc32 (Chris Doty-Humphrey's Small Fast Counting
// generator, 128 bits of state), seeded from one 32-bit seed through splitmix32. Everything random
// in a run — faults, delays, client choices, the storage nodes' Random port — is drawn from a
// generator forked off the run's root, so a seed replays the whole run. Not for security.

import type { Random } from '@trolley/core';

export class Prng implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4_294_967_296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Picks by weight: `options` are [weight, value] pairs. */
  weighted<T>(options: readonly (readonly [number, T])[]): T {
    const total = options.reduce((s, [w]) => s + w, 0);
    let x = this.float() * total;
    for (const [w, v] of options) {
      if (x < w) return v;
      x -= w;
    }
    return (options[options.length - 1] as readonly [number, T])[1];
  }

  /** Random port (core/ports.ts): fills `bytes`. */
  fill(bytes: Uint8Array): Uint8Array {
    for (let i = 0; i < bytes.length; i += 4) {
      const x = this.u32();
      for (let j = 0; j < 4 && i + j < bytes.length; j++) bytes[i + j] = (x >>> (8 * j)) & 255;
    }
    return bytes;
  }

  /** An independent generator whose seed is drawn from this one. */
  fork(): Prng {
    return new Prng(this.u32());
  }
}
