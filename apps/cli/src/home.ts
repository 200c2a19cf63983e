// The user's home, as the local-first commands (list, item, sync, status, watch, the menu) see it:
// the folder holding this device's database (DIR/trolley.db), the client engine
// over it (@trolley/client), the cloud connection (opened only when a command talks to the cloud),
// list references (a full ID, a share link, an ID prefix or a title), and the rule every change
// follows: commit locally first (local-ok, said at once), then try a quick sync, so that with the
// cloud up the change is pushed at once and with the cloud away the command still succeeds.

import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { TrolleyError, type ListId } from '@trolley/core';
import { TrolleyClient, parseListRef, type ListStatus } from '@trolley/client';
// Not the package's index: a command that never talks to the cloud must not load ZeroMQ.
import { cryptoRandom, systemClock } from '@trolley/node/clock';
import type { CloudClient } from '@trolley/node/cloud-client';
import { SqliteClientStore } from '@trolley/node/sqlite-client-store';
import {
  cloudOf,
  databaseFile,
  globalsOf,
  homeDirOf,
  readSettings,
  type CloudAddress,
  type GlobalOptions,
} from './globals.ts';
import { didYouMean } from './did-you-mean.ts';
import { statusJson, syncLine } from './render.ts';

/** Per-request timeout of the sync a change triggers: short, so a missing cloud costs little. */
export const quickSyncMs = 1_500;
/**
 * How long one proxy gets before the next is tried. Below quickSyncMs, so that a quick sync with
 * two proxies given, the first one dead, still reaches the second.
 */
export const cloudAttemptMs = 1_000;
/**
 * How long a TCP connect to a proxy may take before the probe stops waiting for it. The probe only
 * spares the wait for a cloud that is plainly away (every connection refused or unroutable at
 * once); a slow answer counts as "maybe", and the sync is tried.
 */
export const cloudProbeMs = 300;
/** Exit code of `sync` when changes are still waiting on this device at the end. */
export const exitSyncPending = 5;

/** What the quick sync after a change achieved. */
export interface SyncOutcome {
  /** A sync was tried (an operation that changed nothing, with nothing waiting, skips it). */
  attempted: boolean;
  /** Every put was acknowledged and every get answered. */
  reached: boolean;
  status: ListStatus;
  /** Outbox entries of the list still waiting. */
  outbox: number;
  /** Why the cloud did not take a change it answered (a refusal: over a limit), in plain words. */
  refused?: string;
}

export class Home {
  private cloudClient: CloudClient | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly client: TrolleyClient,
    /** Where the cloud is, and where that address came from (--cloud, $TROLLEY_CLOUD, config). */
    readonly cloudAddress: CloudAddress,
    readonly json: boolean,
  ) {}

  get endpoints(): readonly string[] {
    return this.cloudAddress.endpoints;
  }

  /** Opens (creating on first use) the home folder and its database. */
  static async open(o: GlobalOptions): Promise<Home> {
    const dir = homeDirOf(o);
    const cloudAddress = cloudOf(o); // a bad address fails before anything is opened
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const store = SqliteClientStore.open(join(dir, databaseFile));
    let client: TrolleyClient;
    try {
      client = await TrolleyClient.open(store, { clock: systemClock, random: cryptoRandom });
      client.deviceName = readSettings(dir).name ?? '';
    } catch (error) {
      await store.close();
      throw error;
    }
    return new Home(dir, client, cloudAddress, o.json === true);
  }

  /**
   * The cloud connection, opened (and ZeroMQ loaded) on first use. `direct`: a long-lived command
   * (the menu, `watch`) serves each list at its coordinator's front when the cloud names one, so a
   * change reaches it in two hops; a one-shot command goes through the proxies (locating would
   * cost it a request and save it nothing).
   */
  async cloud(o: { direct?: boolean } = {}): Promise<CloudClient> {
    if (this.cloudClient === undefined) {
      const { CloudClient } = await import('@trolley/node/cloud-client');
      if (this.closed) throw new Error('the home is closed');
      this.cloudClient ??= new CloudClient(this.endpoints, {
        attemptMs: cloudAttemptMs,
        direct: o.direct ?? false,
      });
    }
    return this.cloudClient;
  }

  /**
   * Whether a proxy accepts TCP connections now: 'down' when every endpoint
   * refused (or had no route) at once, so that a change made offline need not wait out a request
   * timeout; 'up' or 'unknown' (slow to answer) otherwise. ZeroMQ queues requests for a peer that
   * is not there, so without this a missing cloud shows only as a timeout.
   */
  reachability(): Promise<Reachability> {
    return probeEndpoints(this.endpoints, cloudProbeMs);
  }

  /** Resolves a list reference to a list on this device; see resolveList. */
  list(ref: string): ListId {
    return resolveList(this.client, ref);
  }

  /**
   * The sync a change triggers: the list's outbox pushed and the list pulled, each request given
   * quickSyncMs. Never throws for the cloud's sake: an unreachable cloud is a pending sync.
   */
  async quickSync(listId: ListId, options: { force?: boolean } = {}): Promise<SyncOutcome> {
    let attempted = false;
    let reached = false;
    let refused: string | undefined;
    const needed =
      options.force === true ||
      this.client.outboxSize(listId) > 0 ||
      this.client.status(listId) === 'joining';
    if (needed) {
      attempted = true;
      if ((await this.reachability()) !== 'down') {
        const summary = await this.client.syncList(await this.cloud(), listId, { timeoutMs: quickSyncMs });
        reached = summary.errors === 0 && summary.unknown === 0;
        refused = summary.failures.find((f) => f.stage === 'push' && / refused/.test(f.message))?.message;
      }
    }
    return {
      attempted,
      reached,
      status: this.client.status(listId),
      outbox: this.client.outboxSize(listId),
      ...(refused === undefined ? {} : { refused }),
    };
  }

  /**
   * After an operation resolved (local-ok): says so at once, then runs the quick sync and says where
   * the change is now; with --json, one document at the end instead. `line` goes to stdout, or to
   * stderr when stdout carries a value for scripts (list create prints the ID there).
   */
  async reportChange(
    listId: ListId,
    change: { line: string; changed: boolean; json: Record<string, unknown>; lineTo?: 'stdout' | 'stderr' },
  ): Promise<SyncOutcome> {
    const out = change.lineTo === 'stderr' ? process.stderr : process.stdout;
    if (!this.json) out.write(`${change.line}\n`);
    const outcome = await this.quickSync(listId);
    if (this.json)
      this.printJson({
        id: listId,
        ...change.json,
        changed: change.changed,
        status: statusJson(outcome.status),
        outbox: outcome.outbox,
        synced: outcome.outbox === 0 && outcome.status !== 'joining',
      });
    else if (outcome.attempted || outcome.outbox > 0) out.write(`${syncLine(outcome, this.endpoints)}\n`);
    return outcome;
  }

  /** A line for people (stdout), unless --json. */
  say(line: string): void {
    if (!this.json) process.stdout.write(`${line}\n`);
  }

  /** The one JSON document of a --json run. */
  printJson(doc: unknown): void {
    process.stdout.write(`${JSON.stringify(doc)}\n`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.close();
    } finally {
      this.cloudClient?.close();
    }
  }
}

export type Reachability = 'up' | 'down' | 'unknown';

/** TCP connects to every endpoint at once: 'up' if one accepts, 'down' if all fail, else 'unknown'. */
export async function probeEndpoints(endpoints: readonly string[], timeoutMs: number): Promise<Reachability> {
  const one = (endpoint: string): Promise<Reachability> =>
    new Promise((resolve) => {
      const match = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
      if (match === null) return resolve('unknown');
      const socket = connect({ host: match[1] as string, port: Number(match[2]) });
      const done = (r: Reachability): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done('unknown'), timeoutMs);
      socket.once('connect', () => done('up'));
      socket.on('error', () => done('down'));
    });
  const results = await Promise.all(endpoints.map(one));
  if (results.includes('up')) return 'up';
  return results.every((r) => r === 'down') ? 'down' : 'unknown';
}

/**
 * A list on this device from what a person typed: a full ID or share link (the list must be here:
 * a list not yet on this device is joined with `list join`), else an unambiguous prefix of a known
 * list's ID, else a known list's exact title (case-insensitive). Unknown: not_found (exit 3);
 * ambiguous: invalid_argument (exit 2).
 */
export function resolveList(client: TrolleyClient, ref: string): ListId {
  const text = ref.trim();
  if (text === '')
    throw new TrolleyError('invalid_argument', 'give a list: its ID, a prefix of it, or its title');
  let full: ListId | undefined;
  try {
    full = parseListRef(text);
  } catch {
    full = undefined;
  }
  if (full !== undefined) {
    if (!client.has(full))
      throw new TrolleyError(
        'not_found',
        `no list ${full} on this device (to open a list someone shared: trolley list join ${full})`,
      );
    return full;
  }
  const lower = text.toLowerCase();
  const lists = client.lists();
  const byPrefix = /^[0-9a-f-]+$/.test(lower) ? lists.filter((l) => l.listId.startsWith(lower)) : [];
  const byTitle = lists.filter((l) => l.title.toLowerCase() === lower);
  const matches = [...new Set([...byPrefix, ...byTitle].map((l) => l.listId))];
  const [only] = matches;
  if (only !== undefined && matches.length === 1) return only;
  if (matches.length === 0) {
    const near = didYouMean(
      text,
      lists.map((l) => l.title).filter((t) => t !== ''),
    );
    throw new TrolleyError(
      'not_found',
      `no list matching ${JSON.stringify(text)} on this device` +
        (near.length > 0
          ? `; did you mean ${near.map((t) => JSON.stringify(t)).join(' or ')}?`
          : ' (trolley list ls shows them)'),
    );
  }
  // Several lists answer to it (one title, or a short prefix): tell them apart by ID and content.
  const ids = lists.map((l) => l.listId);
  const described = matches.slice(0, 4).map((id) => {
    const l = lists.find((x) => x.listId === id);
    const items = l === undefined ? 0 : l.items;
    return `${shortListId(id, ids)} ${JSON.stringify(l?.title ?? '')} (${items} item${items === 1 ? '' : 's'})`;
  });
  throw new TrolleyError(
    'invalid_argument',
    `${JSON.stringify(text)} matches ${matches.length} lists: ${described.join(', ')}${
      matches.length > 4 ? ', …' : ''
    }; name one by its ID, e.g. trolley list show ${shortListId(matches[0] as ListId, ids)}`,
  );
}

/** Shortest prefix of `id`, at least 8 characters, that no other list here shares. */
export function shortListId(id: ListId, all: readonly ListId[]): string {
  for (let n = 8; n < id.length; n++) {
    const prefix = id.slice(0, n);
    if (!all.some((other) => other !== id && other.startsWith(prefix))) return prefix;
  }
  return id;
}

/**
 * Runs a command against the home named by the global options, closing it however the command
 * ends. A returned number is the exit code. Errors become one line on stderr: a TrolleyError is
 * printed by main with its exit code (exitCodeOf); anything else (an unreadable database, a folder
 * that cannot be created) is printed here and exits 1. Set TROLLEY_DEBUG=1 for the stack.
 */
export async function withHome(
  command: Command,
  f: (home: Home) => Promise<number | void> | number | void,
  overrides: GlobalOptions = {},
): Promise<void> {
  let home: Home | undefined;
  let code: number | void;
  try {
    home = await Home.open({ ...globalsOf(command), ...overrides });
    code = await f(home);
  } catch (error) {
    throw oneLine(error);
  } finally {
    await home?.close().catch(() => undefined);
  }
  if (typeof code === 'number' && code !== 0) throw new CommanderError(code, 'trolley.exit', `exit ${code}`);
}

/** An error as main reports it: TrolleyError and CommanderError pass; others are printed here. */
export function oneLine(error: unknown): unknown {
  if (error instanceof TrolleyError || error instanceof CommanderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`trolley: ${message.split('\n')[0] ?? message}\n`);
  if (process.env['TROLLEY_DEBUG'] !== undefined && error instanceof Error)
    process.stderr.write(`${error.stack ?? ''}\n`);
  return new CommanderError(1, 'trolley.failed', message);
}
