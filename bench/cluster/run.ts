// Cluster benchmark driver (`npm run bench:cluster`), per docs/PERFORMANCE.md: the replicated
// cloud's throughput and latency against raw ZeroMQ round trips, the storage node's group commit
// against raw better-sqlite3 FULL upserts, and the ring's balance against `hashring`, all measured
// in this one run on this machine.
//
// 1. Store: runStoreCommitBench() (store-commit.ts): raw single-row FULL upserts vs group commit.
// 2. Ring: ringBalance() (ring-balance.ts): largest node share ÷ mean for 3, 5, 10, 20 nodes.
// 3. Cluster: a LocalCluster of one proxy and 3 storage nodes (N=3, R=2, W=2) as child processes,
//    data in a temporary folder. The load generator is this process: CONNECTIONS ZeroMQ DEALERs to
//    the proxy, requests built with encodeMessage and pipelined (IN_FLIGHT outstanding on each).
//    Each write is one real delta (ListReplica: add an item, buy one unit, or — once an item is
//    all bought — remove it, which keeps lists bounded) on one of LISTS lists, with a fresh
//    16-byte operation ID and a deadline 5 s ahead; a write counts only if it is cloud-ok. A read
//    is a get with the client's causal context for the list (what a syncing client sends).
//    After a warm-up (every list written once, then WARMUP_MS of writes and some reads), each of
//    REPEATS repeats measures, in this order:
//      a. raw ZeroMQ echo (zmq-echo.ts, server in its own process, 100-byte messages): one round
//         trip in flight, then 100 pipelined;
//      b. quorum writes, pipelined (full load): writes/s and latency;
//      c. reads, pipelined: reads/s and latency;
//      d. writes paced open-loop at half the full-load rate of b: sends are scheduled at fixed
//         intervals and latency is measured from the scheduled send time (so a stall is charged
//         to every request it delays), and also from the actual send;
//      e. what a write costs as lists grow: pipelined writes (half a phase each) to SIZED_LISTS
//         lists stocked with 50 items, then to SIZED_LISTS lists of 2,600 (each list stored whole
//         in one put after the warm-up): writes/s, latency and CPU µs per write, and the ratio.
//    Each measured cluster phase starts after a 1 s pause. Figures are medians over the repeats;
//    each ZeroMQ ratio is the median of the per-repeat ratios.
// 4. What security costs: step 3 runs twice, one cluster after the other, each with its own
//    warm-up: secure (CURVE on every socket, member credentials: the cluster as it is deployed;
//    the figures above are its own) and insecure (plain ZeroMQ, LocalCluster's `secure: false`).
//    The table "secure vs insecure" gives each side's throughput, latency and CPU per operation,
//    and the ratio secure ÷ insecure. CLUSTER_BENCH_COMPARE=0 runs the secure side alone.
// For every phase it also reports, from /proc (Linux), the CPU cores each process used, the share
// of time each event loop was runnable but waiting for a CPU, the CPU used by everything else on
// the machine (other people's work shares the cores: see the load average in the header), and
// CPU µs per operation over the processes involved: that figure depends least on other load.
// Output: progress on stderr, a table on stdout, then one JSON line (the last stdout line).
// Environment: CLUSTER_BENCH_DIR (default os.tmpdir(); not a tmpfs), CLUSTER_BENCH_SECONDS
// (phase length, default 6), CLUSTER_BENCH_REPEATS (default 3), CLUSTER_BENCH_CPU_PROF (a folder:
// the proxy and nodes are profiled (cpu-profile.ts), write their profiles there when stopped, and
// the hottest functions of each are printed to stderr at the end), CLUSTER_BENCH_TRACE (a file:
// each paced run appends one JSON line of (scheduled send ms, latency ms) pairs),
// CLUSTER_BENCH_COMPARE (default 1: also run the insecure side, step 4).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type * as zmq from 'zeromq';
import {
  ListReplica,
  decodeMessage,
  encodeContext,
  encodeList,
  encodeMessage,
  newListId,
  newWriterSecret,
  writerIdOf,
  opIdFrom,
  type ListId,
  type Message,
} from '@trolley/core';
import { dealer, newKeyPair, nodeStats, splitAddress } from '@trolley/node';
import { LocalCluster, freePort } from '../../apps/cli/src/local-cluster.ts';
import { median, percentile, rng, seededRandom, stopOnSignal, table, envNumber } from '../common.ts';
import { formatSummary, profileHook, summarizeProfile } from './cpu-profile.ts';
import { ringBalance } from './ring-balance.ts';
import { runStoreCommitBench, type StoreCommitFigures } from './store-commit.ts';
import { echoRun, type EchoRun } from './zmq-echo.ts';

const NODES = 3;
const QUORUM = { n: 3, r: 2, w: 2 };
const LISTS = 1_000;
/** Lists of each size in the write-cost phases (issue 13: a 2,600-item list's write within 1.5× of a 50-item list's). */
const SIZED_LISTS = 32;
const SIZES = { small: 50, large: 2_600 } as const;
const CONNECTIONS = 4;
const IN_FLIGHT = 64;
const PHASE_MS = envNumber('CLUSTER_BENCH_SECONDS', 6) * 1000;
const REPEATS = Math.round(envNumber('CLUSTER_BENCH_REPEATS', 3));
/** Also measure an insecure cluster, for what security costs (step 4). */
const COMPARE = (process.env['CLUSTER_BENCH_COMPARE'] ?? '1') !== '0';
const WARMUP_MS = 3_000;
/** Pause before each measured phase, so that work left over from the last one does not count. */
const SETTLE_MS = 1_000;
const ECHO_ONE_MS = 1_500;
const ECHO_PIPELINED_MS = 2_000;
const ECHO_PIPELINE = 100;
const DEADLINE_MS = 5_000;
/** How long after a phase ends to wait for its last replies before counting them as missing. */
const DRAIN_MS = DEADLINE_MS + 2_000;
const SEED = 0x5eed_c1a5;
const COMMAND = 'npm run bench:cluster';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const echoScript = fileURLToPath(new URL('./zmq-echo.ts', import.meta.url));

const log = (line: string): void => void process.stderr.write(`[bench:cluster] ${line}\n`);
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
// ---- latency samples ---------------------------------------------------------------------------

class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }

  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function percentilesOf(s: Samples | Float64Array): Percentiles {
  const sorted = s instanceof Samples ? s.sorted() : s;
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

// ---- the workload ------------------------------------------------------------------------------

const CATALOG = [
  'milk', 'eggs', 'bread', 'butter', 'cheese', 'apples', 'bananas', 'oranges', 'tomatoes', 'onions',
  'garlic', 'potatoes', 'carrots', 'rice', 'pasta', 'flour', 'sugar', 'coffee', 'tea', 'yoghurt',
  'chicken', 'mince', 'salmon', 'tuna', 'beans', 'lentils', 'spinach', 'lettuce', 'cucumber', 'peppers',
  'olive oil', 'vinegar', 'salt', 'pepper', 'honey', 'jam', 'cereal', 'oats', 'soap', 'toothpaste',
]; // prettier-ignore

interface Write {
  listId: ListId;
  delta: Uint8Array;
  /** The writer secret whose hash is the list replica's ID, sent with each put as clients do. */
  writer: Uint8Array;
}

/**
 * LISTS lists, each with this client's replica. Operations are generated ahead of a timed phase
 * (so that generating them does not compete with the cluster for the CPU) into a FIFO and sent
 * in order, so that no delta is skipped: every replica's writes reach the cloud in full.
 */
class Workload {
  readonly lists: { id: ListId; replica: ListReplica; writer: Uint8Array }[] = [];
  readonly counts = { add: 0, buy: 0, remove: 0 };
  private readonly next: () => number;
  private ready: Write[] = [];
  private head = 0;
  generatedLate = 0;

  /** `stocked`: items each list holds besides those the operations churn (sent by prepareWholeStates). */
  constructor(count: number, seed: number, stocked = 0) {
    // Seeded (mulberry32), so that every run performs the same operations on the same lists.
    const random = seededRandom(seed);
    this.next = rng(seed ^ 0x9e3779b9);
    for (let i = 0; i < count; i++) {
      const writer = newWriterSecret(random);
      const replica = new ListReplica(writerIdOf(writer));
      for (let k = 0; k < stocked; k++) replica.addItem(`stock ${k}`, 1 + (k % 3));
      this.lists.push({ id: newListId(random), replica, writer });
    }
  }

  get queued(): number {
    return this.ready.length - this.head;
  }

  /** Generates operations until `n` are queued. */
  prepare(n: number): void {
    if (this.head > 0) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    while (this.ready.length < n) this.ready.push(this.generate(this.next() % this.lists.length));
  }

  /** Every list's whole state as one write (a list stocked with items arrives in one put). */
  prepareWholeStates(): void {
    for (const l of this.lists)
      this.ready.push({ listId: l.id, delta: encodeList(l.replica.state), writer: l.writer });
  }

  /** The first write to every list (its first item), in list order. */
  prepareFirstWrites(): void {
    for (let i = 0; i < this.lists.length; i++) this.ready.push(this.generate(i));
  }

  take(): Write {
    if (this.head < this.ready.length) {
      const w = this.ready[this.head] as Write;
      this.ready[this.head++] = undefined as unknown as Write; // let it go
      return w;
    }
    this.generatedLate++;
    return this.generate(this.next() % this.lists.length);
  }

  private generate(index: number): Write {
    const list = this.lists[index] as Workload['lists'][number];
    const name = CATALOG[this.next() % CATALOG.length] as string;
    const item = list.replica.item(name);
    let delta;
    if (item === undefined) {
      delta = list.replica.addItem(name, 1 + (this.next() % 3));
      this.counts.add++;
    } else if (item.remaining === 0) {
      delta = list.replica.removeItem(name);
      this.counts.remove++;
    } else if (this.next() % 4 === 0) {
      delta = list.replica.addItem(name, 1);
      this.counts.add++;
    } else {
      delta = list.replica.buy(name, 1);
      this.counts.buy++;
    }
    return { listId: list.id, delta: encodeList(delta), writer: list.writer };
  }

  meanStateBytes(): number {
    let total = 0;
    for (const l of this.lists) total += encodeList(l.replica.state).length;
    return total / this.lists.length;
  }

  meanItems(): number {
    let total = 0;
    for (const l of this.lists) total += l.replica.state.items.size;
    return total / this.lists.length;
  }
}

const opId = (): ReturnType<typeof opIdFrom> => opIdFrom(randomFillSync(new Uint8Array(16)));

function putRequest(w: Write): (requestId: number) => Message {
  return (requestId) => ({
    type: 'put',
    requestId,
    listId: w.listId,
    opId: opId(),
    deadlineMs: Date.now() + DEADLINE_MS,
    delta: w.delta,
    writer: w.writer,
  });
}

function getRequest(listId: ListId, context: Uint8Array): (requestId: number) => Message {
  return (requestId) => ({ type: 'get', requestId, listId, deadlineMs: Date.now() + DEADLINE_MS, context });
}

/** 'ok', or why not: a put counts only if cloud-ok; a get if it got a get-reply. */
function verdict(m: Message | undefined): string {
  if (m === undefined) return 'no reply';
  if (m.type === 'put-reply') return m.outcome === 'ok' ? 'ok' : `put ${m.outcome}`;
  if (m.type === 'get-reply') return 'ok';
  if (m.type === 'error') return `error ${m.code}`;
  return `unexpected ${m.type}`;
}

// ---- a client connection -----------------------------------------------------------------------

type ReplyHandler = (m: Message | undefined, receivedAt: number) => void;

/** One DEALER to the proxy: requests are queued and sent one after another (zeromq allows one send at a time). */
class Connection {
  private readonly socket: zmq.Dealer;
  private queue: Uint8Array[] = [];
  private head = 0;
  private busy = false;
  private nextRequestId = 1;
  private readonly waiting = new Map<number, ReplyHandler>();
  sendFailures = 0;
  badReplies = 0;

  /** `address`: the proxy's client endpoint, with its key after # (CURVE, as a client) when secure. */
  constructor(address: string) {
    const { endpoint, serverKey } = splitAddress(address);
    this.socket = dealer(undefined, serverKey === undefined ? undefined : { keys: newKeyPair(), serverKey });
    this.socket.connect(endpoint);
    void this.receive();
  }

  get outstanding(): number {
    return this.waiting.size;
  }

  request(make: (requestId: number) => Message, onReply: ReplyHandler): void {
    const id = this.nextRequestId++;
    this.waiting.set(id, onReply);
    this.queue.push(encodeMessage(make(id)));
    if (!this.busy) void this.pump();
  }

  /** Gives up on every outstanding request: each handler hears `undefined`. */
  abandon(): void {
    const now = performance.now();
    const handlers = [...this.waiting.values()];
    this.waiting.clear();
    for (const h of handlers) h(undefined, now);
  }

  close(): void {
    this.abandon();
    this.socket.close();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.head < this.queue.length && !this.socket.closed) {
      const frame = this.queue[this.head++] as Uint8Array;
      if (this.head > 4096) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      try {
        await this.socket.send(frame);
      } catch {
        this.sendFailures++;
      }
    }
    this.busy = false;
  }

  private async receive(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        if (this.socket.closed) return;
        continue;
      }
      const now = performance.now();
      const decoded = decodeMessage(frames[0] ?? Buffer.alloc(0));
      if (frames.length !== 1 || !decoded.ok) {
        this.badReplies++;
        continue;
      }
      const handler = this.waiting.get(decoded.value.requestId);
      if (handler === undefined) continue;
      this.waiting.delete(decoded.value.requestId);
      handler(decoded.value, now);
    }
  }
}

// ---- load phases -------------------------------------------------------------------------------

interface PhaseResult {
  /** Requests sent. */
  sent: number;
  ok: number;
  /** Non-ok outcomes by reason. */
  notOk: Record<string, number>;
  /** Ok replies received within the phase window, per second. */
  perSec: number;
  latencyMs: Percentiles;
  /** Paced runs only: latency from the actual send, and how late sends left (client-side). */
  fromSendMs?: Percentiles;
  sendLagMs?: Percentiles;
  targetPerSec?: number;
  samples: Float64Array;
  /** Paced runs only: (scheduled send ms after the start, latency ms) for each request. */
  trace?: number[];
}

function tally(notOk: Record<string, number>, reason: string): void {
  notOk[reason] = (notOk[reason] ?? 0) + 1;
}

/**
 * Keeps `inFlight` requests outstanding on every connection for `durationMs`, or until `next`
 * has nothing more to send (returns undefined).
 */
function closedLoop(
  conns: readonly Connection[],
  inFlight: number,
  durationMs: number,
  next: () => ((requestId: number) => Message) | undefined,
): Promise<PhaseResult> {
  return new Promise((resolve) => {
    const latency = new Samples();
    const notOk: Record<string, number> = {};
    let sent = 0;
    let ok = 0;
    let okInWindow = 0;
    let outstanding = 0;
    let done = false;
    const start = performance.now();
    const end = start + durationMs;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(giveUp);
      const samples = latency.sorted();
      resolve({
        sent,
        ok,
        notOk,
        perSec: (okInWindow * 1000) / durationMs,
        latencyMs: percentilesOf(samples),
        samples,
      });
    };
    const giveUp = setTimeout(() => {
      for (const c of conns) c.abandon();
      finish();
    }, durationMs + DRAIN_MS);
    const issue = (conn: Connection): void => {
      const make = next();
      if (make === undefined) {
        if (outstanding === 0) finish();
        return;
      }
      const sentAt = performance.now();
      sent++;
      outstanding++;
      conn.request(make, (m, at) => {
        outstanding--;
        latency.push(at - sentAt);
        const v = verdict(m);
        if (v === 'ok') {
          ok++;
          if (at <= end) okInWindow++;
        } else tally(notOk, v);
        if (at < end && !done) issue(conn);
        else if (outstanding === 0) finish();
      });
    };
    for (const c of conns) for (let i = 0; i < inFlight; i++) issue(c);
  });
}

/** Open loop: request i is due at start + i / rate, whatever happened to the others. */
function pacedLoop(
  conns: readonly Connection[],
  ratePerSec: number,
  durationMs: number,
  next: () => (requestId: number) => Message,
): Promise<PhaseResult> {
  return new Promise((resolve) => {
    const latency = new Samples();
    const fromSend = new Samples();
    const lag = new Samples();
    const trace: number[] = [];
    const notOk: Record<string, number> = {};
    const interval = 1000 / ratePerSec;
    const total = Math.floor((durationMs / 1000) * ratePerSec);
    const start = performance.now() + 2;
    const end = start + durationMs;
    let sent = 0;
    let ok = 0;
    let okInWindow = 0;
    let answered = 0;
    let done = false;
    let giveUp: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(giveUp);
      const samples = latency.sorted();
      resolve({
        sent,
        ok,
        notOk,
        perSec: (okInWindow * 1000) / durationMs,
        latencyMs: percentilesOf(samples),
        fromSendMs: percentilesOf(fromSend),
        sendLagMs: percentilesOf(lag),
        targetPerSec: ratePerSec,
        samples,
        trace,
      });
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const scheduled = start + sent * interval;
        const conn = conns[sent % conns.length] as Connection;
        const sentAt = performance.now();
        lag.push(sentAt - scheduled);
        sent++;
        conn.request(next(), (m, at) => {
          answered++;
          latency.push(at - scheduled);
          fromSend.push(at - sentAt);
          trace.push(scheduled - start, at - scheduled);
          const v = verdict(m);
          if (v === 'ok') {
            ok++;
            if (at <= end) okInWindow++;
          } else tally(notOk, v);
          if (answered === total) finish();
        });
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else
        giveUp = setTimeout(() => {
          for (const c of conns) c.abandon();
          finish();
        }, DRAIN_MS);
    };
    setTimeout(tick, 2);
  });
}

// ---- processes: the echo server and CPU accounting ---------------------------------------------

async function startEchoServer(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', echoScript, 'tcp://127.0.0.1:*'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: withoutProfiling(process.env),
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the echo server did not start in time')), 30_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('ready ')) {
        clearTimeout(timer);
        resolve(line.slice('ready '.length).trim());
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the echo server exited (${signal ?? `code ${code}`})`));
    });
  });
  return { endpoint, child };
}

function withoutProfiling(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy['NODE_OPTIONS'];
  return copy;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
  child.kill('SIGTERM');
  await exited;
  clearTimeout(force);
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

interface ProcSample {
  /** CPU seconds, every thread (user + system). */
  cpuS: number;
  /** Main thread (the event loop): seconds waiting on a run queue for a CPU. */
  queueS: number;
}

/** The main thread's seconds waiting for a CPU (/proc/PID/task/PID/schedstat, field 2, ns). */
function runQueueSeconds(pid: number | string): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ');
    return Number(fields[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU seconds of the whole machine (/proc/stat: all but idle and iowait), NaN without /proc. */
function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (
      ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS
    );
  } catch {
    return Number.NaN;
  }
}

/** This process and its children, by name; only this process where /proc is missing. */
function sampleProcesses(): Map<string, ProcSample> {
  const out = new Map<string, ProcSample>();
  const self = process.cpuUsage();
  out.set('client', { cpuS: (self.user + self.system) / 1e6, queueS: runQueueSeconds(process.pid) });
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue; // field 4: ppid
      const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime + stime
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      let name = `${basename(args[0] ?? '?')} ${pid}`;
      if (args.some((a) => a.endsWith('zmq-echo.ts'))) name = 'echo';
      else if (args.includes('proxy')) name = 'proxy';
      else if (args.includes('node')) name = args[args.indexOf('--id') + 1] ?? name;
      out.set(name, { cpuS, queueS: runQueueSeconds(pid) });
    } catch {
      // the process went away
    }
  }
  return out;
}

/** A figure per process (cores used, or a share of wall time). */
interface CpuShare {
  [process: string]: number;
}

/** Where each measured phase ran on the monotonic clock (µs, as V8 profiles count), for profiles. */
const phaseWindows: { phase: string; fromUs: number; toUs: number }[] = [];
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Measured<T> {
  result: T;
  /** CPU cores used by each process. */
  cpu: CpuShare;
  /** Share of the phase each process's event loop spent runnable but waiting for a CPU. */
  queue: CpuShare;
  wallS: number;
}

/** Runs one measured phase after a pause (so the last phase's leftovers do not count), with CPU use. */
async function measured<T>(
  phase: string,
  body: () => Promise<T>,
  settleMs = SETTLE_MS,
): Promise<Measured<T>> {
  await sleep(settleMs);
  const machineBefore = machineBusySeconds();
  const before = sampleProcesses();
  const fromUs = monotonicUs();
  const t0 = performance.now();
  const result = await body();
  const wall = (performance.now() - t0) / 1000;
  phaseWindows.push({ phase, fromUs, toUs: monotonicUs() });
  const after = sampleProcesses();
  const machine = (machineBusySeconds() - machineBefore) / wall;
  const cpu: CpuShare = {};
  const queue: CpuShare = {};
  for (const [name, a] of after) {
    const b = before.get(name) ?? { cpuS: 0, queueS: 0 };
    const used = (a.cpuS - b.cpuS) / wall;
    if (used < 0.005 && !['proxy', 'echo', 'client'].includes(name) && !/^n\d+$/.test(name)) continue;
    cpu[name] = round(used, 2);
    if (Number.isFinite(a.queueS)) queue[name] = round((a.queueS - b.queueS) / wall, 2);
  }
  // Everything else on the machine: other people's work competes for the same cores.
  if (Number.isFinite(machine)) {
    const ours = Object.values(cpu).reduce((x, y) => x + y, 0);
    cpu['others'] = round(Math.max(0, machine - ours), 2);
  }
  return { result, cpu, queue, wallS: wall };
}

/** CPU µs per operation, over the named processes. */
function cpuUsPerOp(m: Measured<unknown>, names: (name: string) => boolean, ops: number): number {
  const cores = Object.entries(m.cpu)
    .filter(([name]) => names(name))
    .reduce((sum, [, c]) => sum + c, 0);
  return (cores * m.wallS * 1e6) / ops;
}
const echoSide = (name: string): boolean => name === 'client' || name === 'echo';
const clusterSide = (name: string): boolean => name === 'client' || name === 'proxy' || /^n\d+$/.test(name);

// ---- one repeat --------------------------------------------------------------------------------

interface Repeat {
  echoOne: EchoRun;
  echoPipelined: EchoRun;
  /** CPU µs per operation over the processes involved (client and echo server; client, proxy, nodes). */
  cpuUs: { zmqRoundTrip: number; write: number; read: number; halfLoadWrite: number };
  writes: PhaseResult;
  reads: PhaseResult;
  paced: PhaseResult;
  cpuWrites: CpuShare;
  cpuReads: CpuShare;
  cpuPaced: CpuShare;
  queueWrites: CpuShare;
  queueReads: CpuShare;
  queuePaced: CpuShare;
  /** Per node, its event-loop stalls and GC pauses during the paced phase (process-health.ts). */
  tailPaced: Record<string, Record<string, number>>;
  /** Per node, where the paced puts it coordinated spent their time. */
  putTimesPaced: Record<string, PutTimes>;
  /** Writes to lists of SIZES.small and SIZES.large items: rate, latency and CPU µs per write. */
  sized: Record<keyof typeof SIZES, { result: PhaseResult; cpuUs: number }>;
}

/** Lists stocked with SIZES items, for the write-cost phases. */
type SizedWorkloads = Record<keyof typeof SIZES, Workload>;

/**
 * Reads every node's cumulative health counters (loop stalls, GC) through the operator's stats,
 * and its report on the puts it coordinated since the last read (which that read starts afresh).
 */
type HealthReader = () => Promise<{
  health: Record<string, Record<string, number>>;
  putTimes: Record<string, PutTimes>;
}>;

function healthReader(cluster: LocalCluster): HealthReader {
  return async () => {
    const health: Record<string, Record<string, number>> = {};
    const putTimes: Record<string, PutTimes> = {};
    await Promise.all(
      cluster.layout.nodes.map(async (n, i) => {
        const s = await nodeStats(cluster.operator, cluster.nodeEndpoint(i), 10_000).catch(() => undefined);
        const t = (s?.['transport'] ?? {}) as Record<string, number>;
        health[n.id] = Object.fromEntries(
          Object.entries(t).filter(
            ([k, v]) => /^(loopStall|gcPause|gcMajor)/.test(k) && typeof v === 'number',
          ),
        );
        const p = s?.['putTimes'] as PutTimes | undefined;
        if (p !== undefined && p.traced > 0) putTimes[n.id] = p;
      }),
    );
    return { health, putTimes };
  };
}

/** What a node's stats say of the last puts it coordinated (cloud/src/coordinator/put-traces.ts). */
interface PutTimes {
  traced: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  slowest: {
    totalMs: number;
    checkMs: number;
    localCommitMs: number | null;
    remoteAckMs: number[];
    gcMs: number | null;
    stallMs: number | null;
  }[];
}

/** after − before for the cumulative counters (the maxima are since the start: shown as they are). */
function healthDelta(
  before: Record<string, Record<string, number>>,
  after: Record<string, Record<string, number>>,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [node, a] of Object.entries(after)) {
    const b = before[node] ?? {};
    out[node] = Object.fromEntries(
      Object.entries(a).map(([k, v]) => [k, k.endsWith('MaxMs') ? v : round(v - (b[k] ?? 0), 1)]),
    );
  }
  return out;
}

function describePhase(name: string, r: PhaseResult): string {
  const l = r.latencyMs;
  const bad = Object.entries(r.notOk)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${name}: ${r.perSec.toFixed(0)}/s ok, ${r.ok}/${r.sent} ok${bad === '' ? '' : ` (${bad})`}, ` +
    `p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} p99.9 ${l.p999.toFixed(2)} max ${l.max.toFixed(1)} ms`
  );
}

const cpuText = (c: CpuShare): string =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');

async function runRepeat(
  i: number,
  echoEndpoint: string,
  conns: readonly Connection[],
  workload: Workload,
  lastWriteRate: number,
  side: string,
  health: HealthReader,
  sizedLoads: SizedWorkloads,
): Promise<Repeat> {
  const tag = `${side}, repeat ${i + 1}/${REPEATS}`;
  const one = await measured('echo-one', () => echoRun(echoEndpoint, 1, ECHO_ONE_MS), 0);
  const echoOne = one.result;
  log(`${tag} zmq echo, 1 in flight: ${echoOne.perSec.toFixed(0)}/s, p50 ${echoOne.p50Us.toFixed(0)} µs`);
  const piped = await measured(
    'echo-pipelined',
    () => echoRun(echoEndpoint, ECHO_PIPELINE, ECHO_PIPELINED_MS),
    0,
  );
  const echoPipelined = piped.result;
  const echoCpuUs = cpuUsPerOp(piped, echoSide, echoPipelined.roundTrips);
  log(
    `${tag} zmq echo, ${ECHO_PIPELINE} in flight: ${echoPipelined.perSec.toFixed(0)}/s, ` +
      `${echoCpuUs.toFixed(1)} µs CPU per round trip (both ends); CPU cores: ${cpuText(piped.cpu)}`,
  );

  workload.prepare(Math.ceil(lastWriteRate * 2 * (PHASE_MS / 1000)) + 20_000);
  const w = await measured('writes', () =>
    closedLoop(conns, IN_FLIGHT, PHASE_MS, () => putRequest(workload.take())),
  );
  log(`${tag} ${describePhase('writes, pipelined', w.result)}`);
  log(`${tag} CPU cores during writes: ${cpuText(w.cpu)}; event loop waiting for a CPU: ${cpuText(w.queue)}`);

  const contexts = workload.lists.map((l) => ({
    id: l.id,
    context: encodeContext(l.replica.state.ctx, l.replica.state.replicas),
  }));
  const pick = rng(SEED + i);
  const r = await measured('reads', () =>
    closedLoop(conns, IN_FLIGHT, PHASE_MS, () => {
      const c = contexts[pick() % contexts.length] as { id: ListId; context: Uint8Array };
      return getRequest(c.id, c.context);
    }),
  );
  log(`${tag} ${describePhase('reads, pipelined', r.result)}`);
  log(`${tag} CPU cores during reads: ${cpuText(r.cpu)}; event loop waiting for a CPU: ${cpuText(r.queue)}`);

  const rate = Math.max(10, w.result.perSec / 2);
  workload.prepare(Math.ceil(rate * (PHASE_MS / 1000)) + 1_000);
  let healthBefore: Record<string, Record<string, number>> = {};
  const p = await measured('paced', async () => {
    healthBefore = (await health()).health; // and the put reports start afresh
    return pacedLoop(conns, rate, PHASE_MS, () => putRequest(workload.take()));
  });
  const after = await health();
  const tailPaced = healthDelta(healthBefore, after.health);
  const putTimesPaced = after.putTimes;
  log(`${tag} ${describePhase(`writes paced at ${rate.toFixed(0)}/s`, p.result)}`);
  const traceFile = process.env['CLUSTER_BENCH_TRACE'];
  if (traceFile !== undefined && traceFile !== '')
    appendFileSync(traceFile, `${JSON.stringify({ repeat: i + 1, rate, trace: p.result.trace })}\n`);
  log(
    `${tag} paced: from actual send p99.9 ${p.result.fromSendMs?.p999.toFixed(2)} ms; ` +
      `send lag p99.9 ${p.result.sendLagMs?.p999.toFixed(2)} ms; CPU cores: ${cpuText(p.cpu)}; ` +
      `event loop waiting for a CPU: ${cpuText(p.queue)}`,
  );
  const sized = {} as Repeat['sized'];
  for (const size of ['small', 'large'] as const) {
    const load = sizedLoads[size];
    load.prepare(Math.ceil(lastWriteRate * (PHASE_MS / 2000)) + 5_000);
    const m = await measured(`writes-${size}`, () =>
      closedLoop(conns, IN_FLIGHT, PHASE_MS / 2, () => putRequest(load.take())),
    );
    sized[size] = { result: m.result, cpuUs: cpuUsPerOp(m, clusterSide, m.result.sent) };
    log(
      `${tag} ${describePhase(`writes to ${SIZES[size]}-item lists`, m.result)}; ` +
        `${sized[size].cpuUs.toFixed(0)} µs CPU per write`,
    );
  }
  return {
    sized,
    echoOne,
    echoPipelined,
    cpuUs: {
      zmqRoundTrip: echoCpuUs,
      write: cpuUsPerOp(w, clusterSide, w.result.sent),
      read: cpuUsPerOp(r, clusterSide, r.result.sent),
      halfLoadWrite: cpuUsPerOp(p, clusterSide, p.result.sent),
    },
    writes: w.result,
    reads: r.result,
    paced: p.result,
    cpuWrites: w.cpu,
    cpuReads: r.cpu,
    cpuPaced: p.cpu,
    queueWrites: w.queue,
    queueReads: r.queue,
    queuePaced: p.queue,
    tailPaced,
    putTimesPaced,
  };
}

// ---- main --------------------------------------------------------------------------------------

interface Resources {
  cluster?: LocalCluster;
  echo?: ChildProcess;
  conns: Connection[];
  dirs: string[];
}

async function cleanup(res: Resources): Promise<void> {
  for (const c of res.conns) c.close();
  res.conns.length = 0;
  await Promise.all([res.cluster?.stop(), stopChild(res.echo)]);
  for (const d of res.dirs) rmSync(d, { recursive: true, force: true });
  res.dirs.length = 0;
}

async function startCluster(res: Resources, baseDir: string, secure: boolean): Promise<LocalCluster> {
  const dataDir = mkdtempSync(join(baseDir, 'trolley-cluster-bench-'));
  res.dirs.push(dataDir);
  const profileDir = process.env['CLUSTER_BENCH_CPU_PROF'];
  const savedOptions = process.env['NODE_OPTIONS'];
  if (profileDir !== undefined && profileDir !== '') {
    mkdirSync(profileDir, { recursive: true });
    const hook = profileHook(resolve(profileDir));
    process.env['NODE_OPTIONS'] = `${savedOptions ?? ''} --import=${hook}`.trim();
    log(`profiling the proxy and nodes into ${resolve(profileDir)}`);
  }
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const cluster = await LocalCluster.plan({
          nodes: NODES,
          dataDir,
          proxyPort: await freePort(),
          quorum: QUORUM,
          progress: log,
          secure,
        });
        res.cluster = cluster;
        await cluster.start(60_000);
        return cluster;
      } catch (e) {
        // The port after a free one may be taken (the node port); plan again on another.
        if (attempt >= 3 || res.cluster !== undefined) throw e;
        log(`cluster plan failed (${String(e)}); trying another port`);
      }
    }
  } finally {
    if (savedOptions === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = savedOptions;
  }
}

/** The figures step 4 compares: medians over one side's repeats. */
function headline(repeats: readonly Repeat[]): Record<string, number> {
  const med = (f: (r: Repeat) => number): number => median(repeats.map(f));
  return {
    writesPerSec: med((r) => r.writes.perSec),
    writeP50Ms: med((r) => r.writes.latencyMs.p50),
    writeP99Ms: med((r) => r.writes.latencyMs.p99),
    writeP999Ms: med((r) => r.writes.latencyMs.p999),
    readsPerSec: med((r) => r.reads.perSec),
    readP50Ms: med((r) => r.reads.latencyMs.p50),
    readP99Ms: med((r) => r.reads.latencyMs.p99),
    readP999Ms: med((r) => r.reads.latencyMs.p999),
    halfLoadPerSec: med((r) => r.paced.perSec),
    halfLoadP50Ms: med((r) => r.paced.latencyMs.p50),
    halfLoadP99Ms: med((r) => r.paced.latencyMs.p99),
    halfLoadP999Ms: med((r) => r.paced.latencyMs.p999),
    cpuUsPerWrite: med((r) => r.cpuUs.write),
    cpuUsPerRead: med((r) => r.cpuUs.read),
  };
}

/**
 * Step 3 on one cluster: starts it (secure or not), warms it up, runs the repeats, stops it.
 */
async function runCluster(
  res: Resources,
  baseDir: string,
  echoEndpoint: string,
  secure: boolean,
): Promise<{ repeats: Repeat[]; workload: Workload }> {
  const side = secure ? 'secure' : 'insecure';
  log(`starting a ${side} cluster of ${NODES} nodes (N=${QUORUM.n} R=${QUORUM.r} W=${QUORUM.w})`);
  const cluster = await startCluster(res, baseDir, secure);
  log(`${side} cluster up at ${cluster.clientEndpoint}`);
  for (let i = 0; i < CONNECTIONS; i++) res.conns.push(new Connection(cluster.clientEndpoint));
  const conns = res.conns;

  // Warm-up: every list written once, then writes and reads for a while (not counted).
  const workload = new Workload(LISTS, SEED);
  workload.prepareFirstWrites();
  const first = await closedLoop(conns, IN_FLIGHT, 120_000, () =>
    workload.queued > 0 ? putRequest(workload.take()) : undefined,
  );
  const firstOk = first.ok;
  log(`${side} warm-up: ${firstOk}/${LISTS} lists created cloud-ok`);
  if (firstOk < LISTS) throw new Error('the cluster did not acknowledge every first write; is it healthy?');
  workload.prepare(30_000);
  const warm = await closedLoop(conns, IN_FLIGHT, WARMUP_MS, () => putRequest(workload.take()));
  log(`${side} warm-up: ${describePhase('writes', warm)}`);
  const warmContexts = workload.lists.map((l) =>
    encodeContext(l.replica.state.ctx, l.replica.state.replicas),
  );
  const warmPick = rng(SEED);
  const warmReads = await closedLoop(conns, IN_FLIGHT, 1_000, () => {
    const k = warmPick() % LISTS;
    return getRequest((workload.lists[k] as { id: ListId }).id, warmContexts[k] as Uint8Array);
  });
  log(`${side} warm-up: ${describePhase('reads', warmReads)}`);

  const sizedLoads: SizedWorkloads = {
    small: new Workload(SIZED_LISTS, SEED + 1, SIZES.small),
    large: new Workload(SIZED_LISTS, SEED + 2, SIZES.large),
  };
  for (const [size, load] of Object.entries(sizedLoads)) {
    // One whole list at a time, each retried (a join is idempotent) until cloud-ok.
    load.prepareWholeStates();
    const conn = conns[0] as Connection;
    while (load.queued > 0) {
      const w = load.take();
      let v = '';
      for (let attempt = 0; attempt < 5 && v !== 'ok'; attempt++)
        v = await new Promise<string>((done) => conn.request(putRequest(w), (m) => done(verdict(m))));
      if (v !== 'ok') throw new Error(`a ${size} list was not stored (${v}); is the cluster healthy?`);
    }
    log(`${side} warm-up: ${SIZED_LISTS} lists of ${load.meanItems()} items (${size}) stored cloud-ok`);
  }

  const repeats: Repeat[] = [];
  let lastWriteRate = warm.perSec;
  for (let i = 0; i < REPEATS; i++) {
    const r = await runRepeat(
      i,
      echoEndpoint,
      conns,
      workload,
      lastWriteRate,
      side,
      healthReader(cluster),
      sizedLoads,
    );
    repeats.push(r);
    lastWriteRate = Math.max(lastWriteRate, r.writes.perSec);
  }
  // Stopped before the other side starts: only one cluster shares the cores at a time.
  for (const c of res.conns) c.close();
  res.conns.length = 0;
  await cluster.stop();
  delete res.cluster;
  return { repeats, workload };
}

/** The commit measured, with "+changes" when the working tree differs from it. */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? head : `${head}+changes`;
  } catch {
    return 'unknown';
  }
}

async function main(res: Resources): Promise<void> {
  const started = performance.now();
  const loadStart = loadavg()[0] ?? Number.NaN;
  const baseDir = process.env['CLUSTER_BENCH_DIR'] ?? tmpdir();

  // 1. Store commit (no cluster running yet).
  log('store commit: raw better-sqlite3 FULL vs group commit (store-commit.ts)');
  // In a folder of our own, so that an interrupted run still removes the store's databases.
  const storeDir = mkdtempSync(join(baseDir, 'trolley-cluster-bench-store-'));
  res.dirs.push(storeDir);
  const store: StoreCommitFigures = await runStoreCommitBench({
    dir: storeDir,
    log: (line) => log(`store: ${line}`),
  });
  log(
    `store: raw full ${store.rawFullPerSec}/s, group commit ${store.groupCommitPerSec}/s ` +
      `(${store.ratioGroupVsRawFull}×, mean batch ${store.groupCommitMeanBatch})`,
  );

  // 2. Ring balance.
  const ringStart = performance.now();
  const ring = ringBalance();
  const over = ['5', '10', '20'];
  const worst = (side: 'ours' | 'hashring'): number =>
    Math.max(...over.map((s) => ring[side][s]?.shareMaxOverMean ?? Number.NaN));
  log(
    `ring: ours worst ${worst('ours').toFixed(3)}, hashring worst ${worst('hashring').toFixed(3)} over 5–20 nodes ` +
      `(${((performance.now() - ringStart) / 1000).toFixed(1)} s)`,
  );

  // 3. The echo server, and the cluster: secure (the figures below), then (4.) insecure.
  log('starting the echo server');
  const echo = await startEchoServer();
  res.echo = echo.child;
  const { repeats, workload } = await runCluster(res, baseDir, echo.endpoint, true);
  const insecure = COMPARE ? await runCluster(res, baseDir, echo.endpoint, false) : undefined;
  const meanStateBytes = workload.meanStateBytes();
  const meanItems = workload.meanItems();

  // ---- figures -----------------------------------------------------------------------------------
  const med = (f: (r: Repeat) => number): number => median(repeats.map(f));
  const medPct = (f: (r: Repeat) => Percentiles): Percentiles => ({
    p50: med((r) => f(r).p50),
    p99: med((r) => f(r).p99),
    p999: med((r) => f(r).p999),
    max: med((r) => f(r).max),
  });
  const pooled = (f: (r: Repeat) => Float64Array): Percentiles => {
    const all = new Float64Array(repeats.reduce((n, r) => n + f(r).length, 0));
    let at = 0;
    for (const r of repeats) {
      all.set(f(r), at);
      at += f(r).length;
    }
    return percentilesOf(all.sort());
  };
  const ms = (p: Percentiles): Record<string, number> => ({
    p50: round(p.p50, 3),
    p99: round(p.p99, 3),
    p999: round(p.p999, 3),
    max: round(p.max, 1),
  });
  const sumNotOk = (f: (r: Repeat) => PhaseResult): Record<string, number> => {
    const total: Record<string, number> = {};
    for (const r of repeats) for (const [k, v] of Object.entries(f(r).notOk)) total[k] = (total[k] ?? 0) + v;
    return total;
  };
  const medCpu = (f: (r: Repeat) => CpuShare): CpuShare => {
    const names = new Set(repeats.flatMap((r) => Object.keys(f(r))));
    const out: CpuShare = {};
    for (const n of names)
      out[n] = round(
        med((r) => f(r)[n] ?? 0),
        2,
      );
    return out;
  };

  const echoOne = med((r) => r.echoOne.perSec);
  const echoPipelined = med((r) => r.echoPipelined.perSec);
  const writes = med((r) => r.writes.perSec);
  const reads = med((r) => r.reads.perSec);
  const pacedTarget = med((r) => r.paced.targetPerSec ?? Number.NaN);
  const paced = med((r) => r.paced.perSec);
  const halfLoad = medPct((r) => r.paced.latencyMs);
  const fullLoad = medPct((r) => r.writes.latencyMs);
  const readLatency = medPct((r) => r.reads.latencyMs);
  const halfFromSend = medPct((r) => r.paced.fromSendMs as Percentiles);
  const sendLag = medPct((r) => r.paced.sendLagMs as Percentiles);
  const halfPooled = pooled((r) => r.paced.samples);
  const writeNotOk = {
    full: sumNotOk((r) => r.writes),
    half: sumNotOk((r) => r.paced),
  };
  const readNotOk = sumNotOk((r) => r.reads);
  const writesSent = repeats.reduce((n, r) => n + r.writes.sent + r.paced.sent, 0);
  const writesOk = repeats.reduce((n, r) => n + r.writes.ok + r.paced.ok, 0);

  const ratios = {
    writesVsZmqPipelined: round(
      med((r) => r.writes.perSec / r.echoPipelined.perSec),
      4,
    ),
    readsVsZmqPipelined: round(
      med((r) => r.reads.perSec / r.echoPipelined.perSec),
      4,
    ),
    commitVsRawFull: round(store.groupCommitPerSec / store.rawFullPerSec, 2),
    ringMaxOverMean: round(worst('ours'), 4),
    hashringMaxOverMean: round(worst('hashring'), 4),
    /** CPU per write to a SIZES.large-item list ÷ to a SIZES.small-item list (per repeat, median). */
    largeVsSmallListWriteCpu: round(
      med((r) => r.sized.large.cpuUs / r.sized.small.cpuUs),
      3,
    ),
    /** Writes/s to SIZES.small-item lists ÷ to SIZES.large-item lists: the time a large write costs, relatively. */
    largeVsSmallListWriteTime: round(
      med((r) => r.sized.small.result.perSec / r.sized.large.result.perSec),
      3,
    ),
  };
  const targets = {
    writesAtLeast0_2xZmqPipelined: ratios.writesVsZmqPipelined >= 0.2,
    readsAtLeast0_2xZmqPipelined: ratios.readsVsZmqPipelined >= 0.2,
    cpuPerWriteAtMost150us: med((r) => r.cpuUs.write) <= 150,
    largeListWriteAtMost1_5xSmall: ratios.largeVsSmallListWriteCpu <= 1.5,
    halfLoadWriteP999Under5ms: halfLoad.p999 < 5,
    groupCommitAtLeast3xRawFull: ratios.commitVsRawFull >= 3,
    ringAtMost1_03: ratios.ringMaxOverMean <= 1.03,
  };
  const totalSeconds = (performance.now() - started) / 1000;
  const loadEnd = loadavg()[0] ?? Number.NaN;

  // ---- table -------------------------------------------------------------------------------------
  const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
  const f2 = (x: number): string => x.toFixed(2);
  const lat = (p: Percentiles): string[] => [f2(p.p50), f2(p.p99), f2(p.p999)];
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  out(
    `Cluster benchmark: ${NODES} nodes + 1 proxy (N=${QUORUM.n} R=${QUORUM.r} W=${QUORUM.w}), ` +
      `${LISTS} lists, ${CONNECTIONS} connections × ${IN_FLIGHT} in flight, ${PHASE_MS / 1000} s phases, ` +
      `medians of ${REPEATS} repeats, Node ${process.version}, ${totalSeconds.toFixed(0)} s in all`,
  );
  out(
    `Command: ${COMMAND} (at ${gitCommit()}); load average ${loadStart.toFixed(2)} at the start, ` +
      `${loadEnd.toFixed(2)} at the end, on ${availableParallelism()} cores`,
  );
  out();
  out(
    table(
      ['measurement', 'per second', 'p50 ms', 'p99 ms', 'p99.9 ms', 'baseline ratio'],
      [
        [`raw ZeroMQ echo, 1 in flight`, n0(echoOne), f2(med((r) => r.echoOne.p50Us) / 1000), f2(med((r) => r.echoOne.p99Us) / 1000), '-', '-'], // prettier-ignore
        [`raw ZeroMQ echo, ${ECHO_PIPELINE} in flight`, n0(echoPipelined), f2(med((r) => r.echoPipelined.p50Us) / 1000), f2(med((r) => r.echoPipelined.p99Us) / 1000), '-', '1'], // prettier-ignore
        [
          'quorum writes, pipelined (full load)',
          n0(writes),
          ...lat(fullLoad),
          `${ratios.writesVsZmqPipelined}× zmq`,
        ],
        ['reads, pipelined', n0(reads), ...lat(readLatency), `${ratios.readsVsZmqPipelined}× zmq`],
        [`writes paced at 50% (target ${n0(pacedTarget)}/s)`, n0(paced), ...lat(halfLoad), '-'],
        ['  same, latency from actual send', '-', ...lat(halfFromSend), '-'],
        ['  same, client send lag', '-', ...lat(sendLag), '-'],
        ['  same, all repeats pooled', '-', ...lat(halfPooled), '-'],
        ...(['small', 'large'] as const).map((size) => [
          `writes to ${SIZES[size]}-item lists (${SIZED_LISTS} lists), ${n0(med((r) => r.sized[size].cpuUs))} µs CPU each`,
          n0(med((r) => r.sized[size].result.perSec)),
          ...lat(medPct((r) => r.sized[size].result.latencyMs)),
          size === 'small'
            ? '1'
            : `${ratios.largeVsSmallListWriteCpu}× CPU, ${ratios.largeVsSmallListWriteTime}× time`,
        ]),
      ],
    ),
  );
  out();
  out(
    table(
      ['store commit (WAL, synchronous=FULL)', 'writes/s', 'baseline ratio'],
      [
        ['raw better-sqlite3, 1 row per transaction', n0(store.rawFullPerSec), '1'],
        ['raw better-sqlite3, 1000 rows per transaction', n0(store.rawBatchPerSec), f2(store.rawBatchPerSec / store.rawFullPerSec)], // prettier-ignore
        [`SqliteListStore group commit (mean batch ${store.groupCommitMeanBatch})`, n0(store.groupCommitPerSec), `${ratios.commitVsRawFull}× raw full`], // prettier-ignore
      ],
    ),
  );
  out();
  out(
    table(
      ['ring: largest share ÷ mean', ...['3', '5', '10', '20'].map((s) => `${s} nodes`)],
      [
        ['ours (Q = 1024 equal partitions)', ...['3', '5', '10', '20'].map((s) => (ring.ours[s]?.shareMaxOverMean ?? NaN).toFixed(3))], // prettier-ignore
        ['hashring (ketama, defaults)', ...['3', '5', '10', '20'].map((s) => (ring.hashring[s]?.shareMaxOverMean ?? NaN).toFixed(3))], // prettier-ignore
      ],
    ),
  );
  out();
  const yes = (b: boolean): string => (b ? 'met' : 'NOT met');
  out('Targets (reported, not asserted):');
  out(`  quorum writes ≥ 0.2× raw pipelined ZeroMQ: ${ratios.writesVsZmqPipelined}× — ${yes(targets.writesAtLeast0_2xZmqPipelined)}`); // prettier-ignore
  out(`  reads ≥ 0.2× raw pipelined ZeroMQ: ${ratios.readsVsZmqPipelined}× — ${yes(targets.readsAtLeast0_2xZmqPipelined)}`); // prettier-ignore
  out(`  CPU per quorum write ≤ 150 µs (all processes): ${med((r) => r.cpuUs.write).toFixed(0)} µs — ${yes(targets.cpuPerWriteAtMost150us)}`); // prettier-ignore
  out(`  a ${SIZES.large}-item list's write ≤ 1.5× a ${SIZES.small}-item list's (CPU): ${ratios.largeVsSmallListWriteCpu}× — ${yes(targets.largeListWriteAtMost1_5xSmall)}`); // prettier-ignore
  out(
    `  write p99.9 at half load < 5 ms: ${f2(halfLoad.p999)} ms — ${yes(targets.halfLoadWriteP999Under5ms)}`,
  );
  out(`  group commit ≥ 3× raw single-row FULL: ${ratios.commitVsRawFull}× — ${yes(targets.groupCommitAtLeast3xRawFull)}`); // prettier-ignore
  out(`  ring balance ≤ 1.03 for 5–20 nodes: ${ratios.ringMaxOverMean} — ${yes(targets.ringAtMost1_03)}`);
  out();
  const badText = (o: Record<string, number>): string =>
    Object.keys(o).length === 0
      ? 'none'
      : Object.entries(o)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
  out(`Writes: ${writesOk}/${writesSent} cloud-ok; not ok at full load: ${badText(writeNotOk.full)}; at half load: ${badText(writeNotOk.half)}.`); // prettier-ignore
  out(`Reads not ok: ${badText(readNotOk)}.`);
  out(
    `Workload: ${workload.counts.add} adds, ${workload.counts.buy} buys, ${workload.counts.remove} removals generated; ` +
      `mean list ${meanItems.toFixed(1)} items, ${meanStateBytes.toFixed(0)} bytes encoded.`,
  );
  const cpuUs = {
    zmqRoundTrip: round(
      med((r) => r.cpuUs.zmqRoundTrip),
      1,
    ),
    write: round(
      med((r) => r.cpuUs.write),
      1,
    ),
    read: round(
      med((r) => r.cpuUs.read),
      1,
    ),
    halfLoadWrite: round(
      med((r) => r.cpuUs.halfLoadWrite),
      1,
    ),
  };
  out(
    `CPU time per operation, all processes involved (median): ZeroMQ round trip ${cpuUs.zmqRoundTrip} µs; ` +
      `quorum write ${cpuUs.write} µs (${(cpuUs.write / cpuUs.zmqRoundTrip).toFixed(1)} round trips), ` +
      `at half load ${cpuUs.halfLoadWrite} µs; read ${cpuUs.read} µs ` +
      `(${(cpuUs.read / cpuUs.zmqRoundTrip).toFixed(1)} round trips).`,
  );
  out('CPU cores used by each process (median; the machine has ' + `${availableParallelism()}):`);
  out(`  full write load: ${cpuText(medCpu((r) => r.cpuWrites))}`);
  out(`  reads:           ${cpuText(medCpu((r) => r.cpuReads))}`);
  out(`  half write load: ${cpuText(medCpu((r) => r.cpuPaced))}`);
  // 5. The tail at half load: what stalled the nodes while the paced writes ran (process-health.ts).
  out('Tail at half load: per node, during the paced phase (median over repeats; maxima since start):');
  for (const node of Object.keys(repeats[0]?.tailPaced ?? {})) {
    const med = (k: string): number => median(repeats.map((r) => r.tailPaced[node]?.[k] ?? 0));
    out(
      `  ${node}: event-loop stalls ≥20/50/100/250 ms ${med('loopStalls20ms')}/${med('loopStalls50ms')}/` +
        `${med('loopStalls100ms')}/${med('loopStalls250ms')} (${med('loopStallMs')} ms stalled, longest ` +
        `${med('loopStallMaxMs')} ms); GC ${med('gcPauses')} pauses, ${med('gcPauseMs')} ms ` +
        `(major ${med('gcMajorMs')} ms, longest ${med('gcPauseMaxMs')} ms)`,
    );
  }
  // Where the p99.9 write's time went, in the repeat with the median half-load p99.9.
  const mid = [...repeats].sort((a, b) => a.paced.latencyMs.p999 - b.paced.latencyMs.p999)[
    Math.floor(repeats.length / 2)
  ] as Repeat;
  const atNodes = Object.values(mid.putTimesPaced);
  const nodeP999 = Math.max(0, ...atNodes.map((t) => t.p999Ms));
  out(
    `Where a p99.9 write's time goes at half load (repeat with the median p99.9, ${f2(mid.paced.latencyMs.p999)} ms ` +
      `from the scheduled send): client send lag p99.9 ${f2(mid.paced.sendLagMs?.p999 ?? NaN)} ms; at the ` +
      `coordinating node p99.9 ${f2(nodeP999)} ms (p50 ${f2(median(atNodes.map((t) => t.p50Ms)))}); so outside ` +
      `the coordinator (client, proxy, sockets, queues before the node) about ${f2(Math.max(0, mid.paced.latencyMs.p999 - nodeP999))} ms.`,
  );
  for (const [node, t] of Object.entries(mid.putTimesPaced)) {
    const parts = t.slowest.map(
      (w) =>
        `${f2(w.totalMs)} ms = check ${f2(w.checkMs)} + W acks (local commit ${w.localCommitMs === null ? '-' : f2(w.localCommitMs)}, ` +
        `remote ${w.remoteAckMs.map(f2).join('/') || '-'}); overlapping GC ${f2(w.gcMs ?? NaN)}, loop stalls ${f2(w.stallMs ?? NaN)}`,
    );
    out(`  ${node} coordinated ${t.traced}; slowest 0.1%: ${parts.join('; ')}`);
  }
  out('Share of time each event loop was runnable but waiting for a CPU (median):');
  out(`  full write load: ${cpuText(medCpu((r) => r.queueWrites))}`);
  out(`  reads:           ${cpuText(medCpu((r) => r.queueReads))}`);
  out(`  half write load: ${cpuText(medCpu((r) => r.queuePaced))}`);
  // 4. What security costs: each side's medians, and secure ÷ insecure.
  const security =
    insecure === undefined
      ? undefined
      : (() => {
          const sec = headline(repeats);
          const plain = headline(insecure.repeats);
          const ratio = Object.fromEntries(
            Object.keys(sec).map((k) => [k, round((sec[k] ?? NaN) / (plain[k] ?? NaN), 3)]),
          );
          return { secure: sec, insecure: plain, ratio };
        })();
  if (security !== undefined) {
    const rows: [string, string, (x: number) => string][] = [
      ['quorum writes, pipelined: per second', 'writesPerSec', n0],
      ['  p50 / p99 / p99.9 ms', 'writeP', f2],
      ['reads, pipelined: per second', 'readsPerSec', n0],
      ['  p50 / p99 / p99.9 ms', 'readP', f2],
      ["writes paced at 50% of each side's full load: per second", 'halfLoadPerSec', n0],
      ['  p50 / p99 / p99.9 ms', 'halfLoadP', f2],
      ['CPU µs per write / per read (all processes)', 'cpuUsPer', (x) => x.toFixed(0)],
    ];
    const keys = (k: string): string[] =>
      k.endsWith('P')
        ? [`${k}50Ms`, `${k}99Ms`, `${k}999Ms`]
        : k === 'cpuUsPer'
          ? ['cpuUsPerWrite', 'cpuUsPerRead']
          : [k];
    const cell = (side: Record<string, number>, k: string, f: (x: number) => string): string =>
      keys(k)
        .map((key) => f(side[key] ?? NaN))
        .join(' / ');
    out();
    out(
      table(
        ['secure vs insecure (each its own cluster and warm-up)', 'secure', 'insecure', 'secure ÷ insecure'],
        rows.map(([label, k, f]) => [
          label,
          cell(security.secure, k, f),
          cell(security.insecure, k, f),
          cell(security.ratio, k, (x) => x.toFixed(2)),
        ]),
      ),
    );
  }
  out(
    JSON.stringify({
      bench: 'cluster',
      ratios,
      latencyMs: { writeP50: round(halfLoad.p50, 3), writeP99: round(halfLoad.p99, 3), writeP999: round(halfLoad.p999, 3) }, // prettier-ignore
      latencyFullLoadMs: {
        writeP50: round(fullLoad.p50, 3),
        writeP99: round(fullLoad.p99, 3),
        writeP999: round(fullLoad.p999, 3),
        readP50: round(readLatency.p50, 3),
        readP99: round(readLatency.p99, 3),
        readP999: round(readLatency.p999, 3),
      },
      latencyHalfLoadDetailMs: {
        fromScheduled: ms(halfLoad),
        fromActualSend: ms(halfFromSend),
        sendLag: ms(sendLag),
        pooledFromScheduled: ms(halfPooled),
      },
      targets,
      whereHalfLoadP999Goes: {
        clientP999Ms: round(mid.paced.latencyMs.p999, 2),
        clientSendLagP999Ms: round(mid.paced.sendLagMs?.p999 ?? NaN, 2),
        coordinatorP999Ms: nodeP999,
        outsideCoordinatorMs: round(Math.max(0, mid.paced.latencyMs.p999 - nodeP999), 2),
        nodes: mid.putTimesPaced,
      },
      zmq: {
        oneInFlightPerSec: Math.round(echoOne),
        oneInFlightP50Us: round(
          med((r) => r.echoOne.p50Us),
          1,
        ),
        oneInFlightP99Us: round(
          med((r) => r.echoOne.p99Us),
          1,
        ),
        pipelinedPerSec: Math.round(echoPipelined),
        pipelined: ECHO_PIPELINE,
        messageBytes: 100,
      },
      cluster: {
        writesPerSec: Math.round(writes),
        readsPerSec: Math.round(reads),
        halfLoadTargetPerSec: Math.round(pacedTarget),
        halfLoadPerSec: Math.round(paced),
        writesOk,
        writesSent,
        writesNotOk: writeNotOk,
        readsNotOk: readNotOk,
        nodes: NODES,
        quorum: QUORUM,
        lists: LISTS,
        connections: CONNECTIONS,
        inFlightPerConnection: IN_FLIGHT,
        phaseSeconds: PHASE_MS / 1000,
        meanListBytes: Math.round(meanStateBytes),
        ops: workload.counts,
        cpuUsPerOp: cpuUs,
        cpuCoresFullLoad: medCpu((r) => r.cpuWrites),
        cpuCoresReads: medCpu((r) => r.cpuReads),
        cpuCoresHalfLoad: medCpu((r) => r.cpuPaced),
        runQueueShareFullLoad: medCpu((r) => r.queueWrites),
        runQueueShareReads: medCpu((r) => r.queueReads),
        runQueueShareHalfLoad: medCpu((r) => r.queuePaced),
        runs: repeats.map((r) => ({
          zmqPipelinedPerSec: Math.round(r.echoPipelined.perSec),
          zmqOnePerSec: Math.round(r.echoOne.perSec),
          writesPerSec: Math.round(r.writes.perSec),
          readsPerSec: Math.round(r.reads.perSec),
          halfLoadWriteP999Ms: round(r.paced.latencyMs.p999, 3),
        })),
      },
      store: {
        rawFullPerSec: store.rawFullPerSec,
        rawBatchPerSec: store.rawBatchPerSec,
        groupCommitPerSec: store.groupCommitPerSec,
        groupCommitMeanBatch: store.groupCommitMeanBatch,
        runsPerSec: store.runsPerSec,
      },
      ring: {
        ours: ring.ours,
        hashring: ring.hashring,
        keys: ring.keys,
        partitionCount: ring.partitionCount,
      },
      machine: {
        cores: availableParallelism(),
        loadAverage1mStart: round(loadStart, 2),
        loadAverage1mEnd: round(loadEnd, 2),
        commit: gitCommit(),
      },
      ...(security === undefined ? {} : { security }),
      repeats: REPEATS,
      command: COMMAND,
      node: process.version,
      seconds: round(totalSeconds, 1),
    }),
  );
}

const resources: Resources = { conns: [], dirs: [] };
const interrupted = stopOnSignal(
  log,
  () => cleanup(resources),
  'stopping the cluster and removing temporary files',
);

try {
  await main(resources);
} catch (e) {
  log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
} finally {
  if (!interrupted()) await cleanup(resources);
}
const profileDir = process.env['CLUSTER_BENCH_CPU_PROF'];
if (profileDir !== undefined && profileDir !== '' && !interrupted()) {
  const mine = readdirSync(profileDir)
    .filter((f) => /^(proxy|node-).*\.cpuprofile$/.test(f))
    .filter((f) => statSync(join(profileDir, f)).mtimeMs >= performance.timeOrigin)
    .sort();
  for (const phase of ['writes', 'reads', 'paced', 'writes-small', 'writes-large']) {
    const windows = phaseWindows.filter((w) => w.phase === phase);
    for (const f of mine)
      log(
        `CPU profile, ${phase} phases: ${formatSummary(summarizeProfile(join(profileDir, f), 20, windows))}`,
      );
  }
}
// Exit at once: a closed ZeroMQ context must not keep a finished benchmark alive.
process.exit(process.exitCode ?? 0);
