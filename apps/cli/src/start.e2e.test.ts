// `trolley start` (what `npm start` runs) as a person uses it: it prints the address to open, the
// address serves the web app and its sync socket, a terminal client reaches the same cloud through
// the address start saved in its home (with the proxy's key: the cloud is secure from the first
// start, its keys owner-only), Ctrl-C stops every process it started, and the next start finds the
// same lists.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, portFree, trolleyBin } from './local-cluster.ts';
import { freePortPair } from './testing/test-cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'trolley-start-'));
/**
 * Hang guards, never budgets: a start that may build the web app and starts four processes, and a
 * stop that waits for them, on a loaded machine; `trolley sync` retries until a round goes cleanly.
 */
const startGuardMs = 300_000;
const stopGuardMs = 120_000;
const syncGuardS = 240;
const started = new Set<ChildProcess>();

afterAll(() => {
  for (const child of started) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `trolley start` and waits for the line with the address. */
async function start(env: NodeJS.ProcessEnv, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [trolleyBin, 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TROLLEY_LOG: 'error', ...env },
  });
  started.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no address printed in ${startGuardMs / 1000} s (hang guard):\n${out}`)),
      startGuardMs,
    );
    // The address to open, or with --json the ready line (a JSON object on a line of its own).
    const json = args.includes('--json');
    const check = (): void => {
      const m = json ? /^(\{"ready":true.*\})$/m.exec(out) : /Open (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(json ? (JSON.parse(m[1]) as { url: string }).url : m[1]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', () => reject(new Error(`trolley start exited:\n${out}`)));
  });
  return { child, url, output: () => out };
}

async function interrupt(r: Running): Promise<number | null> {
  let guard: NodeJS.Timeout | undefined;
  const exited = new Promise<number | null>((resolve, reject) => {
    r.child.once('exit', (code) => resolve(code));
    guard = setTimeout(
      () =>
        reject(new Error(`trolley start still running ${stopGuardMs / 1000} s after Ctrl-C:\n${r.output()}`)),
      stopGuardMs,
    );
  });
  r.child.kill('SIGINT');
  try {
    const code = await exited;
    started.delete(r.child);
    return code;
  } finally {
    clearTimeout(guard);
  }
}

/** Processes whose command line names this data folder (the nodes) or these ports. */
async function leftovers(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((line) => line.includes(dir));
}

describe('trolley start', () => {
  it('serves the app, shares one cloud with the terminal, stops cleanly and keeps the data', async () => {
    const data = join(dir, 'data');
    const webPort = await freePort();
    const proxyPort = await freePortPair();
    const home = join(dir, 'home');
    const env = { TROLLEY_DATA: data, PORT: String(webPort), TROLLEY_HOME: home };
    const args = ['--proxy-port', String(proxyPort)];
    const first = await start(env, args);
    expect(first.url).toBe(`http://127.0.0.1:${webPort}/`);

    const page = await fetch(first.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expect(((await (await fetch(new URL('healthz', first.url))).json()) as { ok: boolean }).ok).toBe(true);
    const manifest = await fetch(new URL('manifest.webmanifest', first.url));
    expect(manifest.status).toBe(200);

    // The cloud's address, with the proxy's key, saved as the home's cloud; the keys owner-only.
    const saved = (JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { cloud: string }).cloud;
    expect(saved).toMatch(new RegExp(`^tcp://127\\.0\\.0\\.1:${proxyPort}#[A-Za-z0-9_-]{43}$`));
    expect(first.output()).toContain(`saved in ${join(home, 'config.json')}`);
    expect(statSync(join(data, 'keys')).mode & 0o077).toBe(0);
    expect(statSync(join(data, 'keys', 'proxy.key')).mode & 0o077).toBe(0);
    const { TROLLEY_CLOUD: _cloud, ...inherited } = process.env;
    const cli = (...a: string[]) =>
      promisify(execFile)(process.execPath, [trolleyBin, '--home', home, ...a], {
        env: { ...inherited, TROLLEY_LOG: 'error' },
      });
    const id = (await cli('list', 'create', 'Kept')).stdout.trim();
    await cli('item', 'add', id, 'Milk', '2');
    // Exit 0: nothing waits on this device (execFile rejects otherwise). `sync` retries until a
    // round goes cleanly; its default 10 s would be a budget for a cloud that has just started.
    await cli('sync', '--timeout', String(syncGuardS));

    expect(await interrupt(first)).toBe(0);
    expect(await leftovers()).toEqual([]);

    // The next start: same data (the terminal client's copy is forgotten first, so the list can
    // only come from the cloud's storage).
    const second = await start(env, args);
    await cli('list', 'forget', id);
    await cli('list', 'join', id);
    // Nothing waits on this device after a join, so exit 0 alone does not say the pull was answered;
    // the last round's failures do (empty once a round went cleanly).
    const synced = JSON.parse((await cli('sync', '--timeout', String(syncGuardS), '--json')).stdout) as {
      failures: unknown[];
    };
    expect(synced.failures, `the cloud still failed the pull after ${syncGuardS} s (hang guard)`).toEqual([]);
    const shown = JSON.parse((await cli('list', 'show', id, '--json')).stdout) as {
      title: string;
      items: { key: string; wanted: number }[];
    };
    expect(shown.title).toBe('Kept');
    expect(shown.items.map((i) => [i.key, i.wanted])).toEqual([['milk', 2]]);
    expect(second.output()).not.toContain('building the web app'); // nothing changed: no rebuild
    expect(await interrupt(second)).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it('with --metrics-port and --json, lists the metrics of every process on the next ports in its ready line', async () => {
    let first = 0;
    for (let attempt = 0; first === 0 && attempt < 100; attempt++) {
      const p = await freePort();
      const next = await Promise.all([1, 2, 3, 4].map((i) => portFree(p + i)));
      if (next.every(Boolean)) first = p;
    }
    const data = join(dir, 'metrics-data');
    const env = {
      TROLLEY_DATA: data,
      PORT: String(await freePort()),
      TROLLEY_HOME: join(dir, 'metrics-home'),
    };
    const r = await start(env, [
      '--proxy-port',
      String(await freePortPair()),
      '--metrics-port',
      `${first}`,
      '--json',
    ]);
    try {
      const line = /^(\{"ready":true.*\})$/m.exec(r.output())?.[1] ?? '';
      const ready = JSON.parse(line) as { cloud: string; metrics: { name: string; url: string }[] };
      expect(ready.cloud).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+#/);
      expect(ready.metrics.map((m) => [m.name, m.url])).toEqual(
        ['proxy', 'n1', 'n2', 'n3', 'gateway'].map((name, i) => [
          name,
          `http://127.0.0.1:${first + i}/metrics`,
        ]),
      );
      const gateway = await (await fetch(ready.metrics[4]?.url ?? '')).text();
      expect(gateway).toContain('trolley_gateway_info{gateway="trolley gateway"} 1');
    } finally {
      expect(await interrupt(r)).toBe(0);
    }
    expect(await leftovers()).toEqual([]);
  });
});
