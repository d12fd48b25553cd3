import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { exportRun, VERIFY_TOLERANCE } from '../../../electron/export/package';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { predictFiles } from '../../../electron/inference/predictor';
import { readZipEntries } from '../../../electron/files/zip';
import { modelMetadataSchema as pawprintModelMetadataSchema } from '../../../electron/inference/model-format';
import { tempDir } from '../../support/temp';
import { CLASS_NAMES, runRecord, trainTinyRun, writeClassImages } from './helpers';
import type { TrainingConfig } from '../../../shared/training-config';

const tmp = tempDir('pawprint-export-');
const runDir = join(tmp.path, 'run-model');
let images: string[] = [];
let config: TrainingConfig;

before(async () => {
  await ensureInferenceBackend();
  const items = await writeClassImages(join(tmp.path, 'images'), 6);
  images = items.map((item) => item.path);
  ({ config } = await trainTinyRun(items, runDir));
});
after(() => tmp.cleanup());

function classesOf(results: Awaited<ReturnType<typeof predictFiles>>): string[] {
  return results.map((r) => ('error' in r ? `error: ${r.error}` : r.className));
}

describe('exportRun', () => {
  test('trained model → verified .zip → re-imported file predicts the same classes', async () => {
    const out = join(tmp.path, 'exports', 'tiny.zip');
    const stages: string[] = [];
    const result = await exportRun({
      run: runRecord(runDir, config), out, format: 'zip', appVersion: '9.9.9',
      images: images.map((path) => ({ path })), onProgress: (stage) => stages.push(stage),
    });
    assert.equal(result.verified, true);
    assert.equal(result.path, out);
    assert.equal(result.images, images.length);
    assert.equal(result.agreement, images.length);
    assert.ok(result.maxAbsDiff < VERIFY_TOLERANCE, `max abs diff ${result.maxAbsDiff}`);
    assert.ok(stages.includes('packaging') && stages.includes('verifying'));
    console.log(`# tiny cnn export: max abs diff ${result.maxAbsDiff} over ${result.images} images, ${result.bytes} bytes`);

    const entries = await readZipEntries(out);
    assert.deepEqual([...entries.keys()].sort(), [
      'README.md', 'check.html', 'classify.js', 'metadata.json', 'model.json', 'package.json',
      'reference/01.png', 'reference/02.png', 'reference/03.png', 'reference/04.png', 'reference/expected.json', 'weights.bin',
    ]);
    const metadata = pawprintModelMetadataSchema.parse(JSON.parse(entries.get('metadata.json')!.toString()));
    assert.deepEqual(metadata.classNames, CLASS_NAMES);
    assert.deepEqual(metadata.imageSize, { height: 24, width: 24 });
    assert.equal(metadata.preprocessing, 'unit');
    assert.equal(metadata.preprocessingInModel, true);
    assert.deepEqual(metadata.output, { kind: 'logits', activation: 'sigmoid', units: 1 });
    assert.equal(metadata.run.splitId, 1);
    assert.equal(metadata.run.dataHash, 'abc123');
    assert.equal(metadata.run.metrics.testAccuracy, 0.875);
    assert.equal(metadata.versions.app, '9.9.9');
    assert.equal(metadata.versions['tfjs-core'], tf.version['tfjs-core']);
    const modelJson = JSON.parse(entries.get('model.json')!.toString());
    assert.equal(modelJson.format, 'layers-model');
    assert.equal(modelJson.trainingConfig, undefined, 'inference only: no training config');
    const readme = entries.get('README.md')!.toString();
    assert.match(readme, /--input_format=tfjs_layers_model --output_format=keras /);
    assert.match(readme, /--output_format=keras_saved_model/);
    assert.match(readme, /tf\.loadLayersModel/);
    assert.match(readme, /classify\(model, /);

    // Re-import the file as a user would, and compare with the run's own model.
    const fromRun = await loadModel(runDir);
    const fromFile = await loadModel(out);
    try {
      assert.equal(fromFile.kind, 'pawprint-export');
      const a = await predictFiles(fromRun, images);
      const b = await predictFiles(fromFile, images);
      assert.deepEqual(classesOf(b), classesOf(a));
    } finally {
      fromRun.dispose();
      fromFile.dispose();
    }
  });

  test('folder format, and an existing target is refused unless overwrite', async () => {
    const out = join(tmp.path, 'exports', 'tiny-folder');
    const run = runRecord(runDir, config);
    const result = await exportRun({ run, out, format: 'folder', appVersion: '1.0.0', images: images.slice(0, 3).map((path) => ({ path })) });
    assert.equal(result.images, 3);
    assert.ok(result.maxAbsDiff < VERIFY_TOLERANCE);
    assert.deepEqual((await readdir(out)).sort(), ['README.md', 'check.html', 'classify.js', 'metadata.json', 'model.json', 'package.json', 'reference', 'weights.bin']);
    await assert.rejects(exportRun({ run, out, format: 'folder', appVersion: '1.0.0', images: images.map((path) => ({ path })) }), { code: 'conflict', message: /already exists/ });
    const again = await exportRun({ run, out, format: 'folder', appVersion: '1.0.0', images: images.slice(0, 2).map((path) => ({ path })), overwrite: true });
    assert.equal(again.images, 2);
  });

  test('no verifiable image: refused, and nothing is left on disk', async () => {
    const bad = join(tmp.path, 'bad.jpg');
    await writeFile(bad, 'not an image');
    const out = join(tmp.path, 'exports2', 'never.zip');
    await assert.rejects(exportRun({ run: runRecord(runDir, config), out, format: 'zip', appVersion: '1', images: [{ path: bad }] }), { code: 'failed', message: /Verification failed: none of the 1 verification images/ });
    assert.equal(existsSync(out), false);
    assert.deepEqual(await readdir(join(tmp.path, 'exports2')), [], 'the partial package was deleted');
    await assert.rejects(exportRun({ run: runRecord(runDir, config), out, format: 'zip', appVersion: '1', images: [] }), { code: 'conflict' });
  });

  test('runs without a model, or not finished, cannot be exported', async () => {
    const out = join(tmp.path, 'exports3', 'x.zip');
    await assert.rejects(exportRun({ run: runRecord(runDir, config, { modelPath: null }), out, format: 'zip', appVersion: '1', images: [{ path: images[0] }] }), { code: 'not-found' });
    await assert.rejects(exportRun({ run: runRecord(runDir, config, { status: 'running' }), out, format: 'zip', appVersion: '1', images: [{ path: images[0] }] }), { code: 'conflict' });
  });
});
