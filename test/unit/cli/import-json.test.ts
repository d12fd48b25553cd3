// `pawprint import --json` answers which dataset the photos went into, so a script (or bench/first-model.ts) can
// chain `pawprint train <id>` without parsing the text output or guessing the name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { makeImage } from '../../support/images';
import { tempDir } from '../../support/temp';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) } };
}

test('import --json names the dataset it imported into, and a re-import answers the same one', async () => {
  const dir = tempDir('pawprint-import-json-');
  try {
    const folder = join(dir.path, 'pets');
    for (const [cls, color] of [['cats', '#aa4400'], ['dogs', '#0044aa']] as const) {
      mkdirSync(join(folder, cls), { recursive: true });
      writeFileSync(join(folder, cls, 'a.jpg'), await makeImage({ color }));
    }
    const db = join(dir.path, 'pawprint.db');
    const first = capture();
    assert.equal(await runCli(['import', folder, '--db', db, '--json'], first.io), 0, first.err.join('\n'));
    const document = JSON.parse(first.out.join('\n')) as { datasetId: number; imported: number; unchanged: number };
    assert.equal(typeof document.datasetId, 'number');
    assert.equal(document.imported, 2);

    const again = capture();
    assert.equal(await runCli(['import', folder, '--db', db, '--json'], again.io), 0, again.err.join('\n'));
    const second = JSON.parse(again.out.join('\n')) as { datasetId: number; imported: number; unchanged: number };
    assert.equal(second.datasetId, document.datasetId);
    assert.equal(second.imported, 0);
    assert.equal(second.unchanged, 2);
  } finally {
    dir.cleanup();
  }
});
