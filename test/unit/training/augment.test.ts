import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  augmentImage, augmentInto, augmentRng, augmentVariants, IDENTITY_PARAMS, reflectCoordinate, sampleAugmentParams,
  type AugmentParams,
} from '../../../electron/training/augment';
import { NO_AUGMENTATION, type AugmentationConfig } from '../../../shared/training-config';
import { mulberry32, shuffleInPlace } from '../../../shared/random';

const H = 12, W = 10, C = 3;
function randomImage(seed: number, h = H, w = W): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length: h * w * C }, () => Math.floor(rng() * 256));
}
const px = (img: ArrayLike<number>, y: number, x: number, c: number, w = W) => img[(y * w + x) * C + c];
function run(src: Uint8Array, params: Partial<AugmentParams>, h = H, w = W): Float32Array {
  const out = new Float32Array(h * w * C);
  augmentInto(src, h, w, C, { ...IDENTITY_PARAMS, ...params }, out);
  return out;
}
const aug = (a: Partial<AugmentationConfig>): AugmentationConfig => ({ ...NO_AUGMENTATION, ...a });

describe('augmentation', () => {
  const src = randomImage(1);

  test('same seed, epoch and key give the same output; another seed or epoch a different one', () => {
    const a = aug({ flip: 'both', rotation: 0.2, zoom: 0.1, brightness: 0.1, contrast: 0.2 });
    const one = augmentImage(src, H, W, C, a, 42, 3, 'img-1').pixels;
    assert.deepEqual(augmentImage(src, H, W, C, a, 42, 3, 'img-1').pixels, one);
    assert.notDeepEqual(augmentImage(src, H, W, C, a, 43, 3, 'img-1').pixels, one);
    assert.notDeepEqual(augmentImage(src, H, W, C, a, 42, 4, 'img-1').pixels, one);
    assert.notDeepEqual(augmentImage(src, H, W, C, a, 42, 3, 'img-2').pixels, one);
  });

  test('no augmentation and rotation 0 are exact identities', () => {
    assert.deepEqual(Array.from(run(src, {})), Array.from(src));
    const { pixels, params } = augmentImage(src, H, W, C, aug({ rotation: 0 }), 1, 0, 'k');
    assert.equal(params.angle, 0);
    assert.deepEqual(Array.from(pixels), Array.from(src));
  });

  test('flips mirror the right axis', () => {
    const h = run(src, { flipHorizontal: true });
    const v = run(src, { flipVertical: true });
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      assert.equal(px(h, y, x, c), px(src, y, W - 1 - x, c));
      assert.equal(px(v, y, x, c), px(src, H - 1 - y, x, c));
    }
  });

  test('flip mode "horizontal" never flips vertically, and flips about half the time', () => {
    let flips = 0;
    for (let i = 0; i < 1000; i++) {
      const p = sampleAugmentParams(aug({ flip: 'horizontal' }), augmentRng(5, 0, `k${i}`));
      assert.equal(p.flipVertical, false);
      if (p.flipHorizontal) flips++;
    }
    assert.ok(flips > 440 && flips < 560, `${flips} of 1000`);
  });

  test('rotation angles are uniform in ±factor·2π (Keras RandomRotation)', () => {
    const f = 0.25;
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < 2000; i++) {
      const { angle } = sampleAugmentParams(aug({ rotation: f }), augmentRng(1, i, 'k'));
      min = Math.min(min, angle);
      max = Math.max(max, angle);
    }
    assert.ok(min >= -f * 2 * Math.PI && min < -0.95 * f * 2 * Math.PI, `min ${min}`);
    assert.ok(max <= f * 2 * Math.PI && max > 0.95 * f * 2 * Math.PI, `max ${max}`);
  });

  test('changing one option does not reshuffle the others', () => {
    const a = sampleAugmentParams(aug({ flip: 'both' }), augmentRng(9, 2, 'x'));
    const b = sampleAugmentParams(aug({ flip: 'both', rotation: 0.3, contrast: 0.5 }), augmentRng(9, 2, 'x'));
    assert.deepEqual([a.flipHorizontal, a.flipVertical], [b.flipHorizontal, b.flipVertical]);
  });

  test('a quarter turn on a square image moves pixels exactly (bilinear at integer points)', () => {
    const s = 8;
    const sq = randomImage(3, s, s);
    const out = run(sq, { angle: Math.PI / 2 }, s, s);
    // Keras' transform: output (x, y) samples input (cos·x − sin·y, sin·x + cos·y) about the centre.
    for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) for (let c = 0; c < C; c++) {
      assert.ok(Math.abs(px(out, y, x, c, s) - px(sq, x, s - 1 - y, c, s)) < 1e-6);
    }
  });

  test('reflect fill follows TensorFlow (d c b a | a b c d | d c b a)', () => {
    assert.equal(reflectCoordinate(-1, 5), 0);
    assert.equal(reflectCoordinate(-2, 5), 1);
    assert.equal(reflectCoordinate(5, 5), 4);
    assert.equal(reflectCoordinate(6, 5), 3);
    assert.equal(reflectCoordinate(9, 5), 0);
    assert.equal(reflectCoordinate(10, 5), 0);
    assert.equal(reflectCoordinate(2.5, 5), 2.5);
    assert.equal(reflectCoordinate(-0.5, 5), 0); // TF clamps the reflected -0.5
    // Zooming out 2x on columns [0,10,20,30]: corners are filled by reflection, not by a constant.
    const w = 4, h = 4;
    const img = new Uint8Array(h * w * C);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < C; c++) img[(y * w + x) * C + c] = 10 * x;
    const out = run(img, { zoom: 2 }, h, w);
    const row = [0, 1, 2, 3].map((x) => px(out, 1, x, 0, w));
    assert.deepEqual(row, [5, 5, 25, 25]); // x: -1.5→0.5, 0.5, 2.5, 4.5→2.5
  });

  test('brightness shifts and clips; contrast scales around the channel mean', () => {
    const mid = Uint8Array.from({ length: H * W * C }, (_, i) => 100 + (i % 7) * 10);
    const bright = run(mid, { brightnessDelta: 20 });
    assert.equal(bright[0], mid[0] + 20);
    const clipped = run(Uint8Array.from({ length: H * W * C }, () => 250), { brightnessDelta: 20 });
    assert.ok(clipped.every((v) => v === 255));
    const contrast = run(mid, { contrastFactor: 1.5 });
    const mean = (a: ArrayLike<number>, c: number) => { let s = 0; for (let i = c; i < a.length; i += C) s += a[i]; return s / (a.length / C); };
    for (let c = 0; c < C; c++) assert.ok(Math.abs(mean(contrast, c) - mean(mid, c)) < 1e-3);
    const m0 = mean(mid, 0);
    assert.ok(Math.abs(contrast[0] - ((mid[0] - m0) * 1.5 + m0)) < 1e-3);
  });

  test('sampled brightness and contrast stay in their ranges', () => {
    for (let i = 0; i < 500; i++) {
      const p = sampleAugmentParams(aug({ brightness: 0.2, contrast: 0.3, zoom: 0.1 }), augmentRng(2, i, 'k'));
      assert.ok(Math.abs(p.brightnessDelta) <= 0.2 * 255);
      assert.ok(p.contrastFactor >= 0.7 && p.contrastFactor <= 1.3);
      assert.ok(p.zoom >= 0.9 && p.zoom <= 1.1);
    }
  });

  test('preview variant k is the training view at epoch k', () => {
    const a = aug({ flip: 'both', rotation: 0.25 });
    const variants = augmentVariants(src, H, W, C, a, 7, 'cat.jpg', 3);
    for (let k = 0; k < 3; k++) {
      const trained = augmentImage(src, H, W, C, a, 7, k, 'cat.jpg').pixels;
      assert.deepEqual(Array.from(variants[k].pixels), Array.from(trained, (v) => Math.round(v)));
    }
  });

  test('seeded shuffle is deterministic', () => {
    const a = shuffleInPlace([1, 2, 3, 4, 5, 6, 7, 8], mulberry32(1));
    assert.deepEqual(shuffleInPlace([1, 2, 3, 4, 5, 6, 7, 8], mulberry32(1)), a);
    assert.notDeepEqual(shuffleInPlace([1, 2, 3, 4, 5, 6, 7, 8], mulberry32(2)), a);
    assert.deepEqual([...a].sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
