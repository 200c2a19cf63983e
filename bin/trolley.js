#!/usr/bin/env node
// Entry point for `trolley` (`npx trolley`): the compiled CLI in apps/cli/dist, built by
// `npm install` (prepare) and rebuilt when stale by `npm start` and `npm test` (`tsc -b`).
// Source maps are on, so that a stack trace names the TypeScript line.
process.setSourceMapsEnabled(true);
let cli;
try {
  cli = await import('../apps/cli/dist/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('apps/cli/dist')) throw error;
  process.stderr.write(
    'trolley: the command is not built yet; run `npm run build` (or `npm install`) first\n',
  );
  process.exit(1);
}
const code = await cli.main(process.argv.slice(2));
// Exit at once: a closed ZeroMQ context or a logger must not keep a finished command alive.
process.exit(code);
