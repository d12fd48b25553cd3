import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import { fileURLToPath } from 'node:url';
import pawprint from './eslint-rules/plugin.js';

// Layer boundaries are enforced here, not by memory:
// shared/ is pure TypeScript for both sides; the renderer never reaches into the main-process code; inside electron/
// a folder imports only the folders below it, never in a loop (the folder map is eslint-rules/layers.js).
const nodeBuiltins = { group: ['node:*'], message: 'shared/ must stay free of Node APIs: both sides import it.' };
const electronImport = { name: 'electron', message: 'shared/ and renderer/ must not import electron.' };

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-output/**', 'bench-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-syntax': ['error', { selector: 'CallExpression[callee.property.name="only"]', message: 'no .only in tests' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronImport], patterns: [nodeBuiltins, { group: ['**/electron/**', '**/renderer/**'], message: 'shared/ depends on nothing else in the project.' }] }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { paths: [electronImport], patterns: [{ group: ['**/electron/**'], message: 'renderer/ talks to the main side only through the contract (shared/contract).' }, nodeBuiltins] }],
    },
  },
  {
    files: ['electron/**/*.ts', 'shared/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.svelte'],
    plugins: { pawprint },
    settings: { pawprint: { root: fileURLToPath(new URL('.', import.meta.url)) } },
    rules: { 'pawprint/layers': 'error' },
  },
  {
    files: ['electron/**/*.ts', 'shared/**/*.ts'],
    rules: { 'pawprint/no-import-cycles': 'error', 'pawprint/no-tfjs-in-host': 'error' },
  },
  {
    // Only stores touch the transport; components and views read stores.
    files: ['renderer/src/views/**', 'renderer/src/components/**', 'renderer/src/App.svelte'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronImport], patterns: [{ group: ['**/lib/transport', '**/lib/transport.ts'], message: 'Components read stores; only stores call the transport.' }, { group: ['**/electron/**'], message: 'renderer/ talks to the main side only through the contract.' }, nodeBuiltins] }],
    },
  },
);
