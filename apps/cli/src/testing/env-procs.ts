// One `trolley proxy` or `trolley node` process started by a test, optionally under a command
// prefix (`ip netns exec NAME`, which execs, so the child's PID is the trolley process itself).
// start() resolves on the process's "ready" line (its timeout only guards against a hang: a start
// on a loaded 2-core machine may take many seconds); stop() sends SIGTERM, then SIGKILL after 5 s.
// Every running process is registered with the exit safety net (env-safety.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { trolleyBin } from '../local-cluster.ts';
import { registerUndo } from './env-safety.ts';

export interface TrolleyProcessOptions {
  /** A command to run trolley under, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  prefix?: readonly string[];
  timeoutMs?: number;
  /** Its working folder (relative paths in its arguments are read from there). */
  cwd?: string;
  /** Its environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export class TrolleyProcess {
  /** How the process ended ("SIGKILL", "code 0"), once it has. */
  exit: string | undefined;
  private readonly exited: Promise<void>;
  private readonly undo: () => void;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = signal ?? `code ${code}`;
        resolve();
      }),
    );
    this.undo = registerUndo(`process ${name}`, () => {
      if (this.running) child.kill('SIGKILL');
    });
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(
    name: string,
    args: readonly string[],
    o: TrolleyProcessOptions = {},
  ): Promise<TrolleyProcess> {
    const argv = [...(o.prefix ?? []), process.execPath, trolleyBin, ...args];
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      ...(o.env === undefined ? {} : { env: o.env }),
    });
    const p = new TrolleyProcess(name, child);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} did not print "ready" in time`)),
          o.timeoutMs ?? 120_000,
        );
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          if (!line.startsWith('ready')) return;
          clearTimeout(timer);
          resolve();
        });
        child.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready`));
        });
      });
      return p;
    } catch (e) {
      await p.stop();
      throw e;
    }
  }

  /** SIGTERM (after SIGCONT), SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    if (this.running) {
      const force = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.kill('SIGCONT');
      this.child.kill('SIGTERM');
      await this.exited;
      clearTimeout(force);
    }
    this.undo();
  }
}
