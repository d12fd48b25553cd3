// One model-file format (issue 12 §2.6): training and export write metadata.json through inference/model-format.ts,
// and the one loader reads run folders, export packages, legacy run folders (pawprint.json) and legacy exports
// (formatVersion 1) alike; no other JSON file beside a model is read for hints any more.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { buildPresetModel } from '../../../electron/training/presets';
import { saveModelToFolder } from '../../../electron/inference/model-folder';
import { writeRunMetadata } from '../../../electron/training/worker/job';
import type { TrainRunStart } from '../../../electron/training/worker/task-types';
import { exportRun } from '../../../electron/export/package';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { modelMetadataSchema, readModelMetadata } from '../../../electron/inference/model-format';
import { tempDir } from '../../support/temp';
import { writeImage } from '../../support/images';
import { runRecord, tinyConfig } from '../export/helpers';

const tmp = tempDir('pawprint-model-format-');
const CLASSES = ['apples', 'pears'];
const config = tinyConfig({ imageSize: { height: 16, width: 16 }, preprocessing: 'unit' });
const runDir = join(tmp.path, 'run-7');
const images: string[] = [];

before(async () => {
  await ensureInferenceBackend();
  const model = buildPresetModel(config, CLASSES.length);
  try {
    await saveModelToFolder(model, runDir);
  } finally {
    model.dispose();
  }
  // What the training worker does once the best model is saved.
  const start = {
    runId: 7, config, appVersion: '9.9.9',
    data: { classNames: CLASSES, splitId: 3, dataHash: 'hash-1', train: [], val: [], test: [] },
    paths: { modelDir: runDir, cacheDir: join(tmp.path, 'cache') },
  } satisfies TrainRunStart;
  await writeRunMetadata(start, {
    result: { bestEpoch: 1, epochs: [{ phase: 'train', epoch: 1, loss: 0.5, accuracy: 0.75, valLoss: 0.4, valAccuracy: 0.8, durationMs: 5 }] },
    preprocessing: config.preprocessing, testAccuracy: 0.7, testLoss: 0.6, backend: tf.getBackend(), versions: { 'tfjs-core': tf.version['tfjs-core'] },
  });
  for (let i = 0; i < 3; i++) images.push(await writeImage(join(tmp.path, 'images', `${i}.png`), { format: 'png', variant: i, width: 30, height: 20 }).then(() => join(tmp.path, 'images', `${i}.png`)));
});
after(() => tmp.cleanup());

/** A copy of the run's model files (model.json, weights.bin) without any metadata. */
async function bareModel(name: string): Promise<string> {
  const dir = join(tmp.path, name);
  await mkdir(dir, { recursive: true });
  for (const file of ['model.json', 'weights.bin']) await cp(join(runDir, file), join(dir, file));
  return dir;
}

describe('one model format for runs and exports', () => {
  test('a run folder written by training and its export package load with identical classes, size and preprocessing', async () => {
    const runMetadata = modelMetadataSchema.parse(JSON.parse(await readFile(join(runDir, 'metadata.json'), 'utf8')));
    assert.equal(runMetadata.package, 'run');
    assert.equal(runMetadata.formatVersion, 2);
    assert.equal(runMetadata.run.id, 7);
    assert.equal(runMetadata.run.metrics.testAccuracy, 0.7);
    assert.ok(!existsSync(join(runDir, 'pawprint.json')), 'training writes the one format only');

    const out = join(tmp.path, 'exported.zip');
    const run = { ...runRecord(runDir, config), classNames: CLASSES };
    await exportRun({ run, out, format: 'zip', appVersion: '9.9.9', images: images.map((path) => ({ path })) });

    const fromRun = await loadModel(runDir);
    const fromExport = await loadModel(out);
    try {
      assert.equal(fromRun.kind, 'pawprint-run');
      assert.equal(fromExport.kind, 'pawprint-export');
      for (const loaded of [fromRun, fromExport]) assert.deepEqual(loaded.classNames, CLASSES);
      assert.deepEqual(fromExport.imageSize, fromRun.imageSize);
      assert.deepEqual(fromRun.imageSize, { height: 16, width: 16 });
      assert.equal(fromExport.preprocessing, fromRun.preprocessing);
      assert.equal(fromRun.preprocessing, 'unit');
      assert.equal(fromExport.preprocessingInModel, fromRun.preprocessingInModel);
      assert.equal(fromExport.resize, fromRun.resize);
      assert.equal(fromExport.output, fromRun.output);
    } finally {
      fromRun.dispose();
      fromExport.dispose();
    }
  });

  test('an export never replaces a run\'s model folder, even when allowed to overwrite', async () => {
    const before = (await readdir(runDir)).sort();
    const run = { ...runRecord(runDir, config), classNames: CLASSES };
    await assert.rejects(
      exportRun({ run, out: runDir, format: 'folder', appVersion: '9.9.9', overwrite: true, images: images.map((path) => ({ path })) }),
      { code: 'conflict', message: /run's model folder/ },
    );
    assert.deepEqual((await readdir(runDir)).sort(), before);
    const loaded = await loadModel(runDir);
    assert.equal(loaded.kind, 'pawprint-run');
    loaded.dispose();
  });

  test('a legacy run folder (pawprint.json, version 1) still loads as a run', async () => {
    const dir = await bareModel('legacy-run');
    await writeFile(join(dir, 'pawprint.json'), JSON.stringify({
      format: 'pawprint-model', version: 1, runId: 4, classNames: ['cats', 'dogs'], imageSize: { height: 16, width: 16 },
      preprocessing: 'unit', input: { range: [0, 255], channels: 3, layout: 'NHWC' }, output: { activation: 'sigmoid', units: 1 },
      bestEpoch: 2, metrics: { valAccuracy: 0.9, valLoss: 0.3, testAccuracy: null, testLoss: null }, backend: 'cpu',
      versions: { 'tfjs-core': '4.0.0', pawprint: '0.1.0' }, config, savedAt: '2026-01-01T00:00:00.000Z',
    }));
    const loaded = await loadModel(dir);
    try {
      assert.equal(loaded.kind, 'pawprint-run');
      assert.deepEqual(loaded.classNames, ['cats', 'dogs']);
      assert.deepEqual(loaded.imageSize, { height: 16, width: 16 });
      assert.equal(loaded.preprocessing, 'unit');
    } finally {
      loaded.dispose();
    }
  });

  test('a legacy export (metadata.json, formatVersion 1, an older config) still loads as an export', async () => {
    const dir = await bareModel('legacy-export');
    const current = JSON.parse(await readFile(join(runDir, 'metadata.json'), 'utf8')) as Record<string, unknown> & { run: Record<string, unknown> };
    const { package: _package, ...withoutPackage } = current;
    void _package;
    await writeFile(join(dir, 'metadata.json'), JSON.stringify({
      ...withoutPackage, formatVersion: 1, classNames: ['left', 'right'],
      run: { ...current.run, config: { imageSize: { height: 16, width: 16 }, retiredOption: true }, metrics: { testAccuracy: 0.5, someOldMetric: 1 } },
    }));
    const loaded = await loadModel(dir);
    try {
      assert.equal(loaded.kind, 'pawprint-export');
      assert.deepEqual(loaded.classNames, ['left', 'right']);
      assert.deepEqual(loaded.imageSize, { height: 16, width: 16 });
    } finally {
      loaded.dispose();
    }
    // It is still an earlier export, which a new export may replace when allowed to.
    const run = { ...runRecord(runDir, config), classNames: CLASSES };
    await exportRun({ run, out: dir, format: 'folder', appVersion: '9.9.9', overwrite: true, images: images.map((path) => ({ path })) });
    const replaced = modelMetadataSchema.parse(JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')));
    assert.deepEqual([replaced.package, replaced.formatVersion, replaced.classNames], ['export', 2, CLASSES]);
  });

  test('JSON files other than the metadata are not read for hints: names come from the caller or are numbered', async () => {
    const dir = await bareModel('run-json');
    await writeFile(join(dir, 'run.json'), JSON.stringify({ classNames: ['wrong', 'guess'], imageSize: { height: 16, width: 16 } }));
    const plain = await loadModel(dir);
    assert.deepEqual(plain.classNames, ['class 0', 'class 1']);
    assert.equal(plain.kind, 'tfjs-layers');
    plain.dispose();
    const hinted = await loadModel(dir, { hints: { classNames: ['from', 'catalogue'] } });
    assert.deepEqual(hinted.classNames, ['from', 'catalogue']);
    hinted.dispose();
  });

  test('a damaged metadata.json is refused in one line naming the field', async () => {
    const dir = await bareModel('damaged');
    const current = JSON.parse(await readFile(join(runDir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'metadata.json'), JSON.stringify({ ...current, classNames: 'apples,pears', imageSize: { height: -1, width: 16 } }));
    await assert.rejects(loadModel(dir), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'invalid-payload');
      assert.ok(!error.message.includes('\n'), error.message);
      assert.match(error.message, /^metadata\.json in .* is damaged \(classNames: /);
      return true;
    });
  });

  test('readModelMetadata types what it finds: Teachable Machine, nothing, a damaged pawprint.json', async () => {
    const filesOf = (entries: Record<string, string>) => ({
      label: 'test', names: Object.keys(entries),
      read: async (name: string) => (name in entries ? Buffer.from(entries[name]!) : null),
    });
    const teachable = await readModelMetadata(filesOf({ 'metadata.json': JSON.stringify({ labels: ['a', 'b'], imageSize: 224, tmVersion: '2.4.7' }) }));
    assert.equal(teachable.format, 'teachable-machine');
    assert.deepEqual(teachable.format === 'teachable-machine' && teachable.metadata.labels, ['a', 'b']);
    assert.deepEqual(await readModelMetadata(filesOf({ 'checkpoint.json': JSON.stringify({ run: { classNames: ['x', 'y'] } }) })), { format: 'none' });
    await assert.rejects(readModelMetadata(filesOf({ 'pawprint.json': JSON.stringify({ format: 'pawprint-model', version: 1, classNames: ['a', 'b'] }) })),
      { code: 'invalid-payload', message: /^pawprint\.json in test is damaged \(imageSize: / });
  });
});
