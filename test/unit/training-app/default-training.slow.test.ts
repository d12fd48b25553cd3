// A fresh app folder, generated photos imported, then jobs.start {kind:'train', input:{datasetId, config:{}}} with no
// split and an empty config: the default split is made, and the default preset (mobilenetv2 on the bundled ImageNet
// alpha 0.35 base) trains in a real job worker without the network: no download job, nothing fetched into the
// base-weights cache, and the run, its log and its model name the bundled base, never by its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { projectRoot } from '../../../electron/build-paths';
import { tempDir, tempPaths } from '../../support/temp';
import { writeImages } from './fixtures';

test('train with an empty config on an unsplit dataset: default split, mobilenetv2 on the bundled base, offline', { timeout: 600_000 }, async (t) => {
  const dir = tempDir('pawprint-default-train-');
  const paths = tempPaths(dir.path);
  const services = createServices({ paths, host: { kind: 'web' }, jobs: { progressIntervalMs: 0 } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const photos = join(dir.path, 'photos');
  await writeImages(photos, 10, 64);
  const importJob = (await services.request('jobs.start', { kind: 'import', input: { path: photos, name: 'pets' } })).job;
  const imported = await services.app.jobs.wait(importJob.id);
  assert.equal(imported.status, 'completed', imported.error ?? '');
  const datasetId = importJob.datasetId!;
  assert.equal((await services.request('splits.list', { datasetId })).length, 0, 'the import made no split');

  const logs: string[] = [];
  const off = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.log') logs.push((payload as { message: string }).message);
  });
  const { job } = await services.request('jobs.start', { kind: 'train', input: { datasetId, config: {} } });
  const finished = await services.app.events.next('jobs.finished', (event) => event.id === job.id, 540_000);
  off();
  assert.equal(finished.status, 'completed', finished.error ?? '');

  const run = await services.request('runs.get', { runId: job.runId! });
  assert.equal(run.status, 'completed', run.error ?? '');
  assert.equal(run.config.preset, 'mobilenetv2');
  assert.equal(run.config.mobilenet.alpha, 0.35);
  const splits = await services.request('splits.list', { datasetId });
  assert.equal(splits.length, 1);
  assert.equal(run.splitId, splits[0]!.id);
  assert.deepEqual(splits[0]!.counts, { train: 14, val: 4, test: 2 });
  assert.ok(logs.some((line) => line.includes('default (stratified 70/20/10, seed 1)')), logs.join(' | '));
  assert.ok(logs.some((line) => line.startsWith('base mobilenet_v2_0.35_224 imagenet (bundled): weights 224a2d6db810, alpha 0.35, 410,208 parameters')), logs.join(' | '));
  assert.ok(run.testAccuracy !== null && run.bestValAccuracy !== null);

  // Offline: no download job, nothing in the base-weights cache (a download always lands there first).
  const { jobs } = await services.request('jobs.list', { limit: 100 });
  assert.deepEqual(jobs.map((entry) => entry.kind).filter((kind) => kind !== 'import'), ['train']);
  assert.equal(existsSync(join(paths.cache, 'base-weights')), false, 'no base weights were downloaded');

  // The run and its model name the base; no local path of the resources folder is recorded.
  assert.equal(run.versions.mobilenetBase, 'mobilenet_v2_0.35_224 imagenet (bundled)');
  const metadataText = readFileSync(join(run.modelPath!, 'metadata.json'), 'utf8');
  const metadata = JSON.parse(metadataText) as { run: { versions: Record<string, string> } };
  assert.equal(metadata.run.versions.mobilenetBase, 'mobilenet_v2_0.35_224 imagenet (bundled)');
  assert.equal(metadata.run.versions.mobilenetWeights, '224a2d6db81083e9037cffa913c3dfd7cf59902451450c49d7d73f8df4fe5862');
  assert.equal(metadata.run.versions.mobilenetAlpha, '0.35');
  assert.equal(metadata.run.versions.mobilenetBaseParameters, '410208');
  assert.ok(!metadataText.includes(join(projectRoot(), 'resources')), 'metadata.json holds no path to the bundled files');
  assert.ok(!JSON.stringify(run).includes(join(projectRoot(), 'resources')), 'the run holds no path to the bundled files');
});
