// export.run hands out a download id for the package it wrote (issue 13 item 3); the host route is tested in
// test/unit/foundation/web-host-download.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { downloadsOf } from '../../../electron/services/downloads';
import { createRun, finishRun, markRunning } from '../../../electron/catalogue/runs';
import { parseTrainingConfig } from '../../../shared/training-config';
import type { ExportPackageInput, ExportPackageResult } from '../../../electron/export/task-types';
import { inProcessWorker } from '../../support/in-process-worker';
import { writeClassFolders } from '../../support/images';
import { tempDir, tempPaths } from '../../support/temp';

async function open(t: { after(fn: () => Promise<void> | void): void }, exportPackage: (input: ExportPackageInput, signal: AbortSignal) => Promise<ExportPackageResult>) {
  const dir = tempDir('pawprint-export-download-');
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


test('export.run answers with a download id that the hosts resolve to the package it wrote (zip and folder)', async (t) => {
  const { services, root, runId, imagesDir } = await open(t, async (input) => {
    if (input.format === 'folder') {
      await mkdir(input.out, { recursive: true });
      await writeFile(join(input.out, 'model.json'), '{"folder":true}');
    } else {
      await writeFile(input.out, 'ZIP-BYTES');
    }
    return written(input);
  });
  const zip = await services.request('export.run', { runId, out: join(root, 'pkg'), images: [{ path: imagesDir }] });
  assert.match(zip.download ?? '', /^d[0-9a-f]{32}$/);
  const downloads = downloadsOf(services.app);
  assert.equal(downloads.lookup(zip.download!)?.path, zip.path);
  const opened = await downloads.open(zip.download!);
  assert.ok(opened);
  assert.equal(opened.filename, 'pkg.zip');
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(chunks), readFileSync(zip.path));
  const folder = await services.request('export.run', { runId, out: join(root, 'pkg-folder'), format: 'folder', images: [{ path: imagesDir }] });
  assert.notEqual(folder.download, zip.download);
  const entry = downloads.lookup(folder.download!);
  assert.equal(entry?.folder, true);
  assert.equal(entry?.filename, 'pkg-folder.zip');
});
