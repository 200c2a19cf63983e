// `trolley config …`: settings saved in the home folder (DIR/config.json), so that the cloud's
// address is typed once: `trolley config set cloud tcp://host:5555#KEY` (the proxy's public key
// after #, as its ready line prints the address). --cloud and $TROLLEY_CLOUD still override it for
// one command; `trolley status` says which one is in use. Also kept here: your name in history, and
// the order of your shop's aisles (`list show --by-aisle`).

import { join } from 'node:path';
import type { Command } from 'commander';
import { deviceName, limits } from '@trolley/core';
import { TrolleyError } from '@trolley/core/errors';
import {
  cloudOf,
  configFile,
  globalsOf,
  homeDirOf,
  isSettingName,
  readSettings,
  settings,
  writeSettings,
  type GlobalOptions,
  type SettingName,
} from '../globals.ts';
import { aisles } from '@trolley/client';
import { parseAisleOrder } from '../aisles.ts';
import { summaries } from './summaries.ts';

function settingName(name: string): SettingName {
  if (!isSettingName(name))
    throw new TrolleyError(
      'invalid_argument',
      `no setting ${JSON.stringify(name)} (known: ${Object.keys(settings).join(', ')})`,
    );
  return name;
}

function parsed(name: SettingName, value: string): string {
  if (name === 'name' && (deviceName(value) !== value.trim() || value.trim() === ''))
    throw new TrolleyError(
      'invalid_argument',
      `name: 1 to ${limits.deviceNameLengthMax} characters, no control characters; nothing saved`,
    );
  try {
    // The cloud's parser (globals.ts endpoints) checks each address and the key after its #; the
    // aisles are checked against the built-in ones.
    return name === 'aisles' ? parseAisleOrder(value) : settings[name].parse(value);
  } catch (error) {
    throw new TrolleyError('invalid_argument', `${name}: ${(error as Error).message}; nothing saved`);
  }
}

/** One setting's value in effect and where it comes from. */
function effective(
  name: SettingName,
  o: GlobalOptions,
): { name: SettingName; value: string; source: string } {
  switch (name) {
    case 'cloud': {
      const cloud = cloudOf(o);
      return { name, value: cloud.endpoints.join(','), source: cloud.source };
    }
    case 'name':
    case 'aisles': {
      const saved = readSettings(homeDirOf(o))[name];
      if (saved !== undefined)
        return { name, value: saved, source: `saved in ${join(homeDirOf(o), configFile)}` };
      return name === 'name'
        ? { name, value: '', source: 'not set: changes show as made by someone unnamed' }
        : { name, value: aisles.join(','), source: 'not set: the order of a typical shop' };
    }
  }
}

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description(summaries.config)
    .addHelpText(
      'after',
      `\nSettings:\n${Object.entries(settings)
        .map(([name, s]) => `  ${name}  ${s.description}`)
        .join(
          '\n',
        )}\n\nExample: trolley config set cloud tcp://192.168.1.20:5555#KEY  (KEY: the proxy's public key, ` +
        'as its ready line prints the address)',
    );

  config
    .command('set <name> <value>')
    .description('save a setting in this home')
    .action((name: string, value: string, _o: unknown, command: Command) => {
      const key = settingName(name);
      const clean = parsed(key, value);
      const o = globalsOf(command);
      const dir = homeDirOf(o);
      writeSettings(dir, { ...readSettings(dir), [key]: clean });
      if (o.json === true)
        process.stdout.write(`${JSON.stringify({ name: key, value: clean, saved: true })}\n`);
      else process.stdout.write(`Saved: ${key} = ${clean} (in ${join(dir, configFile)})\n`);
    });

  config
    .command('unset <name>')
    .description('forget a saved setting (the default applies again)')
    .action((name: string, _o: unknown, command: Command) => {
      const key = settingName(name);
      const o = globalsOf(command);
      const dir = homeDirOf(o);
      const { [key]: _gone, ...rest } = readSettings(dir);
      writeSettings(dir, rest);
      if (o.json === true) process.stdout.write(`${JSON.stringify({ name: key, saved: false })}\n`);
      else {
        const now = effective(key, o);
        process.stdout.write(`Forgot ${key}; now ${now.value} (${now.source})\n`);
      }
    });

  config
    .command('get <name>')
    .description('the value in effect (saved, or from --cloud / $TROLLEY_CLOUD, or the default)')
    .action((name: string, _o: unknown, command: Command) => {
      const o = globalsOf(command);
      const e = effective(settingName(name), o);
      process.stdout.write(o.json === true ? `${JSON.stringify(e)}\n` : `${e.value}\n`);
    });

  config
    .command('list')
    .description('every setting, its value in effect and where it comes from')
    .action((_o: unknown, command: Command) => {
      const o = globalsOf(command);
      const all = Object.keys(settings).map((name) => effective(settingName(name), o));
      if (o.json === true) process.stdout.write(`${JSON.stringify({ settings: all })}\n`);
      else for (const e of all) process.stdout.write(`${e.name} = ${e.value}  (${e.source})\n`);
    });
}
