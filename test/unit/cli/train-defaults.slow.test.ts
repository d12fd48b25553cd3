// `pawprint train DATASET` with no other flags on a fresh app folder: the default preset (mobilenetv2 on the bundled
// ImageNet alpha 0.35 base at 224x224) and the default split (stratified 70/20/10, seed 1), trained in a real job worker
// with nothing downloaded: no download job and nothing in the base-weights cache (a download always lands there first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { createServices } from '../../../electron/services/index';
import { resolvePaths } from '../../../electron/paths';
import { tempDir } from '../../support/temp';
import { writeImages } from '../training-app/fixtures';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) }, out, err };
}

test('pawprint train DATASET: mobilenetv2 on the bundled base at 224, the default split, offline', { timeout: 600_000 }, async (t) => {
  const dir = tempDir('pawprint-cli-train-defaults-');
  t.after(() => dir.cleanup());
  const db = join(dir.path, 'app', 'pawprint.db');
  const photos = join(dir.path, 'pets');
  await writeImages(photos, 10, 64);
  const imported = capture();
  assert.equal(await runCli(['import', photos, '--db', db], imported.io), 0, imported.err.join('\n'));

  const trained = capture();
  assert.equal(await runCli(['train', 'pets', '--db', db, '--json'], trained.io), 0, trained.err.join('\n'));
  const summary = JSON.parse(trained.out.join('\n')) as { runId: number; status: string; preset: string; splitId: number };
  assert.equal(summary.status, 'completed');
  assert.equal(summary.preset, 'mobilenetv2');
  // The run's first line says what was planned: the preset, the split and the input size.
  assert.match(trained.err.join('\n'), /run \d+: mobilenetv2 on "pets" \(split \d+\), \d+ epochs, 224x224/);

  // What the catalogue recorded (read after the CLI closed it).
  const services = createServices({ db, host: { kind: 'web' } });
  t.after(() => services.close());
  const run = await services.request('runs.get', { runId: summary.runId });
  assert.deepEqual(run.config.imageSize, { height: 224, width: 224 });
  assert.equal(run.config.mobilenet.alpha, 0.35);
  assert.equal(run.versions.mobilenetBase, 'mobilenet_v2_0.35_224 imagenet (bundled)');
  const splits = await services.request('splits.list', { datasetId: run.datasetId! });
  assert.deepEqual(splits.map((split) => [split.id, split.method, split.seed, split.trainFraction, split.valFraction, split.testFraction]),
    [[summary.splitId, 'stratified', 1, 0.7, 0.2, 0.1]]);
  const { jobs } = await services.request('jobs.list', { limit: 100 });
  assert.deepEqual(jobs.map((job) => job.kind).sort(), ['import', 'train'], 'no download job');
  assert.equal(existsSync(join(resolvePaths({ db }).cache, 'base-weights')), false, 'no base weights were downloaded');
});
