// `trolley node`, `trolley proxy` and `trolley gateway`: one storage node, one proxy or one
// browser gateway in this process. Each prints one line containing "ready" (with its endpoints as
// JSON, its metrics URL among them: null without --metrics-port) once it is bound, and stops
// cleanly on SIGINT or SIGTERM.

import type { Command } from 'commander';
import { TrolleyError, parseNodeId } from '@trolley/core';
import { processLogger, startNode, startProxy } from '@trolley/node';
import { defaultQuorum } from '@trolley/cloud';
import { defaultCloud, endpoints, keysFolderGiven } from '../globals.ts';
import {
  intOption,
  members,
  metricsAddress,
  metricsOptions,
  nodeList,
  quorumFrom,
  untilSignal,
  type MetricsOptions,
  type NodeSource,
} from './common.ts';
import { summaries } from './summaries.ts';

export function registerServers(program: Command): void {
  const node = program
    .command('node')
    .description(summaries.node)
    .requiredOption('--id <id>', "this node's ID (unique in the cluster)")
    .requiredOption('--listen <endpoint>', 'where peers reach this node, as bound (tcp://0.0.0.0:6001)')
    .option('--advertise <endpoint>', 'where peers should dial this node (default: --listen)')
    .option(
      '--front <endpoint>',
      "also serve clients on this port, bound here (tcp://0.0.0.0:7001): a client that writes and watches at its list's coordinator saves two hops",
    )
    .option(
      '--front-advertise <endpoint>',
      "where clients should dial the front (default: --front; bound to 0.0.0.0, its port at --advertise's host)",
    )
    .requiredOption('--data <dir>', "folder for this node's SQLite database")
    .requiredOption('--proxy <endpoints>', 'node ports of the proxies (tcp://host:5556,…)', endpoints)
    .option('--seeds <list>', 'nodes to gossip with at first: id=tcp://host:port,…', members, [])
    .option(
      '--members <list>',
      'the first ring of a new cluster: id=tcp://host:port,… (ignored once a ring is known)',
      members,
    )
    .option('--n <n>', 'replicas per list (N)', intOption('N', 1, 16), defaultQuorum.n)
    .option('--r <r>', 'read quorum (R)', intOption('R', 1, 16), defaultQuorum.r)
    .option('--w <w>', 'write quorum (W)', intOption('W', 1, 16), defaultQuorum.w)
    .option('--weak-quorum', 'allow R + W ≤ N')
    .option(
      '--partitions <q>',
      'ring partitions (Q), the same on every node',
      intOption('Q', 1, 65_536),
      1024,
    );
  keysOptions(metricsOptions(node)).action(async (o: NodeCommandOptions) => {
    const metrics = metricsAddress(o);
    const id = parseNodeId(o.id);
    const quorum = quorumFrom(o, o.members?.length);
    const running = await startNode({
      id,
      listen: o.listen,
      advertise: o.advertise ?? o.listen,
      dataDir: o.data,
      proxies: o.proxy,
      seeds: o.seeds,
      ...(o.members === undefined ? {} : { members: o.members }),
      quorum,
      partitionCount: o.partitions,
      keysDir: keysDirOf(o),
      logger: processLogger('node', { node: id }),
      ...(metrics === undefined ? {} : { metrics }),
      ...(o.front === undefined
        ? {}
        : {
            front: {
              listen: o.front,
              ...(o.frontAdvertise === undefined ? {} : { advertise: o.frontAdvertise }),
            },
          }),
    });
    process.stdout.write(
      `ready ${JSON.stringify({ node: id, listen: o.listen, front: running.frontAddress ?? null, keys: running.store.count(), metrics: running.metricsUrl ?? null })}\n`,
    );
    await untilSignal();
    await running.stop();
  });

  const proxy = program
    .command('proxy')
    .description(summaries.proxy)
    .option('--bind <host>', 'address to bind', '127.0.0.1')
    .option('--client-port <port>', 'port for clients', intOption('port', 1, 65_535), 5555)
    .option('--node-port <port>', 'port for storage nodes', intOption('port', 1, 65_535), 5556)
    .option('--n <n>', 'replicas per list (N), to find coordinators', intOption('N', 1, 16), defaultQuorum.n)
    .option('--name <name>', "a name for logs and status, and its key's name in --keys", 'proxy');
  keysOptions(metricsOptions(proxy)).action(async (o: ProxyCommandOptions) => {
    const metrics = metricsAddress(o);
    const clientEndpoint = `tcp://${o.bind}:${o.clientPort}`;
    const nodeEndpoint = `tcp://${o.bind}:${o.nodePort}`;
    const running = await startProxy({
      name: o.name,
      clientEndpoint,
      nodeEndpoint,
      replicas: o.n,
      keysDir: keysDirOf(o),
      logger: processLogger('proxy', { proxy: o.name }),
      ...(metrics === undefined ? {} : { metrics }),
    });
    const key = running.publicKey === undefined ? '' : `#${running.publicKey}`;
    process.stdout.write(
      `ready ${JSON.stringify({ proxy: o.name, clients: `${clientEndpoint}${key}`, nodes: `${nodeEndpoint}${key}`, metrics: running.metricsUrl ?? null })}\n`,
    );
    await untilSignal();
    await running.stop();
  });

  const gateway = program
    .command('gateway')
    .description(summaries.gateway)
    .option('--cloud <endpoints>', 'client ports of the proxies (tcp://host:5555,…)', endpoints, [
      defaultCloud,
    ])
    .option('--bind <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'HTTP port (0: any free port)', intOption('port', 0, 65_535), 8080)
    .option('--no-direct', "every list through the proxies, none at its coordinator's front")
    .option(
      '--direct',
      "the default: each list at its coordinator's front when the cloud names one (nodes started with --front): " +
        'fewer hops for live updates',
    )
    .option('--web <dir>', 'the built web app to serve (apps/web/dist); without it, only /sync and /healthz')
    .option(
      '--public-url <url>',
      'the address phones reach the app at, for share links and QR codes (default $TROLLEY_PUBLIC_URL)',
      process.env['TROLLEY_PUBLIC_URL'] || undefined,
    )
    .option(
      '--operator-token <token>',
      'turn on the cluster page for operators at /operator, behind this token (default $TROLLEY_OPERATOR_TOKEN; ' +
        'prefer the variable: a flag shows in ps); needs --node and the operator key (--keys)',
      process.env['TROLLEY_OPERATOR_TOKEN'] || undefined,
    )
    .option(
      '--node <nodes>',
      'for the cluster page: storage nodes to ask, tcp://host:port#KEY or ID=tcp://host:port (default $TROLLEY_NODE)',
      nodeList,
    )
    .option(
      '--keys <dir>',
      "for the cluster page: the operator's keys folder, its NAME.key and the nodes' .pub files (default $TROLLEY_KEYS)",
    )
    .option('--operator <name>', "for the cluster page: the operator's key in that folder", 'operator')
    .option('--insecure', 'for the cluster page: the cluster has no keys (benchmarks only)');
  metricsOptions(gateway).action(async (o: GatewayCommandOptions) => {
    // Loaded here, so that every other command starts without the HTTP and WebSocket modules.
    const metrics = metricsAddress(o);
    const { startGateway, checkOperatorToken } = await import('@trolley/web/server');
    const operator = o.operatorToken === undefined ? undefined : operatorPageOf(o, checkOperatorToken);
    const running = await startGateway({
      cloud: o.cloud,
      host: o.bind,
      port: o.port,
      ...(o.web === undefined ? {} : { webRoot: o.web }),
      ...(o.publicUrl === undefined ? {} : { publicUrl: o.publicUrl }),
      logger: processLogger('gateway'),
      direct: o.direct,
      ...(metrics === undefined ? {} : { metrics }),
      ...(operator === undefined ? {} : { operator }),
    });
    const sync = `${running.url.replace(/^http/, 'ws')}sync`;
    const operatorUrl = operator === undefined ? null : `${running.url}operator`;
    process.stdout.write(
      `ready ${JSON.stringify({ gateway: running.url, sync, port: running.port, cloud: o.cloud, direct: o.direct, web: o.web ?? null, metrics: running.metricsUrl ?? null, operator: operatorUrl })}\n`,
    );
    await untilSignal();
    await running.stop();
  });
}

interface KeysOptions {
  keys?: string;
  insecure?: boolean;
}

function keysOptions(command: Command): Command {
  return command
    .option(
      '--keys <dir>',
      "keys folder: this member's NAME.key and every member's .pub (default $TROLLEY_KEYS; make them with trolley keys)",
    )
    .option('--insecure', 'no CURVE, anyone may talk to every port (benchmarks only)');
}

/** The keys folder, or undefined with --insecure; one of them is needed. */
function keysDirOf(o: KeysOptions): string | undefined {
  if (o.insecure === true) return undefined;
  const dir = keysFolderGiven(o.keys)?.dir;
  if (dir === undefined)
    throw new TrolleyError(
      'invalid_argument',
      "no keys: give --keys <dir> (or set $TROLLEY_KEYS) with this member's key and the others' .pub files; " +
        'make them with: trolley keys new <name> --role <node|proxy|operator> --keys <dir>',
    );
  return dir;
}

interface NodeCommandOptions extends KeysOptions, MetricsOptions {
  id: string;
  listen: string;
  advertise?: string;
  front?: string;
  frontAdvertise?: string;
  data: string;
  proxy: string[];
  seeds: ReturnType<typeof members>;
  members?: ReturnType<typeof members>;
  n: number;
  r: number;
  w: number;
  weakQuorum?: boolean;
  partitions: number;
}

interface GatewayCommandOptions extends MetricsOptions, KeysOptions {
  cloud: string[];
  /** False with --no-direct; true by default (--no-direct is declared before --direct). */
  direct: boolean;
  bind: string;
  port: number;
  web?: string;
  publicUrl?: string;
  operatorToken?: string;
  node?: NodeSource[];
  operator: string;
}

/** The cluster page's options: the token, the nodes to ask and the operator's keys, or a clear error. */
function operatorPageOf(
  o: GatewayCommandOptions,
  checkToken: (token: string) => string,
): { token: string; nodes: NodeSource[]; keysDir: string | undefined; operatorName: string } {
  const token = checkToken(o.operatorToken ?? '');
  let nodes = o.node;
  const env = process.env['TROLLEY_NODE'];
  if (nodes === undefined && env !== undefined && env.trim() !== '') nodes = nodeList(env);
  if (nodes === undefined)
    throw new TrolleyError(
      'invalid_argument',
      'the cluster page asks the storage nodes: give --node tcp://host:port#KEY (or ID=tcp://host:port), or set $TROLLEY_NODE',
    );
  return { token, nodes, keysDir: keysDirOf(o), operatorName: o.operator };
}

interface ProxyCommandOptions extends KeysOptions, MetricsOptions {
  bind: string;
  clientPort: number;
  nodePort: number;
  n: number;
  name: string;
}
