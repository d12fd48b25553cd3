import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import type { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { tempDir } from '../../support/temp';

// The folder-layer rule (eslint-rules/): a folder imports only the folders below it, never in a loop.
const root = resolve(import.meta.dirname, '../../..');

/** The pawprint/* messages ESLint gives `text` as if it were the repository file `file` (which need not exist). */
async function pawprintMessages(text: string, file: string): Promise<Linter.LintMessage[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(text, { filePath: join(root, file) });
  return result.messages.filter((message) => message.ruleId?.startsWith('pawprint/'));
}

/** Lints a throwaway tree of `files` with one pawprint rule on; answers each file's messages by repository path. */
async function lintTree(files: Record<string, string>, rule: string): Promise<Record<string, string[]>> {
  const { default: pawprint } = await import('../../../eslint-rules/plugin.js');
  const tree = tempDir('pawprint-layers-');
  try {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tree.path, file)), { recursive: true });
      writeFileSync(join(tree.path, file), text);
    }
    const eslint = new ESLint({
      cwd: tree.path,
      overrideConfigFile: true,
      overrideConfig: [{
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser as Linter.Parser },
        plugins: { pawprint },
        settings: { pawprint: { root: tree.path } },
        rules: { [rule]: 'error' },
      }],
    });
    const results = await eslint.lintFiles(['electron']);
    return Object.fromEntries(results.map((result) => [
      result.filePath.slice(tree.path.length + 1),
      result.messages.map((message) => message.message),
    ]));
  } finally {
    tree.cleanup();
  }
}

test('a file in electron/catalogue importing services, a host and electron fails lint', async () => {
  const probe = ["import '../services/index';", "import '../host/web';", "import { app } from 'electron';", 'export const probe = app;', ''].join('\n');
  const messages = await pawprintMessages(probe, 'electron/catalogue/layer-probe.ts');
  assert.deepEqual(messages.map((message) => [message.ruleId, message.line]), [
    ['pawprint/layers', 1],
    ['pawprint/layers', 2],
    ['pawprint/layers', 3],
  ]);
  assert.match(messages[0].message, /catalogue may not import services/);
  assert.match(messages[1].message, /catalogue may not import host/);
  assert.match(messages[2].message, /'electron'/);
});

test('allowed imports lint clean', async () => {
  const probes: Array<[string, string[]]> = [
    ['electron/services/layer-probe.ts', ['../catalogue/database', '../dataset/importer', '../training/worker/task-types', '../files/zip', '../evaluation/metrics', '../files/read-regular-file', '../paths', '../../shared/errors']],
    ['electron/dataset/layer-probe.ts', ['../catalogue/database', '../files/read-regular-file', '../../shared/errors']],
    ['electron/catalogue/layer-probe.ts', ['./database', '../files/read-regular-file', '../../shared/contract/index']],
    ['electron/host/layer-probe.ts', ['../services/index', '../desktop/ipc-channels']],
    ['electron/cli/layer-probe.ts', ['../services/index', '../host/web']],
    ['electron/host/electron-ipc.ts', ['electron', '../services/index']],
    ['electron/desktop/layer-probe.ts', ['electron']],
    ['electron/main.ts', ['electron', './services/index', './host/web', './desktop/app-protocol']],
  ];
  for (const [file, specs] of probes) {
    const text = specs.map((spec, index) => `import * as probe${index} from '${spec}';\nexport { probe${index} };`).join('\n');
    assert.deepEqual(await pawprintMessages(text, file), [], file);
  }
});

test('import loops between files and between folders are reported', async () => {
  const files: Record<string, string> = {
    'electron/catalogue/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
    'electron/catalogue/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    'electron/evaluation/e.ts': "import { p } from '../export/p';\nexport const e = () => p;\n",
    'electron/export/p.ts': "import type { e } from '../evaluation/e';\nexport const p = (x: typeof e) => x;\n",
    'electron/dataset/clean.ts': "import { a } from '../catalogue/a';\nexport const clean = a;\n",
  };
  const byFile = await lintTree(files, 'pawprint/no-import-cycles');
  assert.equal(byFile['electron/catalogue/a.ts'].length, 1);
  assert.match(byFile['electron/catalogue/a.ts'][0], /Import loop: electron\/catalogue\/a\.ts -> electron\/catalogue\/b\.ts -> electron\/catalogue\/a\.ts/);
  assert.equal(byFile['electron/catalogue/b.ts'].length, 1);
  assert.match(byFile['electron/evaluation/e.ts'][0], /Module loop evaluation -> export -> evaluation/);
  assert.match(byFile['electron/export/p.ts'][0], /Module loop export -> evaluation -> export/);
  assert.deepEqual(byFile['electron/dataset/clean.ts'], []);
});

test('every known violation is still in the code (a fix deletes its line)', async () => {
  const { KNOWN_VIOLATIONS } = await import('../../../eslint-rules/layers.js');
  const { importTargetsOf } = await import('../../../eslint-rules/plugin.js');
  for (const violation of KNOWN_VIOLATIONS) {
    assert.ok(existsSync(join(root, violation.file)), `${violation.file} exists`);
    assert.ok(importTargetsOf(root, violation.file).includes(violation.target), `${violation.file} still imports ${violation.target}`);
  }
});

test('the repository carries no known violations', async () => {
  const { KNOWN_VIOLATIONS } = await import('../../../eslint-rules/layers.js');
  assert.equal(KNOWN_VIOLATIONS.length, 0, `${KNOWN_VIOLATIONS.length} known violations left in eslint-rules/layers.js`);
});

test('host-side code that reaches TensorFlow.js through any value import is reported with the route; type imports are not', async () => {
  const files: Record<string, string> = {
    // services -> training -> tfjs/tf.ts -> @tensorflow: the host would load tfjs.
    'electron/services/loads.ts': "import { train } from '../training/trainer';\nexport const run = train;\n",
    'electron/training/trainer.ts': "import { tf } from '../tfjs/tf';\nexport const train = () => tf;\n",
    'electron/tfjs/tf.ts': "import * as tfjs from '@tensorflow/tfjs';\nexport const tf = tfjs;\n",
    // A lazy import() still loads it in this process.
    'electron/services/lazy.ts': "export const later = () => import('../training/trainer');\n",
    // Types only (import type, inline type names, export type): erased, nothing loads.
    'electron/services/types-only.ts': "import type { train } from '../training/trainer';\nimport { type tf } from '../tfjs/tf';\nexport type { train as T } from '../training/trainer';\nexport type U = typeof train | typeof tf;\n",
    // A tf-free file of the same folder is fine, and the worker side (training/) is not checked.
    'electron/training/task-types.ts': 'export interface TrainInput { epochs: number }\n',
    'electron/services/clean.ts': "import type { TrainInput } from '../training/task-types';\nimport { helper } from './helper';\nexport const x = (i: TrainInput) => helper(i.epochs);\n",
    'electron/services/helper.ts': 'export const helper = (n: number) => n + 1;\n',
  };
  const byFile = await lintTree(files, 'pawprint/no-tfjs-in-host');
  assert.equal(byFile['electron/services/loads.ts'].length, 1);
  assert.match(byFile['electron/services/loads.ts'][0], /electron\/services\/loads\.ts -> electron\/training\/trainer\.ts -> electron\/tfjs\/tf\.ts/);
  assert.equal(byFile['electron/services/lazy.ts'].length, 1);
  assert.deepEqual(byFile['electron/services/types-only.ts'], []);
  assert.deepEqual(byFile['electron/services/clean.ts'], []);
  assert.deepEqual(byFile['electron/training/trainer.ts'], [], 'worker-side code may load tfjs');
});

test('the repository config applies no-tfjs-in-host: a service importing the trainer fails lint', async () => {
  const messages = await pawprintMessages("import { trainModel } from '../training/trainer';\nexport const probe = trainModel;\n", 'electron/services/tfjs-probe.ts');
  assert.deepEqual(messages.map((message) => message.ruleId), ['pawprint/no-tfjs-in-host']);
  assert.match(messages[0].message, /electron\/services\/tfjs-probe\.ts -> electron\/training\/trainer\.ts -> .*(electron\/tfjs\/|@tensorflow)/);
});
