// Training, evaluation, predict and Try it feed a model the same pixels, and they are the recipe's (issue 13): what a
// consumer computes with TF.js alone from the decoded image, tf.image.resizeBilinear(img, [h, w], false, true) then
// tf.round. Fails if any path still resizes with sharp (whose linear kernel smooths when shrinking).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { tf } from '../../../electron/tfjs/tf';
import { createHash } from 'node:crypto';
import { DecodeCache, decodeImageFile, decodeImages } from '../../../electron/training/data-pipeline';
import { FeatureCache } from '../../../electron/training/mobilenet/feature-cache';
import { decodeForModel } from '../../../electron/inference/preprocess';
import { predictFiles } from '../../../electron/inference/predictor';
import type { LoadedModel } from '../../../electron/inference/loader';
import { tempDir } from '../../support/temp';

/** Deterministic pseudo-random values 0..255 (a linear congruential generator). */
function noise(count: number, seed: number, integers: boolean): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const v = (state / 2 ** 32) * 255;
    values[i] = integers ? Math.floor(v) : v;
  }
  return values;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** A 97x61 PNG of noise: shrinking it by ~4, an antialiasing resize (sharp's) gives clearly other pixels. */
async function noisyPng(): Promise<Buffer> {
  const width = 97, height = 61;
  const raw = Buffer.from(noise(width * height * 3, 42, true));
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

test('training, evaluation, predict and Try it feed a model the pixels tfjs computes from the decoded image', async (t) => {
  await tf.setBackend('cpu');
  const png = await noisyPng();
  const temp = tempDir();
  t.after(() => temp.cleanup());
  const dir = temp.path;
  const path = join(dir, 'noise.png');
  await writeFile(path, png);
  const height = 24, width = 20;

  // The reference: full-size decode, then tf.image.resizeBilinear(.., false, true) and tf.round, all in tfjs.
  const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const full = { data: decoded.data, height: decoded.info.height, width: decoded.info.width };
  assert.deepEqual([full.height, full.width, decoded.info.channels], [61, 97, 3]);
  const reference = Uint8Array.from(tf.tidy(() => tf.image.resizeBilinear(
    tf.tensor3d(full.data, [full.height, full.width, 3], 'float32'), [height, width], false, true,
  ).round().dataSync()));

  // sharp's linear resize of the same image, so the test shows it would catch a path that still used it.
  const sharpPixels = await sharp(png).resize(width, height, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
  assert.ok(maxDifference(sharpPixels, reference) > 20, 'the image does not tell the two resizes apart');

  // Training: one file through the caches, and the whole-dataset decode.
  const cacheDir = join(dir, 'cache');
  const training = (await decodeImageFile(path, height, width, { cacheDir })).pixels;
  const trainingFromDisk = (await decodeImageFile(path, height, width, { cacheDir })).pixels;
  const dataset = (await decodeImages([{ key: 'a', path, label: 0 }], { height, width })).pixels[0];
  // Predict, Try it, evaluation and export's reference images decode with decodeForModel.
  const predict = await decodeForModel({ imageSize: { height, width }, resize: 'fill' }, png);
  assert.deepEqual([...training], [...reference], 'training pixels are not the recipe\'s');
  assert.deepEqual([...trainingFromDisk], [...reference], 'the disk cache returns other pixels');
  assert.deepEqual([...dataset], [...reference]);
  assert.deepEqual([...predict], [...reference], 'predict pixels are not the recipe\'s');

  // predictFiles (predict, Try it and evaluation all run it): a linear model whose one logit is a weighted sum of the
  // input pixels, so its output tells what the model was fed.
  const weights = noise(height * width * 3, 7, false).map((v) => v / 255 - 0.5);
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [height, width, 3] }),
      tf.layers.dense({ units: 1, useBias: false, weights: [tf.tensor2d(weights, [height * width * 3, 1])] }),
    ],
  });
  const loaded: LoadedModel = {
    model, kind: 'tfjs-layers', source: dir, classNames: ['a', 'b'], imageSize: { height, width },
    preprocessing: 'none', preprocessingInModel: false, resize: 'fill', output: 'logits', units: 1, metadata: null,
    dispose: () => model.dispose(),
  };
  try {
    const [prediction] = await predictFiles(loaded, [path]);
    assert.ok(prediction && 'outputs' in prediction, JSON.stringify(prediction));
    const expected = weights.reduce((sum, w, i) => sum + w * reference[i], 0);
    const fromSharp = weights.reduce((sum, w, i) => sum + w * sharpPixels[i], 0);
    assert.ok(Math.abs(prediction.outputs[0] - expected) < 1e-2, `predictFiles' logit ${prediction.outputs[0]}, the recipe's ${expected} (sharp's ${fromSharp})`);
  } finally {
    loaded.dispose();
  }
});


test('pixels cached under the old rule (sharp\'s resize, pixel rule 2) are not reused: decode and feature caches', async (t) => {
  const png = await noisyPng();
  const temp = tempDir();
  t.after(() => temp.cleanup());
  const path = join(temp.path, 'noise.png');
  await writeFile(path, png);
  const height = 24, width = 20;
  const hash = createHash('sha256').update(png).digest('hex');
  // What pixel rule 2 left in the disk cache: sharp's resize of this very file.
  const old = await sharp(png).resize(width, height, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
  const cacheDir = join(temp.path, 'decoded');
  await mkdir(cacheDir, { recursive: true });
  await writeFile(join(cacheDir, `${hash}-${width}x${height}-p2.rgb`), old);
  const memory = new DecodeCache();
  memory.set(`${hash}:${width}x${height}:p2`, Uint8Array.from(old));

  const { pixels } = await decodeImageFile(path, height, width, { cacheDir, memoryCache: memory });
  assert.ok(maxDifference(pixels, old) > 20, 'the pixels of the old rule were reused');
  assert.notEqual(DecodeCache.key(hash, height, width), `${hash}:${width}x${height}:p2`);
  const params = { weightsId: 'a'.repeat(64), imageSize: 160, featureDim: 8, layout: 'avg' };
  assert.doesNotMatch(FeatureCache.fileNameFor(params), /-p2\.features$/, 'MobileNetV2 features of the old rule would be reused');
});
