// A local cloud as child processes: one proxy and N storage nodes, data under one folder. This is
// what `trolley cluster` runs (and `npm start` will), and what the real-process tests drive: they
// kill -9, stop and restart single nodes through it.
//
// The layout (node IDs and ports) is kept in DIR/cluster.json, so a restart finds its data again.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TrolleyError } from '@trolley/core';
import { CloudClient, ringChange } from '@trolley/node';
import type { Quorum } from '@trolley/cloud';

export const trolleyBin = fileURLToPath(new URL('../../../bin/trolley.js', import.meta.url));

export interface ClusterLayout {
  host: string;
  clientPort: number;
  nodePort: number;
  partitions: number;
  quorum: Quorum;
  nodes: { id: string; port: number }[];
}

export interface ClusterOptions {
  nodes: number;
  dataDir: string;
  proxyPort?: number;
  quorum: Quorum;
  partitions?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
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

async function portFree(port: number, host: string): Promise<boolean> {
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
}

export class LocalCluster {
  readonly layout: ClusterLayout;
  private readonly proxy: Child;
  private readonly nodes: Child[];
  private stopping = false;

  private constructor(
    readonly dataDir: string,
    layout: ClusterLayout,
    private readonly progress: (line: string) => void,
  ) {
    this.layout = layout;
    const n = layout.quorum;
    this.proxy = {
      name: 'proxy',
      args: [
        'proxy',
        '--bind',
        layout.host,
        '--client-port',
        `${layout.clientPort}`,
        '--node-port',
        `${layout.nodePort}`,
        '--n',
        `${n.n}`,
      ],
      process: undefined,
    };
    this.nodes = layout.nodes.map((x) => this.nodeChildFor(x, true));
  }

  private nodeChildFor(x: { id: string; port: number }, initial: boolean): Child {
    const layout = this.layout;
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
        '--data',
        join(this.dataDir, x.id),
        '--proxy',
        `tcp://${layout.host}:${layout.nodePort}`,
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
      ],
      process: undefined,
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
    const nodes: { id: string; port: number }[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const prior = layout.nodes[i];
      const port =
        prior !== undefined && (await portFree(prior.port, host)) ? prior.port : await freePort(host);
      nodes.push({ id: prior?.id ?? `n${i + 1}`, port });
    }
    layout.nodes = nodes;
    writeFileSync(file, `${JSON.stringify(layout, null, 2)}\n`);
    return new LocalCluster(o.dataDir, layout, o.progress ?? (() => undefined));
  }

  get clientEndpoint(): string {
    return `tcp://${this.layout.host}:${this.layout.clientPort}`;
  }

  nodeEndpoint(i: number): string {
    const n = this.layout.nodes[i];
    if (n === undefined) throw new TrolleyError('not_found', `no node ${i}`);
    return `tcp://${this.layout.host}:${n.port}`;
  }

  /** Starts every process and waits until the proxy sees every node. */
  async start(timeoutMs = 60_000): Promise<void> {
    await this.spawn(this.proxy, timeoutMs);
    this.progress(`proxy ready on ${this.clientEndpoint}`);
    await Promise.all(this.nodes.map((c) => this.spawn(c, timeoutMs)));
    this.progress(`${this.nodes.length} nodes started; waiting for the proxy to see them`);
    await this.waitForNodes(this.nodes.length, timeoutMs);
  }

  async startNode(i: number, timeoutMs = 30_000): Promise<void> {
    await this.spawn(this.nodeChild(i), timeoutMs);
  }

  /** Sends a signal to node i (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signalNode(i: number, signal: NodeJS.Signals): void {
    this.nodeChild(i).process?.kill(signal);
  }

  async killNode(i: number): Promise<void> {
    const c = this.nodeChild(i);
    const p = c.process;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
    c.process = undefined;
  }

  async waitForNodes(count: number, timeoutMs = 30_000): Promise<void> {
    const client = new CloudClient([this.clientEndpoint]);
    const deadline = Date.now() + timeoutMs;
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
          throw new TrolleyError('not_found', `the proxy did not see ${count} live nodes in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.close();
    }
  }

  /** Starts one more node process and asks the cluster to put it in the ring. */
  async addNode(weight = 1): Promise<number> {
    const port = await freePort(this.layout.host);
    const id = `n${this.layout.nodes.length + 1}`;
    const entry = { id, port };
    this.layout.nodes.push(entry);
    const child = this.nodeChildFor(entry, false);
    this.nodes.push(child);
    this.saveLayout();
    await this.spawn(child, 30_000);
    const i = this.nodes.length - 1;
    await ringChange(this.nodeEndpoint(0), { add: [{ id, address: this.nodeEndpoint(i), weight }] });
    return i;
  }

  /** Asks the cluster to take node i out of the ring; it hands its lists over, then may stop. */
  async removeNode(i: number, via = 0): Promise<number> {
    const n = this.layout.nodes[i];
    if (n === undefined) throw new TrolleyError('not_found', `no node ${i}`);
    return ringChange(this.nodeEndpoint(via), { remove: [n.id] });
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  private saveLayout(): void {
    writeFileSync(join(this.dataDir, 'cluster.json'), `${JSON.stringify(this.layout, null, 2)}\n`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const all = [this.proxy, ...this.nodes]
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

  private spawn(c: Child, timeoutMs: number): Promise<void> {
    const child = spawn(process.execPath, [trolleyBin, ...c.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    c.process = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TrolleyError('not_found', `${c.name} did not start in time`)),
        timeoutMs,
      );
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (line.startsWith('ready')) {
          clearTimeout(timer);
          resolve();
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
