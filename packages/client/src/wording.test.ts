import { describe, expect, it } from 'vitest';
import type { HistoryItem } from './trolley-client.ts';
import { englishHistory, historyLine, historyWhat, historyWhen, type HistoryWords } from './wording.ts';

const entry = (over: Partial<HistoryItem>): HistoryItem => ({
  seq: 1,
  atMs: 0,
  who: '',
  kind: 'buy',
  name: 'Milk',
  n: 2,
  before: '',
  items: [],
  replica: 'r',
  mine: false,
  ...over,
});

describe('history wording: one implementation, words from a table', () => {
  it('says who: the name, else You or Someone; this device’s name as the table says', () => {
    expect(historyWhat(entry({ who: 'Ana' }), englishHistory)).toBe('Ana bought 2 × Milk');
    expect(historyWhat(entry({ mine: true }), englishHistory)).toBe('You bought 2 × Milk');
    expect(historyWhat(entry({}), englishHistory)).toBe('Someone bought 2 × Milk');
    const marked: HistoryWords = { ...englishHistory, yourName: (n) => `${n} (this device)` };
    expect(historyWhat(entry({ who: 'Ana', mine: true }), marked)).toBe('Ana (this device) bought 2 × Milk');
    expect(historyWhat(entry({ who: 'Ana', mine: false }), marked)).toBe('Ana bought 2 × Milk');
  });

  it.each<[Partial<HistoryItem>, string]>([
    [{ kind: 'add', n: 1 }, 'added Milk'],
    [{ kind: 'add', n: 3 }, 'added 3 × Milk'],
    [{ kind: 'set', n: 4, before: '2' }, 'set Milk to 4 (was 2)'],
    [{ kind: 'check' }, 'checked off Milk'],
    [{ kind: 'clear', n: 1, name: '' }, 'cleared 1 item bought'],
    [{ kind: 'delete', name: 'Week' }, 'deleted the list'],
    [{ kind: 'rename', name: 'Week', before: '' }, 'named the list Week'],
    [{ kind: 'rename', name: 'Week', before: 'Sat' }, 'renamed the list Sat → Week'],
    [{ kind: 'restore', n: 0, name: 'Week' }, 'brought the list back'],
    [{ kind: 'undo', name: '' }, 'undid a change to the list'],
    [{ kind: 'create', name: 'Week', n: 0 }, 'created the list'],
  ])('English: %j reads %j', (over, said) => {
    expect(englishHistory.action(entry(over))).toBe(said);
  });

  it('says when: the time today, the day and time before; in the language asked for', () => {
    const at = new Date(2026, 11, 5, 14, 2).getTime(); // a Saturday, local time
    const sameDay = new Date(2026, 11, 5, 23, 59).getTime();
    const nextDay = new Date(2026, 11, 6, 9, 0).getTime();
    expect(historyWhen(at, sameDay, 'en-GB')).toBe('14:02');
    expect(historyWhen(at, nextDay, 'en-GB')).toBe('Sat 5 Dec 14:02');
    expect(historyWhen(at, nextDay, 'pt')).toMatch(/^sáb\.?,? 5 de dez\.? 14:02$/);
    expect(historyLine(entry({ who: 'Ana', atMs: at }), englishHistory, sameDay, 'en-GB')).toBe(
      'Ana bought 2 × Milk · 14:02',
    );
  });
});
