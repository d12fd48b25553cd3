import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { runHandlers } from '../../../electron/services/runs';
import { findRun, getRun } from '../../../electron/catalogue/runs';
import { evaluationPredictions, listEvaluations } from '../../../electron/catalogue/evaluations';
import { tempDir, tempPaths } from '../../support/temp';
import { insertDataset, insertRun, tablePredictor } from './fixtures';
import type { FixtureDataset } from './fixtures';

const classNames = ['cats', 'dogs'];
let dir: { path: string; cleanup(): void };
let services: Services;
let dataset: FixtureDataset;
let runA: { runId: number; modelPath: string };
let runB: { runId: number; modelPath: string };
let handlers: ReturnType<typeof runHandlers>;
let predictor: ReturnType<typeof tablePredictor>;
const started: Array<{ datasetId: number; splitId?: number; name?: string; config: Record<string, unknown> }> = [];

const testImage = (className: string, i: number) => dataset.images.find((img) => img.subset === 'test' && img.className === className && img.path.endsWith(`test-${i}.jpg`))!;

before(() => {
  dir = tempDir('pawprint-runs-');
  services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  const db = services.app.db;
  dataset = insertDataset(db, join(dir.path, 'photos'), 'pets', classNames, { train: 2, val: 1, test: 3 });
  runA = insertRun(db, dataset, { name: 'plain', classNames, modelsDir: services.app.paths.models, epochs: 3 });
  runB = insertRun(db, dataset, {
    name: 'flipped', classNames, modelsDir: services.app.paths.models, epochs: 4, config: { augmentation: { flip: 'both' } },
  });
  const p = (className: string, i: number) => testImage(className, i).path;
  const table = new Map([
    [runA.modelPath, new Map([
      [p('cats', 0), [0.9, 0.1]], [p('cats', 1), [0.3, 0.7]], [p('cats', 2), [0.55, 0.45]],
      [p('dogs', 0), [0.2, 0.8]], [p('dogs', 1), [0.95, 0.05]], [p('dogs', 2), [0.6, 0.4]],
    ])],
    [runB.modelPath, new Map([
      [p('cats', 0), [0.9, 0.1]], [p('cats', 1), [0.8, 0.2]], [p('cats', 2), [0.4, 0.6]],
      [p('dogs', 0), [0.2, 0.8]], [p('dogs', 1), [0.1, 0.9]], [p('dogs', 2), [0.7, 0.3]],
    ])],
  ]);
  predictor = tablePredictor(classNames, table);
  handlers = runHandlers(services.app, {
    predictor,
    startTraining: async (payload) => {
      started.push(payload);
      const again = insertRun(db, dataset, { name: payload.name ?? 'again', classNames, modelsDir: services.app.paths.models });
      return { runId: again.runId };
    },
  });
});

after(async () => {
  await services.close();
  dir.cleanup();
});

describe('evaluation', () => {
  test('on the test split: metrics, per-image predictions stored, progress events', async () => {
    const events: unknown[] = [];
    const off = services.app.events.onAny((name, payload) => {
      if (name === 'runs.evaluationProgress') events.push(payload);
    });
    const result = await handlers['runs.evaluate']({ runId: runA.runId });
    off();
    assert.equal(result.source, 'test-split');
    assert.equal(result.count, 6);
    assert.equal(result.accuracy, 3 / 6);
    assert.deepEqual(result.metrics.confusionMatrix, [[2, 1], [2, 1]]);
    const expectedLoss = -(Math.log(0.9) + Math.log(0.3) + Math.log(0.55) + Math.log(0.8) + Math.log(0.05) + Math.log(0.4)) / 6;
    assert.ok(Math.abs(result.loss - expectedLoss) < 1e-9);
    assert.equal(result.predictions.length, 6);
    const stored = evaluationPredictions(services.app.db, result.id);
    assert.equal(stored.length, 6);
    assert.deepEqual(stored.find((s) => s.imageId === testImage('dogs', 1).id)?.probabilities, [0.95, 0.05]);
    assert.ok(events.length >= 1, 'progress events were emitted');
    const listed = await handlers['runs.evaluations']({ runId: runA.runId });
    assert.equal(listed.evaluations[0]!.id, result.id);
    const again = await handlers['runs.evaluation']({ evaluationId: result.id });
    assert.deepEqual(again.metrics, result.metrics);
  });

  test('misclassified are sorted by loss; low-confidence correct filter; current labels follow relabels', async () => {
    const evaluationId = listEvaluations(services.app.db, runA.runId)[0]!.id;
    const wrong = await handlers['runs.misclassified']({ evaluationId, filter: 'wrong', threshold: 0.7, limit: 100 });
    assert.equal(wrong.total, 3);
    assert.deepEqual(wrong.items.map((i) => i.imageId), [testImage('dogs', 1).id, testImage('cats', 1).id, testImage('dogs', 2).id]);
    assert.equal(wrong.items[0]!.predictedClass, 'cats');
    assert.equal(wrong.items[0]!.trueClass, 'dogs');
    assert.equal(wrong.items[0]!.currentLabel, 'dogs');
    for (let i = 1; i < wrong.items.length; i++) assert.ok(wrong.items[i - 1]!.loss >= wrong.items[i]!.loss);

    const unsure = await handlers['runs.misclassified']({ evaluationId, filter: 'low-confidence-correct', threshold: 0.7, limit: 100 });
    assert.deepEqual(unsure.items.map((i) => i.imageId), [testImage('cats', 2).id]);
    assert.equal(unsure.items[0]!.correct, true);

    // A relabel in the catalogue shows up as the current label; the stored prediction keeps the label it was scored on.
    services.app.db.prepare('UPDATE labels SET class_id = ? WHERE image_id = ?').run(dataset.classIds.cats, testImage('dogs', 1).id);
    const after = await handlers['runs.misclassified']({ evaluationId, filter: 'wrong', threshold: 0.7, limit: 1 });
    assert.equal(after.items.length, 1);
    assert.equal(after.total, 3);
    assert.equal(after.items[0]!.currentLabel, 'cats');
    assert.equal(after.items[0]!.trueClass, 'dogs');
    services.app.db.prepare('UPDATE labels SET class_id = ? WHERE image_id = ?').run(dataset.classIds.dogs, testImage('dogs', 1).id);
  });

  test('on a folder of class subfolders, without importing it; unknown class names are a clear error', async () => {
    const folder = join(dir.path, 'holdout');
    for (const name of ['cats', 'dogs']) {
      mkdirSync(join(folder, name), { recursive: true });
      writeFileSync(join(folder, name, 'a.jpg'), 'x');
      writeFileSync(join(folder, name, 'notes.txt'), 'not an image');
    }
    const table = new Map([[runA.modelPath, new Map([[join(folder, 'cats', 'a.jpg'), [0.7, 0.3]], [join(folder, 'dogs', 'a.jpg'), [0.8, 0.2]]])]]);
    const folderHandlers = runHandlers(services.app, { predictor: tablePredictor(classNames, table) });
    const imagesBefore = services.app.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number };
    const result = await folderHandlers['runs.evaluate']({ runId: runA.runId, folder });
    assert.equal(result.source, 'folder');
    assert.equal(result.count, 2);
    assert.equal(result.accuracy, 0.5);
    assert.equal(result.predictions[1]!.path, join(folder, 'dogs', 'a.jpg'));
    assert.equal(result.predictions[1]!.imageId, null);
    assert.deepEqual(services.app.db.prepare('SELECT COUNT(*) AS n FROM images').get(), imagesBefore, 'nothing was imported');
    const stored = await folderHandlers['runs.evaluation']({ evaluationId: result.id });
    assert.equal(stored.folder, folder);

    mkdirSync(join(folder, 'birds'));
    await assert.rejects(folderHandlers['runs.evaluate']({ runId: runA.runId, folder }), /not trained on: "birds".*"cats", "dogs"/);
  });

  test('on another dataset: classes mapped by name onto the run’s order; unknown classes rejected', async () => {
    const db = services.app.db;
    // The other dataset lists its classes in the opposite order: names, not positions, decide.
    const other = insertDataset(db, join(dir.path, 'other'), 'other', ['dogs', 'cats'], { train: 0, val: 0, test: 1 });
    const table = new Map([[runA.modelPath, new Map(other.images.map((img) => [img.path, img.className === 'cats' ? [0.9, 0.1] : [0.2, 0.8]]))]]);
    const h = runHandlers(services.app, { predictor: tablePredictor(classNames, table) });
    const result = await h['runs.evaluate']({ runId: runA.runId, datasetId: other.datasetId });
    assert.equal(result.source, 'dataset');
    assert.equal(result.accuracy, 1);
    const third = insertDataset(db, join(dir.path, 'third'), 'third', ['cats', 'foxes'], { train: 0, val: 0, test: 1 });
    await assert.rejects(h['runs.evaluate']({ runId: runA.runId, datasetId: third.datasetId }), /not trained on: "foxes"/);
  });

  test('a run without a model cannot be evaluated', async () => {
    const db = services.app.db;
    db.prepare('UPDATE runs SET model_path = NULL WHERE id = ?').run(runB.runId);
    await assert.rejects(handlers['runs.evaluate']({ runId: runB.runId }), /has no saved model/);
    db.prepare('UPDATE runs SET model_path = ? WHERE id = ?').run(runB.modelPath, runB.runId);
  });
});

describe('comparison', () => {
  test('curves, metrics table, config diff and per-image diff (evaluating the missing run on demand)', async () => {
    const callsBefore = predictor.calls;
    const comparison = await handlers['runs.compare']({ runIds: [runA.runId, runB.runId], evaluateMissing: true });
    assert.equal(predictor.calls, callsBefore + 1, 'only run B needed an evaluation');
    assert.deepEqual(comparison.runs.map((r) => r.epochs.length), [3, 4]);
    assert.deepEqual(comparison.configDiff, [
      { path: 'augmentation.flip', values: ['none', 'both'] },
      { path: 'epochs', values: [3, 4] },
    ]);
    assert.equal(comparison.metrics[0]!.testAccuracy, 0.5);
    assert.equal(comparison.metrics[1]!.testAccuracy, 4 / 6);
    assert.equal(comparison.metrics[1]!.finalValAccuracy, 0.45 + 4 / 10);
    const diff = comparison.imageDiffs[0]!;
    assert.equal(diff.unavailable, null);
    assert.equal(diff.shared, 6);
    assert.deepEqual(diff.fixedByB.map((i) => i.imageId), [testImage('dogs', 1).id, testImage('cats', 1).id]);
    assert.deepEqual(diff.brokenByB.map((i) => i.imageId), [testImage('cats', 2).id]);
    assert.equal(diff.bothWrong, 1);
    assert.equal(diff.bothRight, 2);
    assert.equal(diff.fixedByB[0]!.predictedA, 'cats');
    assert.equal(diff.fixedByB[0]!.predictedB, 'dogs');
    assert.ok(Math.abs(diff.fixedByB[0]!.confidenceB - 0.9) < 1e-12);
  });

  test('the same run twice is refused; a run that cannot be evaluated makes the diff unavailable with its reason', async () => {
    await assert.rejects(handlers['runs.compare']({ runIds: [runA.runId, runA.runId], evaluateMissing: true }), /different runs/);
    const db = services.app.db;
    const noModel = insertRun(db, dataset, { name: 'broken', classNames, modelsDir: services.app.paths.models });
    db.prepare('UPDATE runs SET model_path = NULL WHERE id = ?').run(noModel.runId);
    const comparison = await handlers['runs.compare']({ runIds: [runA.runId, noModel.runId], evaluateMissing: true });
    assert.match(comparison.imageDiffs[0]!.unavailable ?? '', /"broken".*no saved model/);
  });
});

describe('run administration', () => {
  test('rename, notes and tags (trimmed, de-duplicated)', async () => {
    const run = await handlers['runs.update']({ runId: runA.runId, name: ' baseline ', notes: 'tutorial settings', tags: ['cnn', ' CNN', 'first', ''] });
    assert.equal(run.name, 'baseline');
    assert.equal(run.notes, 'tutorial settings');
    assert.deepEqual(run.tags, ['cnn', 'first']);
    const unchanged = await handlers['runs.update']({ runId: runA.runId });
    assert.equal(unchanged.name, 'baseline');
    await assert.rejects(handlers['runs.update']({ runId: 9999, name: 'x' }), /does not exist/);
  });

  test('run again: same config, seed and split through training.start; the new run records its parent', async () => {
    const result = await handlers['runs.again']({ runId: runB.runId });
    const last = started.at(-1)!;
    assert.equal(last.splitId, dataset.splitId);
    assert.deepEqual(last.config, getRun(services.app.db, runB.runId).config as unknown as Record<string, unknown>);
    assert.equal(getRun(services.app.db, result.runId).parentRunId, runB.runId);
  });

  test('delete removes the row, its epochs, evaluations, predictions and model folder; running runs are refused', async () => {
    const db = services.app.db;
    const evaluationIds = listEvaluations(db, runB.runId).map((e) => e.id);
    assert.ok(evaluationIds.length > 0);
    assert.ok(existsSync(runB.modelPath));
    const result = await handlers['runs.delete']({ runId: runB.runId });
    assert.deepEqual(result.removedFiles, [runB.modelPath]);
    assert.equal(existsSync(runB.modelPath), false);
    assert.equal(findRun(db, runB.runId), null);
    assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM epochs WHERE run_id = ?').get(runB.runId), { n: 0 });
    for (const id of evaluationIds) assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE evaluation_id = ?').get(id), { n: 0 });
    assert.ok(existsSync(runA.modelPath), 'other runs keep their files');
    // The run started from it survives, without its parent link.
    const child = db.prepare('SELECT parent_run_id FROM runs WHERE name = ?').get('flipped (again)') as { parent_run_id: number | null };
    assert.equal(child.parent_run_id, null);

    db.prepare(`UPDATE runs SET status = 'running' WHERE id = ?`).run(runA.runId);
    await assert.rejects(handlers['runs.delete']({ runId: runA.runId }), /still running; cancel it/);
    db.prepare(`UPDATE runs SET status = 'completed' WHERE id = ?`).run(runA.runId);
  });

  test('a model folder outside the app’s models folder is left alone', async () => {
    const outside = join(dir.path, 'my-model');
    mkdirSync(outside);
    const db = services.app.db;
    const run = insertRun(db, dataset, { name: 'imported', classNames, modelsDir: services.app.paths.models });
    db.prepare('UPDATE runs SET model_path = ? WHERE id = ?').run(outside, run.runId);
    const result = await handlers['runs.delete']({ runId: run.runId });
    // Its own folder in the models directory goes (it may hold a checkpoint); the folder outside stays.
    assert.deepEqual(result.removedFiles, [run.modelPath]);
    assert.ok(existsSync(outside));
  });
});
