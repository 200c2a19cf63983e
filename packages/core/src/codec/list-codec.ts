// Binary encoding of list documents (full states and deltas) and of causal contexts.
// The grammar is written down in docs/PROTOCOL.md ("List encoding"); the numbers are part of
// the protocol. Decoding returns a Result: bytes from a peer are validated, never asserted on.
// This build writes version 2, or 4 when the list has history, and reads versions 1
// (list-codec-v1.ts), 2, 3 and 4.
//
//   doc      = version:u8 (2) flags:u8 table [vector] [cloud] [title] [deleted] [items] [removals] [horizon]
//            | version:u8 (4) flags:u8 table [vector] [cloud] [title] [deleted] [items] [removals] [horizon]
//              journal                                   version 4: version 2 and the history
//            | version:u8 (3) …the same, journal3        version 3: read only (the first history)
//   flags    = bit0 full · bit1 title · bit2 deleted · bit3 vector · bit4 cloud · bit5 items
//              bit6 removals · bit7 horizon: a section is present iff its bit is set (then non-empty,
//              except title and deleted, which a full state always carries)
//   table    = n:varint (length:varint, 6 bits a base64url character)^n   names, indexed from 0
//   vector   = n:varint (replica counter)^n                  version vector, counters ≥ 1
//   cloud    = n:varint dot^n                                 cloud, less store and record dots
//   title    = dotfun<string>           deleted = n:varint dot^n
//   items    = n:varint (key mask:u8 dotfun^popcount(mask))^n
//              key: the first coded (key-code.ts); each next: shared:varint (UTF-8 bytes shared
//              with the key before) and the rest coded
//              mask bits: 0 display · 1 note · 2 base · 3 wanted · 4 bought
//   dotfun<T>= n:varint (dot value:T)^n   strings: varint length + UTF-8;
//              display: varint 2·m (the key with the words of bit mask m capitalised; 0: the key)
//                       | 2·len + 1 and len bytes of UTF-8
//              base, bought: varint; wanted: zigzag varint
//   removals = n:varint (dot key)^n   key: varint 0 whole list | 1 coded string | 2 + 2·item index
//              | 3 + 2·j, the key of the j-th record before
//   horizon  = n:varint (replica counter)^n
//   journal  = n:varint (n ≥ 1) (dot head:u8 seq at who name n:varint [before:string]
//              [m:varint (name wanted:varint bought:varint note:string)^m])^n
//              head: bits 0–3 kind (the index in historyKinds, journal.ts) · bit 4 before follows
//              (non-empty) · bit 5 items follow (m ≥ 1) · bit 6 at is absolute
//              seq: the first entry's varint, each next zigzag(seq − the entry before's)
//              at: varint ms when bit 6, else zigzag(at − the entry before's)
//              who: varint 0 the entry before's (the first: '') | 2·len + 1 and UTF-8 (a new name)
//                   | 2 + 2·j, the j-th new name written before
//              name: varint 0 '' | 1 the entry's own name (an item's only) | 2 + 2·(m·K + i): the
//                   i-th of the doc's K item keys with the words of bit mask m capitalised
//                   | 2·len + 3 and UTF-8
//              a run of its own in a full doc
//   journal3 = n:varint (n ≥ 1) (dot seq:varint at:varint who:string kind:u8 name:string n:varint
//              before:string m:varint (name:string wanted:varint bought:varint note:string)^m)^n
//   dot      = varint(x · T + replica), T the table size: x is the counter minus one for the first
//              dot of its replica in a run, else 2·(counter − previous − 1) above the previous counter
//              and 2·(previous − counter) + 1 at or below it — dots of one event sit close together. A run is
//              the whole doc in a partial one; in a full one each item and the removals start one.
//
// Every dot appears at most once in a doc; every store and record dot is part of the context (the
// encoder leaves them out of the cloud and the decoder puts them back).

import { assert, err, ok, TrolleyError, type Result } from '../errors.ts';
import { limits } from '../limits.ts';
import { CausalContext, ReplicaTable, dot, dotCounter, dotReplica, type Dot } from '../crdt/dots.ts';
import { historyKinds, type HistoryEntry, type RemovedItem } from '../crdt/journal.ts';
import { ListDoc, forEachItemDot, itemFields, type DotFun, type ItemStore } from '../crdt/list-doc.ts';
import { isItemKey, normaliseName } from '../crdt/names.ts';
import { compareKeys } from '../crdt/read-model.ts';
import { WHOLE_LIST } from '../crdt/removal-log.ts';
import { DecodeFailure, Reader, Writer } from './bytes.ts';
import { readCoded, readPackedId, writeCoded, writePackedId } from './key-code.ts';
import { readListV1, readTable } from './list-codec-v1.ts';
import {
  FLAG_CLOUD,
  FLAG_DELETED,
  FLAG_FULL,
  FLAG_HORIZON,
  FLAG_ITEMS,
  FLAG_REMOVALS,
  FLAG_TITLE,
  FLAG_VECTOR,
  MASK_ALL,
  control,
  readAmount,
  readText,
  readVectorInto,
} from './list-fields.ts';

export const LIST_ENCODING_VERSION = 2;
/** The version written for a list that holds history entries (version 2 and a journal section). */
export const LIST_ENCODING_VERSION_JOURNAL = 4;
/** The first encoding of the history (each entry's fields in full), still read. */
export const LIST_ENCODING_VERSION_JOURNAL_V3 = 3;
const CONTEXT_ENCODING_VERSION = 1;
/** UTF-8 bytes of one item key at most. */
const KEY_BYTES_MAX = limits.itemNameLengthMax * 4;

// ---- dots: runs of close counters ----------------------------------------------------------------

/** The counter state of a run of dots (see the header): per replica, the previous counter. */
class DotRun {
  private prev: number[] = [];

  constructor(readonly tableSize: number) {}

  reset(): void {
    if (this.prev.length > 0) this.prev = [];
  }

  /** The varint of dot (replica r in the written table, counter c). */
  encode(r: number, c: number): number {
    const p = this.prev[r] ?? 0;
    this.prev[r] = c;
    const x = p === 0 ? c - 1 : c > p ? 2 * (c - p - 1) : 2 * (p - c) + 1;
    return x * this.tableSize + r;
  }

  /** The dot of a varint read (a Dot in the decoded table), or -1 when out of range. */
  decode(v: number): number {
    if (this.tableSize === 0) return -1;
    const r = v % this.tableSize;
    const x = (v - r) / this.tableSize;
    const p = this.prev[r] ?? 0;
    const c = p === 0 ? x + 1 : x % 2 === 0 ? p + x / 2 + 1 : p - (x - 1) / 2;
    if (c < 1 || c > limits.dotCounterMax) return -1;
    this.prev[r] = c;
    return dot(r, c);
  }
}

// ---- encoding ----------------------------------------------------------------------------------

/**
 * Encodes a full state or a delta. The encoding is canonical: replicas are renumbered to those
 * the doc uses, in name order, and everything else is sorted, so equal docs encode to equal bytes
 * (and a state's hash names its content).
 */
export function encodeList(doc: ListDoc): Uint8Array {
  // The replicas the doc uses: those of its context (every store and record dot is in it), its
  // stores and records (a hand-built doc may lack them in its context) and its horizon.
  const used: number[] = [];
  const vv = doc.ctx.vv;
  for (let r = 0; r < vv.length; r++) if ((vv[r] ?? 0) > 0) used[r] = 1;
  for (const d of doc.ctx.cloud) used[dotReplica(d)] = 1;
  for (const item of doc.items.values()) forEachItemDot(item, (d) => (used[dotReplica(d)] = 1));
  if (doc.title !== undefined) for (const d of doc.title.keys()) used[dotReplica(d)] = 1;
  if (doc.deleted !== undefined) for (const d of doc.deleted.keys()) used[dotReplica(d)] = 1;
  for (const d of doc.removals.records.keys()) used[dotReplica(d)] = 1;
  const horizon = doc.removals.horizon;
  for (let r = 0; r < horizon.length; r++) if ((horizon[r] ?? 0) > 0) used[r] = 1;
  for (const d of doc.journal.entries.keys()) used[dotReplica(d)] = 1;
  const renumber = new Renumbering(doc.replicas, used);

  const cloud = cloudToWrite(doc);
  const hasVector = nonZero(vv);
  const hasHorizon = nonZero(horizon);
  const w = Writer.reusing();
  const journal = doc.journal.entries;
  w.u8(journal.size > 0 ? LIST_ENCODING_VERSION_JOURNAL : LIST_ENCODING_VERSION);
  w.u8(
    (doc.full ? FLAG_FULL : 0) |
      (doc.title !== undefined ? FLAG_TITLE : 0) |
      (doc.deleted !== undefined ? FLAG_DELETED : 0) |
      (hasVector ? FLAG_VECTOR : 0) |
      (cloud.length > 0 ? FLAG_CLOUD : 0) |
      (doc.items.size > 0 ? FLAG_ITEMS : 0) |
      (doc.removals.records.size > 0 ? FLAG_REMOVALS : 0) |
      (hasHorizon ? FLAG_HORIZON : 0),
  );
  renumber.writeTable(w);
  if (hasVector) writeVector(w, vv, renumber);
  const run = new DotRun(renumber.size);
  if (cloud.length > 0) writeDots(w, cloud, renumber, run);
  if (doc.title !== undefined) writeDotFun(w, doc.title, renumber, run, VALUE_TITLE, '');
  if (doc.deleted !== undefined) writeDots(w, [...doc.deleted.keys()], renumber, run);
  const keys = doc.items.size === 1 ? [...doc.items.keys()] : [...doc.items.keys()].sort(compareKeys);
  if (keys.length > 0) {
    w.varint(keys.length);
    const keyBytes = new KeyBytes();
    for (const key of keys) {
      if (doc.full) run.reset();
      keyBytes.write(w, key);
      writeItem(w, key, doc.items.get(key) as ItemStore, renumber, run);
    }
  }
  if (doc.removals.records.size > 0) {
    if (doc.full) run.reset();
    const position = keys.length > 1 ? new Map(keys.map((k, i) => [k, i])) : undefined;
    const records = renumber.sorted([...doc.removals.records.keys()]);
    w.varint(records.length);
    // Keys written in full so far: a later record of the same key points back at the first.
    let written: Map<string, number> | undefined;
    for (let j = 0; j < records.length; j++) {
      const d = records[j] as Dot;
      writeDot(w, d, renumber, run);
      // The key: 0 the whole list, 1 a coded name follows, 2 + 2i the i-th item above,
      // 3 + 2j the key of the j-th record before.
      const key = doc.removals.records.get(d) as string;
      const at = position !== undefined ? position.get(key) : keys[0] === key ? 0 : undefined;
      const before = written?.get(key);
      if (key === WHOLE_LIST) w.varint(0);
      else if (at !== undefined) w.varint(2 + 2 * at);
      else if (before !== undefined) w.varint(3 + 2 * before);
      else {
        w.varint(1);
        const b = utf8(key);
        writeCoded(w, b, 0, b.length);
        (written ??= new Map()).set(key, j);
      }
    }
  }
  if (hasHorizon) writeVector(w, horizon, renumber);
  if (journal.size > 0) {
    if (doc.full) run.reset();
    const dots = renumber.sorted([...journal.keys()]);
    w.varint(dots.length);
    const entries = new EntryWriter(keys);
    for (const d of dots) {
      writeDot(w, d, renumber, run);
      entries.write(w, journal.get(d) as HistoryEntry);
    }
  }
  return w.finish();
}

// ---- history entries (version 4) ---------------------------------------------------------------
//
// Each entry says only what the entry before it in the doc does not: seq and time as differences
// (entries of one writer follow each other, in counter order), the device name by reference once
// written, and an item's name by reference to an item key of the doc when it is that key in word
// case (a delta always mentions the item its entry is about). See the header and PROTOCOL.md §4.2.

/** Head bits above the kind (bits 0–3). */
const HEAD_BEFORE = 16;
const HEAD_ITEMS = 32;
const HEAD_AT_ABSOLUTE = 64;
const HEAD_KIND = 15;
/** The greatest time difference written as one (its zigzag stays a safe integer). */
const AT_DIFFERENCE_MAX = 2 ** 50;
/** The greatest reference to a key in word case (mask · keys + index). */
const NAME_REFERENCE_MAX = 2 ** 48;
/** Name codes: 0 empty, 1 the entry's own name (removed items), 2 + 2·reference, 3 + 2·bytes. */
const NAME_EMPTY = 0;
const NAME_OF_ENTRY = 1;

class EntryWriter {
  private seq = -1;
  private at = 0;
  private who = '';
  /** Device names written so far, in order of first writing. */
  private readonly whos: string[] = [];
  private keyIndex: Map<string, number> | undefined;

  constructor(private readonly keys: readonly string[]) {}

  write(w: Writer, e: HistoryEntry): void {
    const first = this.seq < 0;
    const atDifference = e.atMs - this.at;
    const atAbsolute = first || Math.abs(atDifference) > AT_DIFFERENCE_MAX;
    w.u8(
      historyKinds.indexOf(e.kind) |
        (e.before !== '' ? HEAD_BEFORE : 0) |
        (e.items.length > 0 ? HEAD_ITEMS : 0) |
        (atAbsolute ? HEAD_AT_ABSOLUTE : 0),
    );
    if (first) w.varint(e.seq);
    else w.svarint(e.seq - this.seq);
    if (atAbsolute) w.varint(e.atMs);
    else w.svarint(atDifference);
    if (e.who === this.who) w.varint(0);
    else {
      const j = this.whos.indexOf(e.who);
      if (j >= 0) w.varint(2 + 2 * j);
      else {
        writeRaw(w, 1, utf8(e.who));
        this.whos.push(e.who);
      }
    }
    this.writeName(w, e.name, undefined);
    w.varint(e.n);
    if (e.before !== '') w.string(e.before);
    if (e.items.length > 0) {
      w.varint(e.items.length);
      for (const i of e.items) {
        this.writeName(w, i.name, e.name);
        w.varint(i.wanted);
        w.varint(i.bought);
        w.string(i.note);
      }
    }
    this.seq = e.seq;
    this.at = e.atMs;
    this.who = e.who;
  }

  private writeName(w: Writer, name: string, entryName: string | undefined): void {
    if (name === '') w.varint(NAME_EMPTY);
    else if (name === entryName) w.varint(NAME_OF_ENTRY);
    else {
      const ref = this.reference(name);
      if (ref >= 0) w.varint(2 + 2 * ref);
      else writeRaw(w, 3, utf8(name));
    }
  }

  /** mask · K + i when `name` is the i-th of the doc's K keys with the words of mask capitalised; else -1. */
  private reference(name: string): number {
    const keys = this.keys;
    if (keys.length === 0) return -1;
    const key = normaliseName(name);
    let index: number | undefined;
    if (keys.length === 1) index = keys[0] === key ? 0 : undefined;
    else {
      this.keyIndex ??= new Map(keys.map((k, i) => [k, i]));
      index = this.keyIndex.get(key);
    }
    if (index === undefined) return -1;
    const mask = key === name ? 0 : wordCaseMask(key, name);
    if (mask < 0) return -1;
    const ref = mask * keys.length + index;
    return ref <= NAME_REFERENCE_MAX ? ref : -1;
  }
}

/** Text as varint(base + 2·bytes) and its UTF-8 bytes. */
function writeRaw(w: Writer, base: number, bytes: Uint8Array): void {
  w.varint(base + 2 * bytes.length);
  for (const b of bytes) w.u8(b);
}

function nonZero(vv: readonly number[]): boolean {
  for (const c of vv) if ((c ?? 0) > 0) return true;
  return false;
}

/** The context's cloud less the dots the decoder puts back: those held in stores and records. */
function cloudToWrite(doc: ListDoc): Dot[] {
  const cloud = doc.ctx.cloud;
  if (cloud.size === 0) return [];
  const out: Dot[] = [];
  if (doc.items.size <= 2) {
    // A delta: look each dot up in its few stores.
    for (const d of cloud) if (!holds(doc, d)) out.push(d);
    return out;
  }
  const held = new Set<Dot>(doc.removals.records.keys());
  for (const d of doc.journal.entries.keys()) held.add(d);
  if (doc.title !== undefined) for (const d of doc.title.keys()) held.add(d);
  if (doc.deleted !== undefined) for (const d of doc.deleted.keys()) held.add(d);
  for (const item of doc.items.values()) forEachItemDot(item, (d) => held.add(d));
  for (const d of cloud) if (!held.has(d)) out.push(d);
  return out;
}

function holds(doc: ListDoc, d: Dot): boolean {
  if (
    doc.removals.records.has(d) ||
    doc.journal.entries.has(d) ||
    doc.title?.has(d) === true ||
    doc.deleted?.has(d) === true
  )
    return true;
  for (const item of doc.items.values())
    for (let i = 0; i < itemFields.length; i++) if (item.peek(i)?.has(d) === true) return true;
  return false;
}

// How values are written: strings (a note, the title), display names, amounts ≥ 0 (base), ≥ 1
// (bought), non-zero signed amounts (wanted).
const VALUE_STRING = 0;
const VALUE_DISPLAY = 1;
const VALUE_NATURAL = 2;
const VALUE_SIGNED = 3;
const VALUE_POSITIVE = 4;
const VALUE_TITLE = 5;
/** How each item field's values are written, in itemFields order. */
const fieldValue = [VALUE_DISPLAY, VALUE_STRING, VALUE_NATURAL, VALUE_SIGNED, VALUE_POSITIVE] as const;

function writeItem(w: Writer, key: string, item: ItemStore, renumber: Renumbering, run: DotRun): void {
  let mask = 0;
  for (let i = 0; i < itemFields.length; i++) if (item.peek(i) !== undefined) mask |= 1 << i;
  w.u8(mask);
  for (let i = 0; i < itemFields.length; i++) {
    const f = item.peek(i);
    if (f !== undefined) writeDotFun(w, f, renumber, run, fieldValue[i] as number, key);
  }
}

function writeDotFun(
  w: Writer,
  f: DotFun<unknown>,
  renumber: Renumbering,
  run: DotRun,
  kind: number,
  key: string,
): void {
  w.varint(f.size);
  for (const d of f.size === 1 ? f.keys() : renumber.sorted([...f.keys()])) {
    writeDot(w, d, renumber, run);
    const v = f.get(d);
    if (kind === VALUE_STRING || kind === VALUE_TITLE) w.string(v as string);
    else if (kind === VALUE_DISPLAY) writeDisplay(w, key, v as string);
    else if (kind === VALUE_SIGNED) w.svarint(v as number);
    else w.varint(v as number);
  }
}

function writeDots(w: Writer, dots: Dot[], renumber: Renumbering, run: DotRun): void {
  w.varint(dots.length);
  for (const d of renumber.sorted(dots)) writeDot(w, d, renumber, run);
}

function writeDot(w: Writer, d: Dot, renumber: Renumbering, run: DotRun): void {
  w.varint(run.encode(renumber.of(dotReplica(d)), dotCounter(d)));
}

function writeVector(w: Writer, vv: readonly number[], renumber: Renumbering): void {
  const entries: [number, number][] = [];
  for (let r = 0; r < vv.length; r++) {
    const c = vv[r] ?? 0;
    if (c > 0) entries.push([renumber.of(r), c]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  w.varint(entries.length);
  for (const [r, c] of entries) {
    w.varint(r);
    w.varint(c);
  }
}

/**
 * The name as typed, relative to its key: 2·m when it is the key with the first character of each
 * word in bit mask m upper-cased (0: the key itself), else 2·length + 1 and the UTF-8 bytes.
 */
function writeDisplay(w: Writer, key: string, display: string): void {
  const mask = display === key ? 0 : wordCaseMask(key, display);
  if (mask >= 0) {
    w.varint(2 * mask);
    return;
  }
  const bytes = utf8(display);
  w.varint(2 * bytes.length + 1);
  for (const b of bytes) w.u8(b);
}

/** Words of a key (it is whitespace-collapsed, so one space apart) that a case mask may name. */
const WORDS_MAX = 30;

/** The mask m with applyWordCase(key, m) === display, or -1 when there is none. */
function wordCaseMask(key: string, display: string): number {
  if (key.length !== display.length) return -1;
  let mask = 0;
  let word = 0;
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    const start = i === 0 || key.charCodeAt(i - 1) === 32;
    if (start && k !== 32) {
      if (word >= WORDS_MAX) return -1;
      const upper = key.charAt(i).toUpperCase();
      if (upper !== key.charAt(i) && upper === display.charAt(i)) mask |= 1 << word;
      else if (display.charCodeAt(i) !== k) return -1;
      word++;
    } else if (display.charCodeAt(i) !== k) return -1;
  }
  return mask;
}

/** The key with the first character of each word in `mask` upper-cased; undefined if a bit names no casable word. */
function applyWordCase(key: string, mask: number): string | undefined {
  let out = '';
  let word = 0;
  let from = 0;
  for (let i = 0; i < key.length; i++) {
    const start = i === 0 || key.charCodeAt(i - 1) === 32;
    if (!start || key.charCodeAt(i) === 32) continue;
    if (word < WORDS_MAX && (mask & (1 << word)) !== 0) {
      const upper = key.charAt(i).toUpperCase();
      if (upper.length !== 1 || upper === key.charAt(i)) return undefined;
      out += key.slice(from, i) + upper;
      from = i + 1;
    }
    word++;
  }
  if (mask >= 2 ** Math.min(word, WORDS_MAX)) return undefined;
  return out + key.slice(from);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string (plain ASCII without the encoder). */
function utf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Writes sorted keys front-coded: each after the first says how many bytes it shares with the last. */
class KeyBytes {
  // Two scratch buffers, the last key's and this one's (encoding is synchronous: shared).
  private prev = keyScratch[0];
  private cur = keyScratch[1];
  private prevLength = -1;

  write(w: Writer, key: string): void {
    const b = this.cur;
    const n = utf8Into(key, b);
    let shared = 0;
    if (this.prevLength >= 0) {
      const prev = this.prev;
      const m = Math.min(this.prevLength, n);
      while (shared < m && prev[shared] === b[shared]) shared++;
      w.varint(shared);
    }
    writeCoded(w, b, shared, n);
    this.cur = this.prev;
    this.prev = b;
    this.prevLength = n;
  }
}

const keyScratch = [new Uint8Array(KEY_BYTES_MAX), new Uint8Array(KEY_BYTES_MAX)] as const;

/** Writes the UTF-8 bytes of a key into `into` (room for KEY_BYTES_MAX); returns their count. */
function utf8Into(s: string, into: Uint8Array): number {
  assert(s.length <= into.length, 'a key within KEY_BYTES_MAX bytes');
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      const { read, written } = encoder.encodeInto(s, into);
      assert(read === s.length, 'a key within KEY_BYTES_MAX bytes');
      return written;
    }
    into[i] = c;
  }
  return s.length;
}

/** Maps a document's replica indices to dense indices over the replicas it uses, in name order. */
class Renumbering {
  private readonly map: number[] = [];
  private readonly names: string[];

  constructor(table: ReplicaTable, used: readonly number[]) {
    const order: number[] = [];
    for (let r = 0; r < used.length; r++) if (used[r] === 1) order.push(r);
    if (order.length > 1) order.sort((a, b) => compareKeys(table.name(a), table.name(b)));
    for (let i = 0; i < order.length; i++) this.map[order[i] as number] = i;
    this.names = order.map((r) => table.name(r));
  }

  get size(): number {
    return this.names.length;
  }

  of(r: number): number {
    return this.map[r] as number;
  }

  /** Dots in encoding order: by new replica index, then counter. */
  sorted(dots: Dot[]): Dot[] {
    if (this.names.length === 1) return dots.sort((a, b) => a - b);
    return dots.sort(
      (a, b) => this.of(dotReplica(a)) - this.of(dotReplica(b)) || dotCounter(a) - dotCounter(b),
    );
  }

  writeTable(w: Writer): void {
    w.varint(this.names.length);
    for (const n of this.names) writePackedId(w, n);
  }

  /** The version 1 table (plain strings), still used by the context encoding. */
  writePlainTable(w: Writer): void {
    w.varint(this.names.length);
    for (const n of this.names) w.string(n);
  }
}

// ---- decoding ----------------------------------------------------------------------------------

/** Decodes a full state or a delta; any malformed, truncated or oversized input is an error. */
export function decodeList(bytes: Uint8Array): Result<ListDoc> {
  if (bytes.length > limits.encodedListBytesMax)
    return err(
      new TrolleyError(
        'limit_exceeded',
        `encoded list of ${bytes.length} bytes; the limit is ${limits.encodedListBytesMax}`,
      ),
    );
  try {
    const r = new Reader(bytes);
    const version = r.u8();
    if (version === LIST_ENCODING_VERSION) return ok(readList(r, 0));
    if (version === LIST_ENCODING_VERSION_JOURNAL || version === LIST_ENCODING_VERSION_JOURNAL_V3)
      return ok(readList(r, version));
    if (version === 1) return ok(readListV1(r));
    throw new DecodeFailure(
      'decode_version',
      `list encoding version ${version}; this build reads 1 to ${LIST_ENCODING_VERSION_JOURNAL}`,
    );
  } catch (e) {
    if (e instanceof DecodeFailure) return err(new TrolleyError(e.code, `cannot decode list: ${e.message}`));
    throw e;
  }
}

/** Reads one list (version 2) after its version byte. */
class ListReader {
  readonly doc: ListDoc;
  private readonly seen = new Set<Dot>();
  private readonly run: DotRun;
  private readonly keyBuf = keyBuffer;
  /** UTF-8 bytes of the last key read (front coding shares from it). */
  keyLength = 0;

  constructor(
    private readonly r: Reader,
    readonly full: boolean,
    table: ReplicaTable,
  ) {
    this.doc = new ListDoc(full, table);
    this.run = new DotRun(table.size);
  }

  dot(): Dot {
    const d = this.run.decode(this.r.varint());
    if (d < 0) this.r.fail('dot counter out of range');
    return d;
  }

  storeDot(): Dot {
    const d = this.dot();
    if (this.seen.has(d)) this.r.fail('a dot appears twice');
    this.seen.add(d);
    return d;
  }

  resetRun(): void {
    if (this.full) this.run.reset();
  }

  /** A coded key, the first `shared` bytes taken from the key before (in keyBuf). */
  key(shared: number): string {
    if (shared > this.keyLength) this.r.fail('a key shares more than the key before holds');
    this.keyLength = readCoded(this.r, this.keyBuf, shared);
    return this.keyString(this.keyLength);
  }

  seenDots(): Set<Dot> {
    return this.seen;
  }

  keyString(end: number): string {
    const b = this.keyBuf;
    let s = '';
    for (let i = 0; i < end; i++) {
      const c = b[i] as number;
      if (c > 0x7f) {
        try {
          s = utf8Decoder.decode(b.subarray(0, end));
        } catch {
          this.r.fail('invalid UTF-8 in a key');
        }
        break;
      }
      s += String.fromCharCode(c);
    }
    if (!isItemKey(s)) this.r.fail('an item key that is not a normalised name');
    return s;
  }

  dotFun(into: DotFun<unknown>, kind: number, key: string, allowEmpty: boolean): void {
    const r = this.r;
    const n = r.count(limits.contextCloudMax, 'dots', 2);
    if (n === 0 && !allowEmpty) r.fail('an empty field');
    for (let i = 0; i < n; i++) {
      const d = this.storeDot();
      into.set(d, readValue(r, kind, key));
    }
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
/** The bytes of the key being read (decoding is synchronous: one buffer serves every decode). */
const keyBuffer = new Uint8Array(KEY_BYTES_MAX);

/** Reads a list after its version byte; `journal` is the version of its history section (0: none). */
function readList(r: Reader, journal: number): ListDoc {
  const flags = r.u8();
  const full = (flags & FLAG_FULL) !== 0;
  if (full && (flags & (FLAG_TITLE | FLAG_DELETED)) !== (FLAG_TITLE | FLAG_DELETED))
    r.fail('a full state must hold title and flag');
  const table = readPackedTable(r);
  const lr = new ListReader(r, full, table);
  const doc = lr.doc;

  if ((flags & FLAG_VECTOR) !== 0) readVectorInto(r, table, doc.ctx.vv, true);
  if ((flags & FLAG_CLOUD) !== 0) {
    const cloudSize = r.count(limits.contextCloudMax, 'cloud dots', 1);
    if (cloudSize === 0) r.fail('an empty cloud under its flag');
    for (let i = 0; i < cloudSize; i++) doc.ctx.add(lr.dot());
  }

  if ((flags & FLAG_TITLE) !== 0) {
    doc.title = new Map();
    lr.dotFun(doc.title, VALUE_TITLE, '', true);
  }
  if ((flags & FLAG_DELETED) !== 0) {
    doc.deleted = new Map();
    const n = r.count(limits.replicasPerListMax, 'deleted-flag dots', 1);
    for (let i = 0; i < n; i++) doc.deleted.set(lr.storeDot(), true);
  }

  const itemCount = (flags & FLAG_ITEMS) === 0 ? 0 : r.count(limits.itemsPerListDecodeMax, 'items', 2);
  if ((flags & FLAG_ITEMS) !== 0 && itemCount === 0) r.fail('no items under the items flag');
  const keys: string[] = [];
  for (let i = 0; i < itemCount; i++) {
    lr.resetRun();
    const key = lr.key(i === 0 ? 0 : r.varint());
    if (doc.items.has(key)) r.fail('an item appears twice');
    keys.push(key);
    const mask = r.u8();
    if ((mask & ~MASK_ALL) !== 0) r.fail('unknown item fields');
    if (full && mask === 0) r.fail('an empty item in a full state');
    const item = doc.mention(key);
    for (let f = 0; f < itemFields.length; f++)
      if ((mask & (1 << f)) !== 0) lr.dotFun(item.store(f), fieldValue[f] as number, key, false);
  }

  const removalCount =
    (flags & FLAG_REMOVALS) === 0 ? 0 : r.count(limits.removalRecordsMax, 'removal records', 2);
  if ((flags & FLAG_REMOVALS) !== 0 && removalCount === 0) r.fail('no records under the removals flag');
  lr.resetRun();
  const recordKeys: string[] = [];
  for (let i = 0; i < removalCount; i++) {
    const d = lr.storeDot();
    const code = r.varint();
    let key: string = WHOLE_LIST;
    if (code === 1) key = lr.key(0);
    else if (code >= 2) {
      const k = code % 2 === 0 ? keys[(code - 2) / 2] : recordKeys[(code - 3) / 2];
      if (k === undefined || k === WHOLE_LIST) r.fail('a removal record naming a key that is not there');
      key = k;
    }
    recordKeys.push(key);
    doc.removals.add(d, key);
  }
  if ((flags & FLAG_HORIZON) !== 0) readVectorInto(r, table, doc.removals.horizon, true);
  if (journal !== 0) {
    // At least 9 bytes an entry in version 3 (dot, seq, atMs, who, kind, name, n, before, item
    // count), 7 in version 4 (dot, head, seq, at, who, name, n).
    const v3 = journal === LIST_ENCODING_VERSION_JOURNAL_V3;
    const n = r.count(limits.historyEntriesMax, 'history entries', v3 ? 9 : 7);
    if (n === 0) r.fail(`an empty history in version ${journal}`);
    lr.resetRun();
    const reader = v3 ? undefined : new EntryReader(r, keys);
    const entries: [Dot, HistoryEntry][] = [];
    for (let i = 0; i < n; i++) {
      const d = lr.storeDot();
      entries.push([d, reader === undefined ? readEntryV3(r) : reader.read()]);
    }
    doc.journal.addAll(entries);
  }
  if (r.left !== 0) r.fail(`${r.left} bytes after the end`);
  for (const d of lr.seenDots()) doc.ctx.add(d);
  return doc;
}

/** Reads a version 4 history entry (see EntryWriter), each relative to the one before. */
class EntryReader {
  private seq = -1;
  private at = 0;
  private who = '';
  private readonly whos: string[] = [];

  constructor(
    private readonly r: Reader,
    private readonly keys: readonly string[],
  ) {}

  read(): HistoryEntry {
    const r = this.r;
    const head = r.u8();
    if ((head & ~(HEAD_KIND | HEAD_BEFORE | HEAD_ITEMS | HEAD_AT_ABSOLUTE)) !== 0)
      r.fail('unknown bits in a history entry');
    const kind = historyKinds[head & HEAD_KIND];
    if (kind === undefined) return r.fail('an unknown history kind');
    const seq = this.seq < 0 ? r.varint() : this.seq + r.svarint();
    if (seq < 1 || seq > limits.historySeqMax) r.fail('a history seq out of range');
    const atMs = (head & HEAD_AT_ABSOLUTE) !== 0 ? r.varint() : this.at + r.svarint();
    if (atMs < 0 || !Number.isSafeInteger(atMs)) r.fail('a history time out of range');
    const code = r.varint();
    let who = this.who;
    if (code % 2 === 1) {
      who = readRaw(r, (code - 1) / 2, limits.deviceNameLengthMax * 2);
      if (Array.from(who).length > limits.deviceNameLengthMax) r.fail('a device name over its limit');
      this.whos.push(who);
    } else if (code > 0) {
      const known = this.whos[code / 2 - 1];
      if (known === undefined) return r.fail('a device name that was not written before');
      who = known;
    }
    const name = this.name(Math.max(limits.titleLengthMax, limits.itemNameLengthMax), undefined);
    const n = r.varint();
    if (n > Math.max(limits.counterValueMax, limits.historySeqMax)) r.fail('a history amount out of range');
    const before = (head & HEAD_BEFORE) !== 0 ? readText(r, limits.noteLengthMax, false) : '';
    const items: RemovedItem[] = [];
    if ((head & HEAD_ITEMS) !== 0) {
      const m = r.count(limits.historyItemsPerEntryMax, 'items in a history entry', 4);
      if (m === 0) r.fail('no items under the items bit');
      for (let i = 0; i < m; i++) {
        const itemName = this.name(limits.itemNameLengthMax, name);
        if (itemName === '') r.fail('a history item without a name');
        const wanted = readAmount(r, 0);
        const bought = readAmount(r, 0);
        const note = readText(r, limits.noteLengthMax, true);
        items.push({ name: itemName, wanted, bought, note });
      }
    }
    this.seq = seq;
    this.at = atMs;
    this.who = who;
    return { seq, atMs, who, kind, name, n, before, items };
  }

  /** A name code (EntryWriter.writeName); `entryName` for a removed item's name. */
  private name(lengthMax: number, entryName: string | undefined): string {
    const r = this.r;
    const code = r.varint();
    if (code === NAME_EMPTY) return '';
    if (code === NAME_OF_ENTRY) {
      if (entryName === undefined || entryName.length > lengthMax) return r.fail('a name naming no entry');
      return entryName;
    }
    if (code % 2 === 1) return readRaw(r, (code - 3) / 2, lengthMax);
    const ref = code / 2 - 1;
    const k = this.keys.length;
    const key = k === 0 ? undefined : this.keys[ref % k];
    const name = key === undefined ? undefined : applyWordCase(key, Math.floor(ref / k));
    if (name === undefined) return r.fail('a name that refers to no item key');
    return name;
  }
}

/** `n` bytes of UTF-8 text, at most `lengthMax` characters, no control characters. */
function readRaw(r: Reader, n: number, lengthMax: number): string {
  if (n > lengthMax * 4) throw new DecodeFailure('limit_exceeded', `a text of ${n} bytes`);
  if (n > r.left) r.fail('a text past the end');
  const bytes = new Uint8Array(n);
  let ascii = true;
  for (let i = 0; i < n; i++) if ((bytes[i] = r.u8()) > 0x7f) ascii = false;
  let s = '';
  if (ascii) for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i] as number);
  else
    try {
      s = utf8Decoder.decode(bytes);
    } catch {
      return r.fail('invalid UTF-8');
    }
  if (s.length > lengthMax)
    throw new DecodeFailure('limit_exceeded', `text of ${s.length} characters; the limit is ${lengthMax}`);
  if (control.test(s)) r.fail('control characters in text');
  return s;
}

/** Reads a version 3 history entry: every field in full. */
function readEntryV3(r: Reader): HistoryEntry {
  const seq = r.varint();
  if (seq < 1 || seq > limits.historySeqMax) r.fail('a history seq out of range');
  const atMs = r.varint();
  const who = readText(r, limits.deviceNameLengthMax * 2, true);
  if (Array.from(who).length > limits.deviceNameLengthMax) r.fail('a device name over its limit');
  const kind = historyKinds[r.u8()];
  if (kind === undefined) r.fail('an unknown history kind');
  const name = readText(r, Math.max(limits.titleLengthMax, limits.itemNameLengthMax), true);
  const n = r.varint();
  if (n > Math.max(limits.counterValueMax, limits.historySeqMax)) r.fail('a history amount out of range');
  const before = readText(r, limits.noteLengthMax, true);
  const m = r.count(limits.historyItemsPerEntryMax, 'items in a history entry', 4);
  const items: RemovedItem[] = [];
  for (let i = 0; i < m; i++) {
    const itemName = readText(r, limits.itemNameLengthMax, false);
    const wanted = readAmount(r, 0);
    const bought = readAmount(r, 0);
    const note = readText(r, limits.noteLengthMax, true);
    items.push({ name: itemName, wanted, bought, note });
  }
  return { seq, atMs, who, kind, name, n, before, items };
}

function readValue(r: Reader, kind: number, key: string): unknown {
  switch (kind) {
    case VALUE_TITLE:
      return readText(r, limits.titleLengthMax, false);
    case VALUE_STRING:
      return readText(r, limits.noteLengthMax, false);
    case VALUE_DISPLAY:
      return readDisplay(r, key);
    case VALUE_NATURAL:
      return readAmount(r, 0);
    case VALUE_POSITIVE:
      return readAmount(r, 1);
    default: {
      const v = r.svarint();
      if (v === 0 || Math.abs(v) > limits.counterValueMax) r.fail('wanted contribution out of range');
      return v;
    }
  }
}

function readPackedTable(r: Reader): ReplicaTable {
  const n = r.count(limits.replicasPerListMax, 'replicas', 2);
  const table = new ReplicaTable();
  for (let i = 0; i < n; i++) {
    // Packed IDs are base64url by construction: only the length can be wrong, and it is checked.
    const name = readPackedId(r, limits.replicaIdLengthMax);
    if (table.lookup(name) !== undefined) r.fail('a replica appears twice in the table');
    table.intern(name);
  }
  return table;
}

function readDisplay(r: Reader, key: string): string {
  const code = r.varint();
  if (code % 2 === 0) {
    if (code === 0) return key;
    const s = applyWordCase(key, code / 2);
    if (s === undefined) r.fail('a case mask that does not fit the key');
    return s;
  }
  const n = (code - 1) / 2;
  if (n > limits.itemNameLengthMax * 4) throw new DecodeFailure('limit_exceeded', `a name of ${n} bytes`);
  if (n > r.left) r.fail('a name past the end');
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = r.u8();
  let s: string;
  try {
    s = utf8Decoder.decode(bytes);
  } catch {
    return r.fail('invalid UTF-8');
  }
  if (s.length === 0 || s.length > limits.itemNameLengthMax || control.test(s))
    r.fail('a display name out of bounds');
  return s;
}

// ---- causal contexts ---------------------------------------------------------------------------

/** A causal context on its own, as a peer sends it to ask "what am I missing?". */
export interface ContextWithTable {
  ctx: CausalContext;
  replicas: ReplicaTable;
}

export function encodeContext(ctx: CausalContext, replicas: ReplicaTable): Uint8Array {
  const used: number[] = [];
  for (let r = 0; r < ctx.vv.length; r++) if ((ctx.vv[r] ?? 0) > 0) used[r] = 1;
  for (const d of ctx.cloud) used[dotReplica(d)] = 1;
  const renumber = new Renumbering(replicas, used);
  const w = Writer.reusing();
  w.u8(CONTEXT_ENCODING_VERSION);
  renumber.writePlainTable(w);
  writeVector(w, ctx.vv, renumber);
  const cloud = renumber.sorted([...ctx.cloud]);
  w.varint(cloud.length);
  for (const d of cloud) {
    w.varint(renumber.of(dotReplica(d)));
    w.varint(dotCounter(d));
  }
  return w.finish();
}

export function decodeContext(bytes: Uint8Array): Result<ContextWithTable> {
  if (bytes.length > limits.encodedListBytesMax)
    return err(new TrolleyError('limit_exceeded', `encoded context of ${bytes.length} bytes is too large`));
  try {
    const r = new Reader(bytes);
    const version = r.u8();
    if (version !== CONTEXT_ENCODING_VERSION)
      throw new DecodeFailure(
        'decode_version',
        `context encoding version ${version}; this build reads ${CONTEXT_ENCODING_VERSION}`,
      );
    const replicas = readTable(r);
    const ctx = new CausalContext();
    readVectorInto(r, replicas, ctx.vv);
    const n = r.count(limits.contextCloudMax, 'cloud dots', 2);
    for (let i = 0; i < n; i++) {
      const rep = r.varint();
      if (rep >= replicas.size) r.fail('replica index outside the table');
      const c = r.varint();
      if (c < 1 || c > limits.dotCounterMax) r.fail('dot counter out of range');
      ctx.add(dot(rep, c));
    }
    if (r.left !== 0) r.fail(`${r.left} bytes after the end`);
    return ok({ ctx, replicas });
  } catch (e) {
    if (e instanceof DecodeFailure)
      return err(new TrolleyError(e.code, `cannot decode context: ${e.message}`));
    throw e;
  }
}
