// The installed version of a package, for the benchmark's report (read from its package.json in
// the nearest node_modules above this folder; "?" if it cannot be found).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as {
        version?: unknown;
      };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look further up
    }
    const up = dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}
