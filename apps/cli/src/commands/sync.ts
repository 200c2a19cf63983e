// `trolley sync`, `trolley status`, `trolley watch <list>`: the sync engine made visible. `sync`
// pushes and pulls every list until nothing waits or the timeout passes (exit 0: nothing waits;
// exit 5: changes still only on this device); `status` says where each list's changes are and
// whether the cloud answers; `watch` redraws a list whenever it changes, until Ctrl-C (LiveSync from
// @trolley/client keeps it fresh, woken by the cloud's pushed change notices).

import { InvalidArgumentError, type Command } from 'commander';
import type { ListId } from '@trolley/core';
import { LiveSync, emptySyncSummary, type LiveRound, type SyncSummary } from '@trolley/client';
import { systemClock } from '@trolley/node/clock';
import { nodeLiveSyncEnv, pushedChanges } from '@trolley/node/live-feed';
import { exitSyncPending, withHome, type Home } from '../home.ts';
import { ago, listJson, renderList, statusJson, statusText, table, titleOf, waiting } from '../render.ts';
import { describeCloudSource, keyHint, shownAddresses, type CloudSource } from '../globals.ts';
import { untilSignal } from './common.ts';
import { shortId } from './lists.ts';
import { summaries } from './summaries.ts';

/** Per-request timeout of `sync`'s rounds: long enough for a loaded cloud, short enough to retry. */
const syncRequestMsMax = 5_000;
/** Pause between rounds of `sync` that left something to do. */
const syncRetryPauseMs = 250;

function seconds(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max)
      throw new InvalidArgumentError(`${name} must be a number of seconds above 0, at most ${max}`);
    return n;
  };
}

export interface SyncRun extends SyncSummary {
  rounds: number;
  elapsedMs: number;
  /** Lists with changes still waiting. */
  pending: { id: ListId; title: string; outbox: number }[];
}

/**
 * Syncs every list, round after round, until a round leaves nothing waiting and reaches the cloud
 * for every list, or `timeoutMs` has passed.
 */
export async function runSync(home: Home, timeoutMs: number): Promise<SyncRun> {
  const start = systemClock.monotonicMs();
  const deadline = start + timeoutMs;
  const run: SyncRun = { ...emptySyncSummary(), rounds: 0, elapsedMs: 0, pending: [] };
  for (;;) {
    const left = deadline - systemClock.monotonicMs();
    const perRequest = Math.round(Math.max(100, Math.min(syncRequestMsMax, left)));
    const s = await home.client.syncOnce(await home.cloud(), { timeoutMs: perRequest });
    run.rounds += 1;
    run.lists = s.lists;
    run.pushed += s.pushed;
    run.acknowledged += s.acknowledged;
    run.unknown += s.unknown;
    run.pulled += s.pulled;
    run.changed += s.changed;
    run.errors += s.errors;
    run.outboxLeft = s.outboxLeft;
    run.failures = s.failures;
    const clean = s.outboxLeft === 0 && s.errors === 0 && s.unknown === 0;
    if (clean || systemClock.monotonicMs() + syncRetryPauseMs >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, syncRetryPauseMs));
  }
  run.elapsedMs = Math.round(systemClock.monotonicMs() - start);
  run.pending = home.client
    .lists()
    .filter((l) => l.outbox > 0)
    .map((l) => ({ id: l.listId, title: l.title, outbox: l.outbox }));
  return run;
}

/** `sync`'s report for people. */
export function describeSync(run: SyncRun, endpoints: readonly string[]): string[] {
  if (run.lists === 0) return ['Nothing to sync: no lists on this device.'];
  const s = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const time = `${(run.elapsedMs / 1000).toFixed(1)} s${run.rounds > 1 ? `, ${run.rounds} rounds` : ''}`;
  const lines = [
    `Synced ${s(run.lists, 'list')} in ${time}: ${s(run.acknowledged, 'change')} pushed (cloud-ok), ` +
      `${s(run.changed, 'list')} changed by others`,
  ];
  const lastRoundFailed = run.failures.length > 0 || run.outboxLeft > 0;
  if (lastRoundFailed)
    lines.push(
      `The cloud at ${shownAddresses(endpoints)} did not answer every request` +
        `${run.failures[0] === undefined ? '' : ` (${run.failures[0].message})`}.`,
    );
  const hint = lastRoundFailed ? keyHint(endpoints) : undefined;
  if (hint !== undefined) lines.push(`(${hint})`);
  if (run.outboxLeft === 0) lines.push('Nothing waiting: every change made on this device is cloud-ok.');
  else
    lines.push(
      `${s(run.outboxLeft, 'change')} still waiting on this device: ` +
        run.pending.map((p) => `${JSON.stringify(p.title)} (${p.outbox})`).join(', '),
    );
  return lines;
}

interface CloudProbe {
  endpoints: readonly string[];
  /** Where the address came from: --cloud, TROLLEY_CLOUD, config or default. */
  source: CloudSource;
  reachable: boolean;
  nodes?: number;
  nodesLive?: number;
}

async function probeCloud(home: Home, timeoutMs: number): Promise<CloudProbe> {
  const { endpoints, source } = home.cloudAddress;
  if ((await home.reachability()) === 'down') return { endpoints, source, reachable: false };
  try {
    const stats = await (await home.cloud()).proxyStats(timeoutMs);
    const nodes = Array.isArray(stats['nodes']) ? (stats['nodes'] as { live?: unknown }[]) : [];
    return {
      endpoints,
      source,
      reachable: true,
      nodes: nodes.length,
      nodesLive: nodes.filter((n) => n.live === true).length,
    };
  } catch {
    return { endpoints, source, reachable: false };
  }
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description(summaries.sync)
    .option('--timeout <seconds>', 'give up after this long', seconds('--timeout', 3_600), 10)
    .action((o: { timeout: number }, command: Command) =>
      withHome(command, async (home) => {
        const run = await runSync(home, o.timeout * 1000);
        if (home.json) home.printJson({ ok: run.outboxLeft === 0, ...run });
        else {
          const lines = describeSync(run, home.endpoints);
          home.say(lines.join('\n'));
        }
        if (run.outboxLeft > 0) {
          if (!home.json)
            process.stderr.write(
              `trolley: sync incomplete: ${run.outboxLeft} change(s) still only on this device (exit ${exitSyncPending})\n`,
            );
          return exitSyncPending;
        }
        return 0;
      }),
    );

  program
    .command('status')
    .description(summaries.status)
    .action((_o: unknown, command: Command) =>
      withHome(command, async (home) => {
        const cloud = await probeCloud(home, 1_500);
        const nowMs = systemClock.wallMs();
        const lists = home.client.lists();
        if (home.json) {
          home.printJson({
            home: home.dir,
            cloud,
            lists: lists.map((l) => ({
              id: l.listId,
              title: l.title,
              status: statusJson(l.status),
              outbox: l.outbox,
              lastSyncMs: l.lastSyncMs,
            })),
          });
          return;
        }
        const at = shownAddresses(cloud.endpoints);
        home.say(
          cloud.reachable
            ? `Cloud: reachable at ${at} (${cloud.nodesLive ?? 0} of ${cloud.nodes ?? 0} nodes live)`
            : `Cloud: unreachable (no answer from ${at}); changes wait on this device`,
        );
        home.say(`       address ${describeCloudSource(cloud.source)}`);
        const hint = cloud.reachable ? undefined : keyHint(cloud.endpoints);
        if (hint !== undefined) home.say(`       (${hint})`);
        home.say(`Home:  ${home.dir}`);
        if (lists.length === 0) {
          home.say('No lists on this device yet.');
          return;
        }
        const ids = lists.map((l) => l.listId);
        home.say(
          `\n${table(
            ['ID', 'TITLE', 'STATUS', 'WAITING', 'LAST SYNC'],
            lists.map((l) => [
              shortId(l.listId, ids),
              titleOf(home.client.view(l.listId), l.status),
              statusText(l.status),
              `${l.outbox}`,
              ago(l.lastSyncMs, nowMs),
            ]),
          )}`,
        );
        const waitingTotal = lists.reduce((n, l) => n + l.outbox, 0);
        home.say(
          `\n${waitingTotal === 0 ? 'Nothing waiting to sync.' : `${waiting(waitingTotal)}: run trolley sync.`}`,
        );
      }),
    );

  program
    .command('watch <list>')
    .description(summaries.watch)
    .option(
      '--interval <seconds>',
      'how often to ask the cloud while nothing is pushed',
      seconds('--interval', 3_600),
      1,
    )
    .action((ref: string, o: { interval: number }, command: Command) =>
      withHome(command, async (home) => {
        const listId = home.list(ref);
        await watch(home, listId, o.interval * 1000);
      }),
    );
}

/** The watch loop: redraws on every change of the list and every change of its sync state. */
async function watch(home: Home, listId: ListId, pollMs: number): Promise<void> {
  const tty = process.stdout.isTTY && !home.json;
  let round: LiveRound | undefined;
  let last = '';
  const frame = (): { key: string; text: string } => {
    if (!home.client.has(listId)) {
      const text = `List ${listId} is no longer on this device (forgotten elsewhere).`;
      return { key: text, text };
    }
    const view = home.client.view(listId);
    const status = home.client.status(listId);
    const outbox = home.client.outboxSize(listId);
    const cloud = round === undefined ? 'connecting' : round.ok ? 'connected' : 'unreachable';
    if (home.json) {
      const text = JSON.stringify({ ...listJson(listId, view, status, outbox), cloud });
      return { key: text, text };
    }
    const every = pollMs >= 1000 ? `${Math.round(pollMs / 1000)} s` : `${pollMs} ms`;
    const state =
      round === undefined
        ? 'connecting to the cloud…'
        : round.ok
          ? `connected: changes arrive as they happen (and a check every ${every})`
          : `cloud unreachable${round.problem === undefined ? '' : ` (${round.problem})`}; retrying`;
    return {
      key: JSON.stringify([view, status, outbox, state]),
      text: `${renderList(listId, view, status, outbox)}\n\n${state} · Ctrl-C to stop`,
    };
  };
  const draw = (): void => {
    const f = frame();
    if (f.key === last) return;
    last = f.key;
    process.stdout.write(tty ? `\x1b[H\x1b[2J${f.text}\n` : `${f.text}\n${home.json ? '' : '\n'}`);
  };
  const unsubscribe = home.client.subscribe((event) => {
    if (event.listId === listId) draw();
  });
  const cloud = await home.cloud({ direct: true });
  const live = new LiveSync(
    home.client,
    cloud,
    () => [listId],
    {
      pollMs,
      timeoutMs: 3_000,
      feed: pushedChanges(cloud),
      onRound: (r) => {
        round = r;
        draw();
      },
    },
    nodeLiveSyncEnv,
  );
  const stopped = untilSignal();
  draw();
  live.start();
  await stopped;
  await live.stop();
  unsubscribe();
}
