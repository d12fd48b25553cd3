// A real evaluation through the real worker pool (issue 12): runs.evaluate starts an evaluate job whose predictions
// come from a job worker process running the real predict-files task on a tiny model; this process computes and
// stores the metrics and never loads TensorFlow.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from '../../../electron/services/index';
import { evaluationPredictions, listEvaluations } from '../../../electron/catalogue/evaluations';
import type { JobProgress } from '../../../shared/contract/jobs';
import { tempDir, tempPaths } from '../../support/temp';
import { insertDataset, insertRun, writeFixtureImages } from './fixtures';

const classNames = ['cats', 'dogs'];
const tfjsModules = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('@tensorflow'));

test('a real evaluation runs in a job worker on a tiny model; an unreadable image is reported; this process never loads TensorFlow.js', async (t) => {
  const dir = tempDir('pawprint-runs-worker-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0 } });
  t.after(async () => {
    try {
      await services.close();
    } finally {
      dir.cleanup();
    }
  });
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir.path, 'photos'), 'pets', classNames, { train: 1, val: 1, test: 4 });
  await writeFixtureImages(dataset.images, classNames, 8);
  const broken = dataset.images.find((image) => image.subset === 'test')!;
  writeFileSync(broken.path, 'not an image at all');
  const run = insertRun(db, dataset, { name: 'tiny', classNames, modelsDir: services.app.paths.models, config: { preset: 'custom', imageSize: { height: 8, width: 8 } } });
  rmSync(run.modelPath, { recursive: true, force: true });
  execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./write-tiny-model.ts', import.meta.url)), run.modelPath], { stdio: 'pipe' });

  const workerPids = new Set<number>();
  const phases: string[] = [];
  let predictedBatches = 0;
  services.app.events.onAny((name, payload) => {
    if (name !== 'jobs.progress') return;
    const progress = payload as JobProgress;
    if (progress.kind !== 'evaluate') return;
    if (phases.at(-1) !== progress.phase) phases.push(progress.phase);
    if (progress.phase === 'evaluating' && progress.done > 0) predictedBatches++;
    const pid = services.app.jobs.workerPid(progress.id);
    if (pid !== null) workerPids.add(pid);
  });

  const result = await services.request('runs.evaluate', { runId: run.runId });
  assert.equal(result.source, 'test-split');
  assert.equal(result.count, 7, 'the seven readable test images are scored');
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0]!.path, broken.path);
  assert.match(result.errors[0]!.message, /^cannot read test-\d\.jpg as an image: /);
  assert.doesNotMatch(result.errors[0]!.message, /\n/);
  for (const p of result.predictions) assert.ok(Math.abs(p.probabilities[0]! + p.probabilities[1]! - 1) < 1e-5);
  assert.equal(evaluationPredictions(db, result.id).length, 7);
  assert.equal(result.metrics.confusionMatrix.flat().reduce((a, b) => a + b, 0), 7);

  const [job] = services.app.jobs.list({ kind: 'evaluate' });
  assert.equal(job?.status, 'completed');
  assert.ok(predictedBatches > 0, `the worker reported its predictions as the evaluation's progress (${phases.join(', ')})`);
  assert.ok(!phases.includes('predicting'), `one phase word for the whole evaluation (${phases.join(', ')})`);
  assert.equal(workerPids.size, 1, 'one job worker process');
  assert.ok(![...workerPids].includes(process.pid));
  assert.deepEqual(tfjsModules(), [], 'TensorFlow.js stayed out of this process');
});

test('cancelling a real evaluation stops its worker between batches; nothing is stored', async (t) => {
  const dir = tempDir('pawprint-runs-worker-cancel-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0 } });
  t.after(async () => {
    try {
      await services.close();
    } finally {
      dir.cleanup();
    }
  });
  const db = services.app.db;
  // Enough images for many batches, so the cancel arrives while the worker still has work.
  const dataset = insertDataset(db, join(dir.path, 'photos'), 'pets', classNames, { train: 1, val: 1, test: 400 });
  await writeFixtureImages(dataset.images, classNames, 8);
  const run = insertRun(db, dataset, { name: 'tiny', classNames, modelsDir: services.app.paths.models, config: { preset: 'custom', imageSize: { height: 8, width: 8 } } });
  rmSync(run.modelPath, { recursive: true, force: true });
  execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./write-tiny-model.ts', import.meta.url)), run.modelPath], { stdio: 'pipe' });

  let predicted = 0;
  services.app.events.onAny((name, payload) => {
    if (name !== 'jobs.progress') return;
    const progress = payload as JobProgress;
    if (progress.kind !== 'evaluate' || progress.phase !== 'evaluating' || progress.done === 0) return;
    if (predicted === 0) services.app.jobs.cancel(progress.id);
    predicted = Math.max(predicted, progress.done);
  });
  await assert.rejects(services.request('runs.evaluate', { runId: run.runId }), /^AppError: The evaluation \(job \d+\) was cancelled; nothing was stored\.$/);
  assert.ok(predicted > 0 && predicted < 800, `stopped part-way (${predicted} of 800 predicted)`);
  const [job] = services.app.jobs.list({ kind: 'evaluate' });
  assert.equal(job?.status, 'cancelled');
  assert.equal(job?.error, null);
  assert.deepEqual(listEvaluations(db, run.runId), []);
  assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM predictions').get(), { n: 0 });
  assert.equal(services.app.jobs.workerPid(job!.id), null, 'its worker process is gone');
});
