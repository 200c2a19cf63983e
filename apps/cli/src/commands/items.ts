// `trolley item …`: the items of a list. Each command is one operation of the client engine,
// committed locally before anything is said (local-ok), then pushed by a quick sync (home.ts).
// Names are matched as the list matches them (case and spacing do not matter); quantities are
// whole numbers, checked here for shape and by the engine for range (exit 2 either way).
// `item aisle` is not a change of the list: the aisle is this device's choice (aisles.ts).

import type { Command } from 'commander';
import { TrolleyError, type ItemView, type ListId } from '@trolley/core';
import {
  aisleOf,
  aisles,
  englishAisleNames,
  itemState,
  parseItemEntry,
  type LocalOk,
  type TrolleyClient,
} from '@trolley/client';
import { parseAisle, saveItemAisle } from '../aisles.ts';
import { didYouMean } from '../did-you-mean.ts';
import { withHome, type Home } from '../home.ts';
import { itemJson } from '../render.ts';
import { listRefHelp, quoted } from './lists.ts';
import { summaries } from './summaries.ts';

/** A quantity typed by a person: digits only; the engine checks the range. */
export function parseQuantity(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,15}$/.test(trimmed))
    throw new TrolleyError('invalid_argument', `${what} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(trimmed);
}

/** One item operation, as the CLI and the menu run it. */
export interface ItemOperation {
  /** Runs the engine's operation. */
  run(client: TrolleyClient, listId: ListId): Promise<LocalOk>;
  /** What was done, for the first line ("Bought 2 × Milk"). */
  done(name: string): string;
  /** The item's name when it is not the name typed ("2 bananas" names bananas). */
  name?: string;
}

/**
 * Runs an item operation and reports it: "<what was done> — now bought 0 of 2 (2 to buy)", then
 * where the change is (home.reportChange).
 */
export async function runItemOperation(
  home: Home,
  listId: ListId,
  name: string,
  op: ItemOperation,
): Promise<void> {
  name = op.name ?? name;
  const before = home.client.item(listId, name);
  const ok = await op.run(home.client, listId);
  const after: ItemView | undefined = home.client.item(listId, name);
  const shown = after?.name ?? before?.name ?? name.trim();
  const changed = ok.opId !== undefined;
  const line = !changed
    ? `${shown}: nothing to change${after === undefined ? '' : ` — ${itemState(after)}`}`
    : after === undefined
      ? `${op.done(shown)} (${quoted(home, listId)})`
      : `${op.done(shown)} — now ${itemState(after)}`;
  await home.reportChange(listId, {
    line,
    changed,
    json: { item: after === undefined ? null : itemJson(after) },
  });
}

export const itemOperations = {
  /**
   * Adds an item; an item already there is wanted `quantity` more, keeping the name everyone sees
   * (adding "milk" to a list holding "Milk" does not rename it). Without a quantity, the name is
   * read as the web app reads it: "2 bananas", "bananas x2".
   */
  add: (typed: string, given: number | undefined, note?: string): ItemOperation => {
    const entry = given === undefined ? parseItemEntry(typed) : { name: typed.trim(), quantity: given };
    const quantity = entry.quantity;
    let already = false;
    return {
      name: entry.name,
      run: (c, id) => {
        // Already there: added under the name everyone sees (an add re-asserts its name, so it
        // survives a removal made at the same time elsewhere).
        const present = c.item(id, entry.name);
        already = present !== undefined;
        return c.addItem(id, present?.name ?? entry.name, quantity, note);
      },
      done: (n) =>
        already ? `${n} is already on the list: ${quantity} more wanted` : `Added ${quantity} × ${n}`,
    };
  },
  set: (name: string, quantity: number): ItemOperation => ({
    run: (c, id) => c.setWanted(id, name, quantity),
    done: (n) => `Set ${n} to ${quantity} wanted`,
  }),
  inc: (name: string, by: number): ItemOperation => ({
    run: (c, id) => c.increaseWanted(id, name, by),
    done: (n) => `Want ${by} more ${n}`,
  }),
  dec: (name: string, by: number): ItemOperation => ({
    run: (c, id) => c.decreaseWanted(id, name, by),
    done: (n) => `Want ${by} fewer ${n}`,
  }),
  buy: (name: string, units: number): ItemOperation => ({
    run: (c, id) => c.buy(id, name, units),
    done: (n) => `Bought ${units} × ${n}`,
  }),
  check: (name: string): ItemOperation => ({
    run: (c, id) => c.checkOff(id, name),
    done: (n) => `Checked off ${n}`,
  }),
  uncheck: (name: string): ItemOperation => ({
    run: (c, id) => c.uncheck(id, name),
    done: (n) => `Unchecked ${n}`,
  }),
  remove: (name: string): ItemOperation => ({
    run: (c, id) => c.removeItem(id, name),
    done: (n) => `Removed ${n}`,
  }),
  note: (name: string, note: string): ItemOperation => ({
    run: (c, id) => c.setNote(id, name, note),
    done: (n) => `Noted on ${n}: ${JSON.stringify(note)}`,
  }),
};

export function registerItems(program: Command): void {
  const item = program.command('item').description(summaries.item).addHelpText('after', listRefHelp);

  /** Registers `item <verb> <list> <name> …` running the operation `make` builds from the arguments. */
  const verb = (
    usage: string,
    description: string,
    make: (name: string, args: (string | undefined)[], o: Record<string, unknown>) => ItemOperation,
  ): Command =>
    item
      .command(usage)
      .description(description)
      .action((...all: unknown[]) => {
        const command = all[all.length - 1] as Command;
        const o = all[all.length - 2] as Record<string, unknown>;
        const [ref, name, ...rest] = all.slice(0, -2) as (string | undefined)[];
        return withHome(command, async (home) => {
          const listId = home.list(ref ?? '');
          await runItemOperation(home, listId, name ?? '', make(name ?? '', rest, o));
        });
      });

  const qty = (text: string | undefined, what: string, fallback: number): number =>
    text === undefined ? fallback : parseQuantity(text, what);

  verb(
    'add <list> <name> [qty]',
    'add an item (default 1, or as the name says: "2 bananas", "bananas x2"); an item already there is wanted that many more',
    (name, [q], o) =>
      itemOperations.add(
        name,
        q === undefined ? undefined : parseQuantity(q, 'a quantity'),
        o['note'] as string | undefined,
      ),
  ).option('--note <text>', 'a note on the item ("the organic one")');
  verb('set <list> <name> <qty>', 'set how many are wanted', (name, [q]) =>
    itemOperations.set(name, qty(q, 'a quantity', 0)),
  );
  verb('inc <list> <name> [n]', 'want n more (default 1)', (name, [n]) =>
    itemOperations.inc(name, qty(n, 'an increase', 1)),
  );
  verb('dec <list> <name> [n]', 'want n fewer (default 1), never below zero', (name, [n]) =>
    itemOperations.dec(name, qty(n, 'a decrease', 1)),
  );
  verb(
    'buy <list> <name> [n]',
    'mark n units bought (default 1); two shoppers buying both count',
    (name, [n]) => itemOperations.buy(name, qty(n, 'units bought', 1)),
  );
  verb('check <list> <name>', 'buy whatever remains of an item', (name) => itemOperations.check(name));
  verb('uncheck <list> <name>', 'undo the buying you have seen of an item', (name) =>
    itemOperations.uncheck(name),
  );
  verb('remove <list> <name>', 'remove an item (what others add at the same time stays)', (name) =>
    itemOperations.remove(name),
  );
  verb('note <list> <name> <note>', 'set the note of an item ("" clears it)', (name, [note]) =>
    itemOperations.note(name, note ?? ''),
  );

  item
    .command('aisle <list> <name> <aisle>')
    .description(
      `put an item in another aisle, on this device only, for list show --by-aisle (${aisles.join(', ')})`,
    )
    .action((ref: string, name: string, typed: string, _o: unknown, command: Command) =>
      withHome(command, (home) => {
        const aisle = parseAisle(typed);
        const listId = home.list(ref);
        const found = home.client.item(listId, name);
        if (found === undefined) {
          const near = didYouMean(
            name,
            home.client.view(listId).items.map((i) => i.name),
          );
          throw new TrolleyError(
            'not_found',
            `no item ${JSON.stringify(name.trim())} in ${quoted(home, listId)}` +
              (near.length > 0 ? `; did you mean ${near.map((n) => JSON.stringify(n)).join(' or ')}?` : ''),
          );
        }
        saveItemAisle(home.dir, found.name, aisle);
        const usual = aisleOf(found.name) === aisle;
        if (home.json) home.printJson({ id: listId, item: found.name, aisle, usual });
        else
          home.say(
            `${found.name} is in ${englishAisleNames[aisle]} (${aisle}) on this device${
              usual ? ', its usual aisle' : ''
            }`,
          );
      }),
    );
}
