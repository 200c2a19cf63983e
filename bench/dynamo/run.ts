// Dynamo §6 on our own cluster (`npm run bench:dynamo`): a long mixed load with faults, and the
// paper's figures drawn from it as PNG plots (artifacts/bench/dynamo/*.png, README, docs).
//
// The cluster: NODES storage nodes (`trolley node`, SQLite, ZeroMQ with CURVE), each in its own
// network namespace on a bridge, and one proxy in the root namespace on the bridge's address —
// the partition tests' lab (apps/cli/src/testing/env-netns.ts, root only), so that a partition
// is a real one: nft drop rules inside the cut node's namespace, both directions, silently.
// N=3, R=2, W=2, 64 partitions.
//
// The load: CLIENTS CloudClients (this process) on LISTS lists, open loop — requests are sent at
// a rate that follows one "day" over the run (RATE × (1 − 0.5 cos 2πt/T): half the mean at the
// start and end, 1.5× at noon), half reads (a get of the whole list) and half writes (one real
// delta of a list's replica: add an item, buy one unit, or remove an item all bought). Each
// client owns its lists' replicas. A request not answered in 5 s counts as failed; no retries.
// At most MAX_OUTSTANDING requests per client are in flight; beyond that a request is shed
// (counted).
//
// The faults (SCHEDULE): node n1 killed (kill -9) at 20% of the run and started again 15% of the
// run later (it is back when it says ready); node n2 cut off at 55% (or once the cluster has
// converged after the first fault, if later) and healed 15% of the run later. After each fault
// ends, the run checks every second whether the cluster has converged: every node answers its
// scrape, no hint is waiting on any node, and the owners of SAMPLE_LISTS sampled lists hold
// identical copies (admin reads of each owner's store, compared by hash). The time from the
// fault's end to that moment is its time to converge.
//
// What is sampled every second: each node's Prometheus metrics (`--metrics-port`,
// docs/METRICS.md) — requests handled (all kinds), client gets coordinated and those that saw
// divergent replicas, hints waiting, lists held. A node that does not answer (down, or cut off)
// is left out of that sample.
//
// Output: progress on stderr; a table per phase and the last line, JSON {"bench":"dynamo",…}, on
// stdout; the plots and the series (series.json) in DYNAMO_OUT (default artifacts/bench/dynamo).
// Environment: DYNAMO_SECONDS (load length, default 180), DYNAMO_RATE (mean requests/s, default
// 150), DYNAMO_CLIENTS (16), DYNAMO_LISTS (600), DYNAMO_NODES (4), DYNAMO_WINDOW (latency window,
// seconds, default 5), DYNAMO_OUT.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  ListDoc,
  ListReplica,
  createRing,
  encodeContext,
  encodeList,
  newListId,
  newReplicaId,
  parseNodeId,
  preferenceListForKey,
  type ListId,
} from '@trolley/core';
import { CloudClient, operatorKeys, withKey, writeMemberKey, type Operator } from '@trolley/node';
import { freePort } from '../../apps/cli/src/local-cluster.ts';
import { NetLab, netLabUnavailable } from '../../apps/cli/src/testing/env-netns.ts';
import { replicaOf } from '../../apps/cli/src/testing/env-ops.ts';
import { TrolleyProcess } from '../../apps/cli/src/testing/env-procs.ts';
import { parseExposition } from '../../apps/cli/src/testing/scrape.ts';
import { envNumber, percentile, rng, seededRandom, stopOnSignal, table } from '../common.ts';
import { drawPlots, type Figures } from './plot.ts';
import {
  clusterSeries,
  latencyWindows,
  type ClusterSample,
  type FaultSpan,
  type NodeReading,
  type RequestSample,
} from './series.ts';

const NODES = Math.round(envNumber('DYNAMO_NODES', 4));
const SECONDS = envNumber('DYNAMO_SECONDS', 180);
const RATE = envNumber('DYNAMO_RATE', 150);
const CLIENTS = Math.round(envNumber('DYNAMO_CLIENTS', 16));
const LISTS = Math.round(envNumber('DYNAMO_LISTS', 600));
const WINDOW_S = envNumber('DYNAMO_WINDOW', 5);
const QUORUM = { n: 3, r: 2, w: 2 };
const PARTITIONS = 64;
const REQUEST_MS = 5_000;
const MAX_OUTSTANDING = 64;
/** A bound on the requests recorded (a long run at a high rate), against running out of memory. */
const MAX_SAMPLES = 5_000_000;
const SAMPLE_MS = 1_000;
/** A scrape's timeout: a node on the busy 2-core machine may answer late without being down. */
const SCRAPE_MS = 3_000;
const SAMPLE_LISTS = 12;
const METRICS_PORT = 9_100;
const SEED = 0xd1a0_6006;
const COMMAND = 'npm run bench:dynamo';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const outDir = resolve(process.env['DYNAMO_OUT'] ?? join(repoRoot, 'artifacts/bench/dynamo'));
const log = (line: string): void => void process.stderr.write(`[bench:dynamo] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits: number): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN);

const CATALOG = [
  'milk', 'eggs', 'bread', 'butter', 'cheese', 'apples', 'bananas', 'oranges', 'tomatoes', 'onions',
  'garlic', 'potatoes', 'carrots', 'rice', 'pasta', 'flour', 'sugar', 'coffee', 'tea', 'yoghurt',
]; // prettier-ignore

/**
 * The fault schedule, as shares of the run: when each fault starts (or, if later, once the cluster
 * has converged after the one before, or given up waiting) and how long it lasts (a killed node is
 * started again after `lasts`; it is back when it says ready).
 */
const SCHEDULE = [
  { label: 'n1 killed', node: 0, kind: 'kill', start: 0.2, lasts: 0.15 },
  { label: 'n2 cut off', node: 1, kind: 'partition', start: 0.55, lasts: 0.15 },
] as const;

interface Resources {
  lab?: NetLab;
  dir?: string;
  procs: (TrolleyProcess | undefined)[];
  clients: CloudClient[];
}

async function cleanup(res: Resources): Promise<void> {
  for (const c of res.clients.splice(0)) c.close();
  await Promise.all(res.procs.map(async (p) => p?.stop()));
  res.lab?.destroy();
  if (res.dir !== undefined) rmSync(res.dir, { recursive: true, force: true });
}

/** The sum of a metric's samples (all labels) in an exposition; 0 when absent. */
function total(families: ReturnType<typeof parseExposition>, name: string): number {
  const f = families.get(name);
  if (f === undefined) return 0;
  return f.samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

async function scrapeNode(url: string): Promise<NodeReading | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_MS) });
    if (res.status !== 200) return undefined;
    const f = parseExposition(await res.text());
    return {
      requests: total(f, 'trolley_node_requests_total'),
      gets: total(f, 'trolley_node_gets_total'),
      readsDivergent: total(f, 'trolley_node_reads_divergent_total'),
      hintsWaiting: total(f, 'trolley_node_hints_waiting'),
      lists: total(f, 'trolley_node_lists'),
    };
  } catch {
    return undefined; // down, or cut off: left out of this sample
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

interface Written {
  listId: ListId;
  replica: ListReplica;
  client: number;
}

/** The next delta of a list: add an item, buy one unit of it, or remove it once all bought. */
function nextDelta(l: Written, next: () => number): Uint8Array {
  const name = CATALOG[next() % CATALOG.length] as string;
  const item = l.replica.item(name);
  if (item === undefined) return encodeList(l.replica.addItem(name, 1 + (next() % 3)));
  if (item.remaining === 0) return encodeList(l.replica.removeItem(name));
  return encodeList(l.replica.buy(name, 1));
}

async function main(res: Resources): Promise<void> {
  const unavailable = netLabUnavailable();
  if (unavailable !== undefined)
    throw new Error(`bench:dynamo runs its nodes in network namespaces and ${unavailable}`);
  process.env['TROLLEY_LOG'] ??= 'error';
  log(
    `${NODES} nodes (N=${QUORUM.n}, R=${QUORUM.r}, W=${QUORUM.w}), ${CLIENTS} clients, ${LISTS} lists, ` +
      `${SECONDS} s at ${RATE} requests/s mean; ${availableParallelism()} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );

  // ---- the cluster, one node per namespace ----
  const lab = NetLab.create(NODES);
  res.lab = lab;
  const dir = mkdtempSync(join(tmpdir(), 'trolley-dynamo-'));
  res.dir = dir;
  const bridge = lab.bridgeAddress;
  const clientPort = await freePort(bridge);
  let nodePort = await freePort(bridge);
  while (nodePort === clientPort) nodePort = await freePort(bridge);
  const ids = lab.hosts.map((_, i) => `n${i + 1}`);
  const keysDir = join(dir, 'keys');
  const proxyKey = writeMemberKey(keysDir, 'proxy', 'proxy').publicKey;
  const nodeKeys = ids.map((id) => writeMemberKey(keysDir, id, 'node').publicKey);
  writeMemberKey(keysDir, 'operator', 'operator');
  const operator: Operator = operatorKeys(keysDir);
  const proxyEndpoint = withKey(`tcp://${bridge}:${clientPort}`, proxyKey);
  const listen = lab.hosts.map((h) => `tcp://${h.address}:7000`);
  const endpoints = listen.map((e, i) => withKey(e, nodeKeys[i] as string));
  const metricsUrls = lab.hosts.map((h) => `http://${h.address}:${METRICS_PORT}/metrics`);
  const members = ids.map((id, i) => `${id}=${listen[i]}`).join(',');
  // prettier-ignore
  const nodeArgs = (i: number): string[] => [
    'node', '--id', ids[i] as string, '--listen', listen[i] as string, '--data', join(dir, ids[i] as string),
    '--proxy', withKey(`tcp://${bridge}:${nodePort}`, proxyKey), '--keys', keysDir,
    '--seeds', members, '--members', members,
    '--n', `${QUORUM.n}`, '--r', `${QUORUM.r}`, '--w', `${QUORUM.w}`, '--partitions', `${PARTITIONS}`,
    '--metrics-port', `${METRICS_PORT}`, '--metrics-host', (lab.hosts[i] as { address: string }).address,
  ];
  const startNode = (i: number): Promise<TrolleyProcess> =>
    TrolleyProcess.start(ids[i] as string, nodeArgs(i), {
      prefix: (lab.hosts[i] as { prefix: string[] }).prefix,
    });
  // prettier-ignore
  res.procs.push(await TrolleyProcess.start('proxy', [
    'proxy', '--bind', bridge, '--client-port', `${clientPort}`, '--node-port', `${nodePort}`,
    '--n', `${QUORUM.n}`, '--keys', keysDir,
  ]));
  const nodes: (TrolleyProcess | undefined)[] = ids.map(() => undefined);
  await Promise.all(
    ids.map(async (_, i) => {
      nodes[i] = await startNode(i);
      res.procs[1 + i] = nodes[i];
    }),
  );
  const probe = new CloudClient([proxyEndpoint], { attemptMs: 1_000 });
  res.clients.push(probe);
  for (;;) {
    const v = await probe.proxyStats(1_000).catch(() => undefined);
    const live = ((v?.['nodes'] as { live: boolean }[] | undefined) ?? []).filter((n) => n.live).length;
    if (live === NODES) break;
    await sleep(200);
  }
  log(
    `cluster up: proxy ${proxyEndpoint.split('#')[0]}, nodes ${lab.hosts.map((h) => h.address).join(', ')}`,
  );

  // ---- the lists, and a first write to each ----
  const random = seededRandom(SEED);
  const next = rng(SEED ^ 0x9e37_79b9);
  const clients = Array.from(
    { length: CLIENTS },
    () => new CloudClient([proxyEndpoint], { attemptMs: REQUEST_MS }),
  );
  res.clients.push(...clients);
  const lists: Written[] = Array.from({ length: LISTS }, (_, i) => ({
    listId: newListId(random),
    replica: new ListReplica(newReplicaId(random)),
    client: i % CLIENTS,
  }));
  const empty = ListDoc.empty();
  const wholeList = encodeContext(empty.ctx, empty.replicas);
  for (let i = 0; i < lists.length; i += 50)
    await Promise.all(
      lists
        .slice(i, i + 50)
        .map((l) =>
          (clients[l.client] as CloudClient).put(l.listId, nextDelta(l, next), { timeoutMs: REQUEST_MS }),
        ),
    );
  log(`${LISTS} lists written once`);

  const ring = createRing(
    ids.map((id) => ({ id: parseNodeId(id), weight: 1 })),
    { partitionCount: PARTITIONS },
  );
  const sampled = lists
    .filter((_, i) => i % Math.max(1, Math.floor(LISTS / SAMPLE_LISTS)) === 0)
    .slice(0, SAMPLE_LISTS);

  // ---- the load, the sampler and the faults, together ----
  const samples: RequestSample[] = [];
  const clusterSamples: ClusterSample[] = [];
  const outstanding = new Array<number>(CLIENTS).fill(0);
  let shed = 0;
  let dropped = 0;
  const t0 = performance.now();
  const now = (): number => (performance.now() - t0) / 1000;
  const rateAt = (t: number): number => RATE * (1 - 0.5 * Math.cos((2 * Math.PI * t) / SECONDS));
  let loadDone = false;

  const record = (s: RequestSample): void => {
    if (samples.length < MAX_SAMPLES) samples.push(s);
    else dropped++;
  };
  const send = (): void => {
    const l = lists[next() % lists.length] as Written;
    const c = l.client;
    if ((outstanding[c] as number) >= MAX_OUTSTANDING) {
      shed++;
      return;
    }
    outstanding[c] = (outstanding[c] as number) + 1;
    const client = clients[c] as CloudClient;
    const t = now();
    const start = performance.now();
    const done = (kind: 'read' | 'write', ok: boolean): void => {
      outstanding[c] = (outstanding[c] as number) - 1;
      record({ t, kind, ms: performance.now() - start, ok });
    };
    if (next() % 2 === 0)
      client.get(l.listId, wholeList, { timeoutMs: REQUEST_MS }).then(
        () => done('read', true),
        () => done('read', false),
      );
    else
      client.put(l.listId, nextDelta(l, next), { timeoutMs: REQUEST_MS }).then(
        (r) => done('write', r.outcome === 'ok'),
        () => done('write', false),
      );
  };

  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const load = (async () => {
    let sent = 0;
    let owed = 0;
    let last = now();
    let lastLog = 0;
    while (!loadDone) {
      const t = now();
      if (t >= SECONDS) break;
      owed += rateAt(t) * (t - last);
      last = t;
      while (owed >= 1) {
        send();
        sent++;
        owed--;
      }
      if (t - lastLog >= 15) {
        lastLog = t;
        log(
          `t=${t.toFixed(0)} s: ${sent} requests sent, ${rateAt(t).toFixed(0)}/s now, ${shed} shed; ` +
            `this process's event loop late by up to ${(loopDelay.max / 1e6).toFixed(0)} ms`,
        );
        loopDelay.reset();
      }
      await sleep(10);
    }
  })();

  const sampler = (async () => {
    while (!loadDone) {
      const t = now();
      const readings = await Promise.all(metricsUrls.map((u) => scrapeNode(u)));
      const sample: ClusterSample = { t, nodes: {} };
      readings.forEach((r, i) => {
        if (r !== undefined) sample.nodes[ids[i] as string] = r;
      });
      clusterSamples.push(sample);
      await sleep(Math.max(0, SAMPLE_MS - (now() - t) * 1000));
    }
  })();

  /** Every node answers, no hint waits, and the sampled lists' owners hold the same copy. */
  const converged = async (): Promise<boolean> => {
    const last = clusterSamples.at(-1);
    if (last === undefined || Object.keys(last.nodes).length < NODES) return false;
    if (Object.values(last.nodes).some((n) => n.hintsWaiting > 0)) return false;
    const agree = await Promise.all(
      sampled.map(async (l) => {
        const copies = await Promise.all(
          preferenceListForKey(ring, l.listId, QUORUM.n).map((id) =>
            replicaOf(operator, endpoints[ids.indexOf(id)] as string, l.listId, 1_000).catch(() => undefined),
          ),
        );
        return copies.every((c) => c !== undefined && c.hash === copies[0]?.hash);
      }),
    );
    return agree.every(Boolean);
  };

  const faults: FaultSpan[] = [];
  for (const [k, f] of SCHEDULE.entries()) {
    await sleep(Math.max(0, (f.start * SECONDS - now()) * 1000));
    if (now() + f.lasts * SECONDS > SECONDS - 5) {
      log(`${f.label}: skipped, too late in the run (raise DYNAMO_SECONDS)`);
      continue;
    }
    const span: FaultSpan = { label: f.label, start: now(), end: Number.NaN };
    if (f.kind === 'kill') {
      const p = nodes[f.node];
      if (p !== undefined) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGKILL');
        await exited;
        await p.stop(); // unregisters it from the safety net
      }
      log(`t=${span.start.toFixed(0)} s: ${f.label} (kill -9)`);
    } else {
      lab.isolate(f.node);
      log(`t=${span.start.toFixed(0)} s: ${f.label} (nft drop rules in its namespace)`);
    }
    await sleep(Math.max(0, (span.start + f.lasts * SECONDS - now()) * 1000));
    if (f.kind === 'kill') {
      nodes[f.node] = await startNode(f.node);
      res.procs[1 + f.node] = nodes[f.node];
      span.end = now();
      log(`t=${span.end.toFixed(0)} s: ${ids[f.node]} restarted (ready)`);
    } else {
      const dropped = lab.dropped(f.node);
      lab.heal(f.node);
      span.end = now();
      log(
        `t=${span.end.toFixed(0)} s: ${ids[f.node]} healed (packets dropped in ${dropped.input}, out ${dropped.output})`,
      );
    }
    faults.push(span);
    // Until the next fault is due, or at least 30 s, and never past the end of the load.
    const until = Math.min(SECONDS - 1, Math.max((SCHEDULE[k + 1]?.start ?? 1) * SECONDS, now() + 30));
    while (now() < until) {
      if (await converged()) {
        span.converged = now();
        log(`t=${span.converged.toFixed(0)} s: converged ${(span.converged - span.end).toFixed(1)} s after`);
        break;
      }
      await sleep(1_000);
    }
    if (span.converged === undefined) log(`${f.label}: not converged before t=${until.toFixed(0)} s`);
  }
  await load;
  loopDelay.disable();
  // The last requests' answers (or their timeouts).
  const drainUntil = performance.now() + REQUEST_MS + 2_000;
  while (outstanding.some((n) => n > 0) && performance.now() < drainUntil) await sleep(100);
  loadDone = true;
  await sampler;
  log(`load done: ${samples.length} requests answered or given up on, ${shed} shed`);
  await cleanup(res);

  // ---- the figures ----
  const latency = latencyWindows(samples, WINDOW_S);
  const cluster = clusterSeries(clusterSamples);
  mkdirSync(outDir, { recursive: true });
  const figures: Figures = { windowS: WINDOW_S, nodes: NODES, faults, latency, cluster };
  const plots = await drawPlots(figures, outDir);
  writeFileSync(
    join(outDir, 'series.json'),
    `${JSON.stringify({ command: COMMAND, commit: gitCommit(), ...figures }, null, 1)}\n`,
  );
  log(`plots in ${outDir}: ${plots.join(', ')}`);

  // ---- the table: one row per phase ----
  const bounds = [0, ...faults.flatMap((f) => [f.start, f.end]), Infinity];
  const phaseNames = ['steady', 'n1 down', 'after restart', 'n2 cut off', 'after heal'];
  const pct = (xs: RequestSample[], q: number): number =>
    percentile(Float64Array.from(xs.filter((s) => s.ok).map((s) => s.ms)).sort(), q);
  const rows = phaseNames.map((name, i) => {
    const from = bounds[i] as number;
    const to = bounds[i + 1] as number;
    const inPhase = samples.filter((s) => s.t >= from && s.t < to);
    const reads = inPhase.filter((s) => s.kind === 'read');
    const writes = inPhase.filter((s) => s.kind === 'write');
    const points = cluster.filter((p) => p.t >= from && p.t < to);
    const gets = points.reduce((a, p) => a + p.gets, 0);
    const divergent = points.reduce(
      (a, p) => a + (Number.isFinite(p.divergentShare) ? p.divergentShare * p.gets : 0),
      0,
    );
    const imb = points.map((p) => p.imbalance).filter(Number.isFinite);
    return {
      name,
      seconds: (Math.min(to, SECONDS) - from).toFixed(0),
      reads: reads.length,
      writes: writes.length,
      failedReads: reads.filter((s) => !s.ok).length,
      failedWrites: writes.filter((s) => !s.ok).length,
      read: [pct(reads, 0.5), pct(reads, 0.99), pct(reads, 0.999)],
      write: [pct(writes, 0.5), pct(writes, 0.99), pct(writes, 0.999)],
      divergent: gets === 0 ? Number.NaN : divergent / gets,
      hintsMax: Math.max(0, ...points.map((p) => p.hintsWaiting)),
      imbalance: imb.length === 0 ? Number.NaN : imb.reduce((a, b) => a + b, 0) / imb.length,
    };
  });
  const ms = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' / ');
  console.log(
    table(
      ['phase', 's', 'reads', 'failed', 'read p50/p99/p99.9 ms', 'writes', 'failed', 'write p50/p99/p99.9 ms', 'divergent reads', 'hints max', 'imbalance'],
      rows.map((r) => [r.name, r.seconds, `${r.reads}`, `${r.failedReads}`, ms(r.read), `${r.writes}`, `${r.failedWrites}`, ms(r.write), `${(r.divergent * 100).toFixed(2)}%`, `${r.hintsMax}`, r.imbalance.toFixed(3)]),
    ), // prettier-ignore
  );
  for (const f of faults)
    console.log(
      `${f.label}: ${(f.end - f.start).toFixed(0)} s; converged ` +
        (f.converged === undefined
          ? 'not within the run'
          : `${(f.converged - f.end).toFixed(1)} s after it ended`),
    );
  const all = samples.filter((s) => s.ok);
  const reads = samples.filter((s) => s.kind === 'read');
  const writes = samples.filter((s) => s.kind === 'write');
  const gets = cluster.reduce((a, p) => a + p.gets, 0);
  const divergent = cluster.reduce(
    (a, p) => a + (Number.isFinite(p.divergentShare) ? p.divergentShare * p.gets : 0),
    0,
  );
  const imbalances = cluster.map((p) => p.imbalance).filter(Number.isFinite);
  const windows999 = latency.map((p) => p.p999).filter(Number.isFinite);
  console.log(
    JSON.stringify({
      bench: 'dynamo',
      command: COMMAND,
      commit: gitCommit(),
      cores: availableParallelism(),
      loadavg: loadavg().map((x) => round(x, 1)),
      seconds: SECONDS,
      nodes: NODES,
      quorum: QUORUM,
      clients: CLIENTS,
      lists: LISTS,
      meanRate: RATE,
      requests: samples.length + dropped,
      shed,
      reads: reads.length,
      writes: writes.length,
      failedReads: reads.filter((s) => !s.ok).length,
      failedWrites: writes.filter((s) => !s.ok).length,
      readP50Ms: round(pct(reads, 0.5), 1),
      readP999Ms: round(pct(reads, 0.999), 1),
      writeP50Ms: round(pct(writes, 0.5), 1),
      writeP999Ms: round(pct(writes, 0.999), 1),
      okP999Ms: round(percentile(Float64Array.from(all.map((s) => s.ms)).sort(), 0.999), 1),
      windowP999MedianMs: round(percentile(Float64Array.from(windows999).sort(), 0.5), 1),
      divergentReadShare: round(gets === 0 ? Number.NaN : divergent / gets, 5),
      oneVersionShare: round(gets === 0 ? Number.NaN : 1 - divergent / gets, 5),
      maxHintsWaiting: Math.max(0, ...cluster.map((p) => p.hintsWaiting)),
      meanImbalance: round(imbalances.reduce((a, b) => a + b, 0) / imbalances.length, 3),
      maxImbalance: round(Math.max(...imbalances), 3),
      faults: faults.map((f) => ({
        label: f.label,
        lastedS: round(f.end - f.start, 1),
        convergedS: f.converged === undefined ? null : round(f.converged - f.end, 1),
      })),
      plots: plots.map((p) => join(outDir, p)),
    }),
  );
}

const res: Resources = { procs: [], clients: [] };
const interrupted = stopOnSignal(log, () => cleanup(res), 'stopping the cluster and removing the lab');
main(res).then(
  () => process.exit(0),
  async (e: unknown) => {
    if (interrupted()) return;
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await cleanup(res);
    process.exit(1);
  },
);
