// `trolley history <list>` and `trolley undo [list]`: the list's history, which travels with the
// list (core journal.ts), and taking back this device's last change with the inverse operations.
// Names come from `trolley config set name …`.

import type { Command } from 'commander';
import { TrolleyError, type ListId } from '@trolley/core';
import { englishHistory, historyLine, type HistoryWords } from '@trolley/client';
import { withHome, type Home } from '../home.ts';
import { quoted } from './lists.ts';
import { summaries } from './summaries.ts';

/**
 * History in the terminal: English, this device's own name marked as such; times in British style
 * ("14:02", "Sat 5 Dec 14:02" on another day).
 */
const words: HistoryWords = {
  ...englishHistory,
  you: 'This device',
  yourName: (name) => `${name} (this device)`,
};
const locale = 'en-GB';

/** The list whose newest change by this device (not yet undone) is the newest of all. */
function lastChanged(home: Home): ListId {
  let best: { id: ListId; atMs: number } | undefined;
  for (const { listId } of home.client.lists()) {
    const e = home.client.undoable(listId);
    if (e !== undefined && (best === undefined || e.atMs > best.atMs)) best = { id: listId, atMs: e.atMs };
  }
  if (best === undefined)
    throw new TrolleyError('not_found', 'this device has made no change that is left to undo');
  return best.id;
}

export function registerHistory(program: Command): void {
  program
    .command('history <list>')
    .description(summaries.history)
    .option('-n, --limit <n>', 'show at most n entries', '20')
    .action((ref: string, opts: { limit: string }, command: Command) =>
      withHome(command, (home) => {
        const limit = Number(opts.limit);
        if (!Number.isSafeInteger(limit) || limit < 1)
          throw new TrolleyError(
            'invalid_argument',
            `--limit must be a whole number from 1, not ${opts.limit}`,
          );
        const id = home.list(ref);
        const all = home.client.history(id);
        if (home.json) {
          home.printJson({ id, history: all.slice(0, limit) });
          return;
        }
        if (all.length === 0) {
          home.say(`No history for ${quoted(home, id)} yet (changes are recorded from this version on)`);
          return;
        }
        const now = Date.now();
        home.say(`History of ${quoted(home, id)}, newest first:`);
        for (const h of all.slice(0, limit)) home.say(`  ${historyLine(h, words, now, locale)}`);
        if (all.length > limit) home.say(`  … ${all.length - limit} older (--limit ${all.length})`);
      }),
    );

  program
    .command('undo [list]')
    .description(summaries.undo)
    .addHelpText(
      'after',
      '\nUndo is a new change made of the inverse operations: what others did meanwhile stays.\n' +
        'Each undo goes one change further back; without <list>, the list this device changed last.',
    )
    .action((ref: string | undefined, _o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const id = ref === undefined ? lastChanged(home) : home.list(ref);
        const { opId, undone } = await home.client.undo(id);
        await home.reportChange(id, {
          line: `Undid: ${words.action(undone)} in ${quoted(home, id)}`,
          changed: opId !== undefined,
          json: { undone },
        });
      }),
    );
}
