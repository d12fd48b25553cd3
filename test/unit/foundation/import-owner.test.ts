import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServices } from '../../../electron/services/index';
import { hostname } from 'node:os';
import { openDatabase } from '../../../electron/catalogue/database';
import { createDataset, failStaleImports, importSummary, INTERRUPTED_IMPORT_MESSAGE, startImportRow } from '../../../electron/catalogue/datasets';
import { bootTimeSeconds } from '../../../electron/catalogue/process-owner';
import { tempDir, tempPaths } from '../../support/temp';

const catalogueModule = (name: string) => pathToFileURL(join(import.meta.dirname, '../../../electron/catalogue', name)).href;

// Another process (the desktop app beside the CLI) that has an import under way and keeps running.
const importerScript = `
const { openDatabase } = await import(process.env.DATABASE_MODULE);
const { createDataset, startImportRow } = await import(process.env.DATASETS_MODULE);
const db = openDatabase(process.env.CATALOGUE);
const dataset = createDataset(db, 'elsewhere', process.env.ROOT, 'folders');
process.stdout.write('import ' + startImportRow(db, dataset.id) + '\\n');
setInterval(() => {}, 1000);
`;

function startImporter(catalogue: string, root: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', importerScript], {
    env: { ...process.env, DATABASE_MODULE: catalogueModule('database.ts'), DATASETS_MODULE: catalogueModule('datasets.ts'), CATALOGUE: catalogue, ROOT: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const importId = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /import (\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`importer exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, importId, exited };
}

test("opening the catalogue leaves another live process's running import alone and fails it once that process is dead", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const importer = startImporter(join(dir.path, 'catalogue.db'), dir.path);
  try {
    const importId = await importer.importId;
    const paths = tempPaths(dir.path);

    const second = createServices({ paths, host: { kind: 'web' } });
    try {
      const summary = importSummary(second.app.db, importId);
      assert.equal(summary.status, 'running', 'the live process is still importing');
      assert.equal(summary.error, null);
    } finally {
      await second.close();
    }

    importer.child.kill('SIGKILL');
    await importer.exited;

    const third = createServices({ paths, host: { kind: 'web' } });
    try {
      const summary = importSummary(third.app.db, importId);
      assert.equal(summary.status, 'failed', 'its process is gone, so it can never finish');
      assert.equal(summary.error, INTERRUPTED_IMPORT_MESSAGE);
    } finally {
      await third.close();
    }
  } finally {
    importer.child.kill('SIGKILL');
    dir.cleanup();
  }
});

test('stale imports: rows without an owner or from before a reboot are failed; another machine\'s are left alone', () => {
  const dir = tempDir();
  try {
    const db = openDatabase(join(dir.path, 'catalogue.db'));
    const dataset = createDataset(db, 'pets', dir.path, 'folders');
    const legacy = startImportRow(db, dataset.id);
    db.prepare('UPDATE imports SET owner = NULL WHERE id = ?').run(legacy);
    const beforeReboot = startImportRow(db, dataset.id);
    db.prepare('UPDATE imports SET owner = ? WHERE id = ?').run(`${hostname()}:${process.ppid}:${bootTimeSeconds() - 86_400}`, beforeReboot);
    const otherMachine = startImportRow(db, dataset.id);
    db.prepare('UPDATE imports SET owner = ? WHERE id = ?').run(`not-${hostname()}:1:${bootTimeSeconds()}`, otherMachine);
    const liveParent = startImportRow(db, dataset.id);
    db.prepare('UPDATE imports SET owner = ? WHERE id = ?').run(`${hostname()}:${process.ppid}:${bootTimeSeconds()}`, liveParent);
    assert.match(db.prepare('SELECT owner FROM imports WHERE id = ?').pluck().get(liveParent) as string, /:\d+:\d+$/);

    assert.deepEqual(failStaleImports(db).sort(), [legacy, beforeReboot].sort());
    assert.equal(importSummary(db, legacy).error, INTERRUPTED_IMPORT_MESSAGE);
    assert.equal(importSummary(db, otherMachine).status, 'running');
    assert.equal(importSummary(db, liveParent).status, 'running');
    db.close();
  } finally {
    dir.cleanup();
  }
});
