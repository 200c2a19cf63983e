// Symmetric binary writer and reader (the y-protocols habit: every writeX has its readX).
// Unsigned LEB128 varints up to 2^53 - 1, zigzag for signed values, length-prefixed UTF-8.
// The reader is bounded: every read checks the bytes left, every count is checked against a
// limit and against the bytes left, and a failure is a DecodeFailure with a code, never a crash.

import type { ErrorCode } from '../errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The buffer Writer.reusing() lends, kept between uses up to this size. */
let spare: Uint8Array | undefined = new Uint8Array(4096);
const SPARE_BYTES_MAX = 1024 * 1024;

export class Writer {
  private buf: Uint8Array;
  private pos = 0;
  private borrowed = false;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(initialBytes);
  }

  /**
   * A writer on the module's spare buffer (no allocation but the result), for the hot encoders.
   * finish() hands the buffer back.
   */
  static reusing(): Writer {
    const w = new Writer(0);
    // The spare is out only while another writer is unfinished (or one threw): then take a
    // fresh buffer, which becomes the spare when this writer finishes.
    w.buf = spare ?? new Uint8Array(4096);
    w.borrowed = true;
    spare = undefined;
    return w;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(64, this.buf.length * 2);
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zigzag: 0, -1, 1, -2, … → 0, 1, 2, 3, … */
  svarint(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    // ASCII fast path: most names are short ASCII.
    let ascii = s.length < 128;
    for (let i = 0; ascii && i < s.length; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
    if (ascii) {
      this.room(1 + s.length);
      this.buf[this.pos++] = s.length;
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    this.bytes(encoder.encode(s));
  }

  finish(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    if (this.borrowed) {
      this.borrowed = false;
      if (this.buf.length <= SPARE_BYTES_MAX) spare = this.buf;
      else spare = new Uint8Array(4096);
    }
    return out;
  }
}

/** Internal to decoding: thrown by the reader, turned into a Result at the decoder's edge. */
export class DecodeFailure extends Error {
  constructor(
    readonly code: Extract<ErrorCode, `decode_${string}` | 'limit_exceeded'>,
    message: string,
  ) {
    super(message);
  }
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get left(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  fail(message: string): never {
    throw new DecodeFailure('decode_malformed', `${message} at byte ${this.pos}`);
  }

  u8(): number {
    if (this.pos >= this.buf.length)
      throw new DecodeFailure('decode_truncated', `input ends at byte ${this.pos}`);
    return this.buf[this.pos++] as number;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (i > 0 && b === 0) this.fail('non-minimal varint');
        if (!Number.isSafeInteger(v)) this.fail('varint beyond 2^53');
        return v;
      }
      scale *= 0x80;
    }
    return this.fail('varint longer than 8 bytes');
  }

  svarint(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A count of elements that each take at least `bytesEach` bytes, bounded by `max`. */
  count(max: number, what: string, bytesEach = 1): number {
    const n = this.varint();
    if (n > max) throw new DecodeFailure('limit_exceeded', `${n} ${what}; the limit is ${max}`);
    if (n * bytesEach > this.left)
      throw new DecodeFailure('decode_truncated', `${n} ${what} cannot fit in ${this.left} bytes`);
    return n;
  }

  bytes(max: number): Uint8Array {
    const n = this.count(max, 'bytes');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(maxBytes: number): string {
    const n = this.count(maxBytes, 'bytes');
    if (n <= 32) {
      // Short ASCII, the common case: build the string directly (TextDecoder costs more here).
      let s = '';
      const end = this.pos + n;
      for (let i = this.pos; i < end; i++) {
        const c = this.buf[i] as number;
        if (c > 0x7f) break;
        s += String.fromCharCode(c);
      }
      if (s.length === n) {
        this.pos = end;
        return s;
      }
    }
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return decoder.decode(b);
    } catch {
      return this.fail('invalid UTF-8');
    }
  }
}
