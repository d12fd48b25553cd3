import { after, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { createServices } from '../../../electron/services/index';
import { getRun } from '../../../electron/catalogue/runs';
import { buildPresetModel } from '../../../electron/training/presets';
import { saveModelToFolder } from '../../../electron/inference/model-folder';
import { catalogueTemplate } from '../../support/catalogue';
import { tempPaths } from '../../support/temp';
import { insertDataset, insertRun, writeFixtureImages } from './fixtures';

// `pawprint runs | compare | eval` over a catalogue holding two runs whose models are real (untrained) TF.js models,
// so eval goes through the real loader and inference, in a job worker. The catalogue is seeded once per file and each
// test gets its own copy of it (the photos and models stay shared and are only read).

const classNames = ['cats', 'dogs'];
const ids: number[] = [];
let testCount = 0;
let photos = '';

const template = catalogueTemplate(async (services, dir) => {
  photos = join(dir, 'photos');
  const dataset = insertDataset(services.app.db, photos, 'pets', classNames, { train: 1, val: 1, test: 3 });
  testCount = dataset.images.filter((image) => image.subset === 'test').length;
  await writeFixtureImages(dataset.images, classNames);
  for (const [name, lr] of [['first', 0.001], ['second', 0.01]] as const) {
    const run = insertRun(services.app.db, dataset, {
      name, classNames, modelsDir: services.app.paths.models,
      config: { preset: 'custom', imageSize: { height: 16, width: 16 }, learningRate: lr },
    });
    const model = buildPresetModel(getRun(services.app.db, run.runId).config, 2);
    await saveModelToFolder(model, run.modelPath);
    model.dispose();
    ids.push(run.runId);
  }
});

after(() => template.dispose());

/** This test's copy of the catalogue: the path the CLI opens, and a folder of its own. */
async function catalogue(t: TestContext): Promise<{ db: string; dir: string }> {
  const { services, dir } = await template.fork(t);
  // The CLI opens the catalogue itself; the fork's own services would only hold it open.
  await services.close();
  return { db: tempPaths(dir).databasePath, dir };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) }, out, err };
}

test('runs --json lists the runs; the plain output is a table', async (t) => {
  const { db } = await catalogue(t);
  const json = capture();
  assert.equal(await runCli(['runs', '--db', db, '--json'], json.io), 0);
  const parsed = JSON.parse(json.out.join('\n')) as { runs: Array<{ id: number; name: string }> };
  assert.deepEqual(parsed.runs.map((run) => run.name).sort(), ['first', 'second']);
  const plain = capture();
  assert.equal(await runCli(['runs', '--db', db], plain.io), 0);
  assert.match(plain.out.join('\n'), /id\s+name\s+preset\s+status/);
});

test('eval --json: accuracy, loss, confusion matrix, per-class metrics and per-image predictions from the real model', async (t) => {
  const { db } = await catalogue(t);
  const { io, out, err } = capture();
  assert.equal(await runCli(['eval', String(ids[0]), '--db', db, '--json'], io), 0, err.join('\n'));
  const result = JSON.parse(out.join('\n')) as {
    accuracy: number; loss: number; count: number; source: string;
    metrics: { confusionMatrix: number[][]; perClass: Array<{ className: string }> };
    predictions: Array<{ imageId: number; probabilities: number[]; loss: number }>;
  };
  assert.equal(result.source, 'test-split');
  assert.equal(result.count, testCount);
  assert.equal(result.predictions.length, testCount);
  assert.ok(result.accuracy >= 0 && result.accuracy <= 1);
  assert.ok(Number.isFinite(result.loss) && result.loss > 0);
  assert.equal(result.metrics.confusionMatrix.flat().reduce((a, b) => a + b, 0), testCount);
  assert.deepEqual(result.metrics.perClass.map((c) => c.className), classNames);
  for (const p of result.predictions) assert.ok(Math.abs(p.probabilities[0]! + p.probabilities[1]! - 1) < 1e-5);
  assert.ok(err.some((line) => line.startsWith('predicting:')), 'progress went to stderr');
  // It ran as an evaluate job, recorded in the catalogue like every long task.
  const services = createServices({ db, host: { kind: 'web' }, jobs: { workers: undefined } });
  try {
    assert.deepEqual(services.app.jobs.list({ kind: 'evaluate' }).map((job) => [job.status, job.runId]), [['completed', ids[0]]]);
  } finally {
    await services.close();
  }
});

test('eval --folder maps subfolders to classes; unknown class names are one clear line and exit 1', async (t) => {
  const { db, dir } = await catalogue(t);
  const folder = join(dir, 'holdout');
  const { io, out } = capture();
  // Reuse the dataset's test files as a folder of class subfolders.
  for (const name of classNames) mkdirSync(join(folder, name), { recursive: true });
  writeFileSync(join(folder, 'cats', 'a.png'), readFileSync(join(photos, 'cats', 'test-0.jpg')));
  writeFileSync(join(folder, 'dogs', 'b.png'), readFileSync(join(photos, 'dogs', 'test-0.jpg')));
  writeFileSync(join(folder, 'dogs', 'broken.png'), 'not an image');
  assert.equal(await runCli(['eval', 'first', '--folder', folder, '--db', db, '--json'], io), 0);
  const result = JSON.parse(out.join('\n')) as { count: number; errors: Array<{ path: string }>; predictions: Array<{ path: string; imageId: null }> };
  assert.equal(result.count, 2);
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0]!.path, /broken\.png$/);
  assert.equal(result.predictions[0]!.imageId, null);

  mkdirSync(join(folder, 'horses'));
  const bad = capture();
  assert.equal(await runCli(['eval', 'first', '--folder', folder, '--db', db], bad.io), 1);
  assert.equal(bad.err.length, 1);
  assert.match(bad.err[0]!, /not trained on: "horses"/);
});

test('eval on a read-only catalogue shows the stored evaluation of the same target; with none it says so in one line', async (t) => {
  const { db } = await catalogue(t);
  const none = capture();
  assert.equal(await runCli(['eval', 'second', '--db', db, '--read-only'], none.io), 1);
  assert.equal(none.err.length, 1, JSON.stringify(none.err));
  assert.match(none.err[0]!, /the catalogue is read-only: [^;]*catalogue\.db; run "second" has no stored evaluation on its test split/);
  const stored = capture();
  assert.equal(await runCli(['eval', 'second', '--db', db, '--json'], stored.io), 0, stored.err.join('\n'));
  const shown = capture();
  assert.equal(await runCli(['eval', 'second', '--db', db, '--json', '--read-only'], shown.io), 0, shown.err.join('\n'));
  const [a, b] = [JSON.parse(stored.out.join('\n')), JSON.parse(shown.out.join('\n'))] as Array<{ id: number; accuracy: number; predictions: unknown[] }>;
  assert.equal(b.id, a.id, 'the evaluation just stored, not a new one');
  assert.equal(b.accuracy, a.accuracy);
  assert.deepEqual(b.predictions, a.predictions);
  assert.ok(!shown.err.some((line) => line.startsWith('predicting:')), 'nothing was predicted');
});

test('compare --json: metrics, config diff and per-image diff; bad arguments exit 2', async (t) => {
  const { db } = await catalogue(t);
  const { io, out, err } = capture();
  assert.equal(await runCli(['compare', String(ids[0]), String(ids[1]), '--db', db, '--json'], io), 0, err.join('\n'));
  const result = JSON.parse(out.join('\n')) as {
    configDiff: Array<{ path: string; values: unknown[] }>;
    metrics: Array<{ runId: number; testAccuracy: number | null }>;
    imageDiffs: Array<{ unavailable: string | null; shared: number }>;
  };
  assert.deepEqual(result.configDiff, [{ path: 'learningRate', values: [0.001, 0.01] }]);
  assert.deepEqual(result.metrics.map((m) => m.runId), ids);
  assert.equal(result.imageDiffs[0]!.unavailable, null);
  assert.equal(result.imageDiffs[0]!.shared, testCount);

  const plain = capture();
  assert.equal(await runCli(['compare', 'first', 'second', '--db', db], plain.io), 0);
  assert.match(plain.out.join('\n'), /Config differences:\n.*field.*\n.*\n\s+learningRate\s+0\.001\s+0\.01/);

  const one = capture();
  assert.equal(await runCli(['compare', String(ids[0]), '--db', db], one.io), 2);
  const missing = capture();
  assert.equal(await runCli(['compare', String(ids[0]), '999', '--db', db], missing.io), 1);
  assert.match(missing.err[0]!, /Run 999 does not exist/);
});
