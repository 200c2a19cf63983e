// `trolley cloud …`: the minimal client path to the cloud — create a list, add an item, show a
// list — straight through a proxy, with no local store. The local-first client replaces these
// for everyday use; they stay for operators and tests.

import type { Command } from 'commander';
import {
  ListDoc,
  ListReplica,
  TrolleyError,
  decodeList,
  encodeContext,
  encodeList,
  newListId,
  newWriterSecret,
  writerIdOf,
  parseListId,
  type ListId,
} from '@trolley/core';
import { CloudClient } from '@trolley/node/cloud-client';
import { cryptoRandom } from '@trolley/node/clock';
import { cloudOf, endpoints, globalsOf } from '../globals.ts';
import { intOption } from './common.ts';
import { summaries } from './summaries.ts';

/** This command's writer: a fresh writer ID for each run (these commands keep nothing locally). */
const writer = newWriterSecret(cryptoRandom);

async function fetchReplica(
  client: CloudClient,
  listId: ListId,
): Promise<{ replica: ListReplica; inSync: number; replicas: number }> {
  const empty = ListDoc.empty();
  const reply = await client.get(listId, encodeContext(empty.ctx, empty.replicas));
  const doc = decodeList(reply.delta);
  if (!doc.ok) throw doc.error;
  const replica = new ListReplica(writerIdOf(writer));
  replica.apply(doc.value);
  return { replica, inSync: reply.inSync, replicas: reply.replicas };
}

async function push(client: CloudClient, listId: ListId, delta: ListDoc): Promise<string> {
  const result = await client.put(listId, encodeList(delta), { writer });
  return result.outcome === 'ok'
    ? `cloud-ok (${result.acks} of ${result.replicas} replicas)`
    : 'outcome unknown: retry to be sure';
}

export function registerCloud(program: Command): void {
  const cloud = program
    .command('cloud')
    .description(summaries.cloud)
    .option(
      '--cloud <endpoints>',
      'proxy endpoints, tried in turn (default: as for every command)',
      endpoints,
    );
  const withClient = async <T>(command: Command, f: (client: CloudClient) => Promise<T>): Promise<T> => {
    const client = new CloudClient(cloudOf(globalsOf(command)).endpoints);
    try {
      return await f(client);
    } finally {
      client.close();
    }
  };

  cloud
    .command('create <title>')
    .description('create a list in the cloud; prints its ID')
    .action(async (title: string, _o: unknown, command: Command) =>
      withClient(command, async (client) => {
        const listId = newListId(cryptoRandom);
        const replica = new ListReplica(writerIdOf(writer));
        const outcome = await push(client, listId, replica.rename(title));
        process.stdout.write(`${listId}\n`);
        process.stderr.write(`${outcome}\n`);
      }),
    );

  cloud
    .command('add <list> <name> [qty]')
    .description('add an item (or more of it) to a list in the cloud')
    .action(async (list: string, name: string, qty: string | undefined, _o: unknown, command: Command) =>
      withClient(command, async (client) => {
        const listId = parseListId(list);
        const n = qty === undefined ? 1 : intOption('qty', 1, 1_000_000)(qty);
        const { replica } = await fetchReplica(client, listId);
        process.stdout.write(`${await push(client, listId, replica.addItem(name, n))}\n`);
      }),
    );

  cloud
    .command('show <list>')
    .description('show a list as the cloud has it (JSON)')
    .action(async (list: string, _o: unknown, command: Command) =>
      withClient(command, async (client) => {
        const listId = parseListId(list);
        const { replica, inSync, replicas } = await fetchReplica(client, listId);
        if (replica.state.ctx.dotCount === 0)
          throw new TrolleyError('not_found', `the cloud has no list ${listId}`);
        process.stdout.write(`${JSON.stringify({ id: listId, ...replica.view(), inSync, replicas })}\n`);
      }),
    );
}
