// `trolley cluster`: a whole local cloud (proxy + N nodes) as child processes; and
// `trolley cluster status`: nodes, partitions and keys per node, as the proxy and each node see it.
//
// Where the operator commands find the nodes: a proxy's `stats` answer anyone on its public port,
// so they name the nodes but not their addresses. The nodes' own `stats` (on their peer port,
// which clients have no business reaching) list every member with its address. So the commands
// ask one node that answers, out of --node, else $TROLLEY_NODE, else the nodes of the local
// cloud whose folder is --data (its cluster.json, as `trolley cluster` and `trolley start` write
// it); add-node may also ask the node being added (it learnt its peers from its seeds).

import type { Command } from 'commander';
import { defaultQuorum } from '@trolley/cloud';
import {
  CloudClient,
  nodeStats,
  ringChangeConfirmed,
  type ConfirmedRingChange,
  type RingChangeRequest,
} from '@trolley/node';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrolleyError, parseNodeId } from '@trolley/core';
import { LocalCluster, type ClusterLayout } from '../local-cluster.ts';
import { cloudOf, endpoints, globalsOf } from '../globals.ts';
import { intOption, quorumFrom, untilSignal } from './common.ts';
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
    .option('--json', 'print the ready line as a JSON object with the endpoints')
    .action(async (o: ClusterCommandOptions) => {
      const quorum = quorumFrom({ ...o, n: Math.min(o.n, o.nodes) }, o.nodes);
      const local = await LocalCluster.plan({
        nodes: o.nodes,
        dataDir: o.data,
        quorum,
        ...(o.proxyPort === undefined ? {} : { proxyPort: o.proxyPort }),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      const stopped = untilSignal();
      await local.start(); // stops what it started if it fails
      const info = {
        ready: true,
        cloud: local.clientEndpoint,
        nodePort: `tcp://${local.layout.host}:${local.layout.nodePort}`,
        nodes: local.layout.nodes.map((n, i) => ({ id: n.id, endpoint: local.nodeEndpoint(i) })),
        data: o.data,
      };
      process.stdout.write(
        o.json === true
          ? `${JSON.stringify(info)}\n`
          : `ready: cloud at ${local.clientEndpoint}, ${o.nodes} nodes, data in ${o.data}\n`,
      );
      await stopped;
      process.stderr.write('stopping…\n');
      await local.stop();
    });

  registerRingChanges(cluster);
  nodeOptions(
    cluster
      .command('status')
      .description('nodes, partitions and keys per node')
      .option('--cloud <endpoints>', 'proxy endpoints (default: as for every command)', endpoints)
      .option('--json', 'print JSON'),
  ).action(async (o: { json?: boolean }, command: Command) => {
    const client = new CloudClient(cloudOf(globalsOf(command)).endpoints);
    try {
      const view = await client.proxyStats();
      const addresses = await memberAddresses(nodeSources(command));
      const nodes = (view['nodes'] as { id: string; live: boolean; partitions: number }[]).map((n) => ({
        ...n,
        address: addresses.get(n.id) ?? '?',
      }));
      const rows = await Promise.all(
        nodes.map(async (n) => {
          const stats =
            n.live && n.address !== '?' ? await nodeStats(n.address).catch(() => undefined) : undefined;
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
            hints: num('hints'),
            ringVersion: num('ringVersion'),
            view: stats === undefined ? null : view,
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
      process.stdout.write('node        live  partitions  keys      hints  ring  endpoint\n');
      for (const r of rows)
        process.stdout.write(
          `${r.id.padEnd(12)}${(r.live ? 'yes' : 'no').padEnd(6)}${String(r.partitions).padEnd(12)}${String(r.keys ?? '-').padEnd(10)}${String(r.hints ?? '-').padEnd(7)}${String(r.ringVersion ?? '-').padEnd(6)}${r.address}\n`,
        );
      process.stdout.write("\neach node's view of the others (gossip and failure detection):\n");
      for (const r of rows) process.stdout.write(`  ${r.id}: ${r.view ?? 'did not answer'}\n`);
    } finally {
      client.close();
    }
  });
}

interface NodeSourceOptions {
  node?: string[];
}

/** --node, for the commands that must find the nodes (see the file's comment). */
function nodeOptions(c: Command): Command {
  return c.option(
    '--node <endpoints>',
    'a storage node to ask for the cluster: its peer endpoint (or several: the first that answers; ' +
      "default: $TROLLEY_NODE, else the nodes of the local cloud in cluster's --data)",
    endpoints,
  );
}

/**
 * Node endpoints to ask, in order: --node, $TROLLEY_NODE, the local cloud's layout. (--data is the
 * `cluster` command's own: commander gives it to the parent wherever it appears.)
 */
function nodeSources(command: Command): string[] {
  const o = command.optsWithGlobals<NodeSourceOptions & { data: string }>();
  if (o.node !== undefined) return o.node;
  const env = process.env['TROLLEY_NODE'];
  if (env !== undefined && env.trim() !== '') {
    try {
      return endpoints(env);
    } catch (e) {
      throw new TrolleyError(
        'invalid_argument',
        `$TROLLEY_NODE: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  const file = join(o.data, 'cluster.json');
  if (!existsSync(file)) return [];
  try {
    const layout = JSON.parse(readFileSync(file, 'utf8')) as ClusterLayout;
    return layout.nodes.map((n) => `tcp://${layout.host}:${n.port}`);
  } catch (e) {
    throw new TrolleyError('invalid_argument', `${file} does not hold a cluster layout: ${String(e)}`, {
      cause: e,
    });
  }
}

interface Member {
  id: string;
  address: string;
  liveness: string;
}

/** What the first of `sources` that answers says of its members (and of its ring). */
async function askMembers(sources: readonly string[]): Promise<{ members: Member[]; ring: string[] }> {
  const failures: string[] = [];
  for (const address of sources) {
    try {
      const s = await nodeStats(address);
      const members = Array.isArray(s['members']) ? (s['members'] as Member[]) : [];
      const ring = Array.isArray(s['ringNodes']) ? (s['ringNodes'] as string[]) : [];
      return { members, ring };
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  throw new TrolleyError(
    'not_found',
    sources.length === 0
      ? 'no storage node to ask: give --node tcp://host:port (any node of the cluster, its peer ' +
          'port), set $TROLLEY_NODE, or point --data at the local cloud'
      : `no storage node answered (${failures.join('; ')}); is the cloud running? give --node`,
  );
}

/** Every member's address, as the first node that answers knows them. */
async function memberAddresses(sources: readonly string[]): Promise<Map<string, string>> {
  const { members } = await askMembers(sources);
  return new Map(members.map((m) => [m.id, m.address]));
}

/** The live nodes of the ring (their endpoints): the ones to send a ring change to. */
async function liveRingNodes(sources: readonly string[]): Promise<string[]> {
  const { members, ring } = await askMembers(sources);
  const inRing = new Set(ring);
  const live = members.filter((m) => m.liveness === 'alive' && (inRing.size === 0 || inRing.has(m.id)));
  if (live.length === 0)
    throw new TrolleyError(
      'not_found',
      'the node asked knows no live node of the ring; is the cloud running?',
    );
  return live.map((m) => m.address);
}

interface RingChangeCommandOptions extends NodeSourceOptions {
  via?: string[];
  timeout: number;
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
  const sources = [...nodeSources(command), ...(change.add ?? []).map((n) => n.address)];
  const via = o.via ?? (await liveRingNodes(sources));
  return ringChangeConfirmed(via, change, {
    timeoutMs: o.timeout * 1_000,
    progress: (line) => process.stderr.write(`${line}\n`),
    again,
  });
}

export function registerRingChanges(cluster: Command): void {
  const common = (c: Command): Command =>
    nodeOptions(c)
      .option(
        '--via <endpoints>',
        'node endpoints to send the change to (default: the live nodes of the ring, as a node from --nodes knows them)',
        endpoints,
      )
      .option(
        '--timeout <s>',
        'give up (loudly) if the cluster does not agree on the change by then',
        intOption('timeout', 1, 3_600),
        60,
      );
  common(
    cluster
      .command('add-node')
      .description(
        'put a running node (started with trolley node --seeds …) into the ring and wait until every node agrees; partitions move to it',
      )
      .requiredOption('--id <id>', "the new node's ID")
      .requiredOption('--endpoint <endpoint>', 'where peers reach it (its --advertise)')
      .option('--weight <w>', 'capacity weight (1–1000)', intOption('weight', 1, 1000), 1),
  ).action(async (o: { id: string; endpoint: string; weight: number }, command: Command) => {
    const address = endpoints(o.endpoint)[0] as string;
    const again = `trolley cluster add-node --id ${o.id} --endpoint ${address} --weight ${o.weight} (it is idempotent)`;
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
  ).action(async (o: { id: string }, command: Command) => {
    const again = `trolley cluster remove-node --id ${o.id} (it is idempotent)`;
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
  json?: boolean;
}
