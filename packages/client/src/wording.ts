// How an item's quantities read, the same in the terminal and in the web app. Quantities are said
// plainly: "bought 2 of 1", never a silent 1.

import type { HistoryEntry, ItemView } from '@trolley/core';
import type { HistoryItem } from './trolley-client.ts';

/** "bought 2 of 6 (4 to buy)", "bought 1 of 1 (done)", "bought 2 of 1 (over-bought)". */
export function itemState(item: ItemView): string {
  const base = `bought ${item.bought} of ${item.wanted}`;
  if (item.overBought) return `${base} (over-bought)`;
  if (item.done) return `${base} (done)`;
  if (item.remaining > 0) return `${base} (${item.remaining} to buy)`;
  return base;
}

/**
 * How history reads in one language: the words for an entry's author when it has no name, and
 * what an entry did ("bought 2 × Milk"). English is here, for the terminal and the web app; the web
 * app's other languages bring their own (apps/web/src/strings.ts). The lines are put together by
 * historyWho, historyWhen and historyLine below, the same for every language.
 */
export interface HistoryWords {
  /** The author of an entry this device made, with no name set ("You"). */
  you: string;
  /** The author of another device's entry with no name ("Someone"). */
  someone: string;
  /** This device's own name, when set ("Ana"; the terminal says "Ana (this device)"). */
  yourName?: (name: string) => string;
  /** What the entry did: "bought 2 × Milk", "removed Milk", "deleted the list". */
  action: (e: HistoryEntry) => string;
}

export const englishHistory: HistoryWords = {
  you: 'You',
  someone: 'Someone',
  action: (e) => {
    const count = (n: number): string => `${n} item${n === 1 ? '' : 's'}`;
    switch (e.kind) {
      case 'add':
        return e.n === 1 ? `added ${e.name}` : `added ${e.n} × ${e.name}`;
      case 'set':
        return `set ${e.name} to ${e.n}${e.before === '' ? '' : ` (was ${e.before})`}`;
      case 'increase':
        return `wanted ${e.n} more ${e.name}`;
      case 'decrease':
        return `wanted ${e.n} fewer ${e.name}`;
      case 'buy':
        return `bought ${e.n} × ${e.name}`;
      case 'check':
        return `checked off ${e.name}`;
      case 'uncheck':
        return `unchecked ${e.name}`;
      case 'note':
        return `changed the note of ${e.name}`;
      case 'remove':
        return `removed ${e.name}`;
      case 'clear':
        return `cleared ${count(e.n)} bought`;
      case 'delete':
        return 'deleted the list';
      case 'rename':
        return e.before === '' ? `named the list ${e.name}` : `renamed the list ${e.before} → ${e.name}`;
      case 'restore':
        return e.n === 0 ? 'brought the list back' : `brought back ${count(e.n)}`;
      case 'undo':
        return `undid a change to ${e.name === '' ? 'the list' : e.name}`;
      case 'create':
        return 'created the list';
    }
  },
};

/** Who made an entry: its name, else "You" (this device) or "Someone". */
export function historyWho(e: HistoryItem, words: HistoryWords): string {
  if (e.who === '') return e.mine ? words.you : words.someone;
  return e.mine && words.yourName !== undefined ? words.yourName(e.who) : e.who;
}

/** "Ana bought 2 × Milk": who, then what. */
export function historyWhat(e: HistoryItem, words: HistoryWords): string {
  return `${historyWho(e, words)} ${words.action(e)}`;
}

/** When, in `locale`'s words and local time: "14:02" on the day of `nowMs`, else "Sat 5 Dec 14:02". */
export function historyWhen(atMs: number, nowMs: number, locale: string): string {
  const format = (o: Intl.DateTimeFormatOptions, ms: number): string =>
    new Intl.DateTimeFormat(locale, o).format(ms);
  const time = format({ hour: '2-digit', minute: '2-digit' }, atMs);
  const day: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'numeric', day: 'numeric' };
  return format(day, atMs) === format(day, nowMs)
    ? time
    : `${format({ weekday: 'short', day: 'numeric', month: 'short' }, atMs)} ${time}`;
}

/** "Ana bought 2 × Milk · 14:02". */
export function historyLine(e: HistoryItem, words: HistoryWords, nowMs: number, locale: string): string {
  return `${historyWhat(e, words)} · ${historyWhen(e.atMs, nowMs, locale)}`;
}

/** Whether the entry took items away that can be brought back (remove, clear, delete). */
export function canBringBack(e: HistoryEntry): boolean {
  return (
    (e.kind === 'remove' || e.kind === 'clear' || e.kind === 'delete') &&
    (e.items.length > 0 || e.kind === 'delete')
  );
}
