// Item names. Items are keyed by a normalised name so that "Milk", " milk " and "MILK" are one item;
// the name as typed is kept for display.

import { TrolleyError } from '../errors.ts';
import { limits } from '../limits.ts';

export type ItemKey = string & { readonly __itemKey: true };

// Control characters (C0, DEL, C1) are never part of a name.
// eslint-disable-next-line no-control-regex
const control = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Printable ASCII with no leading, trailing or doubled spaces (and, unless `upper`, no upper
 * case): already in the form the rules below give, without NFC or NFKC.
 */
function isPlainAscii(name: string, upper: boolean): boolean {
  const n = name.length;
  if (n === 0 || name.charCodeAt(0) === 32 || name.charCodeAt(n - 1) === 32) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c < 32 || c > 126 || (!upper && c >= 65 && c <= 90)) return false;
    if (c === 32 && name.charCodeAt(i + 1) === 32) return false;
  }
  return true;
}

/** Trimmed, Unicode-normalised (NFKC), case-folded, inner whitespace collapsed. */
/**
 * The key of a printable-ASCII name, or undefined if the name has another character. NFKC leaves
 * ASCII as it is and the only ASCII whitespace without control characters is the space, so this
 * is the rule below in one pass: lower-cased, spaces collapsed and trimmed.
 */
function asciiKey(name: string): string | undefined {
  let out = '';
  let space = false;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c < 32 || c > 126) return undefined;
    if (c === 32) {
      space = out.length > 0;
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (c >= 65 && c <= 90) c += 32;
    out += String.fromCharCode(c);
  }
  return out;
}

export function normaliseName(name: string): string {
  if (isPlainAscii(name, false)) return name; // the common case, without NFKC
  return asciiKey(name) ?? keyByRules(name);
}

/**
 * The key by the general rules, with no fast path (normaliseName takes shortcuts that must agree).
 * NFKC and case folding do not commute for a few characters (U+210C folds to "H" under NFKC), so
 * apply both until nothing changes: the result is a fixpoint, so keys are stable on the wire.
 */
export function keyByRules(name: string): string {
  let key = name;
  for (let round = 0; round < 4; round++) {
    const next = key.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
    if (next === key) break;
    key = next;
  }
  return key;
}

/** The display form: NFC, trimmed, inner whitespace collapsed, case kept. */
export function displayName(name: string): string {
  if (isPlainAscii(name, true)) return name; // printable ASCII, single inner spaces: NFC leaves it
  return name.normalize('NFC').trim().replace(/\s+/g, ' ');
}

export function checkText(what: string, text: string, lengthMax: number, allowEmpty: boolean): string {
  if (control.test(text))
    throw new TrolleyError('invalid_argument', `${what} may not contain control characters`);
  if (!allowEmpty && text.length === 0)
    throw new TrolleyError('invalid_argument', `${what} may not be empty`);
  if (text.length > lengthMax)
    throw new TrolleyError(
      'limit_exceeded',
      `${what} is ${text.length} characters; the limit is ${lengthMax}`,
    );
  return text;
}

/** Validates a user-typed item name and returns its key and display form. */
export function itemName(name: string): { key: ItemKey; display: string } {
  const display = checkText('an item name', displayName(name), limits.itemNameLengthMax, false);
  const key = normaliseName(display);
  checkText('an item name', key, limits.itemNameLengthMax, false);
  return { key: key as ItemKey, display };
}

/** True when `key` is already in normal form: what the decoder demands of keys from the wire. */
export function isItemKey(key: string): key is ItemKey {
  return (
    key.length > 0 &&
    key.length <= limits.itemNameLengthMax &&
    (isPlainAscii(key, false) || (!control.test(key) && normaliseName(key) === key))
  );
}

export function checkQuantity(what: string, n: number, min: number): number {
  if (!Number.isSafeInteger(n) || n < min || n > limits.quantityMax)
    throw new TrolleyError(
      'invalid_argument',
      `${what} must be a whole number from ${min} to ${limits.quantityMax}, not ${n}`,
    );
  return n;
}
