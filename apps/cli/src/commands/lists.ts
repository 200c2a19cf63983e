// `trolley list …`: the lists on this device. Every change is committed locally first (local-ok,
// said at once), then a quick sync pushes it (home.ts). `list show` first refreshes the list from
// the cloud when it answers quickly (--no-refresh: never), and says how old its view is; `list ls`
// never touches the network; `list show --by-aisle` walks the list aisle by aisle (aisles.ts).
// A <list> argument is a full ID, a share link, an unambiguous ID prefix or a title (resolveList).

import type { Command } from 'commander';
import type { ItemView, ListId } from '@trolley/core';
import { groupByAisle, parseListRef, shareLink, type AisleGroups } from '@trolley/client';
import { homeAisles } from '../aisles.ts';
import { shortListId, withHome, type Home } from '../home.ts';
import { ago, listJson, renderList, statusJson, statusText, syncLine, table, titleOf } from '../render.ts';
import { summaries } from './summaries.ts';

export const listRefHelp =
  "\nA <list> is the list's ID, a prefix of it (list ls shows the short form), a share link, or its exact title.\n" +
  'Every change is saved on this device first, then pushed to the cloud at once if it answers.';

/** A list's title, quoted, for messages. */
export function quoted(home: Home, listId: ListId): string {
  return JSON.stringify(titleOf(home.client.view(listId), home.client.status(listId)));
}

/** Shortest prefix of `id`, at least 8 characters, that no other list here shares. */
export const shortId = shortListId;

/**
 * Prints a list, saying how fresh the view is: `refreshed` when it was just pulled from the cloud,
 * else when it last was (others may have changed it since).
 */
export function showList(home: Home, listId: ListId, refreshed = false, byAisle = false): void {
  const view = home.client.view(listId);
  const status = home.client.status(listId);
  const outbox = home.client.outboxSize(listId);
  const lastSyncMs = home.client.lists().find((l) => l.listId === listId)?.lastSyncMs ?? 0;
  let groups: AisleGroups<ItemView> | undefined;
  if (byAisle) {
    const { order, overrides } = homeAisles(home.dir);
    groups = groupByAisle(view.items, order, overrides);
  }
  if (home.json) {
    const names = (items: readonly ItemView[]): string[] => items.map((i) => i.name);
    home.printJson({
      ...listJson(listId, view, status, outbox),
      lastSyncMs,
      refreshed,
      ...(groups === undefined
        ? {}
        : {
            byAisle: groups.toBuy.map((g) => ({ aisle: g.aisle, items: names(g.items) })),
            done: names(groups.done),
          }),
    });
    return;
  }
  const freshness = refreshed
    ? 'as of now (just synced with the cloud)'
    : lastSyncMs === 0
      ? 'as this device has it: never synced with the cloud'
      : `as of ${ago(lastSyncMs, Date.now())} (last sync with the cloud; others may have changed it since)`;
  home.say(renderList(listId, view, status, outbox, freshness, groups));
}

export function registerLists(program: Command): void {
  const list = program.command('list').description(summaries.list).addHelpText('after', listRefHelp);

  list
    .command('create <title>')
    .description('create a list; prints its ID (the ID is the share: whoever has it can open the list)')
    .action((title: string, _o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const id = await home.client.createList(title);
        if (!home.json) process.stdout.write(`${id}\n`);
        await home.reportChange(id, {
          line: `Created ${JSON.stringify(home.client.view(id).title)}`,
          changed: true,
          lineTo: 'stderr',
          json: { title: home.client.view(id).title, link: shareLink(id) },
        });
      }),
    );

  list
    .command('ls')
    .description('the lists on this device: items, sync status, changes waiting')
    .action((_o: unknown, command: Command) =>
      withHome(command, (home) => {
        const lists = home.client.lists();
        const toBuy = (id: ListId): number =>
          home.client.view(id).items.filter((i) => i.remaining > 0).length;
        if (home.json) {
          home.printJson({
            lists: lists.map((l) => ({
              id: l.listId,
              title: l.title,
              deleted: l.deleted,
              items: l.items,
              toBuy: toBuy(l.listId),
              status: statusJson(l.status),
              outbox: l.outbox,
              lastSyncMs: l.lastSyncMs,
            })),
          });
          return;
        }
        if (lists.length === 0) {
          home.say('No lists on this device yet. Create one:  trolley list create "Groceries"');
          return;
        }
        const ids = lists.map((l) => l.listId);
        home.say(
          table(
            ['ID', 'TITLE', 'ITEMS', 'TO BUY', 'STATUS', 'WAITING'],
            lists.map((l) => [
              shortId(l.listId, ids),
              `${titleOf(home.client.view(l.listId), l.status)}${l.deleted ? ' (deleted)' : ''}`,
              `${l.items}`,
              `${toBuy(l.listId)}`,
              statusText(l.status),
              `${l.outbox}`,
            ]),
          ),
        );
      }),
    );

  list
    .command('show <list>')
    .description(
      'a list and its items: wanted, bought, still to buy; first refreshed from the cloud if it answers quickly',
    )
    .option('--no-refresh', 'show what this device has, without asking the cloud')
    .option(
      '--by-aisle',
      "what is left to buy under its aisle, in your shop's order (config set aisles), then what is done",
    )
    .action((ref: string, o: { refresh: boolean; byAisle?: boolean }, command: Command) =>
      withHome(command, async (home) => {
        const id = home.list(ref);
        const outcome = o.refresh ? await home.quickSync(id, { force: true }) : undefined;
        showList(home, id, outcome?.reached === true, o.byAisle === true);
      }),
    );

  list
    .command('rename <list> <title>')
    .description('give a list a new title (for everyone who shares it)')
    .action((ref: string, title: string, _o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const id = home.list(ref);
        const before = quoted(home, id);
        const ok = await home.client.rename(id, title);
        await home.reportChange(id, {
          line: `Renamed ${before} to ${quoted(home, id)}`,
          changed: ok.opId !== undefined,
          json: { title: home.client.view(id).title },
        });
      }),
    );

  list
    .command('delete <list>')
    .description('delete a list for everyone who shares it (an edit made at the same time keeps it)')
    .action((ref: string, _o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const id = home.list(ref);
        const ok = await home.client.deleteList(id);
        await home.reportChange(id, {
          line: `Deleted ${quoted(home, id)} for everyone who shares it (trolley list forget ${id.slice(0, 8)} removes it from this device)`,
          changed: ok.opId !== undefined,
          json: { deleted: home.client.view(id).deleted },
        });
      }),
    );

  list
    .command('clear-bought <list>')
    .description('remove every item that is done (all bought)')
    .action((ref: string, _o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const id = home.list(ref);
        const before = home.client.view(id).items.length;
        const ok = await home.client.clearBought(id);
        const removed = before - home.client.view(id).items.length;
        await home.reportChange(id, {
          line:
            removed === 0
              ? `Nothing bought to clear in ${quoted(home, id)}`
              : `Cleared ${removed} bought item${removed === 1 ? '' : 's'} from ${quoted(home, id)}`,
          changed: ok.opId !== undefined,
          json: { removed },
        });
      }),
    );

  list
    .command('join <id-or-link>')
    .description('open a list someone shared with you, by its ID or link; it appears once the cloud has it')
    .action((ref: string, _o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const already = home.client.has(parseListRef(ref));
        const id = await home.client.joinList(ref);
        const outcome = await home.quickSync(id, { force: true });
        const view = home.client.view(id);
        if (home.json) {
          home.printJson({
            ...listJson(id, view, outcome.status, outcome.outbox),
            joined: !already,
            synced: outcome.reached,
          });
          return;
        }
        if (outcome.status === 'joining')
          home.say(
            `Joined list ${id}\n${syncLine(outcome, home.endpoints)}; it appears once the cloud has it`,
          );
        else {
          home.say(`${already ? 'Already here' : 'Joined'}: ${quoted(home, id)}, ${view.items.length} items`);
          home.say(renderList(id, view, outcome.status, outcome.outbox));
        }
      }),
    );

  list
    .command('share <list>')
    .description('print the ID and a link to give to whoever should share the list')
    .option('--web <url>', "the web app's address, for a link that opens in a browser")
    .action((ref: string, o: { web?: string }, command: Command) =>
      withHome(command, async (home) => {
        const id = home.list(ref);
        const link = shareLink(id, o.web);
        // Whoever joins gets what the cloud has: push what is only here first.
        const outcome = await home.quickSync(id);
        const inCloud = outcome.status === 'cloud' || outcome.status === 'all-replicas';
        if (home.json) {
          home.printJson({ id, link, title: home.client.view(id).title, status: statusJson(outcome.status) });
          return;
        }
        home.say(`${quoted(home, id)}\nID:   ${id}\nLink: ${link}`);
        home.say(`They open it with:  trolley list join ${id}`);
        if (!inCloud)
          process.stderr.write(
            'note: changes made here are not in the cloud yet; others see them once this device syncs\n',
          );
      }),
    );

  list
    .command('forget <list>')
    .description('remove a list from this device only (others keep it; join it again any time)')
    .option('--discard-unsynced', 'forget it even though some changes never reached the cloud')
    .action((ref: string, o: { discardUnsynced?: boolean }, command: Command) =>
      withHome(command, async (home) => {
        const id = home.list(ref);
        const title = quoted(home, id);
        if (home.client.outboxSize(id) > 0) await home.quickSync(id);
        await home.client.forget(id, { discardUnsynced: o.discardUnsynced === true });
        if (home.json) home.printJson({ id, forgotten: true });
        else home.say(`Forgot ${title} on this device (rejoin with: trolley list join ${id})`);
      }),
    );
}
