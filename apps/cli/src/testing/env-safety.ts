// Cleanup for the environment-fault tests (faults-env.e2e.test.ts): what they create outside
// their own process — child processes, tmpfs mounts, network namespaces, veth pairs, a bridge, nft
// tables — must go away even when a test fails or the worker exits early. Every such thing
// registers a synchronous undo here; tests undo in their finally blocks (and deregister), and
// whatever is still registered when the process exits is undone by a process.on('exit') safety net,
// newest first.
//
// Also: running a system command synchronously, with its stderr in the error when it fails.

import { execFileSync, spawnSync } from 'node:child_process';

interface Undo {
  what: string;
  undo: () => void;
}

const registered = new Map<number, Undo>();
let nextId = 1;

/** Runs every undo still registered, newest first; errors are printed, never thrown. */
export function undoAllSync(): void {
  const ids = [...registered.keys()].sort((a, b) => b - a);
  for (const id of ids) {
    const u = registered.get(id);
    registered.delete(id);
    if (u === undefined) continue;
    try {
      u.undo();
    } catch (e) {
      console.error(`cleanup of ${u.what} failed: ${String(e)}`);
    }
  }
}

process.on('exit', undoAllSync);

/**
 * Registers a synchronous undo for something just created. Returns a function that runs it now
 * (once; later calls do nothing) and deregisters it.
 */
export function registerUndo(what: string, undo: () => void): () => void {
  const id = nextId++;
  registered.set(id, { what, undo });
  return () => {
    const u = registered.get(id);
    if (u === undefined) return;
    registered.delete(id);
    u.undo();
  };
}

/** Runs a command; returns its stdout; throws with the command line and its stderr if it fails. */
export function run(command: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      // A guard against a hung command, not a budget (`ip` and `nft` take milliseconds, seconds
      // on a loaded machine).
      timeout: 60_000,
      ...(input === undefined ? {} : { input }),
    });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || String(e)}`);
  }
}

/** Runs a command, ignoring failure; true when it exited 0. */
export function tryRun(command: string, args: readonly string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

/** The path of a command on PATH (also /sbin and /usr/sbin), or undefined. */
export function which(command: string): string | undefined {
  const path = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;
  const r = spawnSync('sh', ['-c', `command -v ${command}`], {
    encoding: 'utf8',
    env: { ...process.env, PATH: path },
  });
  const found = r.stdout.trim();
  return r.status === 0 && found.length > 0 ? found : undefined;
}

export const isRoot = (): boolean => process.getuid?.() === 0;
