// Type-aware lint. The pure packages (core now; client and cloud later) may not reach for I/O,
// wall clocks, randomness or timers: those come in through ports so the simulator can drive them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const purePackages = [
  'packages/core/src/**/*.ts',
  'packages/cloud/src/**/*.ts',
  'packages/client/src/**/*.ts',
  // The simulator too (a virtual clock and a seeded PRNG are its point), except its CLI runner.
  'packages/sim/src/**/*.ts',
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/dist-server/**', 'bin/**', 'artifacts/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: purePackages,
    ignores: ['**/*.test.ts', 'packages/sim/src/cli.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The pure core does no I/O: take a port instead.' },
            {
              group: [
                'fs',
                'path',
                'os',
                'crypto',
                'net',
                'child_process',
                'worker_threads',
                'timers',
                'process',
              ],
              message: 'The pure core does no I/O: take a port instead.',
            },
            {
              group: ['prom-client'],
              message:
                'Metrics live in the process (packages/node): report through an observer port (cloud/src/observer.ts).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'setTimeout',
          'setInterval',
          'setImmediate',
          'clearTimeout',
          'clearInterval',
          'queueMicrotask',
          'process',
          'Buffer',
          'performance',
        ].map((name) => ({
          name,
          message: 'Inject a Clock or a scheduler port; the pure core has no timers or Node globals.',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Inject a Clock.' },
        { object: 'Math', property: 'random', message: 'Inject a Random.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date']", message: 'Inject a Clock.' },
      ],
    },
  },
  {
    // The web app runs in the browser (its tests and the gateway run in Node).
    files: ['apps/web/src/**/*.ts', 'apps/web/src/**/*.tsx'],
    ignores: ['**/*.test.ts', '**/*.test.tsx', 'apps/web/src/testing/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', '@trolley/node'], message: 'The web app runs in the browser.' }] },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
