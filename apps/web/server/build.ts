// Builds the web app when its sources changed since the last build (`npm start`, the browser
// tests). The fingerprint is every source file's path, size and modification time — the app's own
// and the shared packages the bundle includes — kept beside the build in dist/.trolley-build.json.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = fileURLToPath(new URL('..', import.meta.url));
export const webDist = join(webDir, 'dist');
const repoRoot = join(webDir, '..', '..');
const stampFile = join(webDist, '.trolley-build.json');

/** What the bundle is made of. */
const sources = [
  join(webDir, 'index.html'),
  join(webDir, 'operator.html'),
  join(webDir, 'vite.config.ts'),
  join(webDir, 'package.json'),
  join(webDir, 'src'),
  join(webDir, 'public'),
  join(repoRoot, 'packages', 'core', 'src'),
  join(repoRoot, 'packages', 'client', 'src'),
];

function* files(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path).sort()) {
    if (entry === 'node_modules' || entry.endsWith('.test.ts')) continue;
    yield* files(join(path, entry));
  }
}

/** A digest of the sources' paths, sizes and modification times. */
export function sourceFingerprint(): string {
  const hash = createHash('sha256');
  for (const root of sources)
    for (const file of files(root)) {
      const s = statSync(file);
      hash.update(`${relative(repoRoot, file)}\0${s.size}\0${s.mtimeMs}\n`);
    }
  return hash.digest('hex');
}

function builtFingerprint(): string | undefined {
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { fingerprint?: unknown };
    return typeof stamp.fingerprint === 'string' && existsSync(join(webDist, 'index.html'))
      ? stamp.fingerprint
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds apps/web/dist unless it is up to date; returns whether it built. Progress goes to
 * `progress` (one line before, one after).
 */
export async function ensureWebBuild(progress: (line: string) => void = () => undefined): Promise<boolean> {
  const fingerprint = sourceFingerprint();
  if (builtFingerprint() === fingerprint) return false;
  progress('building the web app (vite build)…');
  const started = Date.now();
  const { build } = await import('vite');
  await build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(stampFile, `${JSON.stringify({ fingerprint, builtAt: new Date().toISOString() })}\n`);
  progress(`web app built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}
