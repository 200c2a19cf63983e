// A child process for the kill -9 test (sqlite-client-store.test.ts): opens a TrolleyClient on a
// SqliteClientStore, creates two lists, and makes `count` operations on them one after another,
// printing each on its own line only after its promise resolved, i.e. once it was local-ok. Lines
// go out with a synchronous write(2) on fd 1: Node's process.stdout is asynchronous on a pipe, and
// lines still queued in it die with the process, so a printed operation was local-ok before the
// kill, and every local-ok operation but the last is printed.
//
// Another process may write the same lists (the test does): an operation that loses the race for
// the store too often fails with limit_exceeded having changed nothing, and is simply made again.
//
// Lines: `list <a> <b>` once, then `op <i>` per operation; operation i is `writerOp(i)`.
// Usage: node dist/testing/client-writer.js <db-path> <count>

import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { TrolleyClient, type LocalOk } from '@trolley/client';
import { TrolleyError, type ListId } from '@trolley/core';
import { cryptoRandom, systemClock } from '../clock.ts';
import { SqliteClientStore } from '../sqlite-client-store.ts';

/** Operation i: which list (0 or 1) and what it does. Every third is a buy of the item before. */
export function writerOp(i: number): { list: 0 | 1; kind: 'add' | 'buy'; item: string; n: number } {
  const list = (i % 2) as 0 | 1;
  if (i % 3 === 2) return { list, kind: 'buy', item: `item-${i - 2}`, n: 1 };
  return { list, kind: 'add', item: `item-${i}`, n: (i % 5) + 1 };
}

/** write(2) to stdout, waiting out a full pipe (fd 1 may be non-blocking). */
function print(line: string): void {
  let data = Buffer.from(`${line}\n`);
  while (data.length > 0) {
    try {
      data = data.subarray(writeSync(1, data));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EAGAIN') throw error;
    }
  }
}

async function main(): Promise<void> {
  const [path, countArg] = process.argv.slice(2);
  if (path === undefined) throw new Error('usage: client-writer.ts <db-path> <count>');
  const count = Number(countArg ?? 10_000);
  const client = await TrolleyClient.open(SqliteClientStore.open(path), {
    clock: systemClock,
    random: cryptoRandom,
  });
  const lists: [ListId, ListId] = [
    await client.createList('kill -9 A'),
    await client.createList('kill -9 B'),
  ];
  print(`list ${lists[0]} ${lists[1]}`);
  for (let i = 0; i < count; i++) {
    const op = writerOp(i);
    const listId = lists[op.list];
    for (;;) {
      const done: Promise<LocalOk> =
        op.kind === 'add' ? client.addItem(listId, op.item, op.n) : client.buy(listId, op.item, op.n);
      try {
        await done;
        break;
      } catch (error) {
        if (!(error instanceof TrolleyError && error.code === 'limit_exceeded')) throw error;
      }
    }
    print(`op ${i}`);
  }
  await client.close();
  print('done');
}

// Run only as a script: the test imports writerOp from here.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
