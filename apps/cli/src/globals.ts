// What every `trolley` command shares and what the command line needs before it knows which
// command runs: the global options (--home, --cloud, --json), the home folder, and where the cloud
// is (--cloud, else $TROLLEY_CLOUD, else the home's saved `config set cloud`, else the local
// default). It loads nothing but commander and Node's own modules, so that `trolley --version` and
// `--help` start at once; everything heavier is loaded by the command that uses it.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { TrolleyError } from '@trolley/core/errors';

/** The program-level options, read with `optsWithGlobals()`; defaults are resolved here, not there. */
export interface GlobalOptions {
  home?: string;
  cloud?: string[];
  json?: boolean;
}

/** The cloud a fresh machine talks to: the proxy `npm start` runs. */
export const defaultCloud = 'tcp://127.0.0.1:5555';

/** The database file inside the home folder. */
export const databaseFile = 'trolley.db';
/** The settings file inside the home folder (`trolley config`). */
export const configFile = 'config.json';

/**
 * The shape of a CURVE public key after # in an address: 43 base64url characters (32 bytes). The
 * same rule as splitAddress in @trolley/node's keys.ts, which every command that connects applies
 * again (and `config set` before it saves); repeated here because this file must not load
 * @trolley/core (see the top of the file), and an address is checked before any command loads.
 */
const keyShape = /^[A-Za-z0-9_-]{43}$/;

/**
 * Parses a comma-separated list of endpoints: tcp://host:port, with the server's public key after
 * # for a secure cloud (tcp://host:port#KEY); a commander option parser.
 */
export function endpoints(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new InvalidArgumentError('give at least one endpoint (tcp://host:port#KEY)');
  for (const e of list) {
    const at = e.indexOf('#');
    const endpoint = at < 0 ? e : e.slice(0, at);
    if (!/^tcp:\/\/[^:/\s#]+:\d{1,5}$/.test(endpoint))
      throw new InvalidArgumentError(`not an endpoint (tcp://host:port or tcp://host:port#KEY): ${e}`);
    if (at >= 0 && !keyShape.test(e.slice(at + 1)))
      throw new InvalidArgumentError(
        `the key after # in ${e} is not a CURVE public key (43 characters A–Z a–z 0–9 _ -); ` +
          "copy it whole from the proxy's ready line or its .pub file",
      );
  }
  return list;
}

/**
 * The keys folder the command was given: --keys, else $TROLLEY_KEYS (ignored when blank), with
 * where it came from; undefined when neither is given (each command has its own fallback).
 */
export function keysFolderGiven(option: string | undefined): { dir: string; from: string } | undefined {
  if (option !== undefined) return { dir: option, from: '--keys' };
  const env = process.env['TROLLEY_KEYS'];
  return env !== undefined && env.trim() !== '' ? { dir: env, from: '$TROLLEY_KEYS' } : undefined;
}

/**
 * An address as a person reads it in a status line: the key after # cut to its first 8 characters
 * (enough to tell two keys apart; scripts get the whole address with --json).
 */
export function shownAddress(address: string): string {
  const at = address.indexOf('#');
  return at < 0 ? address : `${address.slice(0, at + 9)}…`;
}

/** Several addresses as a person reads them (shownAddress), comma-separated. */
export function shownAddresses(addresses: readonly string[]): string {
  return addresses.map(shownAddress).join(', ');
}

/**
 * What to tell someone whose cloud does not answer at addresses without a key: a secure proxy
 * refuses a client that does not speak CURVE, so the key may be all that is missing.
 */
export function keyHint(addresses: readonly string[]): string | undefined {
  if (addresses.every((a) => a.includes('#'))) return undefined;
  return (
    "a secure cloud's address ends with its proxy's key, tcp://host:port#KEY, as trolley start, " +
    "trolley cluster and the proxy's ready line print it; save it with trolley config set cloud"
  );
}

const globalNames = ['home', 'cloud', 'json'] as const;

/**
 * Adds --home, --cloud and --json to the program, so that they work before or after any
 * subcommand. Commander lets the program take its own options wherever they appear, which would
 * starve older commands that declare an option of the same name themselves (`trolley cloud
 * --cloud …`, `trolley cluster --json`, `trolley cluster status --cloud … --json`): the hook hands
 * a value given on the command line on to every such command below the one being run. Call it
 * before registering subcommands, so that they inherit the help settings.
 */
export function registerGlobalOptions(program: Command): void {
  program
    .option('--home <dir>', "folder of this device's lists (default: $TROLLEY_HOME, else ~/.trolley)")
    .option(
      '--cloud <endpoints>',
      `cloud proxies, tried in turn (default: $TROLLEY_CLOUD, else \`trolley config set cloud\`, else ${defaultCloud})`,
      endpoints,
    )
    .option('--json', 'print one JSON document on stdout, for scripts')
    .configureHelp({ showGlobalOptions: true })
    .hook('preSubcommand', (_program, sub) => {
      for (const name of globalNames) {
        if (program.getOptionValueSource(name) !== 'cli') continue;
        const value: unknown = program.getOptionValue(name);
        for (const c of withDescendants(sub))
          if (c.options.some((o) => o.attributeName() === name))
            c.setOptionValueWithSource(name, value, 'cli');
      }
    });
}

function withDescendants(command: Command): Command[] {
  return [command, ...command.commands.flatMap(withDescendants)];
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** --home, else $TROLLEY_HOME, else ~/.trolley; absolute. */
export function homeDirOf(o: GlobalOptions): string {
  const env = process.env['TROLLEY_HOME'];
  return resolve(o.home ?? (env !== undefined && env !== '' ? env : join(homedir(), '.trolley')));
}

// ---- Settings saved in the home (`trolley config`) ----

/** The settings `trolley config` knows: each with its parser (which throws on a bad value). */
export const settings = {
  cloud: {
    description: "cloud proxies, tried in turn, each with the proxy's key (tcp://host:port#KEY[,…])",
    parse: (value: string): string => endpoints(value).join(','),
  },
  name: {
    description: 'your name in the history of every list you change (others see "Ana bought 2 × Milk")',
    // Checked against core's rule (deviceName, limits.deviceNameLengthMax) by `config set`.
    parse: (value: string): string => value.trim(),
  },
  aisles: {
    description:
      "the order you walk your shop's aisles in, for list show --by-aisle (e.g. dairy,produce,bakery; the rest follow)",
    // Checked against the built-in aisles (@trolley/client aisles.ts) by `config set`.
    parse: (value: string): string => value.trim(),
  },
} as const;

export type SettingName = keyof typeof settings;

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(settings, name);
}

/**
 * The home's config file as saved: the settings, and what commands keep there beside them (this
 * device's aisles, aisles.ts); {} when there is no file yet. A file we cannot read is an error.
 */
export function readConfig(homeDir: string): Record<string, unknown> {
  const path = join(homeDir, configFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TrolleyError('invalid_argument', `cannot read ${path}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new TrolleyError(
      'invalid_argument',
      `${path} is not a settings file (a JSON object); fix it, or delete it and run trolley config set again`,
    );
  return doc as Record<string, unknown>;
}

/** Saves the whole config file, owner-only, all or nothing (a crash leaves the old file or the new one). */
export function writeConfig(homeDir: string, doc: Record<string, unknown>): void {
  mkdirSync(homeDir, { recursive: true, mode: 0o700 });
  const path = join(homeDir, configFile);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** The home's saved settings; {} when there is no file yet. */
export function readSettings(homeDir: string): Partial<Record<SettingName, string>> {
  const out: Partial<Record<SettingName, string>> = {};
  for (const [name, value] of Object.entries(readConfig(homeDir)))
    if (isSettingName(name) && typeof value === 'string') out[name] = value;
  return out;
}

/** Saves the home's settings (all of them: read, change, write), keeping what else the file holds. */
export function writeSettings(homeDir: string, values: Partial<Record<SettingName, string>>): void {
  const others = Object.entries(readConfig(homeDir)).filter(([name]) => !isSettingName(name));
  writeConfig(homeDir, { ...Object.fromEntries(others), ...values });
}

/**
 * Saves `address`, a cloud this machine runs (`trolley start`, `trolley cluster`), as the cloud of
 * the home `dir`, so that terminal commands reach it with no step from anyone (its address carries
 * the proxy's key, new with every new data folder). A home that names a cloud elsewhere (not on
 * this machine) keeps it. Returns the line that tells the terminal which happened; never throws
 * (the cloud runs all the same: the line then says how to save the address by hand).
 */
export function saveLocalCloud(dir: string, address: string): string {
  const setIt = `npx trolley config set cloud ${address}`;
  try {
    const settings = readSettings(dir);
    const saved = settings.cloud;
    const local = (a: string): boolean => /^tcp:\/\/(127\.[\d.]+|localhost|\[::1\]):/.test(a);
    if (saved !== undefined && saved !== address && !saved.split(',').every(local))
      return `${setIt}   (this home's cloud is ${shownAddresses(saved.split(','))}; this switches it)`;
    if (saved !== address) writeSettings(dir, { ...settings, cloud: address });
    return `npx trolley list ls   (the cloud ${shownAddress(address)} is saved in ${join(dir, configFile)})`;
  } catch (e) {
    return `${setIt}   (not saved: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Where the cloud address in use came from, as `trolley status` says it. */
export type CloudSource = '--cloud' | 'TROLLEY_CLOUD' | 'config' | 'default';

export interface CloudAddress {
  endpoints: string[];
  source: CloudSource;
}

/** The cloud this command talks to: --cloud, else $TROLLEY_CLOUD, else the home's config, else the default. */
export function cloudOf(o: GlobalOptions): CloudAddress {
  if (o.cloud !== undefined) return { endpoints: o.cloud, source: '--cloud' };
  const env = process.env['TROLLEY_CLOUD'];
  if (env !== undefined && env.trim() !== '') {
    try {
      return { endpoints: endpoints(env), source: 'TROLLEY_CLOUD' };
    } catch (error) {
      throw new TrolleyError('invalid_argument', `TROLLEY_CLOUD: ${(error as Error).message}`);
    }
  }
  const saved = readSettings(homeDirOf(o)).cloud;
  if (saved !== undefined) {
    try {
      return { endpoints: endpoints(saved), source: 'config' };
    } catch (error) {
      throw new TrolleyError(
        'invalid_argument',
        `the saved cloud address: ${(error as Error).message} (fix it with trolley config set cloud …)`,
      );
    }
  }
  return { endpoints: [defaultCloud], source: 'default' };
}

/** How `status` names a cloud address's origin. */
export function describeCloudSource(source: CloudSource): string {
  switch (source) {
    case '--cloud':
      return 'from --cloud';
    case 'TROLLEY_CLOUD':
      return 'from $TROLLEY_CLOUD';
    case 'config':
      return 'saved with trolley config set cloud';
    case 'default':
      return 'the default; save another with trolley config set cloud tcp://host:port#KEY';
  }
}
