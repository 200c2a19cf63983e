// What a person types into "Add an item", read the same way by the web app and the terminal:
// "2 bananas", "bananas x2", "bananas ×2" and "2x bananas" mean two bananas. A number that is part
// of the name stays in it: "7up", "500 g flour" (a unit follows), "Vitamin B12" (no space or x
// before it). Pure: no I/O, nothing stored.

import { TrolleyError, limits } from '@trolley/core';

export interface ItemEntry {
  /** The name without the quantity, trimmed. */
  name: string;
  /** How many, 1 when the text names none. */
  quantity: number;
  /** Whether the text named a quantity. */
  counted: boolean;
}

/** Words after a leading number that make the number a measure, part of the name ("500 g flour"). */
const units = new Set([
  'g',
  'gr',
  'kg',
  'mg',
  'l',
  'ml',
  'cl',
  'dl',
  'lb',
  'lbs',
  'oz',
  '%',
  'pack',
  'packs',
]);

const leading = /^(\d{1,12})\s*[x×*]?\s+(.+)$/iu;
const trailing = /^(.+?)\s+[x×*]\s*(\d{1,12})$|^(.+?)\s+(\d{1,12})\s*[x×]$/iu;

/**
 * Reads "2 bananas" / "bananas x2" as two bananas. Throws TrolleyError('invalid_argument') for a
 * quantity above limits.quantityMax ("2000000 eggs"); a 0 is not read as a quantity.
 */
export function parseItemEntry(text: string): ItemEntry {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  const plain: ItemEntry = { name: trimmed, quantity: 1, counted: false };
  let digits: string | undefined;
  let name: string | undefined;
  const front = leading.exec(trimmed);
  if (front !== null) {
    const first = (front[2] ?? '').split(' ')[0]?.toLowerCase() ?? '';
    if (!units.has(first)) [digits, name] = [front[1], front[2]];
  }
  if (digits === undefined) {
    const back = trailing.exec(trimmed);
    if (back !== null) [name, digits] = back[1] !== undefined ? [back[1], back[2]] : [back[3], back[4]];
  }
  if (digits === undefined || name === undefined || name.trim() === '') return plain;
  const quantity = Number(digits);
  if (quantity < 1) return plain;
  if (quantity > limits.quantityMax)
    throw new TrolleyError('invalid_argument', `at most ${limits.quantityMax} of one item, not ${digits}`);
  return { name: name.trim(), quantity, counted: true };
}
