// A LocalCluster for the environment-fault tests: its own folder under the OS temporary directory,
// free ports, optionally several proxies, and (as root) tmpfs mounts inside the folder — a node's
// data folder on a tiny filesystem, to fill it up. Plan first, mount, then start. dispose() stops
// the processes, unmounts, and removes the folder; a process-exit safety net (env-safety.ts) does
// the same synchronously (SIGKILL, lazy unmount, rm -rf) if a test never got that far.

import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Quorum } from '@trolley/cloud';
import { LocalCluster, freePort } from '../local-cluster.ts';
import { registerUndo, run, tryRun } from './env-safety.ts';

/**
 * How long the processes may take to start and see each other (cluster.start, startProxy,
 * startNode): a guard against a hang, not a budget, on a loaded 2-core machine.
 */
export const startMs = 240_000;

export interface EnvClusterOptions {
  nodes: number;
  quorum: Quorum;
  proxies?: number;
  partitions?: number;
}

/** A tmpfs mounted by a test, with a junk file to fill it. */
export class Tmpfs {
  private readonly junk: string;
  private junkFiles = 0;

  constructor(
    readonly path: string,
    readonly size: string,
  ) {
    this.junk = join(path, 'junk');
  }

  /** Bytes an unprivileged writer may still use. */
  available(): number {
    const s = statfsSync(this.path);
    return s.bavail * s.bsize;
  }

  /** Writes junk until the filesystem refuses with ENOSPC; returns the bytes written. */
  fill(): number {
    const file = `${this.junk}-${this.junkFiles++}`;
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    let written = 0;
    try {
      for (;;) {
        try {
          const n = writeSync(fd, chunk);
          written += n;
        } catch (e) {
          if ((e as { code?: string }).code === 'ENOSPC') return written;
          throw e;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Deletes every junk file: the space is free again at once. */
  free(): void {
    for (let i = 0; i < this.junkFiles; i++) rmSync(`${this.junk}-${i}`, { force: true });
  }
}

export class EnvCluster {
  /** Progress lines from the launcher, among them "<name> exited (…)" for every process that died. */
  readonly events: string[] = [];
  private readonly mounts: Tmpfs[] = [];
  private readonly undo: () => void;
  private disposed = false;

  private constructor(
    readonly cluster: LocalCluster,
    readonly dir: string,
  ) {
    // If the test never reaches dispose(): kill what runs, lazily unmount, remove the folder.
    this.undo = registerUndo(`cluster in ${dir}`, () => {
      for (let i = 0; i < cluster.proxyCount; i++) killPid(cluster.proxyPid(i));
      for (let i = 0; i < cluster.nodeCount; i++) killPid(cluster.nodePid(i));
      for (const m of this.mounts.reverse()) tryRun('umount', ['-l', m.path]);
      rmSync(dir, { recursive: true, force: true });
    });
  }

  /** Plans a cluster in a fresh temporary folder; nothing runs yet. */
  static async plan(o: EnvClusterOptions): Promise<EnvCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'trolley-env-'));
    let env: EnvCluster | undefined;
    try {
      const cluster = await LocalCluster.plan({
        nodes: o.nodes,
        dataDir: dir,
        quorum: o.quorum,
        proxyPort: await freeClientPort(),
        ...(o.proxies === undefined ? {} : { proxies: o.proxies }),
        ...(o.partitions === undefined ? {} : { partitions: o.partitions }),
        progress: (line) => env?.events.push(line),
      });
      env = new EnvCluster(cluster, dir);
      return env;
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Plans and starts. */
  static async start(o: EnvClusterOptions): Promise<EnvCluster> {
    const env = await EnvCluster.plan(o);
    try {
      await env.cluster.start(startMs);
      return env;
    } catch (e) {
      await env.dispose();
      throw e;
    }
  }

  get nodeIds(): string[] {
    return this.cluster.layout.nodes.map((n) => n.id);
  }

  dataDir(i: number): string {
    const id = this.nodeIds[i];
    if (id === undefined) throw new Error(`no node ${i}`);
    return join(this.dir, id);
  }

  databasePath(i: number): string {
    return join(this.dataDir(i), `${this.nodeIds[i]}.db`);
  }

  /** Mounts a tmpfs of `size` (mount's syntax: 8m) on node i's data folder. Root only; before start. */
  mountTmpfs(i: number, size: string): Tmpfs {
    const path = this.dataDir(i);
    mkdirSync(path, { recursive: true });
    run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'trolley-test', path]);
    const m = new Tmpfs(path, size);
    this.mounts.push(m);
    return m;
  }

  /** Processes that exited while the test ran (kills included). */
  exits(): string[] {
    return this.events.filter((e) => / exited /.test(e));
  }

  /** PRAGMA integrity_check of node i's SQLite file, opened read-only; stop the processes first. */
  integrity(i: number): string {
    const db = new Database(this.databasePath(i), { readonly: true, fileMustExist: true });
    try {
      return String(db.pragma('integrity_check', { simple: true }));
    } finally {
      db.close();
    }
  }

  /** Stops every process (SIGTERM, SIGKILL after 5 s). */
  async stopProcesses(): Promise<void> {
    await this.cluster.stop();
  }

  /** Stops the processes, unmounts, removes the folder. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.stopProcesses();
    } finally {
      for (const m of this.mounts.splice(0).reverse()) {
        if (!tryRun('umount', [m.path])) tryRun('umount', ['-l', m.path]);
      }
      this.undo();
    }
  }
}

function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A free client port whose successor (the node port) is free too. */
async function freeClientPort(): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await free(port + 1))) return port;
  }
  throw new Error('no free pair of adjacent ports on 127.0.0.1');
}
