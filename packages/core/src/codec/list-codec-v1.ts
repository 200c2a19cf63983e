// Reading lists in list encoding version 1, which this build no longer writes: stores and peers
// written before version 2 still open. Grammar: docs/PROTOCOL.md §4.2 ("version 1").
//
//   doc = version:u8 (1) flags:u8 table [vector] [cloud] [title] [deleted] [items] [removals] [horizon]
//   table: n (name:string)^n · dots: (replica counter) varint pairs · item keys: strings
//   display: 0 the key | 1 the key capitalised | 2 + length, UTF-8 · removal keys: 0 | 1 string | 2 + i

import { limits } from '../limits.ts';
import { isReplicaId } from '../ids.ts';
import { ReplicaTable, dot, type Dot } from '../crdt/dots.ts';
import { ListDoc, type DotFun } from '../crdt/list-doc.ts';
import { isItemKey } from '../crdt/names.ts';
import { WHOLE_LIST } from '../crdt/removal-log.ts';
import { DecodeFailure, type Reader } from './bytes.ts';
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

/** Reads a version 1 list after its version byte. */
export function readListV1(r: Reader): ListDoc {
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
    readDotFunV1(r, doc.title, readStoreDot, () => readText(r, limits.titleLengthMax, false), true);
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
    if (mask & 1) readDotFunV1(r, item.display, readStoreDot, () => readDisplay(r, key));
    if (mask & 2) readDotFunV1(r, item.note, readStoreDot, () => readText(r, limits.noteLengthMax, false));
    if (mask & 4) readDotFunV1(r, item.base, readStoreDot, () => readAmount(r, 0));
    if (mask & 8)
      readDotFunV1(r, item.wanted, readStoreDot, () => {
        const v = r.svarint();
        if (v === 0 || Math.abs(v) > limits.counterValueMax) r.fail('wanted contribution out of range');
        return v;
      });
    if (mask & 16) readDotFunV1(r, item.bought, readStoreDot, () => readAmount(r, 1));
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

/** A replica table of plain strings (list version 1, and the context encoding). */
export function readTable(r: Reader): ReplicaTable {
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

function readDotFunV1<V>(
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
