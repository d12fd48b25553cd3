import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import type { JobProgress } from '../../../shared/contract/jobs';
import { tempDir, tempPaths } from '../../support/temp';
import { recordEvents, seedDataset, startTrain, trainProgress, waitForEvent } from './fixtures';

// A small custom CNN at 32x32 on the WebAssembly backend: a few seconds per run, including the worker's start.
const tinyConfig = {
  preset: 'custom',
  imageSize: { height: 32, width: 32 },
  batchSize: 8,
  backend: 'wasm',
  customLayers: [
    { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 },
    { type: 'maxPool', poolSize: 2 },
    { type: 'globalPool', mode: 'average' },
  ],
};

describe('training runs through the services and the worker process', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;

  before(async () => {
    dir = tempDir('pawprint-train-');
    services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0 } });
    ({ datasetId, splitId } = await seedDataset(services.app.db, join(dir.path, 'images')));
  });
  after(async () => {
    await services.close();
    dir.cleanup();
  });

  test('a run trains, records its epochs and backend, saves the best model and evaluates it on the test subset', async () => {
    const events = recordEvents(services);
    const { jobId, runId, finished: end } = await startTrain(services, { datasetId, splitId, name: 'tiny', config: { ...tinyConfig, epochs: 2 } });
    const running = await services.request('jobs.list', { active: true, kind: 'train' });
    assert.ok(running.jobs.some((job) => job.id === jobId && job.runId === runId), 'the run is listed as active at once');
    const finished = await end;
    assert.equal(finished.status, 'completed', finished.error ?? '');
    assert.equal(finished.result?.status, 'completed');

    const run = await services.request('runs.get', { runId });
    assert.equal(run.status, 'completed');
    assert.equal(run.name, 'tiny');
    assert.equal(run.backend, 'wasm');
    assert.equal(run.epochs.length, 2);
    assert.deepEqual(run.classNames, ['cats', 'dogs']);
    for (const epoch of run.epochs) {
      assert.ok(Number.isFinite(epoch.loss) && epoch.valAccuracy !== null && epoch.durationMs > 0);
    }
    assert.ok(run.versions['tfjs-core'] && run.versions['tfjs-backend-wasm'], JSON.stringify(run.versions));
    assert.equal(run.config.imageSize.height, 32);
    assert.ok(run.bestEpoch === 1 || run.bestEpoch === 2);
    assert.ok(run.testAccuracy !== null && run.testAccuracy >= 0 && run.testAccuracy <= 1);
    assert.ok(run.durationMs !== null && run.durationMs > 0);
    assert.ok(run.modelPath && existsSync(join(run.modelPath, 'model.json')) && existsSync(join(run.modelPath, 'weights.bin')));
    const metadata = JSON.parse(readFileSync(join(run.modelPath, 'metadata.json'), 'utf8'));
    assert.deepEqual(metadata.classNames, ['cats', 'dogs']);
    assert.deepEqual(metadata.imageSize, { height: 32, width: 32 });
    assert.equal(metadata.output.activation, 'sigmoid');
    assert.equal(metadata.run.metrics.bestEpoch, run.bestEpoch);

    const names = events.map((e) => e.name);
    assert.ok(names.includes('system.backendChanged'));
    assert.equal(services.app.backend.active, 'wasm');
    const progress = events.filter((e) => e.name === 'jobs.progress' && (e.payload as JobProgress).id === jobId)
      .flatMap((e) => { const detail = (e.payload as JobProgress).detail; return detail?.type === 'train' ? [detail] : []; });
    assert.ok(progress.some((p) => p.stage === 'training' && p.batch === p.batches && p.runId === runId), 'an epoch-end batch progress arrived');
    assert.equal(events.filter((e) => e.name === 'training.epoch').length, 2);
    assert.ok(names.lastIndexOf('training.epoch') < names.lastIndexOf('jobs.finished'));
    assert.equal((await services.request('jobs.list', { active: true, kind: 'train' })).jobs.length, 0);

    const listed = await services.request('runs.list', {});
    assert.equal(listed.runs[0].id, runId);
    assert.equal(listed.runs[0].epochsDone, 2);
    assert.equal(listed.runs[0].epochsPlanned, 2);
  });

  test('cancel stops after the current batch and keeps the run as cancelled with its finished epochs', async () => {
    const { jobId, runId, finished: done } = await startTrain(services, { datasetId, splitId, config: { ...tinyConfig, epochs: 500 } });
    await waitForEvent(services, 'training.epoch', (e) => e.runId === runId);
    assert.equal((await services.request('jobs.cancel', { id: jobId })).cancelled, true);
    const finished = await done;
    assert.equal(finished.status, 'cancelled');
    assert.equal(finished.result?.status, 'cancelled');
    const run = await services.request('runs.get', { runId });
    assert.equal(run.status, 'cancelled');
    assert.ok(run.epochs.length >= 1 && run.epochs.length < 500);
    assert.equal((await services.request('jobs.cancel', { id: jobId })).cancelled, false, 'an ended run cannot be cancelled again');
  });

  test('a loss that becomes NaN or infinite fails the run with a message that says what to try', async () => {
    const { runId, finished: done } = await startTrain(services, {
      datasetId, splitId, config: { ...tinyConfig, epochs: 20, optimizer: 'sgd', learningRate: 1e12, preprocessing: 'none' },
    });
    const finished = await done;
    assert.equal(finished.status, 'failed');
    assert.equal(finished.result?.status, 'failed');
    assert.match(finished.error ?? '', /loss (became|exploded).*at epoch 1 batch \d+; try a lower learning rate/);
    assert.equal((await services.request('runs.get', { runId })).status, 'failed');
  });

  test('a killed worker fails its run with the reason while the services keep answering', async () => {
    const { jobId, runId, finished: done } = await startTrain(services, { datasetId, splitId, config: { ...tinyConfig, epochs: 500 } });
    await trainProgress(services, jobId, (detail) => detail.runId === runId && detail.stage === 'training' && detail.epoch >= 2);
    const pid = services.app.jobs.workerPid(jobId);
    assert.ok(pid, 'the worker has a pid');
    process.kill(pid, 'SIGKILL');
    const finished = await done;
    assert.equal(finished.status, 'failed');
    assert.match(finished.error ?? '', /the job worker exited unexpectedly \(signal SIGKILL\)/);

    const run = await services.request('runs.get', { runId });
    assert.equal(run.status, 'failed');
    assert.ok(run.finishedAt !== null);
    assert.ok(run.epochs.length >= 1, 'epochs finished before the crash are kept');
    assert.deepEqual(run.epochs.map((e) => e.epoch), run.epochs.map((_, i) => i + 1));
    assert.equal((await services.request('jobs.list', { active: true, kind: 'train' })).jobs.length, 0);
    const info = await services.request('system.info', {});
    assert.equal(info.backend.active, 'wasm');
    // The app keeps working: another run starts and is accepted.
    const next = await startTrain(services, { datasetId, splitId, config: { ...tinyConfig, epochs: 1 } });
    const nextFinished = await next.finished;
    assert.equal(nextFinished.status, 'completed', nextFinished.error ?? '');
  });
});

test('closing the app stops a training worker within a bounded time and records the run as cancelled', async () => {
  const dir = tempDir('pawprint-train-close-');
  try {
    const paths = tempPaths(dir.path);
    const services = createServices({ paths, host: { kind: 'web' } });
    const { datasetId, splitId } = await seedDataset(services.app.db, join(dir.path, 'images'));
    const { jobId, runId } = await startTrain(services, { datasetId, splitId, config: { ...tinyConfig, epochs: 500 } });
    await waitForEvent(services, 'training.epoch', (e) => e.runId === runId);
    const pid = services.app.jobs.workerPid(jobId)!;
    const started = Date.now();
    await services.close();
    assert.ok(Date.now() - started < 8000, 'shutdown is bounded');
    const reopened = createServices({ paths, host: { kind: 'web' } });
    try {
      const run = await reopened.request('runs.get', { runId });
      assert.equal(run.status, 'cancelled');
      assert.ok(run.epochs.length >= 1);
    } finally {
      await reopened.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.throws(() => process.kill(pid, 0), 'the worker process is gone');
  } finally {
    dir.cleanup();
  }
});
