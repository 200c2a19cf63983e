// The read model: what a person sees. Derived from the state on demand; never stored.
//
// Registers: concurrent values are all kept (multi-value registers); the view shows the greatest
// value (numbers: the larger quantity, the safer for a shopper; strings: code-unit order). This
// tie-break needs no clock, so clock skew can never make an old write beat a new one, and it is
// the same on every replica. The next write by anyone supersedes all values it saw.

import {
  FIELD_BASE,
  FIELD_BOUGHT,
  FIELD_DISPLAY,
  FIELD_NOTE,
  FIELD_WANTED,
  type DotFun,
  type ItemStore,
  type ListDoc,
} from './list-doc.ts';

export interface ItemView {
  /** The normalised name: the item's identity in the list. */
  key: string;
  /** The name as typed (the greatest of concurrent spellings). */
  name: string;
  wanted: number;
  bought: number;
  /** Units still to buy: max(0, wanted − bought). */
  remaining: number;
  /** Something was bought and nothing remains. */
  done: boolean;
  /** More bought than wanted: "bought 2 of 1". */
  overBought: boolean;
  note: string | undefined;
}

export interface ListView {
  title: string;
  /** Deleted by someone, and no edit raced the delete. */
  deleted: boolean;
  /** In normalised-name order: stable and the same on every replica. */
  items: ItemView[];
}

export function greatest<V extends string | number>(register: DotFun<V> | undefined): V | undefined {
  let best: V | undefined;
  if (register === undefined) return best;
  for (const v of register.values()) if (best === undefined || v > best) best = v;
  return best;
}

export function sum(counter: DotFun<number> | undefined): number {
  let total = 0;
  if (counter === undefined) return total;
  for (const v of counter.values()) total += v;
  return total;
}

export function itemView(key: string, item: ItemStore): ItemView {
  const wanted = Math.max(
    0,
    (greatest(item.peek(FIELD_BASE) as DotFun<number> | undefined) ?? 0) +
      sum(item.peek(FIELD_WANTED) as DotFun<number> | undefined),
  );
  const bought = Math.max(0, sum(item.peek(FIELD_BOUGHT) as DotFun<number> | undefined));
  const remaining = Math.max(0, wanted - bought);
  return {
    key,
    name: greatest(item.peek(FIELD_DISPLAY) as DotFun<string> | undefined) ?? key,
    wanted,
    bought,
    remaining,
    done: bought > 0 && remaining === 0,
    overBought: bought > wanted,
    note: greatest(item.peek(FIELD_NOTE) as DotFun<string> | undefined),
  };
}

export function listView(doc: ListDoc): ListView {
  const keys = [...doc.items.keys()].sort(compareKeys);
  const items: ItemView[] = [];
  for (const key of keys) {
    const item = doc.items.get(key);
    if (item !== undefined) items.push(itemView(key, item));
  }
  return {
    title: greatest(doc.title) ?? '',
    deleted: (doc.deleted?.size ?? 0) > 0 && doc.items.size === 0,
    items,
  };
}

/** Code-unit order: deterministic, independent of locale. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
