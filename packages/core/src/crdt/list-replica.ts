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
import { itemView, listView, type ItemView, type ListView } from './read-model.ts';
import { WHOLE_LIST } from './removal-log.ts';

export class ListReplica {
  readonly state: ListDoc;
  private readonly self: number;

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

  rename(title: string): ListDoc {
    const t = checkText('a list title', displayName(title), limits.titleLengthMax, false);
    const d = this.delta();
    d.title = new Map();
    this.coverAll(d, this.state.title);
    d.title.set(d.next(), t);
    return this.commit(d);
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
    return this.commit(d);
  }

  /** Sets the wanted quantity; increments made concurrently by others still add to it. */
  setWanted(name: string, quantity: number): ListDoc {
    checkQuantity('a wanted quantity', quantity, 0);
    const [key, present] = this.existing(name);
    const d = this.delta();
    const item = d.mention(key);
    this.supersede(d, key, present.peek(FIELD_BASE), present.peek(FIELD_WANTED));
    item.base.set(d.next(), quantity);
    return this.commit(d);
  }

  increaseWanted(name: string, by = 1): ListDoc {
    checkQuantity('an increase', by, 1);
    const [key] = this.existing(name);
    const d = this.delta();
    d.mention(key).wanted.set(d.next(), by);
    return this.commit(d);
  }

  /** Lowers the wanted quantity, never below zero as this replica sees it. */
  decreaseWanted(name: string, by = 1): ListDoc {
    checkQuantity('a decrease', by, 1);
    const [key, present] = this.existing(name);
    const amount = Math.min(by, itemView(key, present).wanted);
    const d = this.delta();
    if (amount > 0) d.mention(key).wanted.set(d.next(), -amount);
    return this.commit(d);
  }

  /** Marks `units` more as bought. Two shoppers buying at once both count. */
  buy(name: string, units = 1): ListDoc {
    checkQuantity('units bought', units, 1);
    const [key] = this.existing(name);
    const d = this.delta();
    d.mention(key).bought.set(d.next(), units);
    return this.commit(d);
  }

  /** Buys whatever remains; nothing if nothing remains. */
  checkOff(name: string): ListDoc {
    const [key, present] = this.existing(name);
    const { remaining } = itemView(key, present);
    const d = this.delta();
    if (remaining > 0) d.mention(key).bought.set(d.next(), remaining);
    return this.commit(d);
  }

  /** Resets the bought units this replica has seen; units bought concurrently elsewhere stay. */
  uncheck(name: string): ListDoc {
    const [key, present] = this.existing(name);
    const d = this.delta();
    d.mention(key);
    this.supersede(d, key, present.peek(FIELD_BOUGHT));
    return this.commit(d);
  }

  setNote(name: string, note: string): ListDoc {
    const text = this.checkNote(note);
    const [key, present] = this.existing(name);
    const d = this.delta();
    this.writeNote(d, key, d.mention(key), present, text);
    return this.commit(d);
  }

  removeItem(name: string): ListDoc {
    const [key, present] = this.existing(name);
    const d = this.delta();
    this.removeInto(d, key, present);
    return this.commit(d);
  }

  /** Removes every item that is done (bought, nothing remaining). */
  clearBought(): ListDoc {
    const d = this.delta();
    for (const [key, item] of this.state.items) if (itemView(key, item).done) this.removeInto(d, key, item);
    return this.commit(d);
  }

  deleteList(): ListDoc {
    const d = new Delta(this.state, this.self);
    for (const [key, item] of this.state.items) {
      d.mention(key);
      forEachItemDot(item, (x) => d.ctx.add(x));
    }
    d.deleted = new Map();
    this.coverAll(d, this.state.deleted);
    d.deleted.set(d.next(), true);
    d.removals.add(d.next(), WHOLE_LIST);
    return this.commit(d);
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

  private commit(d: Delta): ListDoc {
    merge(this.state, d);
    return d;
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

  constructor(
    state: ListDoc,
    private readonly self: number,
  ) {
    super(false, state.replicas);
    this.counter = state.ctx.maxCounter(self);
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
