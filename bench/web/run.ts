// Web path benchmark (`npm run bench:web`): what the browser's way to the cloud costs — WsCloud over
// a WebSocket to the gateway, which relays over ZeroMQ with its shared CloudClient — against the
// baseline of a Node client, CloudClient straight to the cloud. Both are direct (each list served
// at its coordinator's front once located, the gateway's default and the terminal menu's), so the
// two take the same route from the ZeroMQ side on. Both run side by side in this one
// script against the same real local cloud, and only their RATIOS are meant to be compared.
//
// The cloud: a LocalCluster of one proxy and 3 storage nodes (N=3, R=2, W=2) as child processes,
// data in a temporary folder; the gateway runs in this process (startGateway), as does the `ws`
// WebSocket that stands in for the browser's. Each system gets two clients (a writer, a watcher)
// and its own LISTS lists; both do the same operations in the same order (one seeded generator
// each, with the same seed): real deltas from ListReplica + encodeList — add an item, buy a unit,
// or remove an item once all bought, which keeps lists bounded — each put with its own opId.
//
// After a warm-up of each system, ROUNDS rounds alternate the systems (direct, gateway, direct,
// gateway, …) so that machine noise hits both alike. Each block measures, after a short pause:
//   1. sequential puts (one in flight): latency p50/p99;
//   2. sequential gets with the writer replica's causal context (what a syncing client sends):
//      latency p50/p99;
//   3. puts with IN_FLIGHT outstanding from the writer: requests/s;
//   4. notices: the watcher watches one list, the writer puts to it one at a time; latency from
//      the put's send to the watcher's `changed` (matched by its delta);
// and the CPU time of this process (process.cpuUsage) over phases 1–3, per request. The gateway
// runs in this process, so in the gateway blocks that figure holds the client's AND the gateway's
// work; in the direct blocks only the client's. The cloud processes' CPU per request (from /proc)
// is shown too: it should be alike for both, since the cloud does the same work.
// Figures are medians over the rounds; each ratio (gateway ÷ direct) is the median of the
// per-round ratios (a round's two blocks run back to back).
// Output: progress on stderr, a table on stdout, then one JSON line (the last stdout line).
// Environment: WEB_BENCH_ROUNDS (default 5), WEB_BENCH_CPU_PROF (a folder: this process is
// profiled during the blocks; the hottest functions of each system's blocks are printed to stderr
// at the end — profiling slows everything, so read its ratios with care).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  ListReplica,
  encodeContext,
  encodeList,
  newListId,
  newReplicaId,
  opIdFrom,
  type ListId,
  type OpId,
} from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { LocalCluster } from '../../apps/cli/src/local-cluster.ts';
import { startGateway, type RunningGateway } from '../../apps/web/server/gateway.ts';
import { WsCloud } from '../../apps/web/src/ws-cloud.ts';
import { formatSummary, summarizeProfile } from '../cluster/cpu-profile.ts';
import { freePortPair } from '../ports.ts';
import { procSample } from '../live/proc-usage.ts';
import {
  median as medianOf,
  percentile,
  rng,
  seededRandom,
  stopOnSignal,
  table,
  envNumber,
} from '../common.ts';

const ROUNDS = Math.max(1, Math.round(envNumber('WEB_BENCH_ROUNDS', 5)));
const QUORUM = { n: 3, r: 2, w: 2 };
const LISTS = 64;
const SEQ_PUTS = 500;
const SEQ_GETS = 500;
const TP_PUTS = 2_000;
const IN_FLIGHT = 32;
const NOTICES = 40;
const WARMUP_PUTS = 300;
const WARMUP_GETS = 200;
const WARMUP_TP_PUTS = 600;
/** Pause before each measured phase, so that work left over from the last one does not count. */
const SETTLE_MS = 300;
/** The watch's way to the proxy (for the gateway: its setImmediate flush, then its CloudClient's). */
const WATCH_SETTLE_MS = 500;
const NOTICE_WAIT_MS = 2_000;
const TIMEOUT_MS = 5_000;
const SEED = 0x7e6b_0a11;
const COMMAND = 'npm run bench:web';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const log = (line: string): void => void process.stderr.write(`[bench:web] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
/** The median of the values that are not NaN. */
const median = (xs: readonly number[]): number => medianOf(xs.filter((x) => !Number.isNaN(x)));
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), b) === 0;

// ---- the workload ------------------------------------------------------------------------------

const CATALOG = [
  'milk', 'eggs', 'bread', 'butter', 'cheese', 'apples', 'bananas', 'oranges', 'tomatoes', 'onions',
  'garlic', 'potatoes', 'carrots', 'rice', 'pasta', 'flour', 'sugar', 'coffee', 'tea', 'yoghurt',
  'chicken', 'mince', 'salmon', 'tuna', 'beans', 'lentils', 'spinach', 'lettuce', 'cucumber', 'peppers',
]; // prettier-ignore

interface Write {
  listId: ListId;
  delta: Uint8Array;
  opId: OpId;
}

interface Read {
  listId: ListId;
  context: Uint8Array;
}

/**
 * LISTS lists with the writer's replica of each. List 0 is the watched one (notices only); the
 * other phases use lists 1…LISTS-1. Operations come from `opSeed` alone, so two workloads with
 * the same opSeed and different listSeeds do the same things to lists of their own. Both seeds
 * drive mulberry32 generators, so that both systems perform the same operations.
 */
class Workload {
  readonly lists: { id: ListId; replica: ListReplica }[] = [];
  readonly bytes = { putDelta: 0, puts: 0, getContext: 0, gets: 0 };
  private readonly next: () => number;

  constructor(listSeed: number, opSeed: number) {
    const random = seededRandom(listSeed);
    this.next = rng(opSeed);
    for (let i = 0; i < LISTS; i++)
      this.lists.push({ id: newListId(random), replica: new ListReplica(newReplicaId(random)) });
  }

  get watchedList(): ListId {
    return (this.lists[0] as { id: ListId }).id;
  }

  /** The first write to every list, list 0 too. */
  firstWrites(): Write[] {
    return this.lists.map((_, i) => this.write(i));
  }

  writes(n: number): Write[] {
    return Array.from({ length: n }, () => this.write(1 + (this.next() % (LISTS - 1))));
  }

  watchedWrites(n: number): Write[] {
    return Array.from({ length: n }, () => this.write(0));
  }

  /** Gets with the writer replica's causal context, as it is now. */
  reads(n: number): Read[] {
    return Array.from({ length: n }, () => {
      const list = this.lists[1 + (this.next() % (LISTS - 1))] as { id: ListId; replica: ListReplica };
      const context = encodeContext(list.replica.state.ctx, list.replica.state.replicas);
      this.bytes.getContext += context.length;
      this.bytes.gets++;
      return { listId: list.id, context };
    });
  }

  private write(index: number): Write {
    const list = this.lists[index] as { id: ListId; replica: ListReplica };
    const name = CATALOG[this.next() % CATALOG.length] as string;
    const item = list.replica.item(name);
    const delta =
      item === undefined
        ? list.replica.addItem(name, 1 + (this.next() % 3))
        : item.remaining === 0
          ? list.replica.removeItem(name)
          : this.next() % 4 === 0
            ? list.replica.addItem(name, 1)
            : list.replica.buy(name, 1);
    const bytes = encodeList(delta);
    this.bytes.putDelta += bytes.length;
    this.bytes.puts++;
    return { listId: list.id, delta: bytes, opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))) };
  }
}

// ---- the two systems ---------------------------------------------------------------------------

type SystemName = 'direct' | 'gateway';

/** A writer and a watcher of one system, behind the same few calls. */
interface System {
  name: SystemName;
  label: string;
  workload: Workload;
  put(w: Write): Promise<{ outcome: string }>;
  get(r: Read): Promise<{ delta: Uint8Array }>;
  /** Replaces the watcher's listener for changes (undefined: none). */
  onChanged(f: ((listId: ListId, delta: Uint8Array) => void) | undefined): void;
  close(): void;
}

function directSystem(endpoint: string, workload: Workload): System {
  const writer = new CloudClient([endpoint], { direct: true });
  const watcher = new CloudClient([endpoint], { direct: true });
  let listener: ((listId: ListId, delta: Uint8Array) => void) | undefined;
  watcher.watch([workload.watchedList], (listId, delta) => listener?.(listId, delta));
  return {
    name: 'direct',
    label: 'CloudClient → proxy',
    workload,
    put: (w) => writer.put(w.listId, w.delta, { timeoutMs: TIMEOUT_MS, opId: w.opId }),
    get: (r) => writer.get(r.listId, r.context, { timeoutMs: TIMEOUT_MS }),
    onChanged: (f) => void (listener = f),
    close: () => {
      writer.close();
      watcher.close();
    },
  };
}

async function gatewaySystem(syncUrl: string, workload: Workload): Promise<System> {
  const WebSocketImpl = NodeWebSocket as unknown as typeof WebSocket;
  const writer = new WsCloud({ url: syncUrl, WebSocketImpl });
  const watcher = new WsCloud({ url: syncUrl, WebSocketImpl });
  let listener: ((listId: ListId, delta: Uint8Array) => void) | undefined;
  const system: System = {
    name: 'gateway',
    label: 'WsCloud → gateway → proxy',
    workload,
    put: (w) => writer.put(w.listId, w.delta, { timeoutMs: TIMEOUT_MS, opId: w.opId }),
    get: (r) => writer.get(r.listId, r.context, { timeoutMs: TIMEOUT_MS }),
    onChanged: (f) => void (listener = f),
    close: () => {
      writer.close();
      watcher.close();
    },
  };
  try {
    watcher.onChanged((listId, delta) => listener?.(listId, delta));
    watcher.watch([workload.watchedList]);
    writer.start();
    watcher.start();
    const started = performance.now();
    while (writer.connection !== 'online' || watcher.connection !== 'online') {
      if (performance.now() - started > 10_000) throw new Error(`WsCloud did not get online at ${syncUrl}`);
      await sleep(10);
    }
  } catch (e) {
    system.close();
    throw e;
  }
  return system;
}

// ---- the phases --------------------------------------------------------------------------------

interface LatencyPhase {
  p50: number;
  p99: number;
  failed: number;
  cpuUs: number;
  cloudCpuUs: number;
  requests: number;
}

interface ThroughputPhase {
  perSec: number;
  failed: number;
  cpuUs: number;
  cloudCpuUs: number;
  requests: number;
}

interface NoticePhase {
  p50: number;
  p99: number;
  /** The writer's own put-reply, for the same puts. */
  replyP50: number;
  missed: number;
  /** Notices for the watched list that matched no put of this phase. */
  stray: number;
}

interface Block {
  system: SystemName;
  round: number;
  put: LatencyPhase;
  get: LatencyPhase;
  throughput: ThroughputPhase;
  notice: NoticePhase;
  /** This process's CPU µs per request over phases 1–3. */
  cpuPerRequestUs: number;
  /** The proxy's and nodes' CPU µs per request over phases 1–3 (/proc; 10 ms ticks). */
  cloudCpuPerRequestUs: number;
  getReplyBytes: number;
}

/** Everything measured about CPU over one phase: this process and the cloud's processes. */
function cpuMeter(cloudPids: readonly number[]): () => { cpuUs: number; cloudCpuUs: number } {
  const cpu0 = cpuUs();
  const cloud0 = procSample(cloudPids).cpuUs;
  return () => ({ cpuUs: cpuUs() - cpu0, cloudCpuUs: procSample(cloudPids).cpuUs - cloud0 });
}

async function sequentialPuts(s: System, writes: Write[], pids: readonly number[]): Promise<LatencyPhase> {
  const lat = new Float64Array(writes.length);
  let failed = 0;
  const meter = cpuMeter(pids);
  for (let i = 0; i < writes.length; i++) {
    const t0 = performance.now();
    try {
      if ((await s.put(writes[i] as Write)).outcome !== 'ok') failed++;
    } catch {
      failed++;
    }
    lat[i] = performance.now() - t0;
  }
  const cpu = meter();
  lat.sort();
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), failed, ...cpu, requests: writes.length };
}

async function sequentialGets(
  s: System,
  reads: Read[],
  pids: readonly number[],
): Promise<LatencyPhase & { replyBytes: number }> {
  const lat = new Float64Array(reads.length);
  let failed = 0;
  let replyBytes = 0;
  const meter = cpuMeter(pids);
  for (let i = 0; i < reads.length; i++) {
    const t0 = performance.now();
    try {
      replyBytes += (await s.get(reads[i] as Read)).delta.length;
    } catch {
      failed++;
    }
    lat[i] = performance.now() - t0;
  }
  const cpu = meter();
  lat.sort();
  return {
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    failed,
    ...cpu,
    requests: reads.length,
    replyBytes: replyBytes / Math.max(1, reads.length - failed),
  };
}

async function pipelinedPuts(s: System, writes: Write[], pids: readonly number[]): Promise<ThroughputPhase> {
  let next = 0;
  let failed = 0;
  const meter = cpuMeter(pids);
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < writes.length) {
      const w = writes[next++] as Write;
      try {
        if ((await s.put(w)).outcome !== 'ok') failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const elapsedMs = performance.now() - t0;
  const cpu = meter();
  return { perSec: ((writes.length - failed) * 1000) / elapsedMs, failed, ...cpu, requests: writes.length };
}

async function notices(s: System, writes: Write[]): Promise<NoticePhase> {
  const lat: number[] = [];
  const replies: number[] = [];
  let missed = 0;
  let stray = 0;
  let expected: Write | undefined;
  let heard: (() => void) | undefined;
  let heardAt = 0;
  s.onChanged((listId, delta) => {
    if (listId !== s.workload.watchedList) return;
    if (expected === undefined || !sameBytes(delta, expected.delta)) {
      stray++;
      return;
    }
    heardAt = performance.now();
    expected = undefined;
    heard?.();
  });
  try {
    for (const w of writes) {
      const noticed = new Promise<boolean>((resolve) => (heard = () => resolve(true)));
      expected = w;
      const sent = performance.now();
      const put = s.put(w).then(
        () => replies.push(performance.now() - sent),
        () => undefined,
      );
      const ok = await Promise.race([noticed, sleep(NOTICE_WAIT_MS).then(() => false)]);
      await put;
      if (ok) lat.push(heardAt - sent);
      else missed++;
      expected = undefined;
      await sleep(5); // a notice that comes late is not taken for the next one's
    }
  } finally {
    s.onChanged(undefined);
  }
  const sorted = Float64Array.from(lat).sort();
  const replySorted = Float64Array.from(replies).sort();
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    replyP50: percentile(replySorted, 0.5),
    missed,
    stray,
  };
}

async function runBlock(s: System, roundNo: number, pids: readonly number[], prof: Profiler): Promise<Block> {
  const w = s.workload;
  const tag = `round ${roundNo}/${ROUNDS} ${s.name.padEnd(7)} (${s.label})`;
  const window = prof.open();

  let writes = w.writes(SEQ_PUTS);
  log(`${tag}: ${SEQ_PUTS} sequential puts`);
  await sleep(SETTLE_MS);
  const put = await sequentialPuts(s, writes, pids);

  const reads = w.reads(SEQ_GETS);
  log(`${tag}: ${SEQ_GETS} sequential gets`);
  await sleep(SETTLE_MS);
  const get = await sequentialGets(s, reads, pids);

  writes = w.writes(TP_PUTS);
  log(`${tag}: ${TP_PUTS} puts, ${IN_FLIGHT} in flight`);
  await sleep(SETTLE_MS);
  const throughput = await pipelinedPuts(s, writes, pids);

  writes = w.watchedWrites(NOTICES);
  log(`${tag}: ${NOTICES} watched puts (write → changed)`);
  await sleep(SETTLE_MS);
  const notice = await notices(s, writes);
  prof.close(window, s.name);

  const requests = put.requests + get.requests + throughput.requests;
  const block: Block = {
    system: s.name,
    round: roundNo,
    put,
    get,
    throughput,
    notice,
    cpuPerRequestUs: (put.cpuUs + get.cpuUs + throughput.cpuUs) / requests,
    cloudCpuPerRequestUs: (put.cloudCpuUs + get.cloudCpuUs + throughput.cloudCpuUs) / requests,
    getReplyBytes: get.replyBytes,
  };
  const failures = put.failed + get.failed + throughput.failed;
  log(
    `${tag}: put p50 ${put.p50.toFixed(2)} ms p99 ${put.p99.toFixed(2)} ms; get p50 ${get.p50.toFixed(2)} ms ` +
      `p99 ${get.p99.toFixed(2)} ms; ${Math.round(throughput.perSec)} puts/s; notice p50 ${notice.p50.toFixed(2)} ms; ` +
      `${block.cpuPerRequestUs.toFixed(0)} µs CPU/request here` +
      (failures + notice.missed > 0 ? `; ${failures} failed, ${notice.missed} notices missed` : ''),
  );
  return block;
}

async function warmUp(s: System): Promise<void> {
  log(`warm-up ${s.name} (${s.label}): first write to each of ${LISTS} lists, then puts, gets, a burst`);
  for (const w of s.workload.firstWrites()) {
    const r = await s.put(w);
    if (r.outcome !== 'ok') throw new Error(`${s.name}: the first write to a list was ${r.outcome}`);
  }
  await sequentialPuts(s, s.workload.writes(WARMUP_PUTS), []);
  await sequentialGets(s, s.workload.reads(WARMUP_GETS), []);
  await pipelinedPuts(s, s.workload.writes(WARMUP_TP_PUTS), []);
  const n = await notices(s, s.workload.watchedWrites(5));
  if (n.missed > 0) throw new Error(`${s.name}: ${n.missed} of 5 warm-up notices never came`);
}

// ---- an optional CPU profile of this process ---------------------------------------------------

interface Profiler {
  open(): number;
  close(fromUs: number, system: SystemName): void;
  finish(): Promise<void>;
}

async function profiler(dir: string | undefined): Promise<Profiler> {
  if (dir === undefined || dir === '')
    return { open: () => 0, close: () => undefined, finish: async () => {} };
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
  const windows: Record<SystemName, { fromUs: number; toUs: number }[]> = { direct: [], gateway: [] };
  log(`profiling this process into ${resolve(dir)} (figures of a profiled run are slower)`);
  return {
    open: nowUs,
    close: (fromUs, system) => void windows[system].push({ fromUs, toUs: nowUs() }),
    finish: async () => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      const file = join(resolve(dir), `bench-web-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      for (const system of ['direct', 'gateway'] as const)
        log(
          `this process during the ${system} blocks:\n${formatSummary(summarizeProfile(file, 20, windows[system]))}`,
        );
    },
  };
}

// ---- output ------------------------------------------------------------------------------------

/** The commit measured, with "+changes" when the working tree differs from it. */
function gitCommit(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? head : `${head}+changes`;
  } catch {
    return 'unknown';
  }
}

// ---- main --------------------------------------------------------------------------------------

interface Resources {
  dir?: string;
  cluster?: LocalCluster;
  gateway?: RunningGateway;
  systems: System[];
}

let cleaningUp: Promise<void> | undefined;
function cleanup(res: Resources): Promise<void> {
  cleaningUp ??= (async () => {
    for (const s of res.systems) s.close();
    res.systems.length = 0;
    await Promise.allSettled([res.gateway?.stop(), res.cluster?.stop()]);
    if (res.dir !== undefined) rmSync(res.dir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

async function main(res: Resources): Promise<void> {
  const started = performance.now();
  const loadStart = loadavg()[0] ?? Number.NaN;

  res.dir = mkdtempSync(join(tmpdir(), 'trolley-web-bench-'));
  log(`starting a cloud: 1 proxy + 3 storage nodes (N=3 R=2 W=2) in ${res.dir}`);
  const cluster = await LocalCluster.plan({
    nodes: 3,
    dataDir: res.dir,
    proxyPort: await freePortPair(),
    quorum: QUORUM,
    progress: log,
  });
  res.cluster = cluster;
  await cluster.start(60_000);
  const pids = [cluster.proxyPid(0), ...[0, 1, 2].map((i) => cluster.nodePid(i))].filter(
    (p): p is number => p !== undefined,
  );

  res.gateway = await startGateway({ cloud: cluster.clientEndpoints, host: '127.0.0.1', port: 0 });
  const syncUrl = `${res.gateway.url.replace(/^http/, 'ws')}sync`;
  log(`gateway (in this process) on ${syncUrl}`);

  // Same operations (opSeed), lists of their own (listSeed).
  const direct = directSystem(cluster.clientEndpoint, new Workload(SEED ^ 1, SEED));
  res.systems.push(direct);
  const gateway = await gatewaySystem(syncUrl, new Workload(SEED ^ 2, SEED));
  res.systems.push(gateway);
  await sleep(WATCH_SETTLE_MS); // both watches reach the proxy

  await warmUp(direct);
  await warmUp(gateway);

  const prof = await profiler(process.env['WEB_BENCH_CPU_PROF']);
  const blocks: Record<SystemName, Block[]> = { direct: [], gateway: [] };
  for (let r = 1; r <= ROUNDS; r++)
    for (const s of [direct, gateway]) blocks[s.name].push(await runBlock(s, r, pids, prof));
  await prof.finish();
  const gw = res.gateway.stats();
  const loadEnd = loadavg()[0] ?? Number.NaN;

  // ---- figures ----
  type Figure = {
    key: string;
    label: string;
    unit: string;
    digits: number;
    of: (b: Block) => number;
  };
  const figures: Figure[] = [
    { key: 'putP50Ms', label: 'sequential put p50', unit: 'ms', digits: 3, of: (b) => b.put.p50 },
    { key: 'putP99Ms', label: 'sequential put p99', unit: 'ms', digits: 3, of: (b) => b.put.p99 },
    { key: 'getP50Ms', label: 'sequential get p50', unit: 'ms', digits: 3, of: (b) => b.get.p50 },
    { key: 'getP99Ms', label: 'sequential get p99', unit: 'ms', digits: 3, of: (b) => b.get.p99 },
    {
      key: 'throughputPerSec',
      label: `puts/s, ${IN_FLIGHT} in flight`,
      unit: '/s',
      digits: 0,
      of: (b) => b.throughput.perSec,
    },
    { key: 'noticeP50Ms', label: 'write → changed p50', unit: 'ms', digits: 3, of: (b) => b.notice.p50 },
    { key: 'noticeP99Ms', label: 'write → changed p99', unit: 'ms', digits: 3, of: (b) => b.notice.p99 },
    {
      key: 'noticePutReplyP50Ms',
      label: '  … their put-reply p50',
      unit: 'ms',
      digits: 3,
      of: (b) => b.notice.replyP50,
    },
    {
      key: 'cpuPerRequestUs',
      label: 'this process CPU/request',
      unit: 'µs',
      digits: 1,
      of: (b) => b.cpuPerRequestUs,
    },
    {
      key: 'putCpuPerRequestUs',
      label: '  … sequential puts',
      unit: 'µs',
      digits: 1,
      of: (b) => b.put.cpuUs / b.put.requests,
    },
    {
      key: 'getCpuPerRequestUs',
      label: '  … sequential gets',
      unit: 'µs',
      digits: 1,
      of: (b) => b.get.cpuUs / b.get.requests,
    },
    {
      key: 'throughputCpuPerRequestUs',
      label: `  … ${IN_FLIGHT} in flight`,
      unit: 'µs',
      digits: 1,
      of: (b) => b.throughput.cpuUs / b.throughput.requests,
    },
    {
      key: 'cloudCpuPerRequestUs',
      label: 'proxy+nodes CPU/request',
      unit: 'µs',
      digits: 0,
      of: (b) => b.cloudCpuPerRequestUs,
    },
  ];
  const med = (system: SystemName, f: Figure): number => median(blocks[system].map(f.of));
  const pairedRatio = (f: Figure): number =>
    median(blocks.gateway.map((b, i) => f.of(b) / f.of(blocks.direct[i] as Block)));
  const fmt = (x: number, digits: number): string => (Number.isNaN(x) ? '–' : x.toFixed(digits));

  const rows = figures.map((f) => [
    f.label,
    `${fmt(med('direct', f), f.digits)} ${f.unit}`,
    `${fmt(med('gateway', f), f.digits)} ${f.unit}`,
    `${fmt(pairedRatio(f), 2)}×`,
    blocks.direct.map((b) => fmt(f.of(b), f.digits)).join(' '),
    blocks.gateway.map((b) => fmt(f.of(b), f.digits)).join(' '),
  ]);
  const failures = (s: SystemName): string => {
    const bs = blocks[s];
    const failed = bs.reduce((n, b) => n + b.put.failed + b.get.failed + b.throughput.failed, 0);
    const missed = bs.reduce((n, b) => n + b.notice.missed, 0);
    const stray = bs.reduce((n, b) => n + b.notice.stray, 0);
    return `${failed} failed requests, ${missed} notices missed, ${stray} stray notices`;
  };
  const wb = direct.workload.bytes;
  const totalSeconds = (performance.now() - started) / 1000;
  const out = [
    '',
    `Web path benchmark: ${direct.label} (direct, the baseline) vs ${gateway.label} (gateway)`,
    `cloud: 1 proxy + 3 storage nodes as child processes, N=3 R=2 W=2; gateway and both clients in this process`,
    `workload per block: ${SEQ_PUTS} sequential puts, ${SEQ_GETS} sequential gets (writer's context), ` +
      `${TP_PUTS} puts with ${IN_FLIGHT} in flight, ${NOTICES} watched puts; ${LISTS} lists per system; ` +
      `mean put delta ${(wb.putDelta / wb.puts).toFixed(0)} B, mean get context ${(wb.getContext / Math.max(1, wb.gets)).toFixed(0)} B, ` +
      `mean get reply ${median(blocks.direct.map((b) => b.getReplyBytes)).toFixed(0)} B`,
    `${ROUNDS} rounds, alternating direct, gateway; figures are medians over rounds; ratio = median of per-round gateway ÷ direct`,
    `(latency and CPU: above 1× the gateway is slower/costlier; throughput: below 1× it is slower)`,
    '',
    table(['', 'direct', 'gateway', 'gateway/direct', 'direct per round', 'gateway per round'], rows),
    '',
    `"this process CPU/request": process.cpuUsage() of the bench process over the put, get and in-flight phases,`,
    `  divided by their requests. Direct: the CloudClient alone. Gateway: WsCloud + the ws client AND the`,
    `  in-process gateway (ws server, decode, CloudClient relay) — the gateway's own cost is about the difference.`,
    `"proxy+nodes CPU/request": the cloud's processes from /proc (10 ms ticks): the same work for both.`,
    `direct: ${failures('direct')}; gateway: ${failures('gateway')}`,
    `gateway counters: ${gw.puts} puts, ${gw.gets} gets relayed, ${gw.changedPushed} changed pushed, ` +
      `${gw.errorsSent} errors, ${gw.overloaded} overloaded, ${gw.late} late`,
    `machine: ${availableParallelism()} cores, load ${loadStart.toFixed(2)} → ${loadEnd.toFixed(2)}; ` +
      `node ${process.version}; ${totalSeconds.toFixed(1)} s`,
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  const summary = (s: SystemName): Record<string, number> =>
    Object.fromEntries(figures.map((f) => [f.key, round(med(s, f), f.digits === 0 ? 0 : 3)]));
  const ratios = Object.fromEntries(figures.map((f) => [f.key, round(pairedRatio(f), 3)]));
  process.stdout.write(
    `${JSON.stringify({
      bench: 'web',
      direct: summary('direct'),
      gateway: summary('gateway'),
      ratiosGatewayOverDirect: ratios,
      failures: {
        direct: blocks.direct.reduce((n, b) => n + b.put.failed + b.get.failed + b.throughput.failed, 0),
        gateway: blocks.gateway.reduce((n, b) => n + b.put.failed + b.get.failed + b.throughput.failed, 0),
        noticesMissedDirect: blocks.direct.reduce((n, b) => n + b.notice.missed, 0),
        noticesMissedGateway: blocks.gateway.reduce((n, b) => n + b.notice.missed, 0),
      },
      runs: Object.fromEntries(
        (['direct', 'gateway'] as const).map((s) => [
          s,
          blocks[s].map((b) => Object.fromEntries(figures.map((f) => [f.key, round(f.of(b), 3)]))),
        ]),
      ),
      workload: {
        lists: LISTS,
        sequentialPuts: SEQ_PUTS,
        sequentialGets: SEQ_GETS,
        throughputPuts: TP_PUTS,
        inFlight: IN_FLIGHT,
        notices: NOTICES,
        meanPutDeltaBytes: round(wb.putDelta / wb.puts, 1),
        meanGetContextBytes: round(wb.getContext / Math.max(1, wb.gets), 1),
        meanGetReplyBytes: round(median(blocks.direct.map((b) => b.getReplyBytes)), 1),
        quorum: QUORUM,
      },
      cpuNote: 'cpuPerRequestUs is this process (client + in-process gateway for the gateway system)',
      machine: {
        cores: availableParallelism(),
        loadAverage1mStart: round(loadStart, 2),
        loadAverage1mEnd: round(loadEnd, 2),
        commit: gitCommit(),
      },
      rounds: ROUNDS,
      command: COMMAND,
      node: process.version,
      seconds: round(totalSeconds, 1),
    })}\n`,
  );
}

const resources: Resources = { systems: [] };
const interrupted = stopOnSignal(
  log,
  () => cleanup(resources),
  'stopping the cloud and the gateway, removing temporary files',
);

try {
  await main(resources);
} catch (e) {
  log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
} finally {
  if (!interrupted()) await cleanup(resources);
}
// zeromq's sockets and the ws client may keep handles a moment longer than needed.
if (!interrupted()) setTimeout(() => process.exit(), 500).unref();
