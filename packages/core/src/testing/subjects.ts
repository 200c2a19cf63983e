// Implementations under test for the history harness: our CRDT, shipped through the real codec,
// and a last-writer-wins whole-list register, the design the first seed started from, kept here
// to prove that the intent checks can fail.

import { TrolleyError } from '../errors.ts';
import type { ReplicaId } from '../ids.ts';
import { decodeContext, decodeList, encodeContext, encodeList } from '../codec/list-codec.ts';
import type { ListDoc } from '../crdt/list-doc.ts';
import { ListReplica } from '../crdt/list-replica.ts';
import { displayName, normaliseName } from '../crdt/names.ts';
import { compareKeys, type ListView } from '../crdt/read-model.ts';
import type { Implementation, Subject } from './history.ts';
import type { Op, PlainItem, PlainView } from './intent-model.ts';

/** Performs a model operation on a replica: the one mapping from Op to the replica's API. */
export function performOp(replica: ListReplica, op: Op): ListDoc {
  switch (op.kind) {
    case 'rename':
      return replica.rename(op.title);
    case 'add':
      return replica.addItem(op.name, op.qty, op.note);
    case 'set':
      return replica.setWanted(op.name, op.qty);
    case 'inc':
      return replica.increaseWanted(op.name, op.n);
    case 'dec':
      return replica.decreaseWanted(op.name, op.n);
    case 'buy':
      return replica.buy(op.name, op.n);
    case 'check':
      return replica.checkOff(op.name);
    case 'uncheck':
      return replica.uncheck(op.name);
    case 'note':
      return replica.setNote(op.name, op.note);
    case 'remove':
      return replica.removeItem(op.name);
    case 'clearBought':
      return replica.clearBought();
    case 'delete':
      return replica.deleteList();
  }
}

export function plainView(view: ListView): PlainView {
  return {
    title: view.title,
    deleted: view.deleted,
    items: view.items.map(({ key, name, wanted, bought, note }) => ({ key, name, wanted, bought, note })),
  };
}

export const replicaName = (i: number): ReplicaId => `replica-${i}` as ReplicaId;

export class TrolleySubject implements Subject<Uint8Array> {
  readonly replica: ListReplica;
  /** With `named`, the replica records history under the name `device i` (journal.ts). */
  constructor(i: number, named = false) {
    this.replica = new ListReplica(replicaName(i));
    if (named) {
      let clock = 0;
      this.replica.author = { name: `device ${i}`, nowMs: () => ++clock };
    }
  }
  perform(op: Op): Uint8Array {
    return encodeList(performOp(this.replica, op));
  }
  receive(bytes: Uint8Array): void {
    const doc = decodeList(bytes);
    if (!doc.ok) throw doc.error;
    this.replica.apply(doc.value);
  }
  syncTo(peer: Subject<Uint8Array>): Uint8Array {
    const state = (peer as TrolleySubject).replica.state;
    const asked = decodeContext(encodeContext(state.ctx, state.replicas));
    if (!asked.ok) throw asked.error;
    return encodeList(this.replica.missingFor(asked.value.ctx, asked.value.replicas));
  }
  view(): PlainView {
    return plainView(this.replica.view());
  }
}

export const trolley: Implementation<Uint8Array> = {
  name: 'trolley delta-CRDT',
  replica: (i) => new TrolleySubject(i),
};

// ---- last-writer-wins whole list ---------------------------------------------------------------

interface LwwState {
  stamp: [number, number];
  title: string;
  deleted: boolean;
  items: Record<string, PlainItem>;
}

class LwwSubject implements Subject<string> {
  private state: LwwState = { stamp: [0, 0], title: '', deleted: false, items: {} };
  constructor(private readonly id: number) {}

  perform(op: Op): string {
    const s = structuredClone(this.state);
    const find = (name: string): PlainItem => {
      const item = s.items[normaliseName(name)];
      if (item === undefined) throw new TrolleyError('not_found', `no item ${name}`);
      return item;
    };
    if (op.kind !== 'delete') s.deleted = false;
    switch (op.kind) {
      case 'rename':
        s.title = displayName(op.title);
        break;
      case 'add': {
        const key = normaliseName(op.name);
        const item = (s.items[key] ??= { key, name: '', wanted: 0, bought: 0, note: undefined });
        item.name = displayName(op.name);
        item.wanted += op.qty;
        if (op.note !== undefined) item.note = op.note.trim() === '' ? undefined : op.note.trim();
        break;
      }
      case 'set':
        find(op.name).wanted = op.qty;
        break;
      case 'inc':
        find(op.name).wanted += op.n;
        break;
      case 'dec': {
        const item = find(op.name);
        item.wanted = Math.max(0, item.wanted - op.n);
        break;
      }
      case 'buy':
        find(op.name).bought += op.n;
        break;
      case 'check': {
        const item = find(op.name);
        item.bought = Math.max(item.bought, item.wanted);
        break;
      }
      case 'uncheck':
        find(op.name).bought = 0;
        break;
      case 'note': {
        const item = find(op.name);
        item.note = op.note.trim() === '' ? undefined : op.note.trim();
        break;
      }
      case 'remove':
        find(op.name);
        delete s.items[normaliseName(op.name)];
        break;
      case 'clearBought':
        for (const [key, item] of Object.entries(s.items))
          if (item.bought > 0 && item.bought >= item.wanted) delete s.items[key];
        break;
      case 'delete':
        s.items = {};
        s.deleted = true;
        break;
    }
    s.stamp = [this.state.stamp[0] + 1, this.id];
    this.state = s;
    return JSON.stringify(s);
  }

  receive(message: string): void {
    const other = JSON.parse(message) as LwwState;
    const [a, b] = [other.stamp, this.state.stamp];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) this.state = other;
  }

  syncTo(): string {
    return JSON.stringify(this.state);
  }

  view(): PlainView {
    const items = Object.values(this.state.items).sort((x, y) => compareKeys(x.key, y.key));
    return { title: this.state.title, deleted: this.state.deleted && items.length === 0, items };
  }
}

export const lastWriterWins: Implementation<string> = {
  name: 'last-writer-wins whole list',
  replica: (i) => new LwwSubject(i),
};
