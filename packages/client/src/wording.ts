// How an item's quantities read, the same in the terminal and in the web app. Quantities are said
// plainly: "bought 2 of 1", never a silent 1.

import type { HistoryEntry, ItemView } from '@trolley/core';

/** "bought 2 of 6 (4 to buy)", "bought 1 of 1 (done)", "bought 2 of 1 (over-bought)". */
export function itemState(item: ItemView): string {
  const base = `bought ${item.bought} of ${item.wanted}`;
  if (item.overBought) return `${base} (over-bought)`;
  if (item.done) return `${base} (done)`;
  if (item.remaining > 0) return `${base} (${item.remaining} to buy)`;
  return base;
}

/** What a history entry did, in English: "bought 2 × Milk", "removed Milk", "deleted the list". */
export function historyAction(e: HistoryEntry): string {
  const item = `${e.n} × ${e.name}`;
  const count = (n: number): string => `${n} item${n === 1 ? '' : 's'}`;
  switch (e.kind) {
    case 'add':
      return `added ${item}`;
    case 'set':
      return `set ${e.name} to ${e.n} (was ${e.before})`;
    case 'increase':
      return `wanted ${e.n} more ${e.name}`;
    case 'decrease':
      return `wanted ${e.n} fewer ${e.name}`;
    case 'buy':
      return `bought ${item}`;
    case 'check':
      return `checked off ${e.name} (${e.n} bought)`;
    case 'uncheck':
      return `unchecked ${e.name}`;
    case 'note':
      return `changed the note of ${e.name}`;
    case 'remove':
      return `removed ${e.name}`;
    case 'clear':
      return `cleared ${count(e.n)} bought`;
    case 'delete':
      return `deleted the list (${count(e.n)})`;
    case 'rename':
      return e.before === '' ? `named the list ${e.name}` : `renamed the list ${e.before} → ${e.name}`;
    case 'restore':
      return e.n === 0 ? `brought the list back` : `brought back ${count(e.n)}`;
    case 'undo':
      return `undid a change (${e.before}${e.name === '' ? '' : ` ${e.name}`})`;
  }
}

/** Whether the entry took items away that can be brought back (remove, clear, delete). */
export function canBringBack(e: HistoryEntry): boolean {
  return (
    (e.kind === 'remove' || e.kind === 'clear' || e.kind === 'delete') &&
    (e.items.length > 0 || e.kind === 'delete')
  );
}
