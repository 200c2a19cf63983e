// Finds a system's module (./<name>.ts exporting `system: LiveSystem`). A missing module (the
// trolley slot, until it is filled) is "not available", not an error.

import { existsSync } from 'node:fs';
import { SYSTEM_NAMES, type LiveSystem, type SystemName } from './types.ts';

export function isSystemName(s: string): s is SystemName {
  return (SYSTEM_NAMES as readonly string[]).includes(s);
}

export function systemModuleUrl(name: SystemName): URL {
  return new URL(`./${name}.ts`, import.meta.url);
}

export function systemAvailable(name: SystemName): boolean {
  return existsSync(systemModuleUrl(name));
}

export async function loadSystem(name: SystemName): Promise<LiveSystem> {
  const url = systemModuleUrl(name);
  if (!existsSync(url)) throw new Error(`system ${name} is not available (${url.pathname} is missing)`);
  const mod = (await import(url.href)) as { system?: LiveSystem };
  const { system } = mod;
  if (
    system === undefined ||
    typeof system.startServer !== 'function' ||
    typeof system.createClient !== 'function' ||
    typeof system.describe !== 'function'
  ) {
    throw new Error(`${url.pathname} does not export \`system: LiveSystem\``);
  }
  if (system.name !== name)
    throw new Error(`${url.pathname} exports system ${system.name}, expected ${name}`);
  return system;
}
