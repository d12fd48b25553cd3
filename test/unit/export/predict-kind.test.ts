// The predict job with the inference tasks in this process (test/support/in-process-worker.ts, the same protocol
// checks as a real worker): what prepare() refuses before queueing, the answer assembled from streamed rows with
// its progress only as jobs.progress (export.progress is gone), a cancel after the first rows, and export.inspect as an
// unrecorded task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import { inspectTask, predictFilesTask } from '../../../electron/inference/tasks';
import { events as contractEvents } from '../../../shared/contract/index';
import type { JobProgress } from '../../../shared/contract/jobs';
import { inProcessWorker, type InProcessWorker } from '../../support/in-process-worker';
import { writeClassFolders } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';
import { writeHandMadeModel } from './hand-made-model';

async function open(t: { after(fn: () => Promise<void> | void): void }, perClass = 3): Promise<{ services: Services; worker: InProcessWorker; root: string; modelDir: string; imagesDir: string }> {
  const dir = tempDir('pawprint-predict-kind-');
  const worker = inProcessWorker({ 'predict-files': predictFilesTask, inspect: inspectTask });
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { workers: worker, progressIntervalMs: 0 } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const modelDir = join(dir.path, 'model');
  await writeHandMadeModel(modelDir);
  const imagesDir = join(dir.path, 'photos');
  await writeClassFolders(imagesDir, { blue: { count: perClass, color: '#2030d0' }, red: { count: perClass, color: '#d03020' } }, { width: 12, height: 10 });
  return { services, worker, root: dir.path, modelDir, imagesDir };
}

test('export.predict answers from a predict job: rows in file order, no accuracy without class folders, jobs.progress per batch and no export.progress', async (t) => {
  const { services, worker, modelDir, imagesDir } = await open(t);
  const progress: JobProgress[] = [];
  const names = new Set<string>();
  services.app.events.onAny((name, payload) => {
    names.add(name);
    if (name === 'jobs.progress' && (payload as JobProgress).phase === 'predicting') progress.push(payload as JobProgress);
  });
  // A plain folder model has no class names: its classes are "class 0" and "class 1", so no folder names a class.
  const answer = await services.request('export.predict', { model: { path: modelDir }, images: [{ path: imagesDir }], batchSize: 4 });
  assert.deepEqual(answer.results.map((r) => r.name), ['blue-000.jpg', 'blue-001.jpg', 'blue-002.jpg', 'red-000.jpg', 'red-001.jpg', 'red-002.jpg']);
  assert.deepEqual(answer.results.map((r) => (r.ok ? r.className : r.error)), ['class 0', 'class 0', 'class 0', 'class 1', 'class 1', 'class 1']);
  assert.equal(answer.model.label, 'model');
  assert.equal(answer.labelled, 0);
  assert.equal(answer.accuracy, null);
  assert.deepEqual(progress.map((p) => [p.kind, p.phase, p.done, p.total]), [['predict', 'predicting', 4, 6], ['predict', 'predicting', 6, 6]]);
  assert.ok(!names.has('export.progress'), 'the old export.progress event is not emitted');
  assert.ok(!Object.keys(contractEvents).includes('export.progress'), 'nor declared in the contract');
  assert.deepEqual(worker.calls.map((c) => [c.task, c.jobId !== null]), [['predict-files', true]]);
  const { jobs } = await services.request('jobs.list', { kind: 'predict' });
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0].status, 'completed');
  assert.equal(jobs[0].lane, 'interactive');
});

test('bad input is refused in words before a job is queued', async (t) => {
  const { services, worker, root, modelDir } = await open(t);
  await assert.rejects(services.request('export.predict', { model: { path: modelDir }, images: [{ path: join(root, 'nowhere') }] }), { code: 'not-found', message: /No image or folder at .*nowhere/ });
  await assert.rejects(services.request('export.predict', { model: { path: modelDir }, images: [{ path: join(root, 'model') }] }), { code: 'not-found', message: /No images found to predict/ });
  await assert.rejects(services.request('export.predict', { model: { runId: 99 }, images: [{ path: join(root, 'photos') }] }), { code: 'not-found' });
  await assert.rejects(services.request('export.predict', { model: { path: join(root, 'no-model') }, images: [{ path: join(root, 'photos') }] }), { code: 'not-found', message: /No model at .*no-model: the file or folder does not exist\./ });
  await assert.rejects(services.request('export.run', { runId: 99 }), { code: 'not-found' });
  assert.equal((await services.request('jobs.list', {})).jobs.length, 0);
  assert.equal(worker.calls.length, 0);
});

test('a predict job cancelled when its first rows arrive ends cancelled, and no later batch is predicted', async (t) => {
  const { services, modelDir, imagesDir } = await open(t, 8);
  const offsets: number[] = [];
  let jobId = 0;
  services.app.events.onAny((name, payload) => {
    if (name !== 'jobs.progress' || (payload as JobProgress).phase !== 'predicting') return;
    offsets.push((payload as JobProgress).done);
    services.app.jobs.cancel(jobId);
  });
  const { job } = await services.request('jobs.start', { kind: 'predict', input: { model: { path: modelDir }, images: [{ path: imagesDir }], batchSize: 4 } });
  jobId = job.id;
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'cancelled', JSON.stringify(finished));
  assert.deepEqual(offsets, [4], 'batches after the cancel were predicted');
  // The interactive lane is free again: the next try runs.
  const again = await services.request('export.predict', { model: { path: modelDir }, images: [{ path: imagesDir }] });
  assert.equal(again.results.length, 16);
});

test('export.inspect runs the inspect task with no job record', async (t) => {
  const { services, worker, modelDir } = await open(t);
  const info = await services.request('export.inspect', { model: { path: modelDir } });
  assert.equal(info.kind, 'tfjs-layers');
  assert.deepEqual(info.imageSize, { height: 8, width: 8 });
  assert.deepEqual(worker.calls.map((c) => [c.task, c.jobId]), [['inspect', null]]);
  assert.equal((await services.request('jobs.list', {})).jobs.length, 0);
});

test('on a read-only catalogue Try it still answers, as an unrecorded worker task', async (t) => {
  const { services, root, modelDir, imagesDir } = await open(t);
  await services.close();
  const worker = inProcessWorker({ 'predict-files': predictFilesTask });
  const readonly = createServices({ paths: tempPaths(root), readonly: true, host: { kind: 'web' }, jobs: { workers: worker } });
  t.after(() => readonly.close());
  const answer = await readonly.request('export.predict', { model: { path: modelDir }, images: [{ path: imagesDir }] });
  assert.equal(answer.results.filter((r) => r.ok).length, 6);
  assert.deepEqual(worker.calls.map((c) => [c.task, c.jobId]), [['predict-files', null]]);
  assert.equal((await readonly.request('jobs.list', {})).jobs.length, 0);
});
