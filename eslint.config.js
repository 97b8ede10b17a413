// ESLint flat config: typescript-eslint's recommended rules plus the type-aware rules that catch
// the bugs a server cannot afford (a promise nobody awaits loses its error and can crash the process
// on an unhandled rejection; a promise passed where a callback's result is ignored does the same).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', '.tsbuildinfo/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }],
      }],
      // An async function where a callback's result is ignored (an event listener, forEach) rejects
      // into the void; Fastify hooks and handlers are typed to accept promises, so they pass.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Not enabled: interface implementations (GrantHandler.handle, repository methods) are async by
      // contract even when one of them has nothing to await; the rule would force sync bodies that
      // throw instead of rejecting, which changes behaviour for callers.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_',
        ignoreRestSiblings: true,
      }],
    },
  },
  {
    // The browser apps (web/): their own tsconfig (DOM lib, Preact JSX) is found by the project
    // service; the Vite config runs on Node and belongs to the root project.
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['web/vite.config.ts'],
    languageOptions: { globals: globals.node, parserOptions: { projectService: false, project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Kysely's documented pattern: a migration takes Kysely<any>, because it must not depend on the
    // schema type of today's code (it ran against the schema of its own day); so do tests that
    // write rows in an older schema's shape to test a migration.
    files: ['src/storage/migrations/*.ts', 'test/**/*migration*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Plain JavaScript (this file, the benchmark scripts): not in the TypeScript project, so no
    // type-aware rules; they run on Node.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);
