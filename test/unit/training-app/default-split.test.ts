// A dataset with no split gets the default one (stratified 70/20/10, seed 1) the first time it is trained, said in the
// job log and in the run's notes; later runs, and datasets that have splits, train on the latest split and are never
// re-split. An empty config trains the default preset: mobilenetv2 on the bundled alpha 0.35 base. The train task is
// an in-process fake (it records what the kind sent): the real training is in default-training.slow.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import { listSplits } from '../../../electron/catalogue/splits';
import type { TrainTaskInput, TrainTaskResult } from '../../../electron/training/worker/task-types';
import { inProcessWorker, type InProcessWorker } from '../../support/in-process-worker';
import { tempDir, tempPaths } from '../../support/temp';
import { seedDataset } from './fixtures';

const completed: TrainTaskResult = { status: 'completed', error: null, bestEpoch: null, bestValAccuracy: null, modelPath: null, testAccuracy: null, testLoss: null };

async function open(t: { after(fn: () => Promise<void>): void }): Promise<{ services: Services; workers: InProcessWorker; root: string }> {
  const dir = tempDir('pawprint-default-split-');
  const workers = inProcessWorker({
    train: async (_input: TrainTaskInput, io) => {
      io.event({ type: 'backend', backend: { active: 'wasm', requested: 'auto', fallbackReasons: [], versions: { 'tfjs-core': '4.x' } } });
      return completed;
    },
  });
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { workers, progressIntervalMs: 0 } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  return { services, workers, root: dir.path };
}

/** A labelled dataset with no split (the fixture's split removed). */
async function unsplitDataset(services: Services, root: string, perClass = 10): Promise<number> {
  const { datasetId, splitId } = await seedDataset(services.app.db, join(root, 'images'), { perClass });
  services.app.db.prepare('DELETE FROM splits WHERE id = ?').run(splitId);
  return datasetId;
}

async function train(services: Services, input: { datasetId: number; splitId?: number; config: Record<string, unknown> }) {
  const logs: string[] = [];
  const off = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.log') logs.push((payload as { message: string }).message);
  });
  try {
    const { job } = await services.request('jobs.start', { kind: 'train', input });
    const finished = await services.app.events.next('jobs.finished', (event) => event.id === job.id);
    assert.equal(finished.status, 'completed', finished.error ?? '');
    const run = await services.request('runs.get', { runId: job.runId! });
    return { run, logs };
  } finally {
    off();
  }
}

test('an unsplit dataset gets the default stratified 70/20/10 split (seed 1) on its first run, said in the log and the run; later runs reuse it', async (t) => {
  const { services, workers, root } = await open(t);
  const datasetId = await unsplitDataset(services, root);
  assert.equal(listSplits(services.app.db, datasetId).length, 0);

  const first = await train(services, { datasetId, config: {} });
  const splits = listSplits(services.app.db, datasetId);
  assert.equal(splits.length, 1, 'one split was made');
  const [split] = splits;
  assert.deepEqual([split!.method, split!.seed, split!.trainFraction, split!.valFraction, split!.testFraction], ['stratified', 1, 0.7, 0.2, 0.1]);
  assert.deepEqual(split!.perClass, { cats: { train: 7, val: 2, test: 1 }, dogs: { train: 7, val: 2, test: 1 } });
  assert.equal(first.run.splitId, split!.id);
  assert.ok(first.logs.some((line) => line.includes('default (stratified 70/20/10, seed 1)')), `job log: ${first.logs.join(' | ')}`);
  assert.match(first.run.notes, /default \(stratified 70\/20\/10, seed 1\)/);

  // The empty config trained the default preset on the bundled base.
  const sent = workers.calls.find((call) => call.task === 'train')!.input as TrainTaskInput;
  assert.equal(sent.config.preset, 'mobilenetv2');
  assert.equal(sent.config.mobilenet.alpha, 0.35);
  assert.deepEqual(sent.config.imageSize, { height: 224, width: 224 }, 'the size that backbone does best at (bench/base-image-size.ts)');
  assert.equal(sent.config.mobilenet.baseSource, undefined);
  assert.equal(sent.data.train.length + sent.data.val.length + sent.data.test.length, 20);
  // The run record names that base, with its weights id, alpha and size, beside the worker's own versions.
  assert.deepEqual(first.run.versions, {
    'tfjs-core': '4.x', mobilenetBase: 'mobilenet_v2_0.35_224 imagenet (bundled)',
    mobilenetWeights: '224a2d6db81083e9037cffa913c3dfd7cf59902451450c49d7d73f8df4fe5862', mobilenetAlpha: '0.35', mobilenetBaseParameters: '410208',
  });

  const second = await train(services, { datasetId, config: {} });
  assert.equal(listSplits(services.app.db, datasetId).length, 1, 'never re-split once a split exists');
  assert.equal(second.run.splitId, split!.id);
  assert.ok(!second.logs.some((line) => line.includes('default (stratified')), 'the second run says nothing about a new split');
  assert.equal(second.run.notes, '');
});

test('a dataset that has splits trains on its latest and gets no new one', async (t) => {
  const { services, root } = await open(t);
  const { datasetId, splitId } = await seedDataset(services.app.db, join(root, 'images'), { perClass: 8 });
  const { run } = await train(services, { datasetId, config: { preset: 'cnn', imageSize: { height: 32, width: 32 } } });
  assert.equal(run.splitId, splitId);
  assert.deepEqual(run.versions, { 'tfjs-core': '4.x' }, 'a cnn run names no base');
  assert.deepEqual(listSplits(services.app.db, datasetId).map((split) => split.id), [splitId]);
});

test('a refused run makes no split', async (t) => {
  const { services, root } = await open(t);
  const datasetId = await unsplitDataset(services, root);
  await assert.rejects(services.request('jobs.start', { kind: 'train', input: { datasetId, config: { preset: 'mobilenetv2', imageSize: { height: 300, width: 300 } } } }), /config has problems/);
  assert.equal(listSplits(services.app.db, datasetId).length, 0);
});
