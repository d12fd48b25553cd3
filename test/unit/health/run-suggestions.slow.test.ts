// Suggestions from the latest run with a run really trained (issue 15 item 4): a tiny CNN trained for a few epochs in
// the job worker on generated cats (reddish) and dogs (bluish stripes), four images unlabelled, then
// health.predictUnlabelled through the real predict worker. The suggestions are the run's predictions of exactly those
// images (the same as a Try-it of them), least certain first, and name the run; accepting one removes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { setLabels } from '../../../electron/catalogue/labels';
import { tempDir, tempPaths } from '../../support/temp';
import { seedDataset, startTrain, tinyConfig } from '../training-app/fixtures';

test('a trained run predicts the unlabelled images and its predictions become the Label view\'s suggestions', { timeout: 600_000 }, async (t) => {
  const dir = tempDir('pawprint-run-suggestions-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0 } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const db = services.app.db;
  const { datasetId, splitId, imageIds } = await seedDataset(db, join(dir.path, 'images'), { perClass: 12, size: 24 });
  const { finished } = await startTrain(services, { datasetId, splitId, name: 'tiny', config: { ...tinyConfig, epochs: 3 } });
  const trained = await finished;
  assert.equal(trained.status, 'completed', trained.error ?? '');

  const details = await Promise.all(imageIds.map((imageId) => services.request('images.detail', { imageId })));
  const chosen = ['cats', 'dogs'].flatMap((cls) => details.filter((d) => d.relPath.startsWith(`${cls}/`)).slice(0, 2));
  setLabels(db, datasetId, chosen.map((d) => ({ imageId: d.id, classId: null })));

  const { jobId, images, runId } = await services.request('health.predictUnlabelled', { datasetId });
  assert.equal(images, 4);
  assert.equal(runId, trained.result?.runId);
  const end = await services.app.jobs.wait(jobId);
  assert.equal(end.status, 'completed', end.error ?? '');

  const answer = await services.request('health.suggestions', { datasetId });
  assert.equal(answer.source, 'run');
  assert.equal(answer.run?.name, 'tiny');
  assert.equal(answer.run?.predicted, 4);
  assert.deepEqual(answer.suggestions.map((s) => s.image.imageId).sort((a, b) => a - b), chosen.map((d) => d.id).sort((a, b) => a - b));
  for (let i = 1; i < answer.suggestions.length; i++) assert.ok(answer.suggestions[i - 1]!.margin <= answer.suggestions[i]!.margin, 'least certain first');

  // The same images tried with the run (Try it) give the same classes and confidences.
  const tried = await services.request('export.predict', { model: { runId }, images: chosen.map((d) => ({ path: d.path })) });
  for (const suggestion of answer.suggestions) {
    const result = tried.results.find((r) => r.path === suggestion.image.path);
    assert.ok(result?.ok, `Try it predicted ${suggestion.image.relPath}`);
    assert.equal(suggestion.suggested, result.className);
    assert.ok(Math.abs(suggestion.confidence - Math.max(...result.probabilities)) < 1e-5);
  }

  // Accepting one (a label set) takes it off the list.
  const first = answer.suggestions[0]!;
  const classId = (await services.request('datasets.get', { datasetId })).classes.find((c) => c.name === first.suggested)!.id;
  await services.request('labels.assign', { datasetId, imageIds: [first.image.imageId], classId });
  const next = await services.request('health.suggestions', { datasetId });
  assert.deepEqual(next.suggestions.map((s) => s.image.imageId), answer.suggestions.slice(1).map((s) => s.image.imageId));
});
