// A child process for the kill -9 test (sqlite-list-store.test.ts): opens a SqliteListStore and
// writes `count` lists from `writers` concurrent loops, printing each key on its own line only
// after its put has resolved, i.e. once the store acknowledged it as durable. stdout is a pipe,
// which Node writes synchronously on Linux, so a printed key was acknowledged before the kill.
//
// Usage: node dist/testing/store-writer.js <db-path> <count> <writers>

import { pathToFileURL } from 'node:url';
import { SqliteListStore } from '../sqlite-list-store.ts';

/** The list written under `key`: its bytes derive from the key, so the test can check them. */
export function writerList(key: string): {
  key: string;
  partition: number;
  state: Uint8Array;
  hash: Uint8Array;
} {
  const state = new TextEncoder().encode(`state of ${key} `.repeat(8));
  const hash = new Uint8Array(16).fill(key.length);
  return { key, partition: key.length % 7, state, hash };
}

async function main(): Promise<void> {
  const [path, countArg, writersArg] = process.argv.slice(2);
  if (path === undefined) throw new Error('usage: store-writer.ts <db-path> <count> <writers>');
  const count = Number(countArg ?? 10_000);
  const writers = Number(writersArg ?? 8);
  const store = SqliteListStore.open(path);
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      const key = `key-${next++}`;
      await store.put(writerList(key));
      process.stdout.write(`${key}\n`);
    }
  };
  await Promise.all(Array.from({ length: writers }, loop));
  store.close();
  process.stdout.write('done\n');
}

// Run only as a script: the test imports writerList from here.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
