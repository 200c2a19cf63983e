// A LocalCluster for real-process tests: its own folder under the OS temporary directory, free
// ports, the ring the nodes compute, and cleanup that runs even when a test fails (every cluster
// started here is remembered until disposeAll() has stopped its processes and removed its folder).

import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing, parseNodeId, preferenceListForKey, type ListId, type RingState } from '@trolley/core';
import { defaultQuorum, type Quorum } from '@trolley/cloud';
import { LocalCluster, freePort } from '../local-cluster.ts';

const host = '127.0.0.1';
/**
 * How long the processes may take to start and see each other: a guard against a hang, not a
 * budget (on a loaded 2-core machine a dozen Node processes starting at once take a while).
 */
const startMs = 240_000;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A free port whose successor is free too: the proxy's client port (its node port is the next one). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort(host);
    if (port < 65_535 && (await portFree(port + 1))) return port;
  }
  throw new Error('no free pair of adjacent ports on 127.0.0.1');
}

export interface TestClusterOptions {
  nodes: number;
  quorum?: Quorum;
  partitions?: number;
  /** Every line the processes write on stderr (their log), with the process's name; absent: inherited. */
  stderr?: (name: string, line: string) => void;
  /** Every process serves Prometheus metrics, on free ports (LocalCluster's metricsEndpoints). */
  metrics?: boolean;
  /** Also run a gateway (on a free port). */
  gateway?: boolean;
}

export class TestCluster {
  /** Progress lines from the launcher, among them "<name> exited (…)" for every process that died. */
  readonly events: string[] = [];
  readonly ring: RingState;
  private stopped = false;
  private removed = false;

  private constructor(
    readonly cluster: LocalCluster,
    readonly dir: string,
  ) {
    const layout = cluster.layout;
    this.ring = createRing(
      layout.nodes.map((n) => ({ id: parseNodeId(n.id), weight: 1 })),
      { partitionCount: layout.partitions },
    );
  }

  get quorum(): Quorum {
    return this.cluster.layout.quorum;
  }

  get nodeIds(): string[] {
    return this.cluster.layout.nodes.map((n) => n.id);
  }

  get nodeEndpoints(): string[] {
    return this.cluster.layout.nodes.map((_, i) => this.cluster.nodeEndpoint(i));
  }

  /** The node IDs that should hold a list: its preference list, as the nodes compute it. */
  preferenceList(listId: ListId): string[] {
    return preferenceListForKey(this.ring, listId, this.quorum.n);
  }

  /** The SQLite file of node i. */
  databasePath(i: number): string {
    const id = this.nodeIds[i];
    if (id === undefined) throw new Error(`no node ${i}`);
    return join(this.dir, id, `${id}.db`);
  }

  /**
   * PRAGMA integrity_check of every node's SQLite file, opened read-only (stop the processes
   * first), with the number of lists each holds.
   */
  integrity(): { node: string; report: string; lists: number }[] {
    return this.nodeIds.map((node, i) => {
      const db = new Database(this.databasePath(i), { readonly: true, fileMustExist: true });
      try {
        const report = db.pragma('integrity_check', { simple: true }) as string;
        const lists = (db.prepare('SELECT count(*) AS n FROM heads').get() as { n: number }).n;
        return { node, report, lists };
      } finally {
        db.close();
      }
    });
  }

  /** Which of `keys` node i's SQLite file holds, read from the file (stop the node first). */
  keysInFile(i: number, keys: readonly string[]): Set<string> {
    const db = new Database(this.databasePath(i), { readonly: true, fileMustExist: true });
    try {
      const has = db.prepare<[string], { key: string }>('SELECT key FROM heads WHERE key = ?');
      return new Set(keys.filter((k) => has.get(k) !== undefined));
    } finally {
      db.close();
    }
  }

  /** Processes that exited while the test was running (kills included). */
  exits(): string[] {
    return this.events.filter((e) => / exited /.test(e));
  }

  static async start(o: TestClusterOptions): Promise<TestCluster> {
    const quorum = o.quorum ?? defaultQuorum;
    for (let attempt = 0; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'trolley-e2e-'));
      let tc: TestCluster | undefined;
      try {
        const proxyPort = await freePortPair();
        const cluster = await LocalCluster.plan({
          nodes: o.nodes,
          dataDir: dir,
          quorum,
          proxyPort,
          ...(o.partitions === undefined ? {} : { partitions: o.partitions }),
          ...(o.stderr === undefined ? {} : { stderr: o.stderr }),
          ...(o.metrics === true ? { metrics: {} } : {}),
          ...(o.gateway === true ? { gateway: { port: 0 } } : {}),
          progress: (line) => tc?.events.push(line),
        });
        const ports = [
          cluster.layout.clientPort,
          cluster.layout.nodePort,
          ...cluster.layout.nodes.map((n) => n.port),
        ];
        if (new Set(ports).size !== ports.length) {
          // plan() picked a node port equal to the proxy's node port (it was free then): replan.
          rmSync(dir, { recursive: true, force: true });
          continue;
        }
        tc = new TestCluster(cluster, dir);
        live.add(tc);
        await cluster.start(startMs);
        return tc;
      } catch (e) {
        if (tc !== undefined) await tc.dispose();
        else rmSync(dir, { recursive: true, force: true });
        // A port taken between choosing it and binding it: try once more with fresh ports.
        if (attempt < 2 && /port .* is taken|exited before it was ready/.test(String(e))) continue;
        throw e;
      }
    }
  }

  /** Stops every process of the cluster (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  async stopProcesses(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.cluster.stop();
  }

  /** Stops the processes and removes the data folder. Idempotent. */
  async dispose(): Promise<void> {
    try {
      await this.stopProcesses();
    } finally {
      if (!this.removed) {
        this.removed = true;
        rmSync(this.dir, { recursive: true, force: true });
      }
      live.delete(this);
    }
  }
}

const live = new Set<TestCluster>();

/** For afterEach/afterAll: stops and removes every cluster still running. */
export async function disposeAll(): Promise<void> {
  const all = [...live];
  const results = await Promise.allSettled(all.map((c) => c.dispose()));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
