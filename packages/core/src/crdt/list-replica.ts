// One replica of one list, and the operations people perform on it. Each operation is a delta
// mutator (Almeida et al. §3): it reads the state, builds a small partial doc — the delta — and
// joins it into the state; the delta is what travels. Operations never fail because of
// concurrency; they fail only on bad input (a typed TrolleyError) and then change nothing.
//
// Semantics of deleting a whole list, and of edits that race it: delete is an observed remove. It
// removes every item the deleter had seen and raises the deleted flag. An edit the deleter had not
// seen survives, and the list is then shown as not deleted, holding only the edits that raced
// the delete: nobody's add is lost. Any edit made by someone who has seen the delete clears the
// flag too (an edit on a deleted list brings it back). A concurrent rename alone keeps the title
// it sets but does not bring the list back.

import { TrolleyError } from '../errors.ts';
import type { ReplicaId } from '../ids.ts';
import { limits } from '../limits.ts';
import { dot, type CausalContext, type Dot, type ReplicaTable } from './dots.ts';
import {
  FIELD_BASE,
  FIELD_BOUGHT,
  FIELD_DISPLAY,
  FIELD_NOTE,
  FIELD_WANTED,
  ListDoc,
  forEachItemDot,
  merge,
  missingFor,
  type ItemStore,
} from './list-doc.ts';
import { checkQuantity, checkText, displayName, itemName, normaliseName } from './names.ts';
import { type HistoryEntry, type RemovedItem } from './journal.ts';
import { greatest, itemView, listView, type ItemView, type ListView } from './read-model.ts';
import { WHOLE_LIST } from './removal-log.ts';

/** Who the changes of a replica are recorded as, in the list's history. */
export interface Author {
  /** The device's display name ('' for none). */
  name: string;
  /** The wall clock, ms since 1970 (shown beside each entry). */
  nowMs(): number;
}

/** A history entry before it is stamped with seq, time and name. */
export type Change = Omit<HistoryEntry, 'seq' | 'atMs' | 'who' | 'before' | 'items' | 'n'> &
  Partial<Pick<HistoryEntry, 'before' | 'items' | 'n'>>;

export class ListReplica {
  readonly state: ListDoc;
  private readonly self: number;
  /** When set, every change is recorded in the list's history under this name (journal.ts). */
  author: Author | undefined = undefined;
  /** Inside record(): the parts' own entries are left out for the one entry of the whole. */
  private recording = false;

  constructor(
    readonly replicaId: ReplicaId,
    state: ListDoc = ListDoc.empty(),
  ) {
    this.state = state;
    this.self = state.replicas.intern(replicaId);
  }

  // ---- reading ---------------------------------------------------------------------------------

  view(): ListView {
    return listView(this.state);
  }

  item(name: string): ItemView | undefined {
    const key = normaliseName(name);
    const item = this.state.items.get(key);
    return item === undefined ? undefined : itemView(key, item);
  }

  // ---- syncing ---------------------------------------------------------------------------------

  /** Joins a delta or a state from elsewhere. */
  apply(doc: ListDoc): void {
    merge(this.state, doc);
  }

  /** The delta a peer with causal context `peer` (named by `peerTable`) is missing. */
  missingFor(peer: CausalContext, peerTable: ReplicaTable): ListDoc {
    return missingFor(this.state, peer, peerTable);
  }

  // ---- operations ------------------------------------------------------------------------------

  /**
   * The first change of a new list: its title, recorded in the history as one 'create' entry
   * (with an author; the rename inside it records nothing of its own).
   */
  create(title: string): ListDoc {
    return this.record({ kind: 'create', name: displayName(title) }, () => [this.rename(title)]);
  }

  rename(title: string): ListDoc {
    const t = checkText('a list title', displayName(title), limits.titleLengthMax, false);
    const before = greatest(this.state.title) ?? '';
    const d = this.delta();
    d.title = new Map();
    this.coverAll(d, this.state.title);
    d.title.set(d.next(), t);
    return this.commit(d, { kind: 'rename', name: t, before });
  }

  /** Adds `quantity` of an item; if the item is already there, adds to its wanted quantity. */
  addItem(name: string, quantity = 1, note?: string): ListDoc {
    const { key, display } = itemName(name);
    checkQuantity('a quantity to add', quantity, 1);
    const checkedNote = note === undefined ? undefined : this.checkNote(note);
    const present = this.state.items.get(key);
    if (present === undefined && this.state.items.size >= limits.itemsPerListMax)
      throw new TrolleyError('limit_exceeded', `a list holds at most ${limits.itemsPerListMax} items`);
    const d = this.delta();
    const item = d.mention(key);
    // Adding re-asserts the name as typed, so an add that races a removal keeps its spelling.
    if (present !== undefined) this.supersede(d, key, present.peek(FIELD_DISPLAY));
    item.display.set(d.next(), display);
    item.wanted.set(d.next(), quantity);
    if (checkedNote !== undefined) this.writeNote(d, key, item, present, checkedNote);
    return this.commit(d, { kind: 'add', name: display, n: quantity });
  }

  /** Sets the wanted quantity; increments made concurrently by others still add to it. */
  setWanted(name: string, quantity: number): ListDoc {
    checkQuantity('a wanted quantity', quantity, 0);
    const [key, present] = this.existing(name);
    const d = this.delta();
    const item = d.mention(key);
    const was = itemView(key, present);
    this.supersede(d, key, present.peek(FIELD_BASE), present.peek(FIELD_WANTED));
    item.base.set(d.next(), quantity);
    return this.commit(d, { kind: 'set', name: was.name, n: quantity, before: String(was.wanted) });
  }

  increaseWanted(name: string, by = 1): ListDoc {
    checkQuantity('an increase', by, 1);
    const [key, present] = this.existing(name);
    const d = this.delta();
    d.mention(key).wanted.set(d.next(), by);
    return this.commit(d, { kind: 'increase', name: itemView(key, present).name, n: by });
  }

  /** Lowers the wanted quantity, never below zero as this replica sees it. */
  decreaseWanted(name: string, by = 1): ListDoc {
    checkQuantity('a decrease', by, 1);
    const [key, present] = this.existing(name);
    const was = itemView(key, present);
    const amount = Math.min(by, was.wanted);
    const d = this.delta();
    if (amount > 0) d.mention(key).wanted.set(d.next(), -amount);
    return this.commit(d, { kind: 'decrease', name: was.name, n: amount });
  }

  /** Marks `units` more as bought. Two shoppers buying at once both count. */
  buy(name: string, units = 1): ListDoc {
    checkQuantity('units bought', units, 1);
    const [key, present] = this.existing(name);
    const d = this.delta();
    d.mention(key).bought.set(d.next(), units);
    return this.commit(d, { kind: 'buy', name: itemView(key, present).name, n: units });
  }

  /** Buys whatever remains; nothing if nothing remains. */
  checkOff(name: string): ListDoc {
    const [key, present] = this.existing(name);
    const { remaining, name: shown } = itemView(key, present);
    const d = this.delta();
    if (remaining > 0) d.mention(key).bought.set(d.next(), remaining);
    return this.commit(d, { kind: 'check', name: shown, n: remaining });
  }

  /** Resets the bought units this replica has seen; units bought concurrently elsewhere stay. */
  uncheck(name: string): ListDoc {
    const [key, present] = this.existing(name);
    const was = itemView(key, present);
    const d = this.delta();
    d.mention(key);
    this.supersede(d, key, present.peek(FIELD_BOUGHT));
    return this.commit(d, { kind: 'uncheck', name: was.name, n: was.bought });
  }

  setNote(name: string, note: string): ListDoc {
    const text = this.checkNote(note);
    const [key, present] = this.existing(name);
    const was = itemView(key, present);
    const d = this.delta();
    this.writeNote(d, key, d.mention(key), present, text);
    return this.commit(d, { kind: 'note', name: was.name, before: was.note ?? '' });
  }

  removeItem(name: string): ListDoc {
    const [key, present] = this.existing(name);
    const d = this.delta();
    this.removeInto(d, key, present);
    const items = removedItems([itemView(key, present)]);
    return this.commit(d, { kind: 'remove', name: itemView(key, present).name, n: 1, items });
  }

  /** Removes every item that is done (bought, nothing remaining). */
  clearBought(): ListDoc {
    const d = this.delta();
    const done: ItemView[] = [];
    for (const [key, item] of this.state.items) {
      const view = itemView(key, item);
      if (!view.done) continue;
      this.removeInto(d, key, item);
      done.push(view);
    }
    return this.commit(d, { kind: 'clear', name: '', n: done.length, items: removedItems(done) });
  }

  deleteList(): ListDoc {
    const was = this.view();
    const d = new Delta(this.state, this.self);
    for (const [key, item] of this.state.items) {
      d.mention(key);
      forEachItemDot(item, (x) => d.ctx.add(x));
    }
    d.deleted = new Map();
    this.coverAll(d, this.state.deleted);
    d.deleted.set(d.next(), true);
    d.removals.add(d.next(), WHOLE_LIST);
    const items = removedItems(was.items);
    return this.commit(d, { kind: 'delete', name: was.title, n: was.items.length, items });
  }

  // ---- inverse operations and undo -------------------------------------------------------------
  //
  // An Undo is a new change, not a rewind: made of the ordinary operations, it merges like any
  // edit, and what others did meanwhile stays (units they bought, items they raised).

  /**
   * Takes back `units` bought of an item (the inverse of buying or checking off): the bought count
   * this replica sees drops by `units`, never below zero; units bought elsewhere unseen stay.
   */
  unbuy(name: string, units: number): ListDoc {
    checkQuantity('units to take back', units, 1);
    const now = this.item(name);
    if (now === undefined)
      throw new TrolleyError('not_found', `no item ${JSON.stringify(name)} in this list`);
    const keep = Math.max(0, now.bought - units);
    return this.record({ kind: 'uncheck', name: now.name, n: Math.min(units, now.bought) }, () => [
      this.uncheck(name),
      keep > 0 ? this.buy(name, keep) : undefined,
    ]);
  }

  /**
   * Puts items back as they were (the inverse of a removal, of clearing bought items, or of
   * deleting the list): each is added again with its wanted quantity, bought count and note, on
   * top of whatever others did to it meanwhile. With `title`, the list gets that title again,
   * which also brings a deleted list back when it held no items.
   */
  restore(items: readonly RemovedItem[], title?: string): ListDoc {
    const kept = removedItems(items.map((i) => ({ ...i, note: i.note === '' ? undefined : i.note })));
    return this.record({ kind: 'restore', name: title ?? '', n: items.length, items: kept }, () => {
      const parts: ListDoc[] = [];
      if (title !== undefined && title !== '') parts.push(this.rename(title));
      for (const item of items) {
        parts.push(
          this.addItem(item.name, Math.max(1, item.wanted), item.note === '' ? undefined : item.note),
        );
        if (item.wanted === 0) parts.push(this.decreaseWanted(item.name, 1));
        if (item.bought > 0) parts.push(this.buy(item.name, item.bought));
      }
      return parts;
    });
  }

  /**
   * The newest change in the history made by `replicaId` that is not an undo and has not been
   * undone, or undefined. An undo names what it took back by its seq. Creating the list is not
   * taken back (deleting it is a change of its own).
   */
  lastUndoable(replicaId: string): HistoryEntry | undefined {
    const undone = new Set<number>();
    for (const { replica, entry } of this.state.journal.newestFirst()) {
      if (replica !== replicaId || entry.kind === 'create') continue;
      if (entry.kind === 'undo') undone.add(entry.n);
      else if (!undone.has(entry.seq)) return entry;
    }
    return undefined;
  }

  /**
   * Takes back the newest change this replica made that it has not taken back yet, with the
   * inverse operations, recorded as one 'undo' entry. Parts that no longer apply (an item removed
   * since by someone) are skipped. Throws not_found when nothing is left to undo.
   */
  undo(): { undone: HistoryEntry; delta: ListDoc } {
    const entry = this.lastUndoable(this.replicaId);
    if (entry === undefined)
      throw new TrolleyError('not_found', 'nothing this device did to this list is left to undo');
    const delta = this.record({ kind: 'undo', name: entry.name, n: entry.seq, before: entry.kind }, () =>
      this.inverse(entry),
    );
    return { undone: entry, delta };
  }

  private inverse(e: HistoryEntry): (ListDoc | undefined)[] {
    const has = (name: string): boolean => this.item(name) !== undefined;
    switch (e.kind) {
      case 'add':
      case 'increase':
        return [has(e.name) ? this.decreaseWanted(e.name, Math.max(1, e.n)) : undefined];
      case 'decrease':
        return [has(e.name) && e.n > 0 ? this.increaseWanted(e.name, e.n) : undefined];
      case 'set': {
        const was = Number(e.before);
        return [has(e.name) && Number.isSafeInteger(was) ? this.setWanted(e.name, was) : undefined];
      }
      case 'buy':
      case 'check':
        return [has(e.name) && e.n > 0 ? this.unbuy(e.name, e.n) : undefined];
      case 'uncheck':
        return [has(e.name) && e.n > 0 ? this.buy(e.name, e.n) : undefined];
      case 'note':
        return [has(e.name) ? this.setNote(e.name, e.before) : undefined];
      case 'rename':
        return [e.before !== '' ? this.rename(e.before) : undefined];
      case 'remove':
      case 'clear':
        return [this.restore(e.items)];
      case 'delete':
        return [this.restore(e.items, e.name)];
      case 'restore':
        return e.items.map((i) => (has(i.name) ? this.removeItem(i.name) : undefined));
      case 'undo':
      case 'create':
        return [];
    }
  }

  /**
   * Runs `parts` (operations of this replica) and records them as the one history entry
   * `change` instead of an entry each. Returns the join of their deltas and the entry's.
   */
  record(change: Change, parts: () => (ListDoc | undefined)[]): ListDoc {
    const was = this.recording;
    this.recording = true;
    let made: (ListDoc | undefined)[];
    try {
      made = parts();
    } finally {
      this.recording = was;
    }
    const out = new ListDoc(false);
    for (const part of made) if (part !== undefined) merge(out, part);
    if (this.author !== undefined && !was) {
      const d = new Delta(this.state, this.self);
      this.addEntry(d, change);
      merge(out, this.commit(d));
    }
    return out;
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** A new delta; on a deleted list, every edit also lowers the deleted flag (see header). */
  private delta(): Delta {
    const d = new Delta(this.state, this.self);
    const flag = this.state.deleted;
    if (flag !== undefined && flag.size > 0) {
      d.deleted = new Map();
      this.coverAll(d, flag);
    }
    return d;
  }

  /** Joins the delta into the state; with an author, records `change` if the delta changes anything. */
  private commit(d: Delta, change?: Change): ListDoc {
    if (change !== undefined && !this.recording && this.author !== undefined && d.made)
      this.addEntry(d, change);
    merge(this.state, d);
    return d;
  }

  private addEntry(d: Delta, change: Change): void {
    const author = this.author;
    if (author === undefined) return;
    d.journal.add(d.next(), {
      seq: this.state.journal.nextSeq(),
      atMs: Math.max(0, Math.min(Math.floor(author.nowMs()), Number.MAX_SAFE_INTEGER)),
      who: deviceName(author.name),
      kind: change.kind,
      name: change.name,
      n: change.n ?? 0,
      before: change.before ?? '',
      items: change.items ?? [],
    });
  }

  private coverAll(d: Delta, store: Map<Dot, unknown> | undefined): void {
    if (store !== undefined) for (const x of store.keys()) d.ctx.add(x);
  }

  private removeInto(d: Delta, key: string, item: ItemStore): void {
    d.mention(key);
    this.supersede(
      d,
      key,
      item.peek(FIELD_DISPLAY),
      item.peek(FIELD_NOTE),
      item.peek(FIELD_BASE),
      item.peek(FIELD_WANTED),
      item.peek(FIELD_BOUGHT),
    );
  }

  /**
   * Covers the dots of an item's stores in the delta's context and, if there were any, records
   * the removal under a fresh dot of its own. Every removal inside an item needs that record: a
   * peer can have the covered dots in its context (through a later delta's context) without ever
   * having applied this delta, and only the unseen record tells sync to send the item again.
   */
  private supersede(d: Delta, key: string, ...stores: (Map<Dot, unknown> | undefined)[]): void {
    let covered = 0;
    for (const store of stores) {
      if (store === undefined) continue;
      for (const x of store.keys()) d.ctx.add(x);
      covered += store.size;
    }
    if (covered > 0) d.removals.add(d.next(), key);
  }

  private writeNote(
    d: Delta,
    key: string,
    item: ItemStore,
    present: ItemStore | undefined,
    text: string,
  ): void {
    if (present !== undefined) this.supersede(d, key, present.peek(FIELD_NOTE));
    if (text.length > 0) item.note.set(d.next(), text);
  }

  private checkNote(note: string): string {
    return checkText('a note', note.trim(), limits.noteLengthMax, true);
  }

  private existing(name: string): [string, ItemStore] {
    const key = normaliseName(name);
    const item = this.state.items.get(key);
    if (item === undefined)
      throw new TrolleyError('not_found', `no item ${JSON.stringify(name.trim())} in this list`);
    return [key, item];
  }
}

/** A partial doc under construction: shares the state's replica table, hands out fresh dots. */
class Delta extends ListDoc {
  private counter: number;
  private readonly start: number;

  constructor(
    state: ListDoc,
    private readonly self: number,
  ) {
    super(false, state.replicas);
    this.counter = state.ctx.maxCounter(self);
    this.start = this.counter;
  }

  /** Whether the delta made a dot of its own (a change that is not a no-op). */
  get made(): boolean {
    return this.counter > this.start;
  }

  next(): Dot {
    this.counter++;
    if (this.counter > limits.dotCounterMax)
      throw new TrolleyError(
        'limit_exceeded',
        'this replica has made too many changes to one list; start a new replica',
      );
    const d = dot(this.self, this.counter);
    this.ctx.add(d);
    return d;
  }
}

/** What a history entry keeps of removed items: bounded, in name order, quantities within range. */
export function removedItems(
  items: readonly Pick<ItemView, 'name' | 'wanted' | 'bought' | 'note'>[],
): RemovedItem[] {
  const clamp = (n: number): number => Math.max(0, Math.min(n, limits.quantityMax));
  return [...items]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, limits.historyItemsPerEntryMax)
    .map((i) => ({ name: i.name, wanted: clamp(i.wanted), bought: clamp(i.bought), note: i.note ?? '' }));
}

/** A display name as history keeps it: trimmed, control characters out, within its limit. */
export function deviceName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  return Array.from(clean).slice(0, limits.deviceNameLengthMax).join('').trim();
}
