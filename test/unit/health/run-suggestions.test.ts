// Model-assisted labelling from the latest run (issue 15 item 4): health.predictUnlabelled has the dataset's latest
// finished run predict its unlabelled images in a predict job, and health.suggestions answers those predictions as
// suggestions (least certain first), says which run they come from, follows later labels, is not hidden by a Try-it
// of the same run, and lets the caller choose the embeddings instead. The predictor here is the runs tests' table
// (test/unit/runs/fixtures.ts); run-suggestions.slow.test.ts does the same with a really trained run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setLabels } from '../../../electron/catalogue/labels';
import { insertDataset, insertRun, runsServices, tablePredictTask, writeFixtureImages } from '../runs/fixtures';

test('the latest run predicts the unlabelled images and its predictions are the suggestions, least certain first', async (t) => {
  const table = new Map<string, Map<string, number[]>>();
  const predict = tablePredictTask(['cat', 'dog'], table);
  const { services, dir } = runsServices(t, { 'predict-files': predict });
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir, 'pets'), 'pets', ['cat', 'dog'], { train: 3, val: 1, test: 1 });
  await writeFixtureImages(dataset.images, ['cat', 'dog']);
  const { datasetId } = dataset;

  // No run yet: nothing to predict with, said in one line.
  await assert.rejects(services.request('health.predictUnlabelled', { datasetId }), /has no finished run with a saved model; train one/);
  const { modelPath } = insertRun(db, dataset, { name: 'tiny', classNames: ['cat', 'dog'], modelsDir: join(dir, 'models') });
  await assert.rejects(services.request('health.predictUnlabelled', { datasetId }), /is labelled: there is nothing to suggest/);

  // Two images of each class lose their label; the table says what the run predicts for each.
  const unlabelled = [...dataset.images.filter((i) => i.className === 'cat').slice(0, 2), ...dataset.images.filter((i) => i.className === 'dog').slice(0, 2)];
  setLabels(db, datasetId, unlabelled.map((image) => ({ imageId: image.id, classId: null })));
  const probabilities = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]];
  table.set(modelPath, new Map(unlabelled.map((image, i) => [image.path, probabilities[i]!])));

  const before = await services.request('health.suggestions', { datasetId });
  assert.equal(before.source, null);
  assert.equal(before.embeddings, false);
  assert.deepEqual(before.run, { runId: before.run!.runId, name: 'tiny', predicted: null });

  const started = await services.request('health.predictUnlabelled', { datasetId });
  assert.deepEqual({ images: started.images, unlabelled: started.unlabelled, runId: started.runId }, { images: 4, unlabelled: 4, runId: before.run!.runId });
  const end = await services.app.jobs.wait(started.jobId);
  assert.equal(end.status, 'completed', end.error ?? '');
  assert.equal(end.kind, 'predict');
  assert.equal(predict.calls, 1);

  const after = await services.request('health.suggestions', { datasetId });
  assert.equal(after.source, 'run');
  assert.equal(after.run?.predicted, 4);
  // Margins 0.1, 0.2, 0.6, 0.8: the least certain first.
  assert.deepEqual(after.suggestions.map((s) => [s.image.imageId, s.suggested, Math.round(s.margin * 100) / 100, s.confidence]), [
    [unlabelled[3]!.id, 'dog', 0.1, 0.55], [unlabelled[1]!.id, 'cat', 0.2, 0.6], [unlabelled[2]!.id, 'dog', 0.6, 0.8], [unlabelled[0]!.id, 'cat', 0.8, 0.9],
  ]);

  // A labelled image leaves the list; a Try-it of one of the dataset's images with the same run does not hide the rest.
  setLabels(db, datasetId, [{ imageId: unlabelled[3]!.id, classId: dataset.classIds.dog! }]);
  await services.request('export.predict', { model: { runId: started.runId }, images: [{ path: unlabelled[1]!.path }] });
  const later = await services.request('health.suggestions', { datasetId });
  assert.equal(later.run?.predicted, 3);
  assert.deepEqual(later.suggestions.map((s) => s.image.imageId), [unlabelled[1]!.id, unlabelled[2]!.id, unlabelled[0]!.id]);

  // The embeddings chosen instead: none without a health report, and the run is still offered.
  const embeddings = await services.request('health.suggestions', { datasetId, source: 'embeddings' });
  assert.equal(embeddings.source, null);
  assert.deepEqual(embeddings.suggestions, []);
  assert.equal(embeddings.run?.name, 'tiny');
});
