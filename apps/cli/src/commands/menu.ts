// `trolley` with no command: an interactive menu (@inquirer/prompts), in the spirit of the seed
// projects' clients: choose a list or create or join one; in a list, add, buy, check off, change
// quantities, remove, share, sync. Every change goes through the same path as the commands
// (local-ok, then a quick sync), and a LiveSync keeps every list fresh in the background, so a
// list shows others' changes each time it is drawn. When stdin or stdout is not a terminal, it
// prints the help instead of waiting for keys that will never come. The prompts library is loaded
// only here, so that every other command starts without it.

import type * as Inquirer from '@inquirer/prompts';
import type { Command } from 'commander';
import { TrolleyError, limits, type ItemView, type ListId } from '@trolley/core';
import { LiveSync, itemState, shareLink } from '@trolley/client';
import { withHome, type Home } from '../home.ts';
import { nodeLiveSyncEnv, pushedChanges } from '@trolley/node/live-feed';
import { renderList, statusText, titleOf } from '../render.ts';
import { itemOperations, runItemOperation, type ItemOperation } from './items.ts';
import { quoted } from './lists.ts';
import { describeSync, runSync } from './sync.ts';

export async function runMenu(program: Command): Promise<void> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    program.outputHelp();
    return;
  }
  // The prompts library loads while the home opens: the first prompt comes sooner.
  const loading = import('@inquirer/prompts');
  await withHome(
    program,
    async (home) => {
      prompts = await loading;
      await menu(home);
    },
    { json: false },
  );
}

/** @inquirer/prompts, loaded by runMenu. */
let prompts: typeof Inquirer | undefined;

function ui(): typeof Inquirer {
  if (prompts === undefined) throw new Error('the prompts library is not loaded');
  return prompts;
}

/** Ctrl-C or Ctrl-D inside a prompt. */
function isPromptExit(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

async function menu(home: Home): Promise<void> {
  const cloud = await home.cloud({ direct: true });
  const live = new LiveSync(
    home.client,
    cloud,
    () => home.client.lists().map((l) => l.listId),
    {
      pollMs: 5_000,
      timeoutMs: 3_000,
      feed: pushedChanges(cloud),
    },
    nodeLiveSyncEnv,
  );
  live.start();
  try {
    home.say(
      `Trolley: shopping lists on this device (${home.dir}), synced with ${home.endpoints.join(', ')}`,
    );
    await mainScreen(home);
  } catch (error) {
    if (!isPromptExit(error)) throw error;
  } finally {
    await live.stop();
  }
  const waiting = home.client.lists().reduce((n, l) => n + l.outbox, 0);
  home.say(
    waiting === 0
      ? 'Bye.'
      : `Bye. ${waiting} change${waiting === 1 ? '' : 's'} wait on this device for the cloud; trolley sync sends them.`,
  );
}

type MainChoice = { kind: 'list'; id: ListId } | { kind: 'create' | 'join' | 'sync' | 'quit' };

async function mainScreen(home: Home): Promise<void> {
  for (;;) {
    const lists = home.client.lists();
    const choice = await ui().select<MainChoice>({
      message: lists.length === 0 ? 'No lists yet. What next?' : 'Choose a list',
      pageSize: 15,
      choices: [
        ...lists.map((l) => {
          const toBuy = home.client.view(l.listId).items.filter((i) => i.remaining > 0).length;
          const waiting = l.outbox > 0 ? `, ${l.outbox} waiting` : '';
          return {
            name: `${titleOf(home.client.view(l.listId), l.status)}${l.deleted ? ' (deleted)' : ''}: ${l.items} items, ${toBuy} to buy · ${statusText(l.status)}${waiting}`,
            value: { kind: 'list', id: l.listId } as const,
          };
        }),
        ...(lists.length > 0 ? [new (ui().Separator)()] : []),
        { name: 'Create a list', value: { kind: 'create' } },
        { name: 'Join a list (ID or link)', value: { kind: 'join' } },
        { name: 'Sync now', value: { kind: 'sync' } },
        { name: 'Quit', value: { kind: 'quit' } },
      ],
    });
    try {
      switch (choice.kind) {
        case 'quit':
          return;
        case 'list':
          if ((await listScreen(home, choice.id)) === 'quit') return;
          break;
        case 'create': {
          const title = await ui().input({ message: 'Title of the new list:', required: true });
          const id = await home.client.createList(title);
          await home.reportChange(id, {
            line: `Created ${quoted(home, id)} (${id})`,
            changed: true,
            json: {},
          });
          if ((await listScreen(home, id)) === 'quit') return;
          break;
        }
        case 'join': {
          const ref = await ui().input({ message: 'ID or link of the list:', required: true });
          const id = await home.client.joinList(ref);
          const outcome = await home.quickSync(id, { force: true });
          home.say(
            outcome.status === 'joining' ? 'Joined; the list appears once the cloud has it.' : 'Joined.',
          );
          if ((await listScreen(home, id)) === 'quit') return;
          break;
        }
        case 'sync':
          home.say(describeSync(await runSync(home, 10_000), home.endpoints).join('\n'));
          break;
      }
    } catch (error) {
      if (!(error instanceof TrolleyError)) throw error;
      home.say(`trolley: ${error.message}`);
    }
  }
}

type ListAction =
  | 'add'
  | 'buy'
  | 'check'
  | 'uncheck'
  | 'set'
  | 'remove'
  | 'share'
  | 'sync'
  | 'rename'
  | 'clear'
  | 'delete'
  | 'back'
  | 'quit';

async function listScreen(home: Home, id: ListId): Promise<'back' | 'quit'> {
  for (;;) {
    if (!home.client.has(id)) return 'back';
    const view = home.client.view(id);
    home.say(`\n${renderList(id, view, home.client.status(id), home.client.outboxSize(id))}\n`);
    const none = view.items.length === 0 ? 'no items yet' : false;
    const action = await ui().select<ListAction>({
      message: 'What next?',
      pageSize: 15,
      choices: [
        { name: 'Add an item', value: 'add' },
        { name: 'Buy (mark units bought)', value: 'buy', disabled: none },
        { name: 'Check off (buy what remains)', value: 'check', disabled: none },
        { name: 'Uncheck', value: 'uncheck', disabled: none },
        { name: 'Change how many are wanted', value: 'set', disabled: none },
        { name: 'Remove an item', value: 'remove', disabled: none },
        { name: 'Share', value: 'share' },
        { name: 'Sync now', value: 'sync' },
        { name: 'Rename the list', value: 'rename' },
        { name: 'Clear bought items', value: 'clear', disabled: none },
        { name: 'Delete the list (for everyone)', value: 'delete' },
        new (ui().Separator)(),
        { name: 'Back to the lists', value: 'back' },
        { name: 'Quit', value: 'quit' },
      ],
    });
    try {
      if (action === 'back' || action === 'quit') return action;
      await listAction(home, id, action, view.items);
    } catch (error) {
      if (!(error instanceof TrolleyError)) throw error;
      home.say(`trolley: ${error.message}`);
    }
  }
}

async function listAction(
  home: Home,
  id: ListId,
  action: Exclude<ListAction, 'back' | 'quit'>,
  items: readonly ItemView[],
): Promise<void> {
  const quantity = (message: string, fallback: number, min: number): Promise<number> =>
    ui().number({ message, default: fallback, min, max: limits.quantityMax, required: true });
  const onItem = async (make: (item: ItemView) => ItemOperation | Promise<ItemOperation>): Promise<void> => {
    const item = await pickItem(items);
    if (item === undefined) return;
    await runItemOperation(home, id, item.name, await make(item));
  };
  switch (action) {
    case 'add': {
      const name = await ui().input({ message: 'Item:', required: true });
      const n = await quantity('How many?', 1, 1);
      await runItemOperation(home, id, name, itemOperations.add(name, n));
      return;
    }
    case 'buy':
      return onItem(async (item) =>
        itemOperations.buy(item.name, await quantity('How many bought?', Math.max(1, item.remaining), 1)),
      );
    case 'check':
      return onItem((item) => itemOperations.check(item.name));
    case 'uncheck':
      return onItem((item) => itemOperations.uncheck(item.name));
    case 'set':
      return onItem(async (item) =>
        itemOperations.set(item.name, await quantity('How many wanted?', item.wanted, 0)),
      );
    case 'remove':
      return onItem((item) => itemOperations.remove(item.name));
    case 'share': {
      const outcome = await home.quickSync(id);
      home.say(`ID:   ${id}\nLink: ${shareLink(id)}\nThey open it with:  trolley list join ${id}`);
      if (outcome.status === 'local')
        home.say('(not all of it is in the cloud yet: others see it once this device syncs)');
      return;
    }
    case 'sync':
      home.say(describeSync(await runSync(home, 10_000), home.endpoints).join('\n'));
      return;
    case 'rename': {
      const title = await ui().input({
        message: 'New title:',
        default: home.client.view(id).title,
        required: true,
      });
      const before = quoted(home, id);
      const ok = await home.client.rename(id, title);
      await home.reportChange(id, {
        line: `Renamed ${before} to ${quoted(home, id)}`,
        changed: ok.opId !== undefined,
        json: {},
      });
      return;
    }
    case 'clear': {
      const ok = await home.client.clearBought(id);
      await home.reportChange(id, { line: 'Cleared bought items', changed: ok.opId !== undefined, json: {} });
      return;
    }
    case 'delete': {
      if (
        !(await ui().confirm({
          message: `Delete ${quoted(home, id)} for everyone who shares it?`,
          default: false,
        }))
      )
        return;
      const ok = await home.client.deleteList(id);
      await home.reportChange(id, {
        line: `Deleted ${quoted(home, id)}`,
        changed: ok.opId !== undefined,
        json: {},
      });
      return;
    }
  }
}

async function pickItem(items: readonly ItemView[]): Promise<ItemView | undefined> {
  const key = await ui().select<string | undefined>({
    message: 'Which item?',
    pageSize: 15,
    choices: [
      ...items.map((i) => ({ name: `${i.name}: ${itemState(i)}`, value: i.key })),
      new (ui().Separator)(),
      { name: 'Cancel', value: undefined },
    ],
  });
  return items.find((i) => i.key === key);
}
