// bench:elastic — Dynamo-style elastic growth under load (issue 16, item 3). A real cloud (a proxy
// and 3 storage nodes, real processes on 127.0.0.1 with SQLite and ZeroMQ under CURVE, started
// by LocalCluster as `trolley cluster` does) carries a steady write and read load from many
// clients (bench/elastic/load.ts) while it grows to ELASTIC_MAX_NODES nodes one at a time and
// shrinks back to 3, each step a confirmed ring change (what `trolley cluster add-node` and
// `remove-node` run) followed by the wait for its handover to finish (bench/elastic/elastic.ts).
//
// Before any change the same load runs for one step's time on the 3 nodes: the baseline the steps'
// latencies are quoted against (the machine may be shared; absolute figures mean little).
// At the end the load stops and every list is read back through the proxy: every acknowledged
// write must be there (lost = 0).
//
// Output: progress on stderr; a table on stdout; a last line of JSON
// {"bench":"elastic","lost":…,"failed":…,"maxImbalance":…,…}.
//
// Settings (environment): ELASTIC_MAX_NODES (10), ELASTIC_SECONDS_PER_STEP (least length of a
// step and of the baseline, 20), ELASTIC_CLIENTS (16), ELASTIC_LISTS (lists per client, 40),
// ELASTIC_WRITES (writes a second, all clients, 40), ELASTIC_READS (reads a second, 40),
// ELASTIC_PARTITIONS (1024, the default ring).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultQuorum } from '@trolley/cloud';
import { LocalCluster } from '../../apps/cli/src/local-cluster.ts';
import { freePortPair } from '../../apps/cli/src/testing/test-cluster.ts';
import { envNumber, stopOnSignal, table } from '../common.ts';
import { Elastic, type StepFigures } from './elastic.ts';
import { Load, type LoadFigures } from './load.ts';

const maxNodes = envNumber('ELASTIC_MAX_NODES', 10);
const stepSeconds = envNumber('ELASTIC_SECONDS_PER_STEP', 20);
const clients = envNumber('ELASTIC_CLIENTS', 16);
const listsPerClient = envNumber('ELASTIC_LISTS', 40);
const writesPerSecond = envNumber('ELASTIC_WRITES', 40);
const readsPerSecond = envNumber('ELASTIC_READS', 40);
const partitions = envNumber('ELASTIC_PARTITIONS', 1024);
const startNodes = 3;
/** Guards against a hang only. */
const hangMs = 600_000;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const ms = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(0));

async function main(): Promise<void> {
  if (maxNodes <= startNodes) throw new Error(`ELASTIC_MAX_NODES must be more than ${startNodes}`);
  process.env['TROLLEY_LOG'] ??= 'error';
  const dir = mkdtempSync(join(tmpdir(), 'trolley-elastic-'));
  let cluster: LocalCluster | undefined;
  let load: Load | undefined;
  const cleanup = async (): Promise<void> => {
    load?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const interrupted = stopOnSignal(log, cleanup, 'stopping the cluster');
  try {
    cluster = await LocalCluster.plan({
      nodes: startNodes,
      dataDir: dir,
      quorum: defaultQuorum,
      proxyPort: await freePortPair(),
      partitions,
      progress: log,
    });
    await cluster.start(hangMs);
    log(`cluster: proxy and ${startNodes} nodes (N=3, R=2, W=2, ${partitions} partitions) in ${dir}`);
    load = await Load.start({
      endpoints: cluster.clientEndpoints,
      clients,
      listsPerClient,
      writesPerSecond,
      readsPerSecond,
      progress: log,
    });
    const started = load.now();
    log(`baseline: ${stepSeconds} s of load on ${startNodes} nodes…`);
    await new Promise((r) => setTimeout(r, stepSeconds * 1_000));
    const baseline = load.figures(started, load.now());
    const elastic = new Elastic({
      cluster,
      load,
      maxNodes,
      minStepMs: stepSeconds * 1_000,
      hangMs,
      progress: log,
    });
    const steps = await elastic.run();
    await load.stop();
    const totalSeconds = (load.now() - started) / 1000;
    log('load stopped; reading every list back…');
    const verified = await load.verify();
    for (const p of verified.problems.slice(0, 20)) log(`  lost: ${p}`);
    for (const [text, n] of load.errors) log(`  puts answered with an error ×${n}: ${text}`);
    report(baseline, steps, verified, totalSeconds);
  } finally {
    if (!interrupted()) await cleanup();
  }
}

function report(
  baseline: LoadFigures,
  steps: readonly StepFigures[],
  verified: { lists: number; acknowledged: number; lost: number; unreadable: number },
  totalSeconds: number,
): void {
  const ratio = (x: number): string => (Number.isNaN(x) ? '-' : `${(x / baseline.writeP99Ms).toFixed(1)}×`);
  const rows = [
    [
      'baseline (3 nodes)',
      '3',
      `${stepSeconds.toFixed(0)}`,
      `${baseline.writesOk}`,
      `${baseline.writesFailed}`,
      `${baseline.unknown}`,
      `${baseline.refused}`,
      `${baseline.staleReads}/${baseline.reads}`,
      ms(baseline.writeP99Ms),
      '1.0×',
      ms(baseline.readP99Ms),
      '-',
      '-',
      '-',
    ],
    ...steps.map((s) => [
      s.step,
      `${s.nodes}`,
      s.seconds.toFixed(1),
      `${s.load.writesOk}`,
      `${s.load.writesFailed}`,
      `${s.load.unknown}`,
      `${s.load.refused}`,
      `${s.load.staleReads}/${s.load.reads}`,
      ms(s.load.writeP99Ms),
      ratio(s.load.writeP99Ms),
      ms(s.load.readP99Ms),
      `${s.partitionsMoved}/${s.partitionsMin}`,
      `${s.keysMoved}/${s.keysMin}`,
      s.imbalance.toFixed(2),
    ]),
  ];
  console.log(
    `bench:elastic — ${clients} clients, ${writesPerSecond} writes/s and ${readsPerSecond} reads/s, ` +
      `${verified.lists} lists, N=3 R=2 W=2, ${partitions} partitions; 3 → ${maxNodes} → 3 nodes\n` +
      'figures while each step ran (ring change + handover); moved: actual/least possible; ' +
      'imbalance: largest node’s keys ÷ mean, after the step\n',
  );
  console.log(
    table(
      [
        'step',
        'nodes',
        'time s',
        'writes ok',
        'failed',
        'unknown',
        'refused',
        'stale reads',
        'p99 write ms',
        '×base',
        'p99 read ms',
        'partitions moved',
        'keys moved',
        'imbalance',
      ],
      rows,
    ),
  );
  const sum = (f: (s: StepFigures) => number): number => steps.reduce((a, s) => a + f(s), 0);
  const failed = baseline.writesFailed + sum((s) => s.load.writesFailed);
  const unknown = baseline.unknown + sum((s) => s.load.unknown);
  const refused = baseline.refused + sum((s) => s.load.refused);
  console.log(
    `\nacknowledged writes ${verified.acknowledged}, lost ${verified.lost}, lists unreadable ${verified.unreadable}; ` +
      `${totalSeconds.toFixed(0)} s in all`,
  );
  console.log(
    JSON.stringify({
      bench: 'elastic',
      lost: verified.lost,
      failed,
      unknown,
      refused,
      acknowledged: verified.acknowledged,
      unreadable: verified.unreadable,
      maxImbalance: Number(Math.max(...steps.map((s) => s.imbalance)).toFixed(3)),
      maxNodes,
      steps: steps.length,
      baselineP99WriteMs: Math.round(baseline.writeP99Ms),
      maxP99WriteMs: Math.round(
        Math.max(...steps.map((s) => s.load.writeP99Ms).filter((x) => !Number.isNaN(x))),
      ),
      staleReads: sum((s) => s.load.staleReads),
      reads: sum((s) => s.load.reads),
      partitionsMovedOverMin: Number(
        (sum((s) => s.partitionsMoved) / sum((s) => s.partitionsMin)).toFixed(3),
      ),
      keysMovedOverMin: Number(
        (
          sum((s) => s.keysMoved) /
          Math.max(
            1,
            sum((s) => s.keysMin),
          )
        ).toFixed(3),
      ),
      maxStepSeconds: Number(Math.max(...steps.map((s) => s.seconds)).toFixed(1)),
      totalSeconds: Math.round(totalSeconds),
      clients,
      writesPerSecond,
      readsPerSecond,
      partitions,
    }),
  );
}

main().catch((e: unknown) => {
  log(`bench:elastic failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
