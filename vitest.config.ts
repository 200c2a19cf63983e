import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Two projects: fast in-process tests run in parallel; end-to-end tests (real processes, real
// sockets, real files, a real browser) run one file at a time so they do not starve each other
// on a 2-core machine.
// Tests import the workspaces from their TypeScript sources (the `source` export condition), so a
// test and the code under it share one copy of every module, built or not. Processes the tests
// start (`bin/trolley.js`) run the compiled dist/, which `npm test` rebuilds first.
export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/web/server/**/*.test.ts'],
          exclude: ['**/*.e2e.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
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
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
