// A local cloud as child processes: one proxy (or several, for failover), N storage nodes and,
// optionally, a gateway for browsers; data under one folder. This is what `trolley cluster` runs (and `npm start` will), and what the
// real-process tests drive: they kill -9, stop and restart single nodes and proxies through it.
//
// The layout (node IDs and ports) is kept in DIR/cluster.json, so a restart finds its data again.
// Keys: every member's key pair is made on first start in DIR/keys (owner-only), with an operator
// key for ring changes and admin reads; every process's keyring is that folder. So the cloud is
// secure without a step from anyone; the cloud address it gives clients carries the proxy's key.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { TrolleyError } from '@trolley/core';
import {
  CloudClient,
  ensureMemberKey,
  operatorKeys,
  ringChangeConfirmed,
  withKey,
  type ConfirmRingChangeOptions,
  type ConfirmedRingChange,
  type MemberRole,
  type Operator,
  type RingChangeRequest,
} from '@trolley/node';
import type { Quorum } from '@trolley/cloud';

export const trolleyBin = fileURLToPath(new URL('../../../bin/trolley.js', import.meta.url));

export interface ClusterLayout {
  host: string;
  clientPort: number;
  nodePort: number;
  /** Proxies after the first (whose ports are clientPort and nodePort); absent: just the one. */
  extraProxies?: { clientPort: number; nodePort: number }[];
  partitions: number;
  quorum: Quorum;
  /** Each node's peer port, and its front (client port) if it has one. */
  nodes: NodeLayout[];
}

interface NodeLayout {
  id: string;
  port: number;
  frontPort?: number;
}

export interface ClusterOptions {
  nodes: number;
  dataDir: string;
  proxyPort?: number;
  quorum: Quorum;
  partitions?: number;
  /**
   * Proxies to run (default 1). The first listens on proxyPort and the next port; the others on
   * free ports. Every node says hello to every proxy, so a client may use any of them.
   */
  proxies?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  /**
   * CURVE keys and member-only ports (default true). False: plain ZeroMQ that anyone may speak,
   * only for benchmarks that measure what security costs.
   */
  secure?: boolean;
  /**
   * Every line the processes write on stderr (their log), with the process's name (proxy, n1,
   * gateway, …); absent: their stderr is this process's.
   */
  stderr?: (name: string, line: string) => void;
  /**
   * Also run a gateway for browsers (`trolley gateway`) on this HTTP port (0: any free port),
   * bound to `host` (default 127.0.0.1), pointing at every proxy, serving webRoot if given. Its
   * port is not kept in cluster.json.
   */
  gateway?: GatewayOption;
  /**
   * Serve every process's Prometheus metrics (`--metrics-port`, docs/METRICS.md), on 127.0.0.1:
   * from `port` up, one port each — the proxies first, then the nodes in order, then the gateway —
   * or, without `port`, on free ports. A node added later gets a free port. Absent: no metrics.
   */
  metrics?: { port?: number };
}

/** Where one process of a LocalCluster serves its metrics. */
export interface MetricsEndpoint {
  /** proxy, proxy2, …, the node IDs, gateway. */
  name: string;
  role: 'proxy' | 'node' | 'gateway';
  /** http://127.0.0.1:PORT/metrics */
  url: string;
}

/** The gateway a LocalCluster may run beside its proxies and nodes. */
export interface GatewayOption {
  /** HTTP port; 0: any free port (kept across killGateway/startGateway). */
  port: number;
  /** Address to bind (default: the cluster's host, 127.0.0.1; 0.0.0.0 for phones on the LAN). */
  host?: string;
  /** The built web app to serve; absent: only /sync and /healthz. */
  webRoot?: string;
  /**
   * Turn on the cluster page at /operator behind this token (passed in the gateway's environment,
   * not its arguments), asking this cluster's nodes with its operator key.
   */
  operatorToken?: string;
}

/** The metrics endpoints as lines for people ("metrics:" and one line a process); '' for none. */
export function metricsLines(endpoints: readonly MetricsEndpoint[], indent = ''): string {
  if (endpoints.length === 0) return '';
  const width = Math.max(...endpoints.map((e) => e.name.length)) + 2;
  return `${indent}metrics:\n${endpoints.map((e) => `${indent}  ${e.name.padEnd(width)}${e.url}\n`).join('')}`;
}

let portCursor = 0;

/**
 * A free TCP port below the kernel's ephemeral range (32768–60999 on Linux), so that no outgoing
 * connection can take a node's port as its source port while the node is down and restarting.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const port = 20_000 + ((process.pid * 7_919 + portCursor++ * 104_729) % 12_000);
    if (await portFree(port, host)) return port;
  }
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on `host` now. */
export async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

interface Child {
  name: string;
  args: string[];
  process: ChildProcess | undefined;
  /** Its --metrics-port; undefined: none. */
  metricsPort?: number;
  /** Set in its environment, over this process's. */
  env?: Record<string, string>;
}

/** The name of proxy i: proxy, proxy2, proxy3, … */
function proxyName(i: number): string {
  return i === 0 ? 'proxy' : `proxy${i + 1}`;
}

/** The --metrics-port arguments for a port (none for undefined). */
function metricsArgs(port: number | undefined): string[] {
  return port === undefined ? [] : ['--metrics-port', `${port}`];
}

export class LocalCluster {
  readonly layout: ClusterLayout;
  private readonly proxies: Child[];
  private readonly nodes: Child[];
  private readonly gateway: Child | undefined;
  /** The gateway's URL (http://host:port/) once it has said ready; kept across restarts. */
  private gatewayAddress: string | undefined;
  private stopping = false;
  /** The keys folder (DIR/keys); undefined for an insecure cluster. */
  readonly keysDir: string | undefined;
  /** The operator's keys, for ring changes, admin reads and node stats. */
  readonly operator: Operator;
  /** Members' public keys by name, read (or made) once: endpoints are asked for often. */
  private readonly publicKeys = new Map<string, string>();

  private constructor(
    readonly dataDir: string,
    layout: ClusterLayout,
    private readonly progress: (line: string) => void,
    gateway?: GatewayOption,
    private readonly stderr?: (name: string, line: string) => void,
    secure = true,
    /** Metrics ports by process name (proxy…, node IDs, gateway); undefined: no metrics. */
    private readonly metricsPorts?: ReadonlyMap<string, number>,
  ) {
    this.layout = layout;
    this.keysDir = secure ? join(dataDir, 'keys') : undefined;
    this.keyFor('operator', 'operator');
    this.operator = operatorKeys(this.keysDir);
    this.gateway =
      gateway === undefined
        ? undefined
        : {
            name: 'gateway',
            args: [
              'gateway',
              '--bind',
              gateway.host ?? layout.host,
              '--port',
              `${gateway.port}`,
              '--cloud',
              this.clientEndpoints.join(','),
              ...(gateway.webRoot === undefined ? [] : ['--web', gateway.webRoot]),
              ...metricsArgs(metricsPorts?.get('gateway')),
              ...(gateway.operatorToken === undefined
                ? []
                : [
                    ...this.keysArgs(),
                    '--node',
                    layout.nodes.map((n) => `${n.id}=tcp://${layout.host}:${n.port}`).join(','),
                  ]),
            ],
            process: undefined,
            ...(gateway.operatorToken === undefined
              ? {}
              : { env: { TROLLEY_OPERATOR_TOKEN: gateway.operatorToken } }),
            ...this.metricsPortOf('gateway'),
          };
    this.proxies = this.proxyPorts().map((ports, i) => ({
      name: proxyName(i),
      args: [
        'proxy',
        '--bind',
        layout.host,
        '--client-port',
        `${ports.clientPort}`,
        '--node-port',
        `${ports.nodePort}`,
        '--n',
        `${layout.quorum.n}`,
        '--name',
        proxyName(i),
        ...this.keysArgs(),
        ...metricsArgs(metricsPorts?.get(proxyName(i))),
      ],
      process: undefined,
      ...this.metricsPortOf(proxyName(i)),
    }));
    this.nodes = layout.nodes.map((x) => this.nodeChildFor(x, true, metricsPorts?.get(x.id)));
  }

  private metricsPortOf(name: string): { metricsPort?: number } {
    const port = this.metricsPorts?.get(name);
    return port === undefined ? {} : { metricsPort: port };
  }

  /** Where each process serves its metrics (every process planned, running or not); [] without metrics. */
  get metricsEndpoints(): MetricsEndpoint[] {
    const all: [Child, MetricsEndpoint['role']][] = [
      ...this.proxies.map((c): [Child, 'proxy'] => [c, 'proxy']),
      ...this.nodes.map((c): [Child, 'node'] => [c, 'node']),
      ...(this.gateway === undefined ? [] : [[this.gateway, 'gateway'] as [Child, 'gateway']]),
    ];
    return all.flatMap(([c, role]) =>
      c.metricsPort === undefined
        ? []
        : [{ name: c.name, role, url: `http://${this.layout.host}:${c.metricsPort}/metrics` }],
    );
  }

  private keysArgs(): string[] {
    return this.keysDir === undefined ? ['--insecure'] : ['--keys', this.keysDir];
  }

  /** Makes (once) the key pair of member `id`; returns its public key (undefined: insecure). */
  private keyFor(id: string, role: MemberRole): string | undefined {
    if (this.keysDir === undefined) return undefined;
    let key = this.publicKeys.get(id);
    if (key === undefined) {
      key = ensureMemberKey(this.keysDir, id, role).publicKey;
      this.publicKeys.set(id, key);
    }
    return key;
  }

  /** `endpoint`, with the key of member `id` after # when secure. */
  private keyed(endpoint: string, id: string, role: MemberRole): string {
    const key = this.keyFor(id, role);
    return key === undefined ? endpoint : withKey(endpoint, key);
  }

  /** Client and node ports of every proxy, the first one first. */
  private proxyPorts(): { clientPort: number; nodePort: number }[] {
    const l = this.layout;
    return [{ clientPort: l.clientPort, nodePort: l.nodePort }, ...(l.extraProxies ?? [])];
  }

  private nodeChildFor(x: NodeLayout, initial: boolean, metricsPort?: number): Child {
    const layout = this.layout;
    this.keyFor(x.id, 'node');
    const n = layout.quorum;
    const memberList = layout.nodes
      .filter((m) => initial || m.id !== x.id)
      .map((m) => `${m.id}=tcp://${layout.host}:${m.port}`)
      .join(',');
    return {
      name: x.id,
      args: [
        'node',
        '--id',
        x.id,
        '--listen',
        `tcp://${layout.host}:${x.port}`,
        ...(x.frontPort === undefined ? [] : ['--front', `tcp://${layout.host}:${x.frontPort}`]),
        '--data',
        join(this.dataDir, x.id),
        '--proxy',
        this.proxyPorts()
          .map((p, i) => this.keyed(`tcp://${layout.host}:${p.nodePort}`, proxyName(i), 'proxy'))
          .join(','),
        ...this.keysArgs(),
        '--seeds',
        memberList,
        // A node of the first ring starts it; a node added later learns the ring by gossip.
        ...(initial ? ['--members', memberList] : []),
        '--n',
        `${n.n}`,
        '--r',
        `${n.r}`,
        '--w',
        `${n.w}`,
        '--partitions',
        `${layout.partitions}`,
        ...(n.r + n.w <= n.n ? ['--weak-quorum'] : []),
        ...metricsArgs(metricsPort),
      ],
      process: undefined,
      ...(metricsPort === undefined ? {} : { metricsPort }),
    };
  }

  /** Plans (or reloads) the layout under `dataDir`. Ports already taken are replaced. */
  static async plan(o: ClusterOptions): Promise<LocalCluster> {
    mkdirSync(o.dataDir, { recursive: true });
    const file = join(o.dataDir, 'cluster.json');
    const host = '127.0.0.1';
    let layout: ClusterLayout | undefined;
    if (existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as ClusterLayout;
      if (saved.nodes.length === o.nodes) layout = { ...saved, quorum: o.quorum };
    }
    const clientPort = o.proxyPort ?? layout?.clientPort ?? 5555;
    layout ??= {
      host,
      clientPort,
      nodePort: clientPort + 1,
      partitions: o.partitions ?? 1024,
      quorum: o.quorum,
      nodes: [],
    };
    layout.clientPort = clientPort;
    layout.nodePort = clientPort + 1;
    for (const port of [layout.clientPort, layout.nodePort])
      if (!(await portFree(port, host)))
        throw new TrolleyError('invalid_argument', `port ${port} is taken; choose another with --proxy-port`);
    // Every port is chosen distinct from those chosen before it (a port freed by freePort() may be
    // handed out again at once).
    const taken = new Set([layout.clientPort, layout.nodePort]);
    const reuseOrPick = async (prior: number | undefined): Promise<number> => {
      let port = prior !== undefined && !taken.has(prior) && (await portFree(prior, host)) ? prior : 0;
      for (let attempt = 0; port === 0 || taken.has(port); attempt++) {
        if (attempt >= 100) throw new TrolleyError('not_found', `no free port on ${host}`);
        port = await freePort(host);
      }
      taken.add(port);
      return port;
    };
    const extraProxies: { clientPort: number; nodePort: number }[] = [];
    for (let i = 1; i < (o.proxies ?? 1); i++) {
      const prior = layout.extraProxies?.[i - 1];
      const clientPort = await reuseOrPick(prior?.clientPort);
      extraProxies.push({ clientPort, nodePort: await reuseOrPick(prior?.nodePort) });
    }
    if (extraProxies.length > 0) layout.extraProxies = extraProxies;
    else delete layout.extraProxies;
    const nodes: NodeLayout[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const prior = layout.nodes[i];
      nodes.push({
        id: prior?.id ?? `n${i + 1}`,
        port: await reuseOrPick(prior?.port),
        frontPort: await reuseOrPick(prior?.frontPort),
      });
    }
    layout.nodes = nodes;
    const names = [
      ...Array.from({ length: 1 + extraProxies.length }, (_, i) => proxyName(i)),
      ...nodes.map((n) => n.id),
      ...(o.gateway === undefined ? [] : ['gateway']),
    ];
    let metricsPorts: Map<string, number> | undefined;
    if (o.metrics !== undefined) {
      metricsPorts = new Map();
      for (const [i, name] of names.entries()) {
        const first = o.metrics.port;
        let port: number;
        if (first === undefined) port = await reuseOrPick(undefined);
        else {
          port = first + i;
          if (port > 65_535 || taken.has(port) || !(await portFree(port, host)))
            throw new TrolleyError(
              'invalid_argument',
              `metrics port ${port} (for ${name}) is taken; choose another first port with --metrics-port`,
            );
          taken.add(port);
        }
        metricsPorts.set(name, port);
      }
    }
    writeFileSync(file, `${JSON.stringify(layout, null, 2)}\n`);
    return new LocalCluster(
      o.dataDir,
      layout,
      o.progress ?? (() => undefined),
      o.gateway,
      o.stderr,
      o.secure,
      metricsPorts,
    );
  }

  /** The first proxy's client endpoint, with its key (tcp://host:port#KEY) when secure. */
  get clientEndpoint(): string {
    return this.clientEndpoints[0] as string;
  }

  /** Every proxy's client endpoint, the first one first (give them all to a CloudClient). */
  get clientEndpoints(): string[] {
    return this.proxyPorts().map((p, i) =>
      this.keyed(`tcp://${this.layout.host}:${p.clientPort}`, proxyName(i), 'proxy'),
    );
  }

  get proxyCount(): number {
    return this.proxies.length;
  }

  /** Node i's peer endpoint, with its key (tcp://host:port#KEY) when secure. */
  nodeEndpoint(i: number): string {
    const n = this.layout.nodes[i];
    if (n === undefined) throw new TrolleyError('not_found', `no node ${i}`);
    return this.keyed(`tcp://${this.layout.host}:${n.port}`, n.id, 'node');
  }

  /**
   * Every node's front (its client port, `--front`), with the node's key (tcp://host:port#KEY) when
   * secure, in the order of the nodes; a node without one is left out.
   */
  get frontEndpoints(): string[] {
    return this.layout.nodes.flatMap((n) =>
      n.frontPort === undefined ? [] : [this.keyed(`tcp://${this.layout.host}:${n.frontPort}`, n.id, 'node')],
    );
  }

  /**
   * Starts every process and waits until every proxy sees every node (and the gateway, if asked
   * for, is ready). If any of it fails, stops what did start before passing the error on.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    try {
      await this.startAll(timeoutMs);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  private async startAll(timeoutMs: number): Promise<void> {
    await Promise.all(this.proxies.map((c) => this.spawn(c, timeoutMs)));
    this.progress(`proxy ready on ${this.clientEndpoints.join(', ')}`);
    await Promise.all(this.nodes.map((c) => this.spawn(c, timeoutMs)));
    this.progress(`${this.nodes.length} nodes started; waiting for the proxy to see them`);
    await this.waitForNodes(this.nodes.length, timeoutMs);
    if (this.gateway !== undefined) {
      await this.startGateway(timeoutMs);
      this.progress(`gateway ready on ${this.gatewayUrl ?? '?'}`);
    }
  }

  /**
   * The gateway's URL (http://host:port/; its WebSocket is at …/sync), once it has started;
   * undefined without the gateway option.
   */
  get gatewayUrl(): string | undefined {
    return this.gatewayAddress;
  }

  /**
   * Starts the gateway (again, after killGateway), and waits for its "ready" line. A gateway
   * asked for on port 0 keeps the port it got the first time.
   */
  async startGateway(timeoutMs = 30_000): Promise<void> {
    const c = this.gatewayChild();
    await this.spawn(c, timeoutMs, (line) => {
      const ready = JSON.parse(line.slice('ready'.length)) as { gateway: string; port: number };
      this.gatewayAddress = ready.gateway;
      const at = c.args.indexOf('--port');
      if (at >= 0) c.args[at + 1] = `${ready.port}`;
    });
  }

  /** kill -9 of the gateway; resolves once it has exited. */
  async killGateway(): Promise<void> {
    await this.kill(this.gatewayChild());
  }

  /** The gateway's process ID, undefined while it is not running. */
  gatewayPid(): number | undefined {
    return this.gateway?.process?.pid;
  }

  async startNode(i: number, timeoutMs = 30_000): Promise<void> {
    await this.spawn(this.nodeChild(i), timeoutMs);
  }

  /** Sends a signal to node i (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signalNode(i: number, signal: NodeJS.Signals): void {
    this.nodeChild(i).process?.kill(signal);
  }

  async killNode(i: number): Promise<void> {
    await this.kill(this.nodeChild(i));
  }

  /** The process ID of node i, undefined while it is not running. */
  nodePid(i: number): number | undefined {
    return this.nodeChild(i).process?.pid;
  }

  /** Starts proxy i again (after killProxy), and waits for its "ready" line. */
  async startProxy(i: number, timeoutMs = 30_000): Promise<void> {
    await this.spawn(this.proxyChild(i), timeoutMs);
  }

  /** Sends a signal to proxy i. */
  signalProxy(i: number, signal: NodeJS.Signals): void {
    this.proxyChild(i).process?.kill(signal);
  }

  /** kill -9 of proxy i; resolves once it has exited. */
  async killProxy(i: number): Promise<void> {
    await this.kill(this.proxyChild(i));
  }

  /** The process ID of proxy i, undefined while it is not running. */
  proxyPid(i: number): number | undefined {
    return this.proxyChild(i).process?.pid;
  }

  /**
   * Waits until proxies see `count` live nodes: the given proxies, or by default every proxy that
   * is running (the first one when none is).
   */
  async waitForNodes(count: number, timeoutMs = 30_000, proxies?: readonly number[]): Promise<void> {
    const running = this.proxies.flatMap((c, i) => (c.process === undefined ? [] : [i]));
    const which = proxies ?? (running.length > 0 ? running : [0]);
    const deadline = Date.now() + timeoutMs;
    await Promise.all(which.map((i) => this.waitForNodesAt(this.clientEndpoints[i] ?? '', count, deadline)));
  }

  private async waitForNodesAt(endpoint: string, count: number, deadline: number): Promise<void> {
    const client = new CloudClient([endpoint]);
    try {
      for (;;) {
        try {
          const view = await client.proxyStats(1_000);
          const live = (view['nodes'] as { live: boolean }[]).filter((n) => n.live).length;
          if (live >= count) return;
        } catch {
          // the proxy is not answering yet
        }
        if (Date.now() > deadline)
          throw new TrolleyError(
            'not_found',
            `the proxy at ${endpoint} did not see ${count} live nodes in time`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.close();
    }
  }

  /**
   * Starts one more node process and puts it in the ring through node `via` (default 0), waiting
   * until every node agrees on a ring with it (ringChangeConfirmed: a concurrent ring change that
   * wins is answered by issuing this one again; anything else throws). `beforeRingChange` runs
   * once the process is ready, before the change is sent (tests use it to line changes up).
   * Returns the new node's index.
   */
  async addNode(
    weight = 1,
    options: {
      via?: number;
      beforeRingChange?: () => Promise<void>;
      confirm?: ConfirmRingChangeOptions;
      /** How long the new process may take to say ready (default 30 s; a guard against a hang). */
      startMs?: number;
    } = {},
  ): Promise<number> {
    const port = await freePort(this.layout.host);
    let frontPort = await freePort(this.layout.host);
    while (frontPort === port) frontPort = await freePort(this.layout.host);
    const metricsPort = this.metricsPorts === undefined ? undefined : await freePort(this.layout.host);
    const id = `n${this.layout.nodes.length + 1}`;
    const entry = { id, port, frontPort };
    this.layout.nodes.push(entry);
    const child = this.nodeChildFor(entry, false, metricsPort);
    this.nodes.push(child);
    const i = this.nodes.length - 1; // before any await: addNode may run concurrently
    this.saveLayout();
    await this.spawn(child, options.startMs ?? 30_000);
    await options.beforeRingChange?.();
    await this.confirmedRingChange(
      options.via ?? 0,
      { add: [{ id, address: this.nodeEndpoint(i), weight }] },
      options.confirm,
    );
    return i;
  }

  /**
   * Takes node i out of the ring through node `via`, waiting until every node agrees on a ring
   * without it; it then hands its lists over, and may stop once it holds none. Returns the agreed
   * ring version.
   */
  async removeNode(i: number, via = 0, confirm?: ConfirmRingChangeOptions): Promise<number> {
    const n = this.layout.nodes[i];
    if (n === undefined) throw new TrolleyError('not_found', `no node ${i}`);
    return (await this.confirmedRingChange(via, { remove: [n.id] }, confirm)).version;
  }

  /** Through node `via` first, then the other running nodes if it does not answer. */
  private confirmedRingChange(
    via: number,
    change: RingChangeRequest,
    confirm: ConfirmRingChangeOptions = {},
  ): Promise<ConfirmedRingChange> {
    const others = this.nodes.flatMap((c, j) => (j !== via && c.process !== undefined ? [j] : []));
    const endpoints = [via, ...others].map((j) => this.nodeEndpoint(j));
    return ringChangeConfirmed(this.operator, endpoints, change, {
      progress: (line) => this.progress(`ring change: ${line}`),
      ...confirm,
    });
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  private saveLayout(): void {
    writeFileSync(join(this.dataDir, 'cluster.json'), `${JSON.stringify(this.layout, null, 2)}\n`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...(this.gateway === undefined ? [] : [this.gateway]), ...this.proxies, ...this.nodes]
      .map((c) => c.process)
      .filter((p): p is ChildProcess => p !== undefined);
    await Promise.all(
      all.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const force = setTimeout(() => p.kill('SIGKILL'), 5_000);
            p.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            p.kill('SIGCONT');
            p.kill('SIGTERM');
          }),
      ),
    );
  }

  private nodeChild(i: number): Child {
    const c = this.nodes[i];
    if (c === undefined) throw new TrolleyError('not_found', `no node ${i}`);
    return c;
  }

  private gatewayChild(): Child {
    if (this.gateway === undefined)
      throw new TrolleyError('not_found', 'this cluster was planned without a gateway');
    return this.gateway;
  }

  private proxyChild(i: number): Child {
    const c = this.proxies[i];
    if (c === undefined) throw new TrolleyError('not_found', `no proxy ${i}`);
    return c;
  }

  private async kill(c: Child): Promise<void> {
    const p = c.process;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
    c.process = undefined;
  }

  private spawn(c: Child, timeoutMs: number, onReady?: (line: string) => void): Promise<void> {
    // TROLLEY_CPU_PROF_DIR: each server process writes a V8 CPU profile there when it stops
    // (README, "Profiling the cloud").
    const prof = process.env.TROLLEY_CPU_PROF_DIR;
    const child = spawn(
      process.execPath,
      [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), trolleyBin, ...c.args],
      {
        ...(c.env === undefined ? {} : { env: { ...process.env, ...c.env } }),
        stdio: ['ignore', 'pipe', this.stderr === undefined ? 'inherit' : 'pipe'],
      },
    );
    c.process = child;
    const onStderr = this.stderr;
    if (onStderr !== undefined && child.stderr !== null)
      createInterface({ input: child.stderr }).on('line', (line) => onStderr(c.name, line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TrolleyError('not_found', `${c.name} did not start in time`)),
        timeoutMs,
      );
      const lines = createInterface({ input: child.stdout as Readable }); // piped above
      lines.on('line', (line) => {
        if (line.startsWith('ready')) {
          clearTimeout(timer);
          try {
            onReady?.(line);
            resolve();
          } catch (e) {
            reject(
              new TrolleyError('not_found', `${c.name} said something else than ready: ${line}`, {
                cause: e,
              }),
            );
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!this.stopping && c.process === child)
          this.progress(`${c.name} exited (${signal ?? `code ${code}`})`);
        if (c.process === child) c.process = undefined;
        reject(new TrolleyError('not_found', `${c.name} exited before it was ready`));
      });
    });
  }
}
