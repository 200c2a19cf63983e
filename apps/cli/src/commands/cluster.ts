// `trolley cluster`: a whole local cloud (proxy + N nodes) as child processes, its address (with
// the proxy's key) saved as the home's cloud as `trolley start` does; and `trolley cluster status`:
// nodes, partitions and keys per node, as the proxy and each node see it, and each node's front
// (its own client port): the clients watching there and what it forwarded, sent and refused.
//
// Where the operator commands find the nodes: a proxy's `stats` answer anyone on its public port,
// so they name the nodes but not their addresses. The nodes' own `stats` (on their peer port,
// which clients have no business reaching) list every member with its address. So the commands
// ask one node that answers, out of --node, else $TROLLEY_NODE, else the nodes of the local
// cloud whose folder is --data (its cluster.json, as `trolley cluster` and `trolley start` write
// it); add-node may also ask the node being added (it learnt its peers from its seeds).
//
// A node answers those requests only to an operator: a member of its keyring with the operator
// role (keys.ts). So the commands speak with the operator's keys: NAME.key (--operator, default
// "operator") in the folder --keys, else $TROLLEY_KEYS, else the local cloud's DATA/keys, where
// `trolley cluster` and `trolley start` make one. They reach each node over CURVE, so they need
// its public key: after # in its address (tcp://host:port#KEY), or its .pub in the operator's
// folder (or in the local cloud's), found by the node's ID.

import type { Command } from 'commander';
import { defaultQuorum, readFrontStats, type FrontReading } from '@trolley/cloud';
import {
  CloudClient,
  Keyring,
  nodeStats,
  operatorKeys,
  ringChangeConfirmed,
  splitAddress,
  withKey,
  type ConfirmedRingChange,
  type Operator,
  type RingChangeRequest,
} from '@trolley/node';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrolleyError, parseNodeId } from '@trolley/core';
import { LocalCluster, metricsLines, type ClusterLayout } from '../local-cluster.ts';
import {
  cloudOf,
  endpoints,
  globalsOf,
  homeDirOf,
  keysFolderGiven,
  saveLocalCloud,
  shownAddress,
} from '../globals.ts';
import { intOption, nodeList, quorumFrom, untilSignal, type NodeSource } from './common.ts';
import { summaries } from './summaries.ts';

export function registerCluster(program: Command): void {
  const cluster = program
    .command('cluster')
    .description(summaries.cluster)
    .option('--nodes <n>', 'storage nodes', intOption('nodes', 1, 64), 3)
    .option(
      '--data <dir>',
      'folder for all data (reused on restart); status, add-node and remove-node find the local nodes there',
      process.env['TROLLEY_DATA'] ?? './data',
    )
    .option(
      '--proxy-port <port>',
      'client port of the proxy (node port is the next one)',
      intOption('port', 1, 65_534),
    )
    .option('--n <n>', 'replicas per list (N)', intOption('N', 1, 16), defaultQuorum.n)
    .option('--r <r>', 'read quorum (R)', intOption('R', 1, 16), defaultQuorum.r)
    .option('--w <w>', 'write quorum (W)', intOption('W', 1, 16), defaultQuorum.w)
    .option('--weak-quorum', 'allow R + W ≤ N')
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics from this port up, one per process: proxy, then each node, on 127.0.0.1 (0: none; docs/METRICS.md)',
      intOption('port', 0, 65_535),
      0,
    )
    .option('--json', 'print the ready line as a JSON object with the endpoints')
    .action(async (o: ClusterCommandOptions, command: Command) => {
      const quorum = quorumFrom({ ...o, n: Math.min(o.n, o.nodes) }, o.nodes);
      const local = await LocalCluster.plan({
        nodes: o.nodes,
        dataDir: o.data,
        quorum,
        ...(o.proxyPort === undefined ? {} : { proxyPort: o.proxyPort }),
        ...(o.metricsPort === 0 ? {} : { metrics: { port: o.metricsPort } }),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      const stopped = untilSignal();
      await local.start(); // stops what it started if it fails
      // The proxy's key is the same on both of its ports.
      const proxyKey = splitAddress(local.clientEndpoint).serverKey;
      const nodePort = `tcp://${local.layout.host}:${local.layout.nodePort}`;
      // Saved as this home's cloud, as `trolley start` does (and said on stderr: stdout is the ready line).
      const saved = saveLocalCloud(homeDirOf(globalsOf(command)), local.clientEndpoint);
      process.stderr.write(`terminal: ${saved}\n`);
      const info = {
        ready: true,
        cloud: local.clientEndpoint,
        nodePort: proxyKey === undefined ? nodePort : withKey(nodePort, proxyKey),
        nodes: local.layout.nodes.map((n, i) => ({ id: n.id, endpoint: local.nodeEndpoint(i) })),
        data: o.data,
        keys: local.keysDir ?? null,
        metrics: local.metricsEndpoints,
      };
      process.stdout.write(
        o.json === true
          ? `${JSON.stringify(info)}\n`
          : `ready: cloud at ${local.clientEndpoint}, ${o.nodes} nodes, data in ${o.data} ` +
              `(keys in ${local.keysDir ?? 'none: insecure'})\n${metricsLines(local.metricsEndpoints)}`,
      );
      await stopped;
      process.stderr.write('stopping…\n');
      await local.stop();
    });

  registerRingChanges(cluster);
  operatorOptions(
    nodeOptions(
      cluster
        .command('status')
        .description('nodes, partitions and keys per node')
        .option(
          '--cloud <endpoints>',
          "proxy endpoints (default: as for every command, else the local cloud's in --data)",
          endpoints,
        )
        .option('--json', 'print JSON'),
    ),
  ).action(async (o: { json?: boolean }, command: Command) => {
    const { op, sources, keyOf } = operatorAndSources(command);
    const client = new CloudClient(cloudFor(command));
    try {
      const view = await client.proxyStats();
      const addresses = await memberAddresses(op, sources, keyOf);
      const nodes = (view['nodes'] as { id: string; live: boolean; partitions: number }[]).map((n) => ({
        ...n,
        address: addresses.get(n.id) ?? '?',
      }));
      const rows = await Promise.all(
        nodes.map(async (n) => {
          const stats =
            n.live && n.address !== '?'
              ? await nodeStats(op, n.address, 2_000, n.id).catch(() => undefined)
              : undefined;
          const num = (k: string): number | null => (typeof stats?.[k] === 'number' ? stats[k] : null);
          const members = Array.isArray(stats?.['members'])
            ? (stats['members'] as { id: string; liveness: string }[])
            : [];
          const view = members
            .filter((m) => m.id !== n.id)
            .map((m) => `${m.id} ${m.liveness}`)
            .join(', ');
          return {
            ...n,
            keys: num('keys'),
            // Lists it holds for other owners: 0 on every node, and no hints, is a finished handover.
            toHandOver: num('keysToHandOver'),
            hints: num('hints'),
            ringVersion: num('ringVersion'),
            view: stats === undefined ? null : view,
            front: readFrontStats(stats?.['front']),
          };
        }),
      );
      if (o.json === true) {
        process.stdout.write(
          `${JSON.stringify({ proxy: view['proxy'], ringVersion: view['ringVersion'], nodes: rows })}\n`,
        );
        return;
      }
      process.stdout.write(
        `ring version ${String(view['ringVersion'])}, ${String(view['partitions'])} partitions\n`,
      );
      process.stdout.write('node        live  partitions  keys      to hand over  hints  ring  endpoint\n');
      for (const r of rows)
        process.stdout.write(
          `${r.id.padEnd(12)}${(r.live ? 'yes' : 'no').padEnd(6)}${String(r.partitions).padEnd(12)}${String(r.keys ?? '-').padEnd(10)}${String(r.toHandOver ?? '-').padEnd(14)}${String(r.hints ?? '-').padEnd(7)}${String(r.ringVersion ?? '-').padEnd(6)}${shownAddress(r.address)}\n`,
        );
      process.stdout.write("\neach node's view of the others (gossip and failure detection):\n");
      for (const r of rows) process.stdout.write(`  ${r.id}: ${r.view ?? 'did not answer'}\n`);
      if (rows.some((r) => r.front !== null)) {
        process.stdout.write(
          "\neach node's front (its own client port): clients watching there now; since the node started, " +
            'puts and gets forwarded, notices sent to watchers, frames refused:\n',
        );
        for (const r of rows) process.stdout.write(`  ${r.id}: ${frontLine(r.front, r.view !== null)}\n`);
      }
    } finally {
      client.close();
    }
  });
}

/** One node's front as a person reads it. */
function frontLine(f: FrontReading | null, answered: boolean): string {
  if (f === null) return answered ? 'none' : 'did not answer';
  const x = (v: number | null): string => (v === null ? '-' : String(v));
  return (
    `${f.address === null ? '?' : shownAddress(f.address)}  ${x(f.watchClients)} clients watching ` +
    `${x(f.watchedLists)} lists (${x(f.watchEntries)} watches); ${x(f.forwarded)} forwarded, ` +
    `${x(f.notified)} notices, ${x(f.rejected)} refused`
  );
}

interface NodeSourceOptions {
  node?: NodeSource[];
}

/** --node, for the commands that must find the nodes (see the file's comment). */
function nodeOptions(c: Command): Command {
  return c.option(
    '--node <nodes>',
    'a storage node to ask for the cluster: its peer endpoint with its key, tcp://host:port#KEY, or ' +
      "ID=tcp://host:port with its .pub in the operator's keys folder (several: the first that answers; " +
      "default: $TROLLEY_NODE, else the nodes of the local cloud in cluster's --data)",
    nodeList,
  );
}

interface OperatorOptions {
  keys?: string;
  operator: string;
}

/** --keys and --operator, for the commands that speak to nodes as an operator. */
function operatorOptions(c: Command): Command {
  return c
    .option(
      '--keys <dir>',
      "the operator's keys folder: its NAME.key and the nodes' .pub files " +
        "(default: $TROLLEY_KEYS, else the local cloud's DATA/keys)",
    )
    .option('--operator <name>', "the operator's key in that folder (NAME.key)", 'operator');
}

/** The local cloud's keys folder (`trolley cluster`, `trolley start`): DATA/keys. */
function localKeysDir(command: Command): string {
  return join(command.optsWithGlobals<{ data: string }>().data, 'keys');
}

/**
 * Node endpoints to ask, in order: --node, $TROLLEY_NODE, the local cloud's layout (with each
 * node's ID, and its key from the local cloud's keys folder). (--data is the `cluster` command's
 * own: commander gives it to the parent wherever it appears.)
 */
function nodeSources(command: Command): NodeSource[] {
  const o = command.optsWithGlobals<NodeSourceOptions & { data: string }>();
  if (o.node !== undefined) return o.node;
  const env = process.env['TROLLEY_NODE'];
  if (env !== undefined && env.trim() !== '') {
    try {
      return nodeList(env);
    } catch (e) {
      throw new TrolleyError(
        'invalid_argument',
        `$TROLLEY_NODE: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  const layout = localLayout(o.data);
  if (layout === undefined) return [];
  const keys = localKeyring(command);
  return layout.nodes.map((n) => {
    const address = `tcp://${layout.host}:${n.port}`;
    const key = keys?.named(n.id)?.publicKey;
    return { id: n.id, address: key === undefined ? address : withKey(address, key) };
  });
}

/** The local cloud's layout (DATA/cluster.json), undefined when there is none. */
function localLayout(data: string): ClusterLayout | undefined {
  const file = join(data, 'cluster.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterLayout;
  } catch (e) {
    throw new TrolleyError('invalid_argument', `${file} does not hold a cluster layout: ${String(e)}`, {
      cause: e,
    });
  }
}

/** The .pub files of the local cloud (DATA/keys), undefined when it has none. */
function localKeyring(command: Command): Keyring | undefined {
  const dir = localKeysDir(command);
  return existsSync(dir) ? new Keyring(dir) : undefined;
}

/**
 * The proxy endpoints to ask: as for every command (--cloud, $TROLLEY_CLOUD, the home's saved
 * address), else the local cloud's first proxy, with its key, else the default.
 */
function cloudFor(command: Command): string[] {
  const cloud = cloudOf(globalsOf(command));
  if (cloud.source !== 'default') return cloud.endpoints;
  const layout = localLayout(command.optsWithGlobals<{ data: string }>().data);
  const key = localKeyring(command)?.named('proxy')?.publicKey;
  if (layout === undefined) return cloud.endpoints;
  const address = `tcp://${layout.host}:${layout.clientPort}`;
  return [key === undefined ? address : withKey(address, key)];
}

/**
 * The operator's keys: NAME.key (--operator) in --keys, else $TROLLEY_KEYS, else the local cloud's
 * DATA/keys. A missing key is an error that says where it was looked for and how to make one.
 */
function operatorOf(command: Command): Operator {
  const o = command.optsWithGlobals<OperatorOptions>();
  const { dir, from } = keysFolderGiven(o.keys) ?? {
    dir: localKeysDir(command),
    from: "the local cloud's folder, as no --keys or $TROLLEY_KEYS was given",
  };
  const file = join(dir, `${o.operator}.key`);
  if (!existsSync(file))
    throw new TrolleyError(
      'not_found',
      `no operator key ${file} (${from}). Point --keys (or $TROLLEY_KEYS) at the folder that holds ` +
        `your operator key; or make one with trolley keys new ${o.operator} --role operator --keys ${dir}, ` +
        `copy ${o.operator}.pub into every node's keys folder, and the nodes' .pub files into ${dir}`,
    );
  return operatorKeys(dir, o.operator);
}

/** The nodes' keys the commands know: the operator's keyring, then the local cloud's. */
type NodeKeys = (id: string) => string | undefined;

/**
 * What every operator command needs, in the order a person fixes them: a node to ask (the most
 * common omission away from the local cloud), then the operator's keys. `extra` are nodes asked
 * after the others (a node being added).
 */
function operatorAndSources(
  command: Command,
  extra: readonly NodeSource[] = [],
): { op: Operator; sources: NodeSource[]; keyOf: NodeKeys } {
  const sources = [...nodeSources(command), ...extra];
  if (sources.length === 0)
    throw new TrolleyError(
      'not_found',
      'no storage node to ask: give --node tcp://host:port#KEY, or --node ID=tcp://host:port (any node ' +
        'of the cluster, its peer port), set $TROLLEY_NODE, or point --data at the local cloud',
    );
  const op = operatorOf(command);
  const local = localKeyring(command);
  return { op, sources, keyOf: (id) => op.keyOf(id) ?? local?.named(id)?.publicKey };
}

interface Member {
  id: string;
  address: string;
  liveness: string;
}

/**
 * What the first of `sources` that answers says of its members (and of its ring); each member's
 * address with its key after #, when the operator knows it.
 */
async function askMembers(
  op: Operator,
  sources: readonly NodeSource[],
  keyOf: NodeKeys,
): Promise<{ members: Member[]; ring: string[] }> {
  const failures: string[] = [];
  for (const source of sources) {
    try {
      const s = await nodeStats(op, source.address, 2_000, source.id);
      const members = Array.isArray(s['members']) ? (s['members'] as Member[]) : [];
      const ring = Array.isArray(s['ringNodes']) ? (s['ringNodes'] as string[]) : [];
      return {
        members: members.map((m) => {
          const key = m.address.includes('#') ? undefined : keyOf(m.id);
          return { ...m, address: key === undefined ? m.address : withKey(m.address, key) };
        }),
        ring,
      };
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  throw new TrolleyError(
    'not_found',
    `no storage node answered (${failures.join('; ')}); is the cloud running? give --node ` +
      "tcp://host:port#KEY (or ID=tcp://host:port), and check that the nodes' keys folders hold the operator's .pub",
  );
}

/** Every member's address, as the first node that answers knows them. */
async function memberAddresses(
  op: Operator,
  sources: readonly NodeSource[],
  keyOf: NodeKeys,
): Promise<Map<string, string>> {
  const { members } = await askMembers(op, sources, keyOf);
  return new Map(members.map((m) => [m.id, m.address]));
}

/** The live nodes of the ring (their endpoints, with their keys): the ones to send a ring change to. */
async function liveRingNodes(
  op: Operator,
  sources: readonly NodeSource[],
  keyOf: NodeKeys,
): Promise<string[]> {
  const { members, ring } = await askMembers(op, sources, keyOf);
  const inRing = new Set(ring);
  const live = members.filter((m) => m.liveness === 'alive' && (inRing.size === 0 || inRing.has(m.id)));
  if (live.length === 0)
    throw new TrolleyError(
      'not_found',
      'the node asked knows no live node of the ring; is the cloud running?',
    );
  return live.map((m) => m.address);
}

/**
 * --via as given, each endpoint without a key completed with the key of the member a node says is
 * there (a ring change reaches a node over CURVE, by its key).
 */
async function keyedVia(
  via: readonly string[],
  op: Operator,
  sources: readonly NodeSource[],
  keyOf: NodeKeys,
): Promise<string[]> {
  if (!op.secure || via.every((a) => a.includes('#'))) return [...via];
  const { members } = await askMembers(op, sources, keyOf);
  const byEndpoint = new Map(members.map((m) => [splitAddress(m.address).endpoint, m.address]));
  return via.map((a) => (a.includes('#') ? a : (byEndpoint.get(a) ?? a)));
}

interface RingChangeCommandOptions extends NodeSourceOptions {
  via?: string[];
  timeout: number;
  force?: boolean;
}

/**
 * Applies a ring change through a node and waits until every node holds one ring with the change
 * in it (issuing it again if a concurrent change won); progress on stderr. Fails loudly otherwise.
 */
async function confirmedChange(
  command: Command,
  change: RingChangeRequest,
  again: string,
): Promise<ConfirmedRingChange> {
  const o = command.opts<RingChangeCommandOptions>();
  // A node being added knows its peers (from its seeds): ask it last.
  const adding = (change.add ?? []).map((n) => ({ id: n.id, address: n.address }));
  const { op, sources, keyOf } = operatorAndSources(command, adding);
  const via =
    o.via === undefined ? await liveRingNodes(op, sources, keyOf) : await keyedVia(o.via, op, sources, keyOf);
  return ringChangeConfirmed(
    op,
    via,
    { ...change, ...(o.force === true ? { force: true } : {}) },
    {
      timeoutMs: o.timeout * 1_000,
      progress: (line) => process.stderr.write(`${line}\n`),
      again,
    },
  );
}

export function registerRingChanges(cluster: Command): void {
  const common = (c: Command): Command =>
    operatorOptions(nodeOptions(c))
      .option(
        '--via <endpoints>',
        'node endpoints to send the change to (default: the live nodes of the ring, as a node from --node knows them)',
        endpoints,
      )
      .option(
        '--timeout <s>',
        'give up (loudly) if the cluster does not agree on the change by then',
        intOption('timeout', 1, 3_600),
        60,
      )
      .option('--force', 'allow a ring that keeps none of the current nodes or has fewer than N nodes');
  /** The command to run again, as the operator typed it (with --force if given). */
  const againOf = (line: string, o: { force?: boolean }): string =>
    `${line}${o.force === true ? ' --force' : ''} (it is idempotent)`;
  common(
    cluster
      .command('add-node')
      .description(
        'put a running node (started with trolley node --seeds …) into the ring and wait until every node agrees; partitions move to it',
      )
      .requiredOption('--id <id>', "the new node's ID")
      .requiredOption('--endpoint <endpoint>', 'where peers reach it (its --advertise)')
      .option('--weight <w>', 'capacity weight (1–1000)', intOption('weight', 1, 1000), 1),
  ).action(async (o: { id: string; endpoint: string; weight: number; force?: boolean }, command: Command) => {
    const address = endpoints(o.endpoint)[0] as string;
    const again = againOf(
      `trolley cluster add-node --id ${o.id} --endpoint ${address} --weight ${o.weight}`,
      o,
    );
    const r = await confirmedChange(
      command,
      { add: [{ id: parseNodeId(o.id), address, weight: o.weight }] },
      again,
    );
    process.stdout.write(
      `ring version ${r.version}: ${o.id} added, every node agrees (${r.agreeing.length} nodes); ` +
        'partitions move to it in the background\n',
    );
  });
  common(
    cluster
      .command('remove-node')
      .description(
        'take a node out of the ring and wait until every node agrees; it hands its lists to the new owners (watch cluster status), then stop it',
      )
      .requiredOption('--id <id>', 'the node to remove'),
  ).action(async (o: { id: string; force?: boolean }, command: Command) => {
    const again = againOf(`trolley cluster remove-node --id ${o.id}`, o);
    const r = await confirmedChange(command, { remove: [parseNodeId(o.id)] }, again);
    const gone = r.silentRemoved.length > 0 ? ` (${o.id} did not answer)` : '';
    process.stdout.write(
      `ring version ${r.version}: ${o.id} removed, every node agrees${gone}; ` +
        'stop it once trolley cluster status shows it holds 0 keys\n',
    );
  });
}

interface ClusterCommandOptions {
  nodes: number;
  data: string;
  proxyPort?: number;
  n: number;
  r: number;
  w: number;
  weakQuorum?: boolean;
  metricsPort: number;
  json?: boolean;
}
