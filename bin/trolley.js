#!/usr/bin/env node
// Entry point for `npx trolley`: loads the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../apps/cli/src/main.ts');
const code = await main(process.argv.slice(2));
// Exit at once: a closed ZeroMQ context or a logger must not keep a finished command alive.
process.exit(code);
