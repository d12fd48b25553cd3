import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { needsShared, sharedPhotos } from '../../support/shared-data';
import { tempDir } from '../../support/temp';

test('`pawprint import ../shared/data/cats-vs-dogs --json` reports 1000 cats, 1000 dogs and no rejects', { skip: needsShared(sharedPhotos) }, async () => {
  const dir = tempDir();
  try {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) };
    const db = join(dir.path, 'c.db');
    assert.equal(await runCli(['import', sharedPhotos, '--json', '--db', db], io), 0, err.join('\n'));
    assert.equal(out.length, 1, 'stdout is one JSON document');
    assert.deepEqual(JSON.parse(out[0]!), { datasetId: 1, imported: 2000, unchanged: 0, duplicates: 0, missing: 0, rejected: [], classes: { cats: 1000, dogs: 1000 } });
    // The unchanged re-scan reads nothing and reports the same classes.
    const started = performance.now();
    assert.equal(await runCli(['import', sharedPhotos, '--json', '--db', db], io), 0);
    assert.ok(performance.now() - started < 5000, 'an unchanged re-scan is quick');
    assert.deepEqual(JSON.parse(out[1]!), { datasetId: 1, imported: 0, unchanged: 2000, duplicates: 0, missing: 0, rejected: [], classes: { cats: 1000, dogs: 1000 } });
  } finally {
    dir.cleanup();
  }
});
