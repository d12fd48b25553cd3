// The one preprocessing recipe (issue 13): Pawprint's resize is TF's bilinear with half-pixel centres and no
// antialias, i.e. exactly what a consumer of an export computes with tf.image.resizeBilinear(img, [h, w], false, true),
// and training, evaluation, predict and Try it all feed a model those pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import { centreCropBox, resizeBilinear, roundPixels } from '../../../electron/imaging/resize-recipe';

/** Deterministic pseudo-random values 0..255 (a linear congruential generator: the same for every run). */
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

/** TF.js' own answer: tf.image.resizeBilinear(image, [h, w], alignCorners false, halfPixelCenters true). */
function tfResize(values: Float32Array, height: number, width: number, channels: number, outHeight: number, outWidth: number): Float32Array {
  return tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(values, [height, width, channels]), [outHeight, outWidth], false, true).dataSync() as Float32Array);
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

test('resizeBilinear matches tf.image.resizeBilinear(halfPixelCenters) on odd sizes, shrinking and enlarging', async () => {
  await tf.setBackend('cpu');
  const cases: Array<[number, number, number, number, number]> = [
    // [height, width, channels, outHeight, outWidth]
    [97, 61, 3, 20, 24], // shrink both ways, by unequal factors
    [7, 5, 3, 23, 31], // enlarge
    [37, 53, 3, 53, 11], // enlarge one axis, shrink the other
    [1, 9, 3, 5, 4], // a single row
    [13, 1, 1, 3, 7], // a single column, one channel
    [161, 159, 3, 160, 160], // almost the model's size
    [480, 333, 3, 160, 160], // a photo-like shrink by ~3
  ];
  for (const [seed, [height, width, channels, outHeight, outWidth]] of cases.entries()) {
    for (const integers of [true, false]) {
      const values = noise(height * width * channels, seed + 1, integers);
      const ours = resizeBilinear(values, height, width, channels, outHeight, outWidth);
      const theirs = tfResize(values, height, width, channels, outHeight, outWidth);
      const difference = maxDifference(ours, theirs);
      assert.ok(difference < 1e-4, `${height}x${width}x${channels} -> ${outHeight}x${outWidth}: max difference ${difference}`);
    }
  }
});

test('a centre crop then the resize matches tfjs on the cropped region', async () => {
  await tf.setBackend('cpu');
  const height = 45, width = 77;
  const values = noise(height * width * 3, 9, true);
  const box = centreCropBox(height, width, 16, 16);
  assert.deepEqual(box, { top: 0, left: 16, height: 45, width: 45 });
  const ours = resizeBilinear(values, height, width, 3, 16, 16, box);
  const theirs = tf.tidy(() => {
    const image = tf.tensor3d(values, [height, width, 3]).slice([box.top, box.left, 0], [box.height, box.width, 3]);
    return tf.image.resizeBilinear(image as import('@tensorflow/tfjs').Tensor3D, [16, 16], false, true).dataSync() as Float32Array;
  });
  assert.ok(maxDifference(ours, theirs) < 1e-4);
});

test('roundPixels rounds half to even, as tf.round does', async () => {
  await tf.setBackend('cpu');
  const values = Float32Array.from([0.5, 1.5, 2.5, 2.4999, 2.5001, 254.5, 255.4, -0.2, 3]);
  const expected = tf.tidy(() => tf.round(tf.tensor1d(values)).clipByValue(0, 255).dataSync());
  assert.deepEqual([...roundPixels(values)], [...expected].map((v) => v + 0)); // + 0: tf gives -0 for -0.2
});
