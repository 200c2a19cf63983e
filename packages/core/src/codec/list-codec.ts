// Binary encoding of list documents (full states and deltas) and of causal contexts.
// The grammar is written down in docs/PROTOCOL.md ("List encoding"); the numbers are part of
// the protocol. Decoding returns a Result: bytes from a peer are validated, never asserted on.
//
//   doc      = version:u8 flags:u8 table [vector] [cloud] [title] [deleted] [items] [removals] [horizon]
//   flags    = bit0 full · bit1 title · bit2 deleted · bit3 vector · bit4 cloud · bit5 items
//              bit6 removals · bit7 horizon: a section is present iff its bit is set (then non-empty,
//              except title and deleted, which a full state always carries)
//   table    = n:varint (name:string)^n                      replica names, indexed from 0
//   vector   = n:varint (replica counter)^n                  version vector, counters ≥ 1
//   cloud    = n:varint (replica counter)^n                  cloud, less the dots in the store
//   title    = dotfun<string>           deleted = n:varint (replica counter)^n
//   items    = n:varint (key:string mask:u8 dotfun^popcount(mask))^n
//              mask bits: 0 display · 1 note · 2 base · 3 wanted · 4 bought
//   dotfun<T>= n:varint (replica counter value:T)^n   strings: varint length + UTF-8;
//              display: varint 0 (the key) | 1 (the key capitalised) | 2 + length, UTF-8
//              base, bought: varint; wanted: zigzag varint
//   removals = n:varint (replica counter key)^n   key: varint 0 whole list | 1 string | 2 + item index
//   horizon  = n:varint (replica counter)^n
//
// Every dot appears at most once in a doc; every store dot is part of the context (the encoder
// leaves it out of the cloud and the decoder puts it back).

import { err, ok, TrolleyError, type Result } from '../errors.ts';
import { isReplicaId } from '../ids.ts';
import { limits } from '../limits.ts';
import { CausalContext, ReplicaTable, dot, dotCounter, dotReplica, type Dot } from '../crdt/dots.ts';
import { ListDoc, itemFields, type DotFun, type ItemStore } from '../crdt/list-doc.ts';
import { isItemKey } from '../crdt/names.ts';
import { compareKeys } from '../crdt/read-model.ts';
import { WHOLE_LIST } from '../crdt/removal-log.ts';
import { DecodeFailure, Reader, Writer } from './bytes.ts';

export const LIST_ENCODING_VERSION = 1;
const CONTEXT_ENCODING_VERSION = 1;

const FLAG_FULL = 1;
const FLAG_TITLE = 2;
const FLAG_DELETED = 4;
// Sections that are often empty in a delta are present only when their flag is set.
const FLAG_VECTOR = 8;
const FLAG_CLOUD = 16;
const FLAG_ITEMS = 32;
const FLAG_REMOVALS = 64;
const FLAG_HORIZON = 128;
const MASK_ALL = 0b11111;
// Control characters are refused in every user string, as in names.ts.
// eslint-disable-next-line no-control-regex
const control = /[\u0000-\u001f\u007f-\u009f]/;

// ---- encoding ----------------------------------------------------------------------------------

/**
 * Encodes a full state or a delta. The encoding is canonical: replicas are renumbered to those
 * the doc uses, in name order, and everything else is sorted, so equal docs encode to equal bytes
 * (and a state's hash names its content).
 */
export function encodeList(doc: ListDoc): Uint8Array {
  const storeDots = new Set<Dot>();
  const used = new Set<number>();
  const noteStore = (m: Map<Dot, unknown>): void => {
    for (const d of m.keys()) {
      storeDots.add(d);
      used.add(dotReplica(d));
    }
  };
  if (doc.title !== undefined) noteStore(doc.title);
  if (doc.deleted !== undefined) noteStore(doc.deleted);
  for (const item of doc.items.values()) for (const f of itemFields) noteStore(item[f]);
  for (const d of doc.removals.records.keys()) used.add(dotReplica(d));
  for (let r = 0; r < doc.ctx.vv.length; r++) if ((doc.ctx.vv[r] ?? 0) > 0) used.add(r);
  const cloud: Dot[] = [];
  for (const d of doc.ctx.cloud) {
    if (storeDots.has(d)) continue;
    cloud.push(d);
    used.add(dotReplica(d));
  }
  for (let r = 0; r < doc.removals.horizon.length; r++) if ((doc.removals.horizon[r] ?? 0) > 0) used.add(r);
  const renumber = new Renumbering(doc.replicas, used);

  const nonZero = (vv: readonly number[]): boolean => vv.some((c) => (c ?? 0) > 0);
  const w = Writer.reusing();
  w.u8(LIST_ENCODING_VERSION);
  w.u8(
    (doc.full ? FLAG_FULL : 0) |
      (doc.title !== undefined ? FLAG_TITLE : 0) |
      (doc.deleted !== undefined ? FLAG_DELETED : 0) |
      (nonZero(doc.ctx.vv) ? FLAG_VECTOR : 0) |
      (cloud.length > 0 ? FLAG_CLOUD : 0) |
      (doc.items.size > 0 ? FLAG_ITEMS : 0) |
      (doc.removals.records.size > 0 ? FLAG_REMOVALS : 0) |
      (nonZero(doc.removals.horizon) ? FLAG_HORIZON : 0),
  );
  renumber.writeTable(w);
  if (nonZero(doc.ctx.vv)) writeVector(w, doc.ctx.vv, renumber);
  if (cloud.length > 0) writeDots(w, cloud, renumber);
  if (doc.title !== undefined) writeDotFun(w, doc.title, renumber, (v) => w.string(v));
  if (doc.deleted !== undefined) writeDots(w, [...doc.deleted.keys()], renumber);
  const keys = doc.items.size === 1 ? [...doc.items.keys()] : [...doc.items.keys()].sort(compareKeys);
  if (keys.length > 0) {
    w.varint(keys.length);
    for (const key of keys) writeItem(w, key, doc.items.get(key) as ItemStore, renumber);
  }
  if (doc.removals.records.size > 0) {
    const position = new Map(keys.map((k, i) => [k, i]));
    const records = renumber.sorted([...doc.removals.records.keys()]);
    w.varint(records.length);
    for (const d of records) {
      writeDot(w, d, renumber);
      // The key: 0 the whole list, 1 a literal name follows, 2 + i the i-th item above.
      const key = doc.removals.records.get(d) as string;
      const at = position.get(key);
      if (key === WHOLE_LIST) w.varint(0);
      else if (at !== undefined) w.varint(2 + at);
      else {
        w.varint(1);
        w.string(key);
      }
    }
  }
  if (nonZero(doc.removals.horizon)) writeVector(w, doc.removals.horizon, renumber);
  return w.finish();
}

/** The name as typed, relative to its key: 0 the key itself, 1 the key capitalised, 2 + n literal. */
function writeDisplay(w: Writer, key: string, display: string): void {
  if (display === key) w.varint(0);
  else if (display === capitalise(key)) w.varint(1);
  else {
    const bytes = new TextEncoder().encode(display);
    w.varint(2 + bytes.length);
    for (const b of bytes) w.u8(b);
  }
}

const capitalise = (key: string): string => key.charAt(0).toUpperCase() + key.slice(1);

function writeItem(w: Writer, key: string, item: ItemStore, renumber: Renumbering): void {
  w.string(key);
  let mask = 0;
  itemFields.forEach((f, i) => {
    if (item[f].size > 0) mask |= 1 << i;
  });
  w.u8(mask);
  if (item.display.size > 0) writeDotFun(w, item.display, renumber, (v) => writeDisplay(w, key, v));
  if (item.note.size > 0) writeDotFun(w, item.note, renumber, (v) => w.string(v));
  if (item.base.size > 0) writeDotFun(w, item.base, renumber, (v) => w.varint(v));
  if (item.wanted.size > 0) writeDotFun(w, item.wanted, renumber, (v) => w.svarint(v));
  if (item.bought.size > 0) writeDotFun(w, item.bought, renumber, (v) => w.varint(v));
}

function writeDotFun<V>(w: Writer, f: DotFun<V>, renumber: Renumbering, value: (v: V) => void): void {
  w.varint(f.size);
  for (const d of f.size === 1 ? f.keys() : renumber.sorted([...f.keys()])) {
    writeDot(w, d, renumber);
    value(f.get(d) as V);
  }
}

function writeDots(w: Writer, dots: Dot[], renumber: Renumbering): void {
  w.varint(dots.length);
  for (const d of renumber.sorted(dots)) writeDot(w, d, renumber);
}

function writeDot(w: Writer, d: Dot, renumber: Renumbering): void {
  w.varint(renumber.of(dotReplica(d)));
  w.varint(dotCounter(d));
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

/** Maps a document's replica indices to dense indices over the replicas it uses, in name order. */
class Renumbering {
  private readonly map: number[] = [];
  private readonly names: string[];

  constructor(table: ReplicaTable, used: Set<number>) {
    const order = [...used].sort((a, b) => compareKeys(table.name(a), table.name(b)));
    order.forEach((r, i) => (this.map[r] = i));
    this.names = order.map((r) => table.name(r));
  }

  of(r: number): number {
    return this.map[r] as number;
  }

  /** Dots in encoding order: by new replica index, then counter. */
  sorted(dots: Dot[]): Dot[] {
    return dots.sort(
      (a, b) => this.of(dotReplica(a)) - this.of(dotReplica(b)) || dotCounter(a) - dotCounter(b),
    );
  }

  writeTable(w: Writer): void {
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
    return ok(readList(new Reader(bytes)));
  } catch (e) {
    if (e instanceof DecodeFailure) return err(new TrolleyError(e.code, `cannot decode list: ${e.message}`));
    throw e;
  }
}

function readList(r: Reader): ListDoc {
  const version = r.u8();
  if (version !== LIST_ENCODING_VERSION)
    throw new DecodeFailure(
      'decode_version',
      `list encoding version ${version}; this build reads ${LIST_ENCODING_VERSION}`,
    );
  const flags = r.u8();
  const full = (flags & FLAG_FULL) !== 0;
  if (full && (flags & (FLAG_TITLE | FLAG_DELETED)) !== (FLAG_TITLE | FLAG_DELETED))
    r.fail('a full state must hold title and flag');
  const table = readTable(r);
  const doc = new ListDoc(full, table);
  const seen = new Set<Dot>();
  const readDot = (): Dot => {
    const rep = r.varint();
    if (rep >= table.size) r.fail('replica index outside the table');
    const c = r.varint();
    if (c < 1 || c > limits.dotCounterMax) r.fail('dot counter out of range');
    return dot(rep, c);
  };
  const readStoreDot = (): Dot => {
    const d = readDot();
    if (seen.has(d)) r.fail('a dot appears twice');
    seen.add(d);
    return d;
  };

  if ((flags & FLAG_VECTOR) !== 0) readVectorInto(r, table, doc.ctx.vv, true);
  if ((flags & FLAG_CLOUD) !== 0) {
    const cloudSize = r.count(limits.contextCloudMax, 'cloud dots', 2);
    if (cloudSize === 0) r.fail('an empty cloud under its flag');
    for (let i = 0; i < cloudSize; i++) doc.ctx.add(readDot());
  }

  if ((flags & FLAG_TITLE) !== 0) {
    doc.title = new Map();
    readDotFun(r, doc.title, readStoreDot, () => readText(r, limits.titleLengthMax, false), true);
  }
  if ((flags & FLAG_DELETED) !== 0) {
    doc.deleted = new Map();
    const n = r.count(limits.replicasPerListMax, 'deleted-flag dots', 2);
    for (let i = 0; i < n; i++) doc.deleted.set(readStoreDot(), true);
  }

  const itemCount = (flags & FLAG_ITEMS) === 0 ? 0 : r.count(limits.itemsPerListDecodeMax, 'items', 2);
  if ((flags & FLAG_ITEMS) !== 0 && itemCount === 0) r.fail('no items under the items flag');
  const keys: string[] = [];
  for (let i = 0; i < itemCount; i++) {
    const key = r.string(limits.itemNameLengthMax * 4);
    if (!isItemKey(key)) r.fail('an item key that is not a normalised name');
    if (doc.items.has(key)) r.fail('an item appears twice');
    keys.push(key);
    const mask = r.u8();
    if ((mask & ~MASK_ALL) !== 0) r.fail('unknown item fields');
    if (full && mask === 0) r.fail('an empty item in a full state');
    const item = doc.mention(key);
    if (mask & 1) readDotFun(r, item.display, readStoreDot, () => readDisplay(r, key));
    if (mask & 2) readDotFun(r, item.note, readStoreDot, () => readText(r, limits.noteLengthMax, false));
    if (mask & 4) readDotFun(r, item.base, readStoreDot, () => readAmount(r, 0));
    if (mask & 8)
      readDotFun(r, item.wanted, readStoreDot, () => {
        const v = r.svarint();
        if (v === 0 || Math.abs(v) > limits.counterValueMax) r.fail('wanted contribution out of range');
        return v;
      });
    if (mask & 16) readDotFun(r, item.bought, readStoreDot, () => readAmount(r, 1));
  }

  const removalCount =
    (flags & FLAG_REMOVALS) === 0 ? 0 : r.count(limits.removalRecordsMax, 'removal records', 3);
  if ((flags & FLAG_REMOVALS) !== 0 && removalCount === 0) r.fail('no records under the removals flag');
  for (let i = 0; i < removalCount; i++) {
    const d = readStoreDot();
    const code = r.varint();
    let key: string = WHOLE_LIST;
    if (code === 1) {
      key = r.string(limits.itemNameLengthMax * 4);
      if (!isItemKey(key)) r.fail('a removal record for a key that is not a normalised name');
    } else if (code >= 2) {
      const k = keys[code - 2];
      if (k === undefined) r.fail('a removal record naming an item that is not there');
      key = k;
    }
    doc.ctx.add(d);
    doc.removals.add(d, key);
  }
  if ((flags & FLAG_HORIZON) !== 0) readVectorInto(r, table, doc.removals.horizon, true);
  if (r.left !== 0) r.fail(`${r.left} bytes after the end`);
  for (const d of seen) doc.ctx.add(d);
  return doc;
}

function readTable(r: Reader): ReplicaTable {
  const n = r.count(limits.replicasPerListMax, 'replicas', 2);
  const table = new ReplicaTable();
  for (let i = 0; i < n; i++) {
    const name = r.string(limits.replicaIdLengthMax);
    if (!isReplicaId(name)) r.fail('an invalid replica ID');
    if (table.lookup(name) !== undefined) r.fail('a replica appears twice in the table');
    table.intern(name);
  }
  return table;
}

function readVectorInto(r: Reader, table: ReplicaTable, vv: number[], nonEmpty = false): void {
  const n = r.count(table.size, 'version-vector entries', 2);
  if (nonEmpty && n === 0) r.fail('an empty vector under its flag');
  for (let i = 0; i < n; i++) {
    const rep = r.varint();
    if (rep >= table.size) r.fail('replica index outside the table');
    if ((vv[rep] ?? 0) > 0) r.fail('a replica appears twice in a vector');
    const c = r.varint();
    if (c < 1 || c > limits.dotCounterMax) r.fail('vector counter out of range');
    vv[rep] = c;
  }
}

function readDotFun<V>(
  r: Reader,
  into: DotFun<V>,
  readDot: () => Dot,
  value: () => V,
  allowEmpty = false,
): void {
  const n = r.count(limits.contextCloudMax, 'dots', 3);
  if (n === 0 && !allowEmpty) r.fail('an empty field');
  for (let i = 0; i < n; i++) {
    const d = readDot();
    into.set(d, value());
  }
}

function readText(r: Reader, lengthMax: number, allowEmpty: boolean): string {
  const s = r.string(lengthMax * 4);
  if (s.length > lengthMax)
    throw new DecodeFailure('limit_exceeded', `text of ${s.length} characters; the limit is ${lengthMax}`);
  if (!allowEmpty && s.length === 0) r.fail('empty text');
  if (control.test(s)) r.fail('control characters in text');
  return s;
}

function readDisplay(r: Reader, key: string): string {
  const code = r.varint();
  if (code === 0) return key;
  if (code === 1) return key.charAt(0).toUpperCase() + key.slice(1);
  const n = code - 2;
  if (n > limits.itemNameLengthMax * 4) throw new DecodeFailure('limit_exceeded', `a name of ${n} bytes`);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = r.u8();
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return r.fail('invalid UTF-8');
  }
  if (s.length === 0 || s.length > limits.itemNameLengthMax || control.test(s))
    r.fail('a display name out of bounds');
  return s;
}

function readAmount(r: Reader, min: number): number {
  const v = r.varint();
  if (v < min || v > limits.counterValueMax) r.fail('quantity out of range');
  return v;
}

// ---- causal contexts ---------------------------------------------------------------------------

/** A causal context on its own, as a peer sends it to ask "what am I missing?". */
export interface ContextWithTable {
  ctx: CausalContext;
  replicas: ReplicaTable;
}

export function encodeContext(ctx: CausalContext, replicas: ReplicaTable): Uint8Array {
  const used = new Set<number>();
  for (let r = 0; r < ctx.vv.length; r++) if ((ctx.vv[r] ?? 0) > 0) used.add(r);
  for (const d of ctx.cloud) used.add(dotReplica(d));
  const renumber = new Renumbering(replicas, used);
  const w = Writer.reusing();
  w.u8(CONTEXT_ENCODING_VERSION);
  renumber.writeTable(w);
  writeVector(w, ctx.vv, renumber);
  writeDots(w, [...ctx.cloud], renumber);
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
