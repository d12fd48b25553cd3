// The run page lists the run's exports (issue 14 item 4): each completed export job of the run, with its target,
// format, path, size and time, newest first; a package moved or deleted since is marked, a failed export is not listed.
// The export worker task is faked here (it writes a small file where the real one writes the package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskRegistry } from '../../../electron/jobs/worker/tasks';
import { insertDataset, insertRun, runsServices } from './fixtures';

const classNames = ['cats', 'dogs'];

const fakeExport: TaskRegistry['export-package'] = async (input) => {
  if (input.out.includes('refused')) throw new Error('verification failed: the package disagrees with the model');
  const bytes = Buffer.alloc(input.target === 'onnx' ? 3000 : 1200, 7);
  writeFileSync(input.out, bytes);
  return {
    path: input.out, format: input.format, verified: true, maxAbsDiff: 0, images: input.images.length, skipped: 0,
    agreement: input.images.length, bytes: bytes.length, files: ['model.json'],
  };
};

test('runs.exports lists a run\'s completed exports newest first, with target, format, path, size and time', async (t) => {
  const { services, dir } = runsServices(t, { 'export-package': fakeExport });
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir, 'photos'), 'pets', classNames, { train: 2, val: 1, test: 2 });
  const run = insertRun(db, dataset, { name: 'first', classNames, modelsDir: services.app.paths.models, epochs: 1 });
  const other = insertRun(db, dataset, { name: 'second', classNames, modelsDir: services.app.paths.models, epochs: 1 });
  assert.deepEqual((await services.request('runs.exports', { runId: run.runId })).exports, []);

  const zip = await services.request('export.run', { runId: run.runId, target: 'tfjs', out: join(dir, 'pets-tfjs.zip') });
  const onnx = await services.request('export.run', { runId: run.runId, target: 'onnx', out: join(dir, 'pets-onnx.zip') });
  await services.request('export.run', { runId: other.runId, out: join(dir, 'other.zip') });
  await assert.rejects(services.request('export.run', { runId: run.runId, out: join(dir, 'refused.zip') }), /verification failed/);

  const { exports } = await services.request('runs.exports', { runId: run.runId });
  assert.deepEqual(exports.map((e) => [e.target, e.format, e.path, e.bytes, e.present]), [
    ['onnx', 'zip', onnx.path, 3000, true],
    ['tfjs', 'zip', zip.path, 1200, true],
  ]);
  assert.ok(exports[0]!.jobId > exports[1]!.jobId);
  for (const row of exports) assert.ok(row.finishedAt !== null && !Number.isNaN(Date.parse(row.finishedAt)), String(row.finishedAt));

  // A package deleted since is still listed, marked as gone.
  rmSync(zip.path);
  const after = (await services.request('runs.exports', { runId: run.runId })).exports;
  assert.deepEqual(after.map((e) => e.present), [true, false]);
  await assert.rejects(services.request('runs.exports', { runId: 999 }), /Run 999 does not exist/);
});
