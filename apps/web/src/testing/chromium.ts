// Debian's chromium for the browser tests (never `playwright install`): where it is, and how it
// runs here — as root, in a container, on a machine with no internet: no sandbox, no GPU, no calls
// home.

import { existsSync } from 'node:fs';

export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const chromiumArgs: string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Throws, saying what to install, when the chromium the tests drive is not there. */
export function requireChromium(): void {
  if (!existsSync(chromiumPath))
    throw new Error(
      `the browser tests need Debian's chromium at ${chromiumPath}: apt-get install -y chromium ` +
        '(or set CHROMIUM_PATH to another Chromium)',
    );
}
