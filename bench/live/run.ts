// Live-update benchmark driver (`npm run bench:live`), per docs/PERFORMANCE.md and issue 5: the
// time from one client's change to every other client seeing it, 16 clients on one shopping list,
// for Trolley and, in the same run, Yjs over y-websocket and automerge-repo's WebSocket sync.
//
// Per system (and per repeat): a server process (server-process.ts: the system's server), then 4
// client processes × 4 clients (client-process.ts), each client with its own connection. After a
// clock check (each client process's clock against this one's, over IPC), all clients start
// together and each makes a seeded change every 200 ms for LIVE_SECONDS (workload.ts), carrying a
// marker client:seq and the time it was made; every other client notes when it first sees it.
// When all changes are made, the driver waits for quiescence: until every change has been seen
// by all 15 other clients, or for 5 s nothing new has been seen and the server side used under
// 10% of a core, or 30 s have passed; a sighting still missing then is "missed". Then it compares every client's list (canonical form, retrying
// for up to 10 s), collects the records and stops everything.
//
// Reported per system: p50/p95/p99/max of change→seen latency over all (change, receiver) pairs
// seen; missed sightings; "implied" sightings (a change first seen through a later change of the
// same client, i.e. batched delivery); the server side's CPU as % of one core while the changes
// were being made, and its RSS at the end: the server process plus any processes the system
// names, read by this driver from /proc (utime + stime, the counters process.cpuUsage() reports
// from inside), so that a server too busy to answer is still measured; whether all clients
// converged (and if not, whether they hold the same state: LiveClient.stateDigest); the client
// processes' CPU and how late their ticks ran (a busy machine shows there). Times are epoch ms from
// performance.timeOrigin + performance.now() in each process: one machine, so comparable across
// processes (the clock check reports the largest offset found).
//
// A system is a module in ./systems (types.ts is the interface). Trolley's (systems/trolley.ts)
// is plugged in separately: while it is missing, Trolley is reported as not available, with null
// figures and a null ratio.
//
// Environment: LIVE_SECONDS (default 30), LIVE_SYSTEMS (comma-separated, default
// trolley,yjs,automerge; the diagnostics relay-zmq and relay-ws, systems/relay.ts, only when named),
// LIVE_REPEATS (default 1; with more, each figure is the median over the
// repeats, systems interleaved), LIVE_SEED, LIVE_CPU_PROF_DIR (V8 CPU profiles of the client and
// server processes; with TROLLEY_CPU_PROF_DIR, of Trolley's cloud processes too). Output: progress on stderr, a table on stdout, then
// one JSON line (the last stdout line). Exit code 1 if an available system failed to run.

import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type {
  ClientProcessConfig,
  ClientResult,
  ClientView,
  FromClients,
  FromServer,
  ToClients,
  ToServer,
} from './protocol.ts';
import { median as medianOf, percentile, stopOnSignal, table, envNumber } from '../common.ts';
import { procSample } from './proc-usage.ts';
import { isSystemName, systemAvailable, systemModuleUrl } from './systems/load.ts';
import { DEFAULT_SYSTEMS, SYSTEM_NAMES, nowMs, type SystemName } from './systems/types.ts';

// ---- configuration -----------------------------------------------------------------------------

const PROCESSES = 4;
const PER_PROCESS = 4;
const CLIENTS = PROCESSES * PER_PROCESS;
const INTERVAL_MS = 200;
const SECONDS = envNumber('LIVE_SECONDS', 30);
const CHANGES = Math.max(1, Math.round((SECONDS * 1000) / INTERVAL_MS));
const REPEATS = Math.round(envNumber('LIVE_REPEATS', 1));
const SEED = Math.round(envNumber('LIVE_SEED', 0x11fe5eed)) >>> 0;
/** Quiescence: stop waiting once nothing new has been seen and the server was idle for this long… */
const SETTLE_QUIET_MS = 5_000;
/** …idle meaning below this share of a core… */
const SERVER_IDLE_CORES = 0.1;
/** …or this long after the last change. */
const SETTLE_MAX_MS = 30_000;
/** How long to keep re-reading views that differ. */
const CONVERGE_MAX_MS = 10_000;
/** The shared start is this far after the start message. */
const START_DELAY_MS = 500;
const PROGRESS_EVERY_MS = 5_000;

const SELECTED: SystemName[] = (() => {
  const raw = process.env.LIVE_SYSTEMS;
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_SYSTEMS];
  const names = raw.split(',').map((s) => s.trim().toLowerCase());
  for (const n of names)
    if (!isSystemName(n)) throw new Error(`LIVE_SYSTEMS: unknown system ${JSON.stringify(n)}`);
  return SYSTEM_NAMES.filter((n) => names.includes(n));
})();

/** The rows of the table and the JSON: the default systems, and any diagnostic one selected. */
const SHOWN: SystemName[] = SYSTEM_NAMES.filter((n) => DEFAULT_SYSTEMS.includes(n) || SELECTED.includes(n));

const SERVER_SCRIPT = fileURLToPath(new URL('./server-process.ts', import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL('./client-process.ts', import.meta.url));
const TIMEBASE =
  'times are performance.timeOrigin + performance.now() in each process (epoch ms); all processes run ' +
  'on one machine, so they are comparable across processes';

const log = (line: string): void => {
  process.stderr.write(`[bench:live] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- child processes ---------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** A child process speaking typed messages over IPC; waits for messages by type. */
class Proc<In, Out extends { type: string }> {
  readonly child: ChildProcess;
  private readonly queues = new Map<string, Out[]>();
  private readonly waiters = new Map<string, ((m: Out) => void)[]>();
  private readonly failWaiters = new Set<(e: Error) => void>();
  private failure: Error | undefined;
  private expectExit = false;
  readonly exited: Promise<void>;

  constructor(
    readonly label: string,
    script: string,
    args: readonly string[],
  ) {
    // LIVE_CPU_PROF_DIR: every server and client process writes a V8 CPU profile there at exit.
    const prof = process.env.LIVE_CPU_PROF_DIR;
    const profile = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
    this.child = spawn(process.execPath, [...profile, '--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.add(this.child);
    // A child's stdout would mix with the table: pass it on to stderr.
    if (this.child.stdout !== null) {
      createInterface({ input: this.child.stdout }).on('line', (line) => {
        process.stderr.write(`[${label}] ${line}\n`);
      });
    }
    this.child.on('message', (m: Out) => this.deliver(m));
    this.child.on('error', (e) => this.fail(new Error(`${label}: ${e.message}`)));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        children.delete(this.child);
        if (!this.expectExit || (code !== 0 && code !== null)) {
          this.fail(new Error(`${label} exited (${signal ?? `code ${code}`})`));
        }
        resolve();
      });
    });
  }

  private deliver(m: Out): void {
    if (m.type === 'error') {
      const message = (m as { message?: unknown }).message;
      this.fail(new Error(`${this.label}: ${String(message)}`));
      return;
    }
    const waiting = this.waiters.get(m.type);
    const w = waiting?.shift();
    if (w !== undefined) w(m);
    else {
      const q = this.queues.get(m.type) ?? [];
      q.push(m);
      this.queues.set(m.type, q);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const f of this.failWaiters) f(e);
    this.failWaiters.clear();
  }

  send(msg: In): void {
    if (this.child.connected) this.child.send(msg as object);
  }

  /** The process was asked to finish: exiting with code 0 from now on is not a failure. */
  willExit(): void {
    this.expectExit = true;
  }

  next<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
    type M = Extract<Out, { type: T }>;
    const queued = this.queues.get(type)?.shift();
    if (queued !== undefined) return Promise.resolve(queued as M);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<M>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.failWaiters.delete(onFail);
        const list = this.waiters.get(type);
        const i = list?.indexOf(onMessage) ?? -1;
        if (list !== undefined && i >= 0) list.splice(i, 1);
      };
      const onMessage = (m: Out): void => {
        done();
        resolve(m as M);
      };
      const onFail = (e: Error): void => {
        done();
        reject(e);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no "${type}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const list = this.waiters.get(type) ?? [];
      list.push(onMessage);
      this.waiters.set(type, list);
      this.failWaiters.add(onFail);
    });
  }

  /** Waits for the process to exit by itself (after a stop/finish message), then ends it. */
  async stop(graceMs: number): Promise<void> {
    this.expectExit = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (exited) return;
    log(`${this.label} did not exit within ${graceMs / 1000} s: terminating it`);
    await endProcess(this.child, 5_000);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; by pid, only processes this driver started. */
async function endProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

let cleaningUp: Promise<void> | undefined;
function cleanup(): Promise<void> {
  // Servers get time to stop what they started (a Trolley server may run a cluster).
  cleaningUp ??= Promise.all([...children].map((c) => endProcess(c, 10_000))).then(() => undefined);
  return cleaningUp;
}

stopOnSignal(log, cleanup, 'stopping all benchmark processes');
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

type ServerProc = Proc<ToServer, FromServer>;
type ClientProc = Proc<ToClients, FromClients>;

// ---- statistics --------------------------------------------------------------------------------

/** The median of the finite values (a figure may be NaN or infinite in some runs). */
function median(xs: readonly number[]): number {
  return medianOf(xs.filter((x) => Number.isFinite(x)));
}

const round = (x: number, digits: number): number | null =>
  Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

// ---- one run of one system ---------------------------------------------------------------------

interface RunFigures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  minMs: number;
  changes: number;
  expected: number;
  seen: number;
  missed: number;
  implied: number;
  /** Did every change reach every other client before the quiescence wait ended? */
  caughtUp: boolean;
  /** From the last change until quiescence. */
  settleMs: number;
  serverCpuPct: number;
  serverCpuPctSettle: number;
  serverRssMB: number;
  /** Just after the server started, before any client connected. */
  serverRssIdleMB: number;
  serverMaxRssMB: number;
  converged: boolean;
  convergeMs: number;
  distinctViews: number;
  /** Different stateDigest()s at the end (NaN: the system has none). */
  distinctStates: number;
  items: number;
  clientCpuPct: number;
  tickLagP99Ms: number;
  tickLagMaxMs: number;
  clockOffsetMaxMs: number;
  clockRttMs: number;
  strayMarkers: number;
  description: string;
}

async function clockCheck(clients: readonly ClientProc[]): Promise<{ offsetMaxMs: number; rttMs: number }> {
  let offsetMaxMs = 0;
  let rttMs = 0;
  for (const c of clients) {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 7; i++) {
      const t0 = nowMs();
      c.send({ type: 'clock', t0 });
      const reply = await c.next('clock', 10_000);
      const t1 = nowMs();
      if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: reply.t - (t0 + t1) / 2 };
    }
    if (Math.abs(best.offset) >= Math.abs(offsetMaxMs)) {
      offsetMaxMs = best.offset;
      rttMs = best.rtt;
    }
  }
  return { offsetMaxMs, rttMs };
}

async function progress(clients: readonly ClientProc[]): Promise<number> {
  for (const c of clients) c.send({ type: 'progress' });
  const replies = await Promise.all(clients.map((c) => c.next('progress', 120_000)));
  return replies.reduce((sum, r) => sum + r.seen, 0);
}

/** Which clients hold which list, and how the lists differ (a few items), for the log. */
function describeDivergence(views: readonly ClientView[]): string {
  const groups = new Map<string, number[]>();
  for (const v of views) groups.set(v.canonical, [...(groups.get(v.canonical) ?? []), v.client]);
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
  const lines = sorted.map(([, cs], i) => `  list ${String.fromCharCode(65 + i)}: clients ${cs.join(', ')}`);
  const rows = (canonical: string): Map<string, string> =>
    new Map((JSON.parse(canonical) as unknown[][]).map((r) => [String(r[0]), JSON.stringify(r.slice(1))]));
  const base = sorted[0] === undefined ? new Map<string, string>() : rows(sorted[0][0]);
  sorted.slice(1).forEach(([canonical], i) => {
    const other = rows(canonical);
    const diffs: string[] = [];
    for (const key of new Set([...base.keys(), ...other.keys()])) {
      const a = base.get(key);
      const b = other.get(key);
      if (a !== b) diffs.push(`${key}: A ${a ?? 'absent'}, ${String.fromCharCode(66 + i)} ${b ?? 'absent'}`);
    }
    lines.push(
      `  A vs ${String.fromCharCode(66 + i)}: ${diffs.slice(0, 5).join('; ')}${diffs.length > 5 ? ' …' : ''}`,
    );
  });
  const digests = new Set(views.map((v) => v.digest));
  if (!digests.has(null)) {
    lines.push(
      digests.size === 1
        ? '  every client holds the same state (stateDigest), yet their views differ'
        : `  ${digests.size} different states (stateDigest): not all changes reached every client`,
    );
  }
  return lines.join('\n');
}

async function runOnce(name: SystemName, label: string): Promise<RunFigures> {
  const started: ChildProcess[] = [];
  try {
    const server: ServerProc = new Proc(`${name} server`, SERVER_SCRIPT, [name]);
    started.push(server.child);
    const listening = await server.next('listening', 120_000);
    const serverPids = [server.child.pid ?? -1, ...listening.pids];
    const idle = procSample(serverPids);
    if (idle.readable === 0) throw new Error('cannot read the server process in /proc (Linux only)');
    log(
      `${label}: server up (${JSON.stringify(listening.endpoint)}); starting ${PROCESSES}×${PER_PROCESS} clients`,
    );

    const clients: ClientProc[] = [];
    for (let index = 0; index < PROCESSES; index++) {
      const config: ClientProcessConfig = {
        system: name,
        endpoint: listening.endpoint,
        index,
        perProcess: PER_PROCESS,
        clients: CLIENTS,
        seed: SEED,
        changes: CHANGES,
        intervalMs: INTERVAL_MS,
      };
      const c: ClientProc = new Proc(`${name} clients ${index}`, CLIENT_SCRIPT, [JSON.stringify(config)]);
      clients.push(c);
      started.push(c.child);
    }
    await Promise.all(clients.map((c) => c.next('ready', 120_000)));
    const clock = await clockCheck(clients);
    log(
      `${label}: ${CLIENTS} clients connected; clock check: largest offset ${clock.offsetMaxMs.toFixed(3)} ms ` +
        `(IPC round trip ${clock.rttMs.toFixed(3)} ms); running ${SECONDS} s`,
    );

    // ---- the changes
    const at = nowMs() + START_DELAY_MS;
    for (const c of clients) c.send({ type: 'start', at });
    const sentAll = Promise.all(clients.map((c) => c.next('sent', (SECONDS + 120) * 1000)));
    await sleep(at - nowMs());
    const atStart = procSample(serverPids);
    const expected = CHANGES * CLIENTS * (CLIENTS - 1);
    let finished = false;
    void sentAll.then(
      () => (finished = true),
      () => (finished = true),
    );
    while (!finished) {
      await Promise.race([sentAll.catch(() => undefined), sleep(PROGRESS_EVERY_MS)]);
      if (finished) break;
      const elapsed = (nowMs() - at) / 1000;
      const seen = await progress(clients);
      log(`${label}: ${elapsed.toFixed(0)}/${SECONDS} s, ${seen.toLocaleString('en')} sightings so far`);
    }
    const sentReplies = await sentAll;
    const lastChangeAt = nowMs();
    const atLastChange = procSample(serverPids);

    // ---- quiescence: a busy server is not quiet, even if nothing new reaches the clients
    let seen = await progress(clients);
    let lastActiveAt = nowMs();
    let sample = { at: lastActiveAt, cpuUs: procSample(serverPids).cpuUs };
    while (seen < expected) {
      const now = nowMs();
      if (now - lastActiveAt >= SETTLE_QUIET_MS || now - lastChangeAt >= SETTLE_MAX_MS) break;
      await sleep(250);
      const s = await progress(clients);
      const next = { at: nowMs(), cpuUs: procSample(serverPids).cpuUs };
      const serverBusy = (next.cpuUs - sample.cpuUs) / ((next.at - sample.at) * 1000) > SERVER_IDLE_CORES;
      if (s > seen || serverBusy) lastActiveAt = next.at;
      seen = s;
      sample = next;
    }
    const settleMs = nowMs() - lastChangeAt;
    const atQuiescence = procSample(serverPids);
    log(
      `${label}: all changes made; ${seen.toLocaleString('en')}/${expected.toLocaleString('en')} sightings ` +
        `after ${(settleMs / 1000).toFixed(1)} s of quiescence wait`,
    );

    // ---- convergence
    const convergeStart = nowMs();
    let converged = false;
    let distinctViews = 0;
    let distinctStates = Number.NaN;
    let items = 0;
    let lastViews: ClientView[] = [];
    for (;;) {
      for (const c of clients) c.send({ type: 'views' });
      const replies = await Promise.all(clients.map((c) => c.next('views', 120_000)));
      const views = replies.flatMap((r) => r.views);
      lastViews = views;
      distinctViews = new Set(views.map((v) => v.canonical)).size;
      const digests = new Set(views.map((v) => v.digest));
      distinctStates = digests.has(null) ? Number.NaN : digests.size;
      items = views[0]?.items ?? 0;
      converged = distinctViews === 1 && views.length === CLIENTS;
      if (converged || nowMs() - convergeStart >= CONVERGE_MAX_MS) break;
      await sleep(500);
    }
    const convergeMs = nowMs() - convergeStart;
    if (converged) log(`${label}: converged (${items} items)`);
    else log(`${label}: NOT converged: ${distinctViews} different lists\n${describeDivergence(lastViews)}`);

    // ---- records
    for (const c of clients) {
      c.willExit();
      c.send({ type: 'finish' });
    }
    const results = await Promise.all(clients.map((c) => c.next('result', 120_000)));
    await Promise.all(clients.map((c) => c.stop(15_000)));
    server.willExit();
    server.send({ type: 'stop' });
    await server.stop(15_000);

    const byClient = new Map<number, ClientResult>();
    for (const r of results) for (const c of r.clients) byClient.set(c.client, c);
    const latencies: number[] = [];
    let made = 0;
    let expectedPairs = 0;
    let missed = 0;
    let implied = 0;
    let strayMarkers = 0;
    const lags: number[] = [];
    for (const sender of byClient.values()) {
      for (let k = 0; k < sender.sent.length; k++) {
        const sentAt = sender.sent[k];
        if (sentAt === null || sentAt === undefined) continue;
        made++;
        for (const receiver of byClient.values()) {
          if (receiver.client === sender.client) continue;
          expectedPairs++;
          const seenAt = receiver.seen[sender.client]?.[k];
          if (seenAt === null || seenAt === undefined) missed++;
          else latencies.push(seenAt - sentAt);
        }
      }
    }
    for (const c of byClient.values()) {
      implied += c.implied;
      strayMarkers += c.strayMarkers;
      lags.push(...c.tickLagMs);
    }
    const sorted = Float64Array.from(latencies).sort();
    const sortedLags = Float64Array.from(lags).sort();
    const clientCpuUs = sentReplies.reduce((sum, r) => sum + r.cpuUs, 0);
    const clientWallMs = median(sentReplies.map((r) => r.wallMs));
    const mb = (bytes: number): number => bytes / (1024 * 1024);
    return {
      p50Ms: percentile(sorted, 0.5),
      p95Ms: percentile(sorted, 0.95),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
      minMs: sorted.length > 0 ? (sorted[0] as number) : Number.NaN,
      meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
      changes: made,
      expected: expectedPairs,
      seen: latencies.length,
      missed,
      implied,
      caughtUp: missed === 0,
      settleMs,
      serverCpuPct: ((atLastChange.cpuUs - atStart.cpuUs) / ((lastChangeAt - at) * 1000)) * 100,
      serverCpuPctSettle: ((atQuiescence.cpuUs - atLastChange.cpuUs) / Math.max(1, settleMs * 1000)) * 100,
      serverRssMB: mb(atQuiescence.rssBytes),
      serverRssIdleMB: mb(idle.rssBytes),
      serverMaxRssMB: mb(atQuiescence.peakRssBytes),
      converged,
      convergeMs,
      distinctViews,
      distinctStates,
      items,
      clientCpuPct: (clientCpuUs / (clientWallMs * 1000)) * 100,
      tickLagP99Ms: percentile(sortedLags, 0.99),
      tickLagMaxMs: sortedLags.length > 0 ? (sortedLags[sortedLags.length - 1] as number) : Number.NaN,
      clockOffsetMaxMs: clock.offsetMaxMs,
      clockRttMs: clock.rttMs,
      strayMarkers,
      description: listening.description,
    };
  } finally {
    await Promise.all(started.map((c) => endProcess(c, 10_000)));
  }
}

// ---- the whole benchmark -------------------------------------------------------------------------

interface SystemReport {
  name: SystemName;
  status: 'ok' | 'not available' | 'not selected' | 'failed';
  note: string;
  runs: RunFigures[];
  errors: string[];
}

const numericKeys = [
  'p50Ms',
  'p95Ms',
  'p99Ms',
  'maxMs',
  'meanMs',
  'minMs',
  'changes',
  'expected',
  'seen',
  'missed',
  'implied',
  'settleMs',
  'serverCpuPct',
  'serverCpuPctSettle',
  'serverRssMB',
  'serverRssIdleMB',
  'serverMaxRssMB',
  'convergeMs',
  'distinctViews',
  'distinctStates',
  'items',
  'clientCpuPct',
  'tickLagP99Ms',
  'tickLagMaxMs',
  'clockOffsetMaxMs',
  'clockRttMs',
  'strayMarkers',
] as const satisfies readonly (keyof RunFigures)[];
type NumericKey = (typeof numericKeys)[number];

/** Medians over the runs (the run's own figure when there is one). */
function summary(runs: readonly RunFigures[]): Record<NumericKey, number> | undefined {
  if (runs.length === 0) return undefined;
  const out = {} as Record<NumericKey, number>;
  for (const k of numericKeys) out[k] = median(runs.map((r) => r[k]));
  return out;
}

const fmt = (x: number | undefined, digits: number): string =>
  x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

async function main(): Promise<void> {
  const loadStart = loadavg();
  log(
    `${CLIENTS} clients (${PROCESSES} processes × ${PER_PROCESS}), a change every ${INTERVAL_MS} ms each for ` +
      `${SECONDS} s (${CHANGES} per client), ${REPEATS} repeat(s); systems: ${SELECTED.join(', ')}; ` +
      `load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`,
  );
  const reports = new Map<SystemName, SystemReport>();
  for (const name of SHOWN) {
    const selected = SELECTED.includes(name);
    const available = systemAvailable(name);
    reports.set(name, {
      name,
      status: !selected ? 'not selected' : available ? 'ok' : 'not available',
      note: !selected
        ? 'not selected (LIVE_SYSTEMS)'
        : available
          ? ''
          : `not available: ${fileURLToPath(systemModuleUrl(name))} is missing`,
      runs: [],
      errors: [],
    });
  }
  const toRun = SHOWN.filter((n) => reports.get(n)?.status === 'ok');
  for (const n of SHOWN) {
    const r = reports.get(n);
    if (r !== undefined && r.status !== 'ok') log(`${n}: ${r.note}`);
  }

  for (let repeat = 1; repeat <= REPEATS; repeat++) {
    for (const name of toRun) {
      const report = reports.get(name) as SystemReport;
      const label = REPEATS > 1 ? `${name} (repeat ${repeat}/${REPEATS})` : name;
      try {
        const figures = await runOnce(name, label);
        report.runs.push(figures);
        log(
          `${label}: p50 ${fmt(figures.p50Ms, 1)} ms, p99 ${fmt(figures.p99Ms, 1)} ms, ` +
            `missed ${figures.missed}, server ${fmt(figures.serverCpuPct, 0)}% of a core`,
        );
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        report.errors.push(message);
        log(`${label} FAILED: ${message}`);
      }
      await sleep(1_000);
    }
  }
  const loadEnd = loadavg();

  // ---- table
  const summaries = new Map<SystemName, Record<NumericKey, number> | undefined>();
  for (const [name, r] of reports) {
    if (r.status === 'ok' && r.runs.length === 0) r.status = 'failed';
    summaries.set(name, summary(r.runs));
  }
  const rows: string[][] = [];
  for (const name of SHOWN) {
    const r = reports.get(name) as SystemReport;
    const s = summaries.get(name);
    if (s === undefined) {
      const why = r.status === 'failed' ? `failed: ${r.errors[0] ?? '?'}` : r.note;
      rows.push([name, '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', why]);
      continue;
    }
    const convergedRuns = r.runs.filter((x) => x.converged).length;
    const converged =
      r.runs.length === 1 ? (convergedRuns === 1 ? 'yes' : 'NO') : `${convergedRuns}/${r.runs.length}`;
    const notes: string[] = [];
    if (s.missed > 0) notes.push(`not caught up ${fmt(s.settleMs / 1000, 0)} s after the last change`);
    if (r.errors.length > 0) notes.push(`${r.errors.length} failed run(s)`);
    if (!r.runs.every((x) => x.converged)) {
      const states =
        s.distinctStates === 1
          ? ' from identical states'
          : Number.isFinite(s.distinctStates)
            ? ` from ${fmt(s.distinctStates, 0)} different states`
            : '';
      notes.push(`${fmt(s.distinctViews, 0)} different lists${states}`);
    }
    rows.push([
      name,
      fmt(s.p50Ms, 1),
      fmt(s.p95Ms, 1),
      fmt(s.p99Ms, 1),
      fmt(s.maxMs, 0),
      `${fmt(s.seen, 0)}/${fmt(s.expected, 0)}`,
      fmt(s.missed, 0),
      fmt(s.implied, 0),
      fmt(s.serverCpuPct, 1),
      fmt(s.serverRssMB, 0),
      converged,
      notes.join('; '),
    ]);
  }
  const p99 = (n: SystemName): number | null => {
    const s = summaries.get(n);
    return s === undefined ? null : round(s.p99Ms, 2);
  };
  const ratio = (a: number | null, b: number | null): number | null =>
    a === null || b === null || b === 0 ? null : round(a / b, 3);
  const p99Ms = Object.fromEntries(SHOWN.map((n) => [n, p99(n)])) as Record<SystemName, number | null>;
  const ratios = {
    p99VsYjs: ratio(p99Ms.trolley, p99Ms.yjs),
    p99VsAutomerge: ratio(p99Ms.trolley, p99Ms.automerge),
  };

  const out: string[] = [];
  out.push(
    `Live updates: ${CLIENTS} clients on one list (${PROCESSES} processes × ${PER_PROCESS}), a seeded change ` +
      `every ${INTERVAL_MS} ms each for ${SECONDS} s; latency = time from a change to each other client seeing it` +
      (REPEATS > 1 ? `; medians of ${REPEATS} repeats` : ''),
  );
  out.push(
    `load average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')}, at end ` +
      `${loadEnd.map((x) => x.toFixed(2)).join(' ')} (2 cores shared with everything else)`,
  );
  out.push(`${TIMEBASE}.`);
  out.push('');
  out.push(
    table(
      [
        'system',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'max ms',
        'seen/expected',
        'missed',
        'implied',
        'server CPU %',
        'server RSS MB',
        'converged',
        'notes',
      ],
      rows,
      (i) => i === 0 || i === 11, // the system and its notes
    ),
  );
  out.push('');
  out.push(
    `Trolley p99 ÷ Yjs p99: ${ratios.p99VsYjs === null ? 'n/a' : ratios.p99VsYjs}` +
      (p99Ms.trolley === null ? ' (no Trolley figures: see its row)' : ' (target: ≤ 1)'),
  );
  out.push(
    'missed: (change, receiver) pairs not seen when the quiescence wait ended (everything seen; nothing new and ' +
      `the server idle for ${SETTLE_QUIET_MS / 1000} s; or ${SETTLE_MAX_MS / 1000} s after the last change); ` +
      'implied: first seen through a later change of the same client (batched); server CPU: % of one core while ' +
      'changes were made; RSS at the end.',
  );
  for (const name of SHOWN) {
    const r = reports.get(name) as SystemReport;
    const s = summaries.get(name);
    const first = r.runs[0];
    if (s === undefined || first === undefined) continue;
    out.push(
      `${name}: ${first.description}. Quiescence after ${fmt(s.settleMs / 1000, 1)} s (server ${fmt(s.serverCpuPctSettle, 0)}% ` +
        `of a core meanwhile); server RSS ${fmt(s.serverRssIdleMB, 0)} MB before clients connected, peak ` +
        `${fmt(s.serverMaxRssMB, 0)} MB; client processes ${fmt(s.clientCpuPct, 0)}% ` +
        `of a core in all; tick lag p99 ${fmt(s.tickLagP99Ms, 1)} ms, max ${fmt(s.tickLagMaxMs, 0)} ms; clock offset ` +
        `≤ ${fmt(Math.abs(s.clockOffsetMaxMs), 3)} ms; ${fmt(s.items, 0)} items at the end.`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const figuresOf = (name: SystemName): Record<string, number | boolean | null> | null => {
    const s = summaries.get(name);
    const r = reports.get(name) as SystemReport;
    if (s === undefined) return null;
    const rec: Record<string, number | boolean | null> = {};
    for (const k of numericKeys) rec[k] = round(s[k], 3);
    rec.converged = r.runs.every((x) => x.converged);
    rec.caughtUp = r.runs.every((x) => x.caughtUp);
    return rec;
  };
  const pick = (k: NumericKey, digits: number): Partial<Record<SystemName, number | null>> => {
    const rec: Partial<Record<SystemName, number | null>> = {};
    for (const n of SHOWN) {
      const s = summaries.get(n);
      rec[n] = s === undefined ? null : round(s[k], digits);
    }
    return rec;
  };
  const json = {
    bench: 'live',
    p99Ms,
    ratios,
    p50Ms: pick('p50Ms', 2),
    p95Ms: pick('p95Ms', 2),
    maxMs: pick('maxMs', 1),
    missed: pick('missed', 0),
    serverCpuPct: pick('serverCpuPct', 1),
    serverRssMB: pick('serverRssMB', 1),
    converged: Object.fromEntries(
      SHOWN.map((n) => {
        const r = reports.get(n) as SystemReport;
        return [n, r.runs.length === 0 ? null : r.runs.every((x) => x.converged)];
      }),
    ),
    systems: Object.fromEntries(
      SHOWN.map((n) => {
        const r = reports.get(n) as SystemReport;
        return [
          n,
          {
            status: r.status,
            note: r.note === '' ? null : r.note,
            description: r.runs[0]?.description ?? null,
            figures: figuresOf(n),
            runs: r.runs.length,
            errors: r.errors,
          },
        ];
      }),
    ),
    config: {
      clients: CLIENTS,
      processes: PROCESSES,
      clientsPerProcess: PER_PROCESS,
      intervalMs: INTERVAL_MS,
      seconds: SECONDS,
      changesPerClient: CHANGES,
      repeats: REPEATS,
      seed: SEED,
      settleQuietMs: SETTLE_QUIET_MS,
      settleServerIdleCores: SERVER_IDLE_CORES,
      settleMaxMs: SETTLE_MAX_MS,
    },
    loadavg: { start: loadStart.map((x) => round(x, 2)), end: loadEnd.map((x) => round(x, 2)) },
    timebase: TIMEBASE,
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
  const failed = [...reports.values()].some((r) => r.status === 'failed' || r.errors.length > 0);
  if (failed) process.exitCode = 1;
}

main()
  .catch((e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
