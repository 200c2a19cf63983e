// What this device remembers to speed up next week's shop, in localStorage (small, per device,
// never synced): the item names it added recently, for suggestions while typing, and per list the
// items cleared as bought, for "Buy again". Both are bounded (clientLimits); a damaged or missing
// entry reads as empty, and a full storage is ignored: these are conveniences, never data.

import {
  aisleLearningFrom,
  aisleOverridesFrom,
  clientLimits,
  learnCheckOff,
  storeOrder,
  withAisleOverride,
  type Aisle,
  type AisleLearning,
} from '@trolley/client';
import { normaliseName, type ListId } from '@trolley/core';

export interface Again {
  name: string;
  wanted: number;
}

const recentKey = 'trolley.recent';
const againKey = (listId: ListId): string => `trolley.again.${listId}`;

function read<T>(key: string, valid: (x: unknown) => x is T): T[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(key) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter(valid) : [];
  } catch {
    return [];
  }
}

function write(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or refused: a suggestion less, nothing lost.
  }
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isAnything = (x: unknown): x is unknown => x !== undefined;
const isAgain = (x: unknown): x is Again =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as Again).name === 'string' &&
  Number.isSafeInteger((x as Again).wanted);

/** Newest first, one per item (by its normalised name), at most `max`. */
function fresh<T>(items: readonly T[], nameOf: (t: T) => string, max: number): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const item of items) {
    const key = normaliseName(nameOf(item));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

export function recentNames(): string[] {
  return read(recentKey, isString);
}

export function rememberName(name: string): void {
  write(
    recentKey,
    fresh([name, ...recentNames()], (n) => n, clientLimits.recentItemNamesMax),
  );
}

export function buyAgain(listId: ListId): Again[] {
  return read(againKey(listId), isAgain);
}

export function rememberCleared(listId: ListId, items: readonly Again[]): void {
  const all = [...items.map((i) => ({ name: i.name, wanted: Math.max(1, i.wanted) })), ...buyAgain(listId)];
  write(
    againKey(listId),
    fresh(all, (i) => i.name, clientLimits.buyAgainPerListMax),
  );
}

export function forgetAgain(listId: ListId, name: string): void {
  const key = normaliseName(name);
  write(
    againKey(listId),
    buyAgain(listId).filter((i) => normaliseName(i.name) !== key),
  );
}

const byAisleKey = 'trolley.byAisle';

/** Whether this device shows lists grouped by aisle. */
export function groupedByAisle(): boolean {
  try {
    return localStorage.getItem(byAisleKey) === '1';
  } catch {
    return false;
  }
}

export function setGroupedByAisle(on: boolean): void {
  write(byAisleKey, on ? 1 : 0);
}

const deviceNameKey = 'trolley.deviceName';

/** The name this device's changes carry in each list's history ('' for none). */
export function savedDeviceName(): string {
  try {
    return localStorage.getItem(deviceNameKey) ?? '';
  } catch {
    return '';
  }
}

export function saveDeviceName(name: string): void {
  try {
    if (name === '') localStorage.removeItem(deviceNameKey);
    else localStorage.setItem(deviceNameKey, name);
  } catch {
    // Storage refused: the name holds for this visit only.
  }
}

// Aisles, per device: the shop a person walks is theirs, not the list's (two people sharing a list
// shop in different stores), so the aisle chosen for an item and the order aisles are walked in
// are kept here, never synced; read back and bounded by @trolley/client's aisles.ts, as the
// terminal's are. The store order is the one the person dragged, if they did, else the one learnt
// from their check-offs (aisles.ts). Bounded: one entry per aisle (twice for the learning), at
// most aisleOverridesMax items.

const aisleOrderKey = 'trolley.aisleOrder';
const aisleOverridesKey = 'trolley.aisleOverrides';
const aisleLearningKey = 'trolley.aisleLearning';

/**
 * The store order this device's person set (every aisle once, the saved order first, new aisles
 * after), or undefined when they never set one (or went back to the learnt order).
 */
export function ownAisleOrder(): Aisle[] | undefined {
  try {
    if (localStorage.getItem(aisleOrderKey) === null) return undefined;
  } catch {
    return undefined;
  }
  return storeOrder(read(aisleOrderKey, isAnything));
}

/** Saves the person's own store order; undefined forgets it (the learnt order is used again). */
export function saveAisleOrder(order: readonly Aisle[] | undefined): void {
  if (order !== undefined) write(aisleOrderKey, order);
  else
    try {
      localStorage.removeItem(aisleOrderKey);
    } catch {
      // Storage refused: the order holds for this visit only.
    }
}

/** What this device learnt of its person's store order from their check-offs. */
export function aisleLearning(): AisleLearning {
  try {
    return aisleLearningFrom(JSON.parse(localStorage.getItem(aisleLearningKey) ?? 'null'));
  } catch {
    return aisleLearningFrom(null);
  }
}

/** Records a check-off in `aisle` now; returns what is learnt with it. */
export function learnAisleCheckOff(aisle: Aisle): AisleLearning {
  const next = learnCheckOff(aisleLearning(), aisle, Date.now());
  write(aisleLearningKey, next);
  return next;
}

/** The aisle this device's person chose for an item (by normalised name), over the guess. */
export function aisleOverrides(): Map<string, Aisle> {
  return aisleOverridesFrom(read(aisleOverridesKey, isAnything));
}

export function saveAisleOverride(name: string, aisle: Aisle): void {
  write(aisleOverridesKey, withAisleOverride(aisleOverrides(), name, aisle));
}
