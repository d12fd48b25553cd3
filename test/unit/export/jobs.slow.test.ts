// Try it and export as jobs through the REAL worker pool: the answers come back from a job worker process while this
// process never loads TensorFlow.js; two predictions reuse the interactive worker and its loaded model; a damaged
// model is one line; an export can be cancelled and then leaves nothing at its target; both kinds are listed as jobs.
// The model is written by hand (hand-made-model.ts), so nothing here imports TensorFlow.js until the in-process
// comparison at the end of the first test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import { WorkerPool } from '../../../electron/jobs/worker/pool';
import { addEpoch, createRun, finishRun, markRunning } from '../../../electron/catalogue/runs';
import { parseTrainingConfig } from '../../../shared/training-config';
import type { JobFinished, JobProgress } from '../../../shared/contract/jobs';
import { writeClassFolders } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';
import { HAND_MODEL_SIZE, writeHandMadeModel } from './hand-made-model';

const CLASSES = ['blue', 'red'];
const requireHere = createRequire(import.meta.url);
const tfjsModulesLoadedHere = () => Object.keys(requireHere.cache).filter((path) => path.includes('@tensorflow'));

interface Fixture {
  services: Services;
  pool: WorkerPool;
  runId: number;
  imagesDir: string;
  root: string;
}

/** Its own catalogue, a folder of red and blue photos imported and split, and a finished run owning the hand-made model. */
async function fixture(t: { after(fn: () => Promise<void> | void): void }, perClass = 6): Promise<Fixture> {
  const tmp = tempDir('pawprint-export-jobs-');
  const paths = tempPaths(tmp.path);
  const imagesDir = join(tmp.path, 'photos');
  await writeClassFolders(imagesDir, { blue: { count: perClass, color: '#2030d0' }, red: { count: perClass, color: '#d03020' } }, { width: 20, height: 16 });
  const pool = new WorkerPool();
  const services = createServices({ paths, host: { kind: 'web' }, jobs: { workers: pool, progressIntervalMs: 0 } });
  t.after(async () => {
    await services.close();
    tmp.cleanup();
  });
  const { job } = await services.app.jobs.start({ kind: 'import', input: { path: imagesDir } });
  const imported = await services.app.jobs.wait(job.id);
  assert.ok(imported.kind === 'import' && imported.status === 'completed' && imported.result, JSON.stringify(imported));
  const datasetId = imported.result.datasetId;
  const split = await services.request('splits.create', { datasetId, train: 0.5, val: 0.25, test: 0.25, seed: 1 });
  const modelDir = join(paths.models, 'run-hand-made');
  await writeHandMadeModel(modelDir);
  const config = parseTrainingConfig({ preset: 'custom', imageSize: { height: HAND_MODEL_SIZE, width: HAND_MODEL_SIZE }, preprocessing: 'none', epochs: 1 });
  const db = services.app.db;
  const runId = createRun(db, { datasetId, splitId: split.id, name: 'Hand-made red/blue', config, classNames: CLASSES, dataHash: 'feed' });
  markRunning(db, runId, 'cpu', { 'tfjs-core': '4.22.0' });
  addEpoch(db, runId, { phase: 'train', epoch: 1, loss: 0.5, accuracy: 0.8, valLoss: 0.4, valAccuracy: 0.75, durationMs: 10 });
  finishRun(db, runId, { status: 'completed', bestEpoch: 1, bestValAccuracy: 0.75, testAccuracy: 0.9, testLoss: 0.3, modelPath: modelDir });
  return { services, pool, runId, imagesDir, root: tmp.path };
}

test('export.run is an export job in its own worker: verified package, same answer shape, listed as a job', { timeout: 120_000 }, async (t) => {
  const { services, pool, runId, root } = await fixture(t);
  const out = join(root, 'exports', 'hand-made.zip');
  const stages: string[] = [];
  const stop = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.progress' && (payload as { kind: string }).kind === 'export') stages.push((payload as { phase: string }).phase);
  });
  t.after(stop);
  const result = await services.request('export.run', { runId, out });
  assert.equal(result.path, out);
  assert.equal(result.verified, true);
  assert.equal(result.imagesSource, 'test');
  assert.ok(result.images > 0 && result.maxAbsDiff < result.tolerance, JSON.stringify(result));
  assert.ok(existsSync(out));
  assert.deepEqual([...new Set(stages)].filter((stage) => stage !== 'starting'), ['loading', 'packaging', 'verifying'], 'the export job reports its stages');
  assert.equal(pool.interactivePid(), null, 'an export is a cpu job: it does not use the interactive worker');
  assert.deepEqual(tfjsModulesLoadedHere(), []);
  const { jobs } = await services.request('jobs.list', {});
  const exportJob = jobs.find((job) => job.kind === 'export');
  assert.ok(exportJob && exportJob.status === 'completed' && exportJob.runId === runId && exportJob.lane === 'cpu', JSON.stringify(jobs));
  const { finished } = await services.request('jobs.get', { id: exportJob.id });
  assert.equal(finished?.kind === 'export' ? finished.result?.path : null, out);
});

test('Try it runs in the interactive worker: same answer as the in-process predictor, one worker and one model load for two tries, no TensorFlow.js here', { timeout: 120_000 }, async (t) => {
  const { services, pool, runId, imagesDir } = await fixture(t);
  const logs: Array<{ id: number; message: string }> = [];
  const stop = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.log') logs.push(payload as { id: number; message: string });
  });
  t.after(stop);

  const first = await services.request('export.predict', { model: { runId }, images: [{ path: imagesDir }], batchSize: 4 });
  const firstPid = pool.interactivePid();
  const second = await services.request('export.predict', { model: { runId }, images: [{ path: imagesDir }], batchSize: 5 });
  assert.ok(firstPid !== null && firstPid !== process.pid, 'the prediction ran in a worker process');
  assert.equal(pool.interactivePid(), firstPid, 'the second try reused the interactive worker');
  assert.deepEqual(tfjsModulesLoadedHere(), [], 'TensorFlow.js was loaded in the host process');

  assert.equal(first.results.length, 12);
  assert.equal(first.model.label, 'Hand-made red/blue');
  assert.deepEqual(first.model.classNames, CLASSES);
  assert.equal(first.labelled, 12);
  assert.equal(first.accuracy, 1, JSON.stringify(first.results.map((r) => (r.ok ? [r.name, r.className] : r.error))));
  assert.deepEqual(second.results, first.results, 'another batch size, the same answers');

  const { jobs } = await services.request('jobs.list', { kind: 'predict' });
  assert.equal(jobs.length, 2);
  assert.ok(jobs.every((job) => job.status === 'completed' && job.runId === runId && job.lane === 'interactive'), JSON.stringify(jobs));
  const secondJob = Math.max(...jobs.map((job) => job.id));
  const firstJob = Math.min(...jobs.map((job) => job.id));
  assert.ok(logs.some((log) => log.id === firstJob && /^loaded the model/.test(log.message)), JSON.stringify(logs));
  assert.ok(logs.some((log) => log.id === secondJob && /^using the loaded model/.test(log.message)), `the second try loaded the model again: ${JSON.stringify(logs)}`);

  // The in-process predictor (loading TensorFlow.js here only now) gives the same numbers.
  const { ensureInferenceBackend } = await import('../../../electron/inference/backend');
  const { loadModel } = await import('../../../electron/inference/loader');
  const { predictFiles } = await import('../../../electron/inference/predictor');
  await ensureInferenceBackend();
  const loaded = await loadModel(join(services.app.paths.models, 'run-hand-made'), { kind: 'pawprint-run', hints: { classNames: CLASSES } });
  try {
    const reference = await predictFiles(loaded, first.results.map((r) => r.path ?? ''));
    reference.forEach((expected, i) => {
      const got = first.results[i];
      assert.ok(got.ok && !('error' in expected));
      assert.equal(got.predictedIndex, expected.predictedIndex);
      got.probabilities.forEach((p, k) => assert.ok(Math.abs(p - expected.probabilities[k]) < 1e-6, `${got.name}: ${p} vs ${expected.probabilities[k]}`));
    });
  } finally {
    loaded.dispose();
  }
});

test('a damaged model folder: export.predict fails with one line, and the failed predict job says the same', { timeout: 60_000 }, async (t) => {
  const { services, imagesDir, root } = await fixture(t, 2);
  const damaged = join(root, 'damaged-model');
  await writeHandMadeModel(damaged);
  await writeFile(join(damaged, 'model.json'), '{"modelTopology": {"class_name": "Sequ');
  const failure = await services.request('export.predict', { model: { path: damaged }, images: [{ path: imagesDir }] }).then(() => null, (error: Error) => error);
  assert.ok(failure instanceof Error, 'a damaged model predicted');
  assert.equal(failure.message.split('\n').length, 1, failure.message);
  assert.match(failure.message, /model\.json/);
  const [job] = (await services.request('jobs.list', { kind: 'predict' })).jobs;
  assert.equal(job.status, 'failed');
  assert.equal(job.error, failure.message);
  // Bad input is refused before any job is queued.
  await assert.rejects(services.request('export.predict', { model: { path: damaged }, images: [{ path: join(root, 'nowhere') }] }), /No image or folder at/);
  assert.equal((await services.request('jobs.list', { kind: 'predict' })).jobs.length, 1);
});

test('a cancelled export stops during verification and leaves nothing at its target', { timeout: 120_000 }, async (t) => {
  // Enough verification images that the export is still verifying when the cancel arrives.
  const { services, runId, root, imagesDir } = await fixture(t, 150);
  const out = join(root, 'exports', 'cancelled.zip');
  let jobId = 0;
  const verifying: JobProgress[] = [];
  const stop = services.app.events.onAny((name, payload) => {
    const progress = payload as JobProgress;
    if (name !== 'jobs.progress' || progress.id !== jobId || progress.phase !== 'verifying') return;
    verifying.push(progress);
    // After the first verification batch: a check only before the first batch would let the rest run.
    if (verifying.length === 1) services.app.jobs.cancel(jobId);
  });
  t.after(stop);
  const { job } = await services.request('jobs.start', { kind: 'export', input: { runId, out, images: [{ path: imagesDir }], maxImages: 300 } });
  jobId = job.id;
  const finished: JobFinished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'cancelled', JSON.stringify(finished));
  assert.equal(verifying.at(-1)?.total, 300);
  assert.ok((verifying.at(-1)?.done ?? 300) < 300, `every image was verified: ${JSON.stringify(verifying.map((p) => p.done))}`);
  assert.equal(existsSync(out), false, 'a cancelled export left a package at the target');
  assert.deepEqual(await readdir(join(root, 'exports')).catch(() => []), [], 'a staging copy was left beside the target');
  const [row] = (await services.request('jobs.list', { kind: 'export' })).jobs;
  assert.equal(row.status, 'cancelled');
});
