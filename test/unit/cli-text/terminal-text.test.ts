// File, dataset and run names reach the CLI's human-readable output; control characters in them must print as
// visible escapes on one line (no fake lines, no ANSI sequences, no bidi reordering), while --json stays exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { terminalSafe } from '../../../electron/cli/terminal-text';
import { createServices } from '../../../electron/services/index';
import { createRun } from '../../../electron/catalogue/runs';
import { parseTrainingConfig } from '../../../shared/training-config';
import { makeImage } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';

const ESCAPE_NAME = 'a\u001b[31mred\nfake line.jpg';
const BIDI_NAME = 'photo\u202egpj.exe';
// Anything a terminal would act on: C0 (except none), DEL, C1, line/paragraph separators, bidi controls.
// eslint-disable-next-line no-control-regex -- the test looks for exactly these characters
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) } };
}

test('terminalSafe escapes C0, DEL, C1, U+2028/U+2029 and bidi controls, and leaves other text alone', () => {
  assert.equal(terminalSafe(ESCAPE_NAME), 'a\\e[31mred\\nfake line.jpg');
  assert.equal(terminalSafe('a\rb\tc\u0000d\u007fe\u009bf'), 'a\\rb\\tc\\x00d\\x7fe\\x9bf');
  assert.equal(terminalSafe('x\u2028y\u2029z'), 'x\\u2028y\\u2029z');
  for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
    assert.equal(terminalSafe(`a${String.fromCharCode(code)}b`), `a\\u${code.toString(16)}b`);
  }
  const plain = 'C:\\Users\\zoë\\Pictures\\chat 猫 (1).jpg';
  assert.equal(terminalSafe(plain), plain);
});

test('pawprint import lists a rejected file with control characters in its name as one escaped line; --json keeps it exact', async () => {
  const dir = tempDir('pawprint-cli-text-');
  try {
    const folder = join(dir.path, 'photos');
    mkdirSync(join(folder, 'cats'), { recursive: true });
    mkdirSync(join(folder, 'dogs'), { recursive: true });
    writeFileSync(join(folder, 'cats', 'ok.jpg'), await makeImage({ color: '#aa4400' }));
    writeFileSync(join(folder, 'dogs', 'ok.jpg'), await makeImage({ color: '#0044aa' }));
    writeFileSync(join(folder, 'cats', ESCAPE_NAME), 'not an image');
    writeFileSync(join(folder, 'dogs', `${BIDI_NAME}.jpg`), 'not an image either');
    const db = join(dir.path, 'catalogue.db');

    const plain = capture();
    assert.equal(await runCli(['import', folder, '--db', db], plain.io), 0, plain.err.join('\n'));
    const lines = plain.out.join('\n').split('\n');
    assert.ok(!lines.some((line) => UNSAFE.test(line)), JSON.stringify(lines));
    assert.ok(!lines.some((line) => line.startsWith('fake line')), 'no line is forged by the file name');
    const red = lines.filter((line) => line.includes('red'));
    assert.equal(red.length, 1, JSON.stringify(lines));
    assert.match(red[0]!, /^ {2}cats\/a\\e\[31mred\\nfake line\.jpg: /);
    const bidi = lines.filter((line) => line.includes('photo'));
    assert.equal(bidi.length, 1, JSON.stringify(lines));
    assert.match(bidi[0]!, /^ {2}dogs\/photo\\u202egpj\.exe\.jpg: /);

    const json = capture();
    assert.equal(await runCli(['import', folder, '--name', 'again', '--db', db, '--json'], json.io), 0, json.err.join('\n'));
    const document = JSON.parse(json.out.join('\n')) as { rejected: Array<{ path: string }> };
    assert.deepEqual(document.rejected.map((file) => file.path).sort(), [`cats/${ESCAPE_NAME}`, `dogs/${BIDI_NAME}.jpg`]);
  } finally {
    dir.cleanup();
  }
});

test('dataset, class, run names and tags print escaped in `pawprint datasets` and `pawprint runs`', async () => {
  const dir = tempDir('pawprint-cli-text-');
  try {
    const folder = join(dir.path, 'photos');
    const evilClass = 'cats\u001b]0;owned\u0007';
    mkdirSync(join(folder, evilClass), { recursive: true });
    mkdirSync(join(folder, 'dogs'), { recursive: true });
    writeFileSync(join(folder, evilClass, 'a.jpg'), await makeImage({ color: '#aa4400' }));
    writeFileSync(join(folder, 'dogs', 'b.jpg'), await makeImage({ color: '#0044aa' }));
    const paths = tempPaths(dir.path);
    const db = paths.databasePath;
    const imported = capture();
    assert.equal(await runCli(['import', folder, '--name', 'pets\u202e\nfake', '--db', db], imported.io), 0, imported.err.join('\n'));
    assert.ok(!imported.out.some((text) => UNSAFE.test(text.replaceAll('\n', ''))), JSON.stringify(imported.out));

    const services = createServices({ paths, host: { kind: 'web' } });
    try {
      const [dataset] = await services.request('datasets.list', {});
      const split = await services.request('splits.create', { datasetId: dataset!.id, preset: 'stratified', train: 0.5, val: 0.5, test: 0, seed: 1 });
      const runId = createRun(services.app.db, {
        datasetId: dataset!.id, splitId: split.id, name: 'plain', config: parseTrainingConfig({ preset: 'cnn' }), classNames: ['cats', 'dogs'], dataHash: split.dataHash,
      });
      await services.request('runs.update', { runId, name: 'run\nfake row', tags: ['\u001b[2Jwipe', 'ok'] });
    } finally {
      await services.close();
    }

    const datasets = capture();
    assert.equal(await runCli(['datasets', '--db', db], datasets.io), 0, datasets.err.join('\n'));
    const datasetLines = datasets.out.join('\n').split('\n');
    assert.equal(datasetLines.length, 2, 'one line for the dataset and one for its folder');
    assert.ok(!datasetLines.some((line) => UNSAFE.test(line)), JSON.stringify(datasetLines));
    assert.match(datasetLines[0]!, /pets\\u202e\\nfake .*cats\\e\]0;owned\\x07 1/);

    const runs = capture();
    assert.equal(await runCli(['runs', '--db', db], runs.io), 0, runs.err.join('\n'));
    const runLines = runs.out.join('\n').split('\n');
    assert.equal(runLines.length, 3, JSON.stringify(runLines));
    assert.ok(!runLines.some((line) => UNSAFE.test(line)), JSON.stringify(runLines));
    assert.match(runLines[2]!, /run\\nfake row .*\\e\[2Jwipe, ok$/);

    const json = capture();
    assert.equal(await runCli(['runs', '--db', db, '--json'], json.io), 0);
    const document = JSON.parse(json.out.join('\n')) as { runs: Array<{ name: string; tags: string[] }> };
    assert.equal(document.runs[0]!.name, 'run\nfake row');
    assert.deepEqual(document.runs[0]!.tags, ['\u001b[2Jwipe', 'ok']);
  } finally {
    dir.cleanup();
  }
});

test('error lines that quote a user-controlled path or name stay one escaped line', async () => {
  const dir = tempDir();
  try {
    const db = join(dir.path, 'c.db');
    const missing = capture();
    assert.equal(await runCli(['import', join(dir.path, 'no\u001b[31msuch\nfolder'), '--db', db], missing.io), 1);
    assert.equal(missing.err.length, 1, JSON.stringify(missing.err));
    assert.ok(!UNSAFE.test(missing.err[0]!), JSON.stringify(missing.err));
    assert.match(missing.err[0]!, /no\\e\[31msuch\\nfolder/);
    const unknown = capture();
    assert.equal(await runCli(['eval', 'ghost\u202e\nrun', '--db', db], unknown.io), 1);
    assert.ok(unknown.err.length >= 1 && !unknown.err.some((line) => UNSAFE.test(line)), JSON.stringify(unknown.err));
  } finally {
    dir.cleanup();
  }
});
