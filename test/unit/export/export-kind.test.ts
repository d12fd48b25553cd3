// The export job with a fake export-package task in this process (test/support/in-process-worker.ts): prepare()
// refuses in words before queueing, and a cancel that arrives after the worker's last check still leaves no
// package at the target (the job is recorded cancelled).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { runCli } from '../../../electron/cli/main';
import { createRun, finishRun, markRunning } from '../../../electron/catalogue/runs';
import { parseTrainingConfig } from '../../../shared/training-config';
import type { ExportPackageInput, ExportPackageResult } from '../../../electron/export/task-types';
import { inProcessWorker } from '../../support/in-process-worker';
import { writeClassFolders } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';

async function open(t: { after(fn: () => Promise<void> | void): void }, exportPackage: (input: ExportPackageInput, signal: AbortSignal) => Promise<ExportPackageResult>) {
  const dir = tempDir('pawprint-export-kind-');
  const worker = inProcessWorker({ 'export-package': (input, io) => exportPackage(input, io.signal) });
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { workers: worker, progressIntervalMs: 0 } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const imagesDir = join(dir.path, 'photos');
  await writeClassFolders(imagesDir, { blue: { count: 2, color: '#2030d0' }, red: { count: 2, color: '#d03020' } }, { width: 12, height: 10 });
  const { job } = await services.app.jobs.start({ kind: 'import', input: { path: imagesDir } });
  const imported = await services.app.jobs.wait(job.id);
  assert.ok(imported.kind === 'import' && imported.result);
  const db = services.app.db;
  const config = parseTrainingConfig({ preset: 'custom', imageSize: { height: 8, width: 8 }, preprocessing: 'none', epochs: 1 });
  const modelDir = join(dir.path, 'model');
  await mkdir(modelDir, { recursive: true });
  const { id: splitId } = await services.request('splits.create', { datasetId: imported.result.datasetId, train: 0.5, val: 0.5, test: 0 });
  const runId = createRun(db, { datasetId: imported.result.datasetId, splitId, name: 'r', config, classNames: ['blue', 'red'], dataHash: 'x' });
  markRunning(db, runId, 'cpu', {});
  finishRun(db, runId, { status: 'completed', bestEpoch: 1, bestValAccuracy: 1, testAccuracy: 1, testLoss: 0, modelPath: modelDir });
  return { services, worker, root: dir.path, runId, imagesDir };
}

const written = (input: ExportPackageInput): ExportPackageResult => ({
  path: input.out, format: input.format, verified: true, maxAbsDiff: 0, images: input.images.length, skipped: 0, agreement: input.images.length, bytes: 3, files: ['model.json'],
});

test('a cancel that arrives after the package was written still leaves nothing at the target', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { services, root, runId, imagesDir } = await open(t, async (input) => {
    await writeFile(input.out, 'zip');
    await held; // the cancel lands here, after the worker's last check
    return written(input);
  });
  const out = join(root, 'out.zip');
  const { job } = await services.request('jobs.start', { kind: 'export', input: { runId, out, images: [{ path: imagesDir }] } });
  while (!existsSync(out)) await new Promise((resolve) => setTimeout(resolve, 5));
  services.app.jobs.cancel(job.id);
  release();
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'cancelled');
  assert.equal(existsSync(out), false, 'the cancelled export left its package');
});

test('export.run refuses before queueing: an existing target, a run that is not finished, no images', async (t) => {
  const { services, worker, root, runId, imagesDir } = await open(t, async (input) => written(input));
  const taken = join(root, 'taken.zip');
  await writeFile(taken, 'x');
  await assert.rejects(services.request('export.run', { runId, out: taken, images: [{ path: imagesDir }] }), { code: 'conflict', message: /taken\.zip already exists; choose another name or allow replacing it\./ });
  const { datasetId, splitId } = services.app.db.prepare('SELECT dataset_id AS datasetId, split_id AS splitId FROM runs WHERE id = ?').get(runId) as { datasetId: number; splitId: number };
  const running = createRun(services.app.db, { datasetId, splitId, name: 'busy', config: parseTrainingConfig({ preset: 'custom' }), classNames: ['a', 'b'], dataHash: 'x' });
  await assert.rejects(services.request('export.run', { runId: running }), { code: 'conflict', message: /is queued; only finished runs/ });
  // A run whose dataset was deleted (runs keep their row, dataset_id set to NULL) has no images of its own to verify on.
  await services.request('datasets.delete', { datasetId });
  await assert.rejects(services.request('export.run', { runId }), { code: 'conflict', message: /no dataset images left to verify/ });
  assert.equal(worker.calls.length, 0);
  assert.equal((await services.request('jobs.list', { kind: 'export' })).jobs.length, 0);
  // And the happy path answers with the kind's additions.
  const result = await services.request('export.run', { runId, out: join(root, 'ok'), images: [{ path: imagesDir }] });
  assert.equal(result.path, join(root, 'ok.zip'));
  assert.equal(result.imagesSource, 'given');
  assert.equal(result.tolerance, 1e-5);
});

test('export.run passes the chosen target to the worker and answers with that target\'s tolerance; the CLI refuses an unknown --target in one line', async (t) => {
  const seen: ExportPackageInput[] = [];
  const { services, root, runId, imagesDir } = await open(t, async (input) => {
    seen.push(input);
    await writeFile(input.out, 'zip');
    return written(input);
  });
  const onnx = await services.request('export.run', { runId, target: 'onnx', out: join(root, 'm-onnx.zip'), images: [{ path: imagesDir }] });
  const plain = await services.request('export.run', { runId, out: join(root, 'm-tfjs.zip'), images: [{ path: imagesDir }] });
  assert.deepEqual(seen.map((input) => input.target), ['onnx', 'tfjs']);
  assert.equal(onnx.tolerance, 1e-4);
  assert.equal(plain.tolerance, 1e-5);
  const err: string[] = [];
  const code = await runCli(['export', String(runId), '--target', 'keras', '--db', join(root, 'cli.sqlite')], { stdout: () => undefined, stderr: (text) => err.push(text) });
  assert.equal(code, 2);
  assert.match(err.join('\n'), /--target must be tfjs, tm or onnx, not "keras"/);
});
