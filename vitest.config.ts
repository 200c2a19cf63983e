import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Two projects: fast in-process tests run in parallel; end-to-end tests (real processes, real
// sockets, real files, a real browser) run one file at a time so they do not starve each other
// on a 2-core machine.
// Tests import the workspaces from their TypeScript sources (the `source` export condition), so a
// test and the code under it share one copy of every module, built or not. Processes the tests
// start (`bin/trolley.js`) run the compiled dist/, which `npm test` rebuilds first.
//
// Timeouts guard against hangs only; none is a budget a test must meet. A test waits for the event
// it means (a line printed, a reply, a page showing a value), so it passes on a loaded machine as
// on an idle one (`npm run test:loaded` checks that); the bounds are generous for the same reason.
// Vitest also hands the server conditions to Node (--conditions) for the packages it does not
// transform, and Node's require honours them: without 'module' (a bundlers' condition that Node
// itself never uses), a CommonJS package resolves as it does in production (prom-client's
// require('@opentelemetry/api') would otherwise load an ESM build that Node cannot run).
const nodeConditions = defaultServerConditions.filter((c) => c !== 'module');

export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...nodeConditions] } },
  test: {
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // expect.poll waits for a value to show; its default (1 s) would be a budget.
    expect: { poll: { timeout: 60_000 } },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'apps/*/src/**/*.test.ts',
            'apps/web/server/**/*.test.ts',
            'bench/*/*.test.ts',
          ],
          exclude: ['**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: [
            'packages/*/src/**/*.e2e.test.ts',
            'apps/*/src/**/*.e2e.test.ts',
            'apps/web/server/**/*.e2e.test.ts',
          ],
          fileParallelism: false,
          testTimeout: 600_000,
        },
      },
    ],
  },
});
