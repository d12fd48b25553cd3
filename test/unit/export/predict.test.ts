import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { tf, type Tensor } from '../../../electron/tfjs/tf';
import { decodeImages, imageExampleSource } from '../../../electron/training/data-pipeline';
import { folderSaveHandler, loadModelFromFolder } from '../../../electron/inference/model-folder';
import { NO_AUGMENTATION } from '../../../shared/training-config';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { listImageFiles } from '../../../electron/inference/image-files';
import { loadModel } from '../../../electron/inference/loader';
import { predictFiles } from '../../../electron/inference/predictor';
import { toProbabilities } from '../../../electron/inference/probabilities';
import { tempDir } from '../../support/temp';
import { CLASS_NAMES, tinyConfig, trainTinyRun, writeClassImages, writeTeachableMachineExport } from './helpers';

const tmp = tempDir('pawprint-predict-');
const imagesDir = join(tmp.path, 'images');
const runDir = join(tmp.path, 'run-model');
let imagePaths: string[] = [];

before(async () => {
  await ensureInferenceBackend();
  const items = await writeClassImages(imagesDir, 6);
  imagePaths = items.map((item) => item.path);
  await trainTinyRun(items, runDir);
});
after(() => tmp.cleanup());

async function zipOf(out: string, files: Record<string, Buffer>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) zip.addBuffer(data, name);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(out)).on('close', () => resolve()).on('error', reject);
  });
}

describe('loadModel + predictFiles', () => {
  test('a run folder predicts exactly what the training pipeline feeds the model', async () => {
    const loaded = await loadModel(runDir);
    try {
      assert.equal(loaded.kind, 'pawprint-run');
      assert.deepEqual(loaded.classNames, CLASS_NAMES);
      assert.deepEqual(loaded.imageSize, { height: 24, width: 24 });
      assert.equal(loaded.preprocessing, 'unit');
      assert.equal(loaded.preprocessingInModel, true, 'the presets scale inside the model (Rescaling layer)');
      assert.equal(loaded.output, 'logits');
      assert.equal(loaded.units, 1);

      const results = await predictFiles(loaded, imagePaths, { batchSize: 5 });
      // Reference: the trainer's own input path (decodeImages + imageExampleSource) into the saved model.
      const reference = await loadModelFromFolder(runDir);
      const decoded = await decodeImages(imagePaths.map((path, i) => ({ key: String(i), path, label: 0 })), { height: 24, width: 24 });
      const source = imageExampleSource(decoded, { augmentation: NO_AUGMENTATION, seed: 0 });
      const logits = tf.tidy(() => (reference.predict(source.inputs(imagePaths.map((_, i) => i), { epoch: 0, training: false })) as Tensor).dataSync());
      reference.dispose();
      let maxDiff = 0;
      results.forEach((r, i) => {
        assert.ok(!('error' in r), `unexpected error for ${r.name}`);
        if ('error' in r) return;
        const p1 = 1 / (1 + Math.exp(-logits[i]));
        maxDiff = Math.max(maxDiff, Math.abs(r.probabilities[1] - p1), Math.abs(r.outputs[0] - logits[i]));
        assert.equal(r.className, CLASS_NAMES[r.predictedIndex]);
        assert.ok(Math.abs(r.probabilities[0] + r.probabilities[1] - 1) < 1e-9);
      });
      assert.ok(maxDiff < 1e-6, `max difference from the training pipeline ${maxDiff}`);
      // The tiny model learned red vs blue: most predictions follow the folder the image came from.
      const correct = results.filter((r) => !('error' in r) && r.className === (r.path.includes('/red/') ? 'red' : 'blue')).length;
      assert.ok(correct >= imagePaths.length * 0.75, `only ${correct}/${imagePaths.length} correct`);
    } finally {
      loaded.dispose();
    }
  });

  test('one logit: class index 1 is the positive logit, probabilities [1 - sigmoid, sigmoid]', () => {
    assert.deepEqual(toProbabilities([0], 'logits'), [0.5, 0.5]);
    const [p0, p1] = toProbabilities([2], 'logits');
    assert.ok(Math.abs(p1 - 1 / (1 + Math.exp(-2))) < 1e-12 && Math.abs(p0 + p1 - 1) < 1e-12);
    assert.ok(toProbabilities([-800], 'logits')[1] >= 0, 'no NaN for large negative logits');
    const soft = toProbabilities([1, 2, 3], 'logits');
    assert.ok(Math.abs(soft.reduce((a, b) => a + b, 0) - 1) < 1e-12 && soft[2] > soft[1]);
    assert.deepEqual(toProbabilities([0.2, 0.8], 'probabilities'), [0.2, 0.8]);
  });

  test('a bad or missing image gets a per-file error and the others are still predicted; no tensor leaks', async () => {
    const bad = join(tmp.path, 'not-an-image.jpg');
    await writeFile(bad, 'this is text');
    const loaded = await loadModel(runDir);
    try {
      await predictFiles(loaded, imagePaths.slice(0, 2)); // warm up (kernels, backend scratch)
      const before = tf.memory().numTensors;
      const results = await predictFiles(loaded, [imagePaths[0], bad, join(tmp.path, 'missing.png'), imagePaths[1]]);
      assert.equal(tf.memory().numTensors, before, 'predictFiles leaked tensors');
      assert.equal(results.length, 4);
      assert.ok('className' in results[0] && 'className' in results[3]);
      assert.ok('error' in results[1] && /not-an-image\.jpg/.test(results[1].error), JSON.stringify(results[1]));
      assert.ok('error' in results[2] && /file not found/.test(results[2].error), JSON.stringify(results[2]));
    } finally {
      loaded.dispose();
    }
  });

  test('cancellation between batches: cancelled once the first batch\'s rows arrive, no later batch is predicted', async () => {
    const loaded = await loadModel(runDir);
    try {
      const six = imagePaths.slice(0, 6);
      assert.equal(six.length, 6);
      // Count the model's batches: a check only before the first batch (or after the loop) would let all three run.
      let predictCalls = 0;
      const predict = loaded.model.predict.bind(loaded.model);
      loaded.model.predict = (...args: Parameters<typeof predict>) => {
        predictCalls++;
        return predict(...args);
      };
      const controller = new AbortController();
      const batches: Array<[number, number]> = [];
      // The signal is still live when predictFiles starts; the cancel comes with the first batch's rows, as a job's
      // cancel arrives while the worker streams them.
      const onBatch = (offset: number, rows: unknown[]) => {
        batches.push([offset, rows.length]);
        controller.abort();
      };
      await assert.rejects(predictFiles(loaded, six, { batchSize: 2, signal: controller.signal, onBatch }), { name: 'AbortError' });
      assert.deepEqual(batches, [[0, 2]], 'only the first batch\'s rows arrived');
      assert.equal(predictCalls, 1, 'the batches after the cancel never reached the model');
    } finally {
      loaded.dispose();
    }
  });

  test('a Teachable Machine export: centre crop, x / 127 - 1, softmax outputs, labels from metadata.json', async () => {
    const dir = join(tmp.path, 'tm');
    const reference = await writeTeachableMachineExport(dir, ['cat', 'dog', 'other'], 32);
    const loaded = await loadModel(join(dir, 'model.json'));
    try {
      assert.equal(loaded.kind, 'teachable-machine');
      assert.deepEqual(loaded.classNames, ['cat', 'dog', 'other']);
      assert.equal(loaded.preprocessing, 'teachable-machine');
      assert.equal(loaded.resize, 'center-crop');
      assert.equal(loaded.output, 'probabilities');
      // A wide image whose centre square is one flat colour and whose sides are another: a centre crop sees only
      // the centre, so the expected input is that colour scaled by TM's x / 127 - 1.
      const w = 96, h = 32;
      const raw = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(x >= 32 && x < 64 ? [200, 40, 90] : [0, 255, 0], (y * w + x) * 3);
      const path = join(tmp.path, 'wide.png');
      await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
      const [result] = await predictFiles(loaded, [path]);
      assert.ok(!('error' in result));
      if ('error' in result) return;
      const expected = tf.tidy(() => {
        const x = tf.stack([tf.fill([32, 32], 200 / 127 - 1), tf.fill([32, 32], 40 / 127 - 1), tf.fill([32, 32], 90 / 127 - 1)], 2).expandDims(0);
        return Array.from((reference.predict(x) as Tensor).dataSync());
      });
      expected.forEach((p, i) => assert.ok(Math.abs(result.probabilities[i] - p) < 1e-5, `class ${i}: ${result.probabilities[i]} vs ${p}`));
      assert.equal(result.className, ['cat', 'dog', 'other'][expected.indexOf(Math.max(...expected))]);
    } finally {
      loaded.dispose();
      reference.dispose();
    }
  });

  test('a Teachable Machine .zip whose weights file was renamed still loads', async () => {
    const dir = join(tmp.path, 'tm2');
    const reference = await writeTeachableMachineExport(dir, ['a', 'b'], 32);
    reference.dispose();
    const zip = join(tmp.path, 'tm-export.zip');
    await zipOf(zip, {
      'tm-my-image-model/model.json': await readFile(join(dir, 'model.json')),
      'tm-my-image-model/weights (1).bin': await readFile(join(dir, 'weights.bin')),
      'tm-my-image-model/metadata.json': await readFile(join(dir, 'metadata.json')),
    });
    const loaded = await loadModel(zip);
    assert.equal(loaded.kind, 'teachable-machine');
    assert.deepEqual(loaded.classNames, ['a', 'b']);
    loaded.dispose();
  });

  test('the shared Teachable Machine model tells dogs from cats', { skip: sharedSkip() }, async () => {
    const loaded = await loadModel(join(SHARED, 'models', 'mobilenet-v2-0.35-224-teachable-machine'));
    try {
      assert.equal(loaded.kind, 'teachable-machine');
      assert.deepEqual(loaded.imageSize, { height: 224, width: 224 });
      const dogs = (await listImageFiles(join(SHARED, 'data', 'cats-vs-dogs', 'dogs'))).slice(0, 4);
      const cats = (await listImageFiles(join(SHARED, 'data', 'cats-vs-dogs', 'cats'))).slice(0, 4);
      const results = await predictFiles(loaded, [...dogs, ...cats]);
      // Its labels are "狗勾" (dog) and "不是狗勾" (not a dog).
      const right = results.filter((r, i) => !('error' in r) && r.predictedIndex === (i < dogs.length ? 0 : 1)).length;
      assert.ok(right >= 7, `${right}/8 right`);
    } finally {
      loaded.dispose();
    }
  });
});

import { existsSync } from 'node:fs';
import { sharedRoot as SHARED } from '../../support/shared-data';
function sharedSkip(): string | false {
  return existsSync(join(SHARED, 'models', 'mobilenet-v2-0.35-224-teachable-machine', 'model.json')) ? false : `needs ${SHARED} (../shared is not beside this checkout)`;
}

describe('clear errors for broken models', () => {
  test('missing source, corrupt zip, zip without model.json, missing weights, truncated weights, class count mismatch', async () => {
    const dir = join(tmp.path, 'broken');
    await mkdir(dir, { recursive: true });
    await assert.rejects(loadModel(join(dir, 'nope.zip')), { code: 'not-found', message: /does not exist/ });

    const corrupt = join(dir, 'corrupt.zip');
    await writeFile(corrupt, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 7)]));
    await assert.rejects(loadModel(corrupt), { code: 'invalid-payload', message: /corrupt\.zip is not a readable zip archive/ });

    const noModel = join(dir, 'no-model.zip');
    await zipOf(noModel, { 'readme.txt': Buffer.from('hi') });
    await assert.rejects(loadModel(noModel), { message: /holds no model\.json/ });

    const noWeights = join(dir, 'no-weights.zip');
    await zipOf(noWeights, { 'model.json': await readFile(join(runDir, 'model.json')), 'pawprint.json': await readFile(join(runDir, 'pawprint.json')) });
    await assert.rejects(loadModel(noWeights), { code: 'invalid-payload', message: /weights file weights\.bin named in model\.json is missing/ });

    const truncated = join(dir, 'truncated');
    await mkdir(truncated);
    await copyFile(join(runDir, 'model.json'), join(truncated, 'model.json'));
    await writeFile(join(truncated, 'weights.bin'), (await readFile(join(runDir, 'weights.bin'))).subarray(0, 100));
    await assert.rejects(loadModel(truncated), { message: /truncated or belongs to another model/ });

    const mismatch = join(dir, 'mismatch');
    const model = await loadModelFromFolder(runDir);
    await model.save(folderSaveHandler(mismatch));
    model.dispose();
    await writeFile(join(mismatch, 'pawprint.json'), JSON.stringify({ classNames: ['a', 'b', 'c'], imageSize: { height: 24, width: 24 } }));
    await assert.rejects(loadModel(mismatch), { message: /lists 3 classes \(a, b, c\) but the model has 1 output/ });

    await rm(dir, { recursive: true, force: true });
  });
});

// Keeps the helper import used when the shared data is absent (tinyConfig is part of the fixtures' API).
void tinyConfig;
