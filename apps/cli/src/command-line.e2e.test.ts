// The command line itself, as real `node bin/trolley.js …` processes (no cloud needed): the saved
// cloud address (`trolley config`, with the proxy's key after #) and the order in which addresses
// win; the cluster's keys (`trolley keys`); and a command loading only what it uses, which is what
// lets it answer at once (bench:cli measures how fast).

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aisles } from '@trolley/client';
import { trolleyBin } from './local-cluster.ts';
import { commandOf } from './main.ts';

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'trolley-cli-'));
  homes.push(home);
  return home;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs trolley with `env` on top of a clean environment (no TROLLEY_CLOUD unless given). */
function trolley(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  delete base['TROLLEY_CLOUD'];
  delete base['TROLLEY_HOME'];
  delete base['TROLLEY_KEYS'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [trolleyBin, ...args],
      { env: { ...base, ...env }, timeout: 120_000 }, // a hang guard
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
  });
}

describe('trolley config: the cloud address, saved in the home', () => {
  it('saves, shows and forgets it; --cloud, then TROLLEY_CLOUD, then the saved one, then the default', async () => {
    const home = newHome();
    const h = ['--home', home];
    const saved = 'tcp://10.1.2.3:5555,tcp://10.1.2.4:5555';

    expect((await trolley([...h, 'config', 'get', 'cloud'])).stdout).toBe('tcp://127.0.0.1:5555\n');
    const set = await trolley([...h, 'config', 'set', 'cloud', ' tcp://10.1.2.3:5555 , tcp://10.1.2.4:5555']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`cloud = ${saved}`);
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'))).toEqual({ cloud: saved });

    const get = async (args: string[], env: Record<string, string> = {}): Promise<unknown> =>
      JSON.parse((await trolley([...h, ...args, 'config', 'get', 'cloud', '--json'], env)).stdout);
    expect(await get([])).toEqual({ name: 'cloud', value: saved, source: 'config' });
    expect(await get([], { TROLLEY_CLOUD: 'tcp://127.0.0.1:7000' })).toEqual({
      name: 'cloud',
      value: 'tcp://127.0.0.1:7000',
      source: 'TROLLEY_CLOUD',
    });
    expect(await get(['--cloud', 'tcp://127.0.0.1:7001'], { TROLLEY_CLOUD: 'tcp://127.0.0.1:7000' })).toEqual(
      {
        name: 'cloud',
        value: 'tcp://127.0.0.1:7001',
        source: '--cloud',
      },
    );
    expect((await trolley([...h, 'config', 'list'])).stdout).toBe(
      `cloud = ${saved}  (config)\nname =   (not set: changes show as made by someone unnamed)\n` +
        `aisles = ${aisles.join(',')}  (not set: the order of a typical shop)\n`,
    );

    // A command that syncs uses the saved address: `status` says which one and where it came from.
    const status = await trolley([...h, 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(saved.replace(',', ', '));
    expect(status.stdout).toContain('saved with trolley config set cloud');
    const statusJson = JSON.parse(
      (await trolley([...h, 'status', '--json'], { TROLLEY_CLOUD: 'tcp://127.0.0.1:1' })).stdout,
    ) as {
      cloud: { endpoints: string[]; source: string; reachable: boolean };
    };
    expect(statusJson.cloud).toMatchObject({
      endpoints: ['tcp://127.0.0.1:1'],
      source: 'TROLLEY_CLOUD',
      reachable: false,
    });

    expect((await trolley([...h, 'config', 'unset', 'cloud'])).code).toBe(0);
    expect(await get([])).toEqual({ name: 'cloud', value: 'tcp://127.0.0.1:5555', source: 'default' });
  });

  it('refuses a bad address or an unknown setting with a clear error, exit 2, and saves nothing', async () => {
    const home = newHome();
    const h = ['--home', home];
    const key = 'A'.repeat(43);
    const keyed = `tcp://10.0.0.1:5555#${key},tcp://10.0.0.2:5555#${key}`;
    expect((await trolley([...h, 'config', 'set', 'cloud', keyed])).code).toBe(0);
    expect((await trolley([...h, 'config', 'get', 'cloud'])).stdout).toBe(`${keyed}\n`);
    const before = readFileSync(join(home, 'config.json'), 'utf8');
    for (const bad of [
      'http://example.com',
      'tcp://host',
      'tcp://a:1,nonsense',
      '',
      'tcp://a:1#short',
      `tcp://a:1#${key}!`,
      `tcp://a:1#${'A'.repeat(44)}`,
    ]) {
      const r = await trolley([...h, 'config', 'set', 'cloud', bad]);
      expect(r.code, `config set cloud ${JSON.stringify(bad)}`).toBe(2);
      expect(r.stderr).toMatch(/^trolley: cloud: .*nothing saved\n$/);
    }
    const unknown = await trolley([...h, 'config', 'set', 'colud', 'x']);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: 'trolley: no setting "colud" (known: cloud, name, aisles)\n',
    });
    expect(readFileSync(join(home, 'config.json'), 'utf8')).toBe(before);

    // A bad TROLLEY_CLOUD, or a settings file edited by hand into nonsense, stops a command with the fix.
    const env = await trolley([...h, 'list', 'ls'], { TROLLEY_CLOUD: 'localhost:5555' });
    expect(env).toMatchObject({ code: 2 });
    expect(env.stderr).toContain('TROLLEY_CLOUD: not an endpoint');
    writeFileSync(join(home, 'config.json'), '{"cloud": ');
    const broken = await trolley([...h, 'list', 'ls']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('config.json is not a settings file');
  });
});

describe("trolley keys: the cluster members' keys", () => {
  it('makes a key pair (secret owner-only), lists the keyring, refuses an existing key, a bad name or role', async () => {
    const dir = join(newHome(), 'keys');
    const made = await trolley(['keys', 'new', 'p1', '--role', 'proxy', '--keys', dir]);
    expect(made.code, made.stderr).toBe(0);
    const pub = JSON.parse(readFileSync(join(dir, 'p1.pub'), 'utf8')) as {
      id: string;
      role: string;
      publicKey: string;
    };
    expect(pub).toMatchObject({ id: 'p1', role: 'proxy' });
    expect(made.stdout).toContain(pub.publicKey);
    expect(made.stdout).toContain(`tcp://HOST:5555#${pub.publicKey}`); // what clients save
    expect(statSync(join(dir, 'p1.key')).mode & 0o077).toBe(0);
    expect(statSync(dir).mode & 0o077).toBe(0);
    // $TROLLEY_KEYS names the folder when --keys does not.
    expect((await trolley(['keys', 'new', 'n1', '--role', 'node'], { TROLLEY_KEYS: dir })).code).toBe(0);

    const listed = JSON.parse((await trolley(['--json', 'keys', 'list', '--keys', dir])).stdout) as {
      members: { id: string; role: string; publicKey: string; secret: boolean }[];
    };
    expect(listed.members.map((m) => [m.id, m.role, m.secret])).toEqual([
      ['n1', 'node', true],
      ['p1', 'proxy', true],
    ]);
    expect(listed.members[1]?.publicKey).toBe(pub.publicKey);

    const again = await trolley(['keys', 'new', 'p1', '--role', 'proxy', '--keys', dir]);
    expect(again).toMatchObject({ code: 2 });
    expect(again.stderr).toContain('exists');
    expect(JSON.parse(readFileSync(join(dir, 'p1.pub'), 'utf8'))).toEqual(pub); // untouched
    const badName = await trolley(['keys', 'new', '../x', '--role', 'node', '--keys', dir]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('not a usable key name');
    const badRole = await trolley(['keys', 'new', 'x', '--role', 'admin', '--keys', dir]);
    expect(badRole).toMatchObject({
      code: 2,
      stderr: 'trolley: --role must be node, proxy or operator, not "admin"\n',
    });
    expect(existsSync(join(dir, 'x.key'))).toBe(false);
  });
});

describe('a command loads only what it uses', () => {
  /** The CommonJS packages a run loaded (NODE_DEBUG=module traces every CommonJS load). */
  async function loaded(args: readonly string[], env: Record<string, string> = {}): Promise<Set<string>> {
    const r = await trolley(args, { ...env, NODE_DEBUG: 'module' });
    const names = ['commander', 'better-sqlite3', 'zeromq', 'pino', 'js-md5', 'sirv', 'ws', 'vite'];
    return new Set(names.filter((n) => new RegExp(`node_modules/${n}/`).test(r.stderr)));
  }

  it('--version and --help load commander alone; list ls loads SQLite but not ZeroMQ; sync loads ZeroMQ', async () => {
    const home = newHome();
    expect(await loaded(['--version'])).toEqual(new Set(['commander']));
    expect(await loaded(['--help'])).toEqual(new Set(['commander']));
    const ls = await loaded(['--home', home, 'list', 'ls']);
    expect(ls.has('better-sqlite3')).toBe(true);
    expect(ls.has('zeromq')).toBe(false);
    expect(ls.has('pino')).toBe(false);
    const sync = await loaded(['--home', home, '--cloud', 'tcp://127.0.0.1:1', 'sync', '--timeout', '1']);
    expect(sync.has('zeromq')).toBe(true);
  });

  it('--help still lists every command, and each command has its own help', async () => {
    const help = await trolley(['--help']);
    for (const name of [
      'list',
      'item',
      'sync',
      'status',
      'watch',
      'config',
      'history',
      'undo',
      'cluster',
      'node',
      'proxy',
      'gateway',
      'cloud',
      'keys',
      'start',
    ])
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const list = await trolley(['help', 'list']);
    expect(list.stdout).toContain('create <title>');
    expect((await trolley(['config', '--help'])).stdout).toContain('set <name> <value>');
    const unknown = await trolley(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });

  it('finds the command after global options', () => {
    expect(commandOf(['--home', '/x', '--json', 'list', 'ls'])).toBe('list');
    expect(commandOf(['--cloud', 'tcp://a:1', 'item', 'add'])).toBe('item');
    expect(commandOf(['help', 'sync'])).toBe('sync');
    expect(commandOf(['--version'])).toBeUndefined();
    expect(commandOf([])).toBeUndefined();
  });
});

describe('finding your way in the terminal', () => {
  /** The subcommands a command's own help lists. */
  function subcommands(help: string): string[] {
    const section = help.split(/^Commands:$/m)[1] ?? '';
    return [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
  }

  it('trolley --help names every subcommand of list and item; start --help names its variables', async () => {
    const help = (await trolley(['--help'])).stdout;
    for (const command of ['list', 'item']) {
      const own = subcommands((await trolley(['help', command])).stdout);
      expect(own.length).toBeGreaterThan(5);
      // Its entry, with the lines commander wraps it onto.
      const line = new RegExp(`^  ${command} .*(\\n {10,}.*)*`, 'm').exec(help)?.[0] ?? '';
      for (const sub of own) expect(line, `${command} ${sub}`).toMatch(new RegExp(`\\b${sub}\\b`));
    }
    const start = (await trolley(['start', '--help'])).stdout;
    expect(start).toContain('$TROLLEY_DATA');
    expect(start).toContain('$TROLLEY_PUBLIC_URL');
  });

  it('a mistyped command or list title gets a "did you mean"', async () => {
    const typo = await trolley(['lsit']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('(Did you mean list?)');
    const sub = await trolley(['list', 'shwo']);
    expect(sub.stderr).toMatch(/Did you mean show\?/);
    const home = newHome();
    const h = ['--home', home, '--cloud', 'tcp://127.0.0.1:9'];
    expect((await trolley([...h, 'list', 'create', 'Groceries'])).code).toBe(0);
    const title = await trolley([...h, 'list', 'show', 'Grocerys']);
    expect(title.code).toBe(3);
    expect(title.stderr).toContain('did you mean "Groceries"?');
  });

  it('two lists with one title are told apart, and list show says how old its view is', async () => {
    const home = newHome();
    const h = ['--home', home, '--cloud', 'tcp://127.0.0.1:9']; // nothing listens there
    const first = (await trolley([...h, 'list', 'create', 'Groceries'])).stdout.trim();
    const second = (await trolley([...h, 'list', 'create', 'Groceries'])).stdout.trim();
    await trolley([...h, 'item', 'add', first, 'Milk']);
    const both = await trolley([...h, 'list', 'show', 'Groceries']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(`${first.slice(0, 8)} "Groceries" (1 item)`);
    expect(both.stderr).toContain(`${second.slice(0, 8)} "Groceries" (0 items)`);
    const shown = await trolley([...h, 'list', 'show', first.slice(0, 8)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('never synced with the cloud');
    const json = JSON.parse((await trolley([...h, '--json', 'list', 'show', first])).stdout) as {
      refreshed: boolean;
      lastSyncMs: number;
    };
    expect(json).toMatchObject({ refreshed: false, lastSyncMs: 0 });
  });

  it('item add reads "2 bananas" as two, and says when an item is already there instead of renaming it', async () => {
    const home = newHome();
    const h = ['--home', home, '--cloud', 'tcp://127.0.0.1:9'];
    const id = (await trolley([...h, 'list', 'create', 'Week'])).stdout.trim();
    expect((await trolley([...h, 'item', 'add', id, '2 bananas'])).stdout).toContain('Added 2 × bananas');
    const again = await trolley([...h, 'item', 'add', id, 'Bananas x3']);
    expect(again.stdout).toContain('bananas is already on the list: 3 more wanted — now bought 0 of 5');
    const shown = JSON.parse(
      (await trolley([...h, '--json', 'list', 'show', id, '--no-refresh'])).stdout,
    ) as {
      items: { name: string; wanted: number }[];
    };
    expect(shown.items).toEqual([expect.objectContaining({ name: 'bananas', wanted: 5 })]);
  });
});

describe('aisles and history in the terminal', () => {
  it('item aisle moves an item on this device; list show --by-aisle walks the shop in the order config set aisles gives', async () => {
    const home = newHome();
    const h = ['--home', home, '--cloud', 'tcp://127.0.0.1:9']; // nothing listens there
    const id = (await trolley([...h, 'list', 'create', 'Week'])).stdout.trim();
    for (const name of ['2 bananas', 'Milk', 'Bread', 'Tea', 'Widgets', 'oat milk'])
      expect((await trolley([...h, 'item', 'add', id, name])).code).toBe(0);
    expect((await trolley([...h, 'item', 'check', id, 'bread'])).code).toBe(0);
    const show = async (): Promise<string[]> =>
      (await trolley([...h, 'list', 'show', id, '--by-aisle', '--no-refresh'])).stdout
        .split('\n')
        .filter((l) => /^ {2}\S/.test(l) || /^ {4}\[/.test(l))
        .slice(3)
        .map((l) => l.trim().replace(/ {2,}.*$/, ''));

    // Guessed from the names, in the usual order; what is done comes last.
    expect(await show()).toEqual([
      'Fruit & vegetables (produce)',
      '[ ] bananas',
      'Dairy & eggs (dairy)',
      '[ ] Milk',
      '[ ] oat milk',
      'Cupboard (pantry)',
      '[ ] Tea',
      'Other (other)',
      '[ ] Widgets',
      'Done',
      '[x] Bread',
    ]);

    // A mistyped aisle or item: a clear error, a "did you mean", exit 2 or 3, and nothing saved.
    const typo = await trolley([...h, 'item', 'aisle', id, 'Widgets', 'houshold']);
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringContaining('did you mean household?')]);
    const noItem = await trolley([...h, 'item', 'aisle', id, 'widgetz', 'household']);
    expect([noItem.code, noItem.stderr]).toEqual([3, expect.stringContaining('did you mean "Widgets"?')]);
    const badOrder = await trolley([...h, 'config', 'set', 'aisles', 'dairy,dary']);
    expect([badOrder.code, badOrder.stderr]).toEqual([2, expect.stringContaining('did you mean dairy?')]);
    expect(existsSync(join(home, 'config.json'))).toBe(false);

    const moved = await trolley([...h, 'item', 'aisle', id, 'widgets', 'Household']);
    expect(moved.stdout).toBe('Widgets is in Household (household) on this device\n');
    expect((await trolley([...h, 'item', 'aisle', id, 'MILK', 'drinks'])).code).toBe(0);
    expect((await trolley([...h, 'config', 'set', 'aisles', 'drinks, household dairy'])).code).toBe(0);
    // Saving the name later keeps the aisles (one config file holds both).
    expect((await trolley([...h, 'config', 'set', 'name', 'Ana'])).code).toBe(0);
    expect(await show()).toEqual([
      'Drinks (drinks)',
      '[ ] Milk',
      'Household (household)',
      '[ ] Widgets',
      'Dairy & eggs (dairy)',
      '[ ] oat milk',
      'Fruit & vegetables (produce)',
      '[ ] bananas',
      'Cupboard (pantry)',
      '[ ] Tea',
      'Done',
      '[x] Bread',
    ]);
    const json = JSON.parse(
      (await trolley([...h, '--json', 'list', 'show', id, '--by-aisle', '--no-refresh'])).stdout,
    ) as { byAisle: { aisle: string; items: string[] }[]; done: string[] };
    expect(json.byAisle[0]).toEqual({ aisle: 'drinks', items: ['Milk'] });
    expect(json.done).toEqual(['Bread']);

    // Per device: another home sharing nothing of this one's config guesses again.
    const other = ['--home', newHome(), '--cloud', 'tcp://127.0.0.1:9'];
    const otherId = (await trolley([...other, 'list', 'create', 'Week'])).stdout.trim();
    await trolley([...other, 'item', 'add', otherId, 'Milk']);
    expect(
      (await trolley([...other, 'list', 'show', otherId, '--by-aisle', '--no-refresh'])).stdout,
    ).toContain('Dairy & eggs (dairy)');
    // Back to the usual order once forgotten; the chosen aisles stay.
    expect((await trolley([...h, 'config', 'unset', 'aisles'])).code).toBe(0);
    expect((await show()).slice(0, 2)).toEqual(['Fruit & vegetables (produce)', '[ ] bananas']);
    expect(await show()).toContain('Drinks (drinks)');
  });

  it('a new list’s history says who created it', async () => {
    const home = newHome();
    const h = ['--home', home, '--cloud', 'tcp://127.0.0.1:9'];
    expect((await trolley([...h, 'config', 'set', 'name', 'Ana'])).code).toBe(0);
    const id = (await trolley([...h, 'list', 'create', 'Saturday'])).stdout.trim();
    const told = (await trolley([...h, 'history', id])).stdout.split('\n');
    expect(told[0]).toBe('History of "Saturday", newest first:');
    expect(told[1]).toMatch(/^ {2}Ana \(this device\) created the list · \d\d:\d\d$/);
    const json = JSON.parse((await trolley([...h, '--json', 'history', id])).stdout) as {
      history: { who: string; kind: string; name: string; mine: boolean }[];
    };
    expect(json.history).toEqual([
      expect.objectContaining({ who: 'Ana', kind: 'create', name: 'Saturday', mine: true }),
    ]);
    // Creating is not a change undo takes back.
    const undo = await trolley([...h, 'undo', id]);
    expect([undo.code, undo.stderr.trim()]).toEqual([
      3,
      'trolley: nothing this device did to this list is left to undo',
    ]);
  });
});

describe('trolley gateway: direct unless told not to', () => {
  /** Starts a gateway (on a cloud that is not there: it starts all the same), reads its ready line, stops it. */
  async function readyLine(flags: readonly string[]): Promise<{ direct: unknown }> {
    const child = spawn(
      process.execPath,
      [trolleyBin, 'gateway', '--port', '0', '--cloud', 'tcp://127.0.0.1:1', ...flags],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      let out = '';
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const ready = /^ready (.*)$/m.exec(out)?.[1];
          if (ready !== undefined) resolve(ready);
        });
        child.once('exit', (code) =>
          reject(new Error(`the gateway exited (${code}) before it was ready: ${out}`)),
        );
      });
      return JSON.parse(line) as { direct: unknown };
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('serves lists at their fronts by default and with --direct, through the proxies with --no-direct', async () => {
    expect((await readyLine([])).direct).toBe(true);
    expect((await readyLine(['--direct'])).direct).toBe(true);
    expect((await readyLine(['--no-direct'])).direct).toBe(false);
  });
});
