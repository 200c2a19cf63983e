// How an item's quantities read, the same in the terminal and in the web app. Quantities are said
// plainly: "bought 2 of 1", never a silent 1.

import type { ItemView } from '@trolley/core';

/** "bought 2 of 6 (4 to buy)", "bought 1 of 1 (done)", "bought 2 of 1 (over-bought)". */
export function itemState(item: ItemView): string {
  const base = `bought ${item.bought} of ${item.wanted}`;
  if (item.overBought) return `${base} (over-bought)`;
  if (item.done) return `${base} (done)`;
  if (item.remaining > 0) return `${base} (${item.remaining} to buy)`;
  return base;
}
