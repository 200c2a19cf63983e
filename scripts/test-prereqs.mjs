#!/usr/bin/env node
// The first step of `npm test`: what the tests need from the system, present or installed.
//
// The browser tests drive Debian's chromium (never a downloaded browser); the fault tests need
// nftables and iproute2 (network namespaces and drop rules, as root). When one is missing, this
// installs it with apt-get if it can (root, Debian), saying what it installs; otherwise it stops at
// once with the one command to run. TROLLEY_SKIP_SYSTEM_CHECK=1 skips the check (the fault tests then
// skip themselves where nft or root is missing; the browser tests need chromium).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Each Debian package the tests need, and how to tell it is there. */
const needs = [
  { pkg: 'chromium', present: () => existsSync(chromium), why: 'the browser tests' },
  { pkg: 'nftables', present: () => onPath('nft'), why: 'the partition tests' },
  { pkg: 'iproute2', present: () => onPath('ip'), why: 'the network-namespace tests' },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

if (process.env.TROLLEY_SKIP_SYSTEM_CHECK === '1') process.exit(0);
const missing = needs.filter((n) => !n.present());
if (missing.length === 0) process.exit(0);

const pkgs = missing.map((n) => n.pkg);
const command = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
const isRoot = process.getuid?.() === 0;
if (!isRoot || !onPath('apt-get')) {
  process.stderr.write(
    `npm test needs ${missing.map((n) => `${n.pkg} (${n.why})`).join(', ')}, which this machine lacks.\n` +
      `Install ${missing.length === 1 ? 'it' : 'them'}, then run npm test again:\n\n` +
      `  sudo sh -c '${command}'\n\n` +
      (existsSync(chromium) ? '' : `(or set CHROMIUM_PATH to a chromium binary)\n`),
  );
  process.exit(1);
}
process.stderr.write(`npm test: installing what the tests need from Debian: ${pkgs.join(', ')} (apt-get)…\n`);
try {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
} catch {
  process.stderr.write(`npm test: apt-get failed; run it by hand and try again:\n\n  ${command}\n`);
  process.exit(1);
}
const still = missing.filter((n) => !n.present());
if (still.length > 0) {
  process.stderr.write(`npm test: still missing after apt-get: ${still.map((n) => n.pkg).join(', ')}\n`);
  process.exit(1);
}
process.stderr.write(`npm test: installed ${pkgs.join(', ')}\n`);
