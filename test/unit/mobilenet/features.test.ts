// Feature cache (on disk, resumable) and feature extraction (progress, cancel, resume, determinism).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, appendFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PIXEL_RULE_VERSION } from '../../../electron/imaging/image-policy';
import { tf } from '../../../electron/tfjs/tf';
import { buildMobileNetV2 } from '../../../electron/training/mobilenet/mobilenet-v2';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { FeatureCache, ORIGINAL_VIEW, augmentedViewKey, type FeatureKey } from '../../../electron/training/mobilenet/feature-cache';
import {
  MobileNetFeatureExtractor,
  extractFeatures,
  featureExampleSource,
  selectPooling,
  FeatureExtractionCancelled,
  type ExtractionProgress,
} from '../../../electron/training/mobilenet/feature-extractor';
import type { BaseWeights } from '../../../electron/training/mobilenet/base-weights';
import { featureSourceFromImages } from '../../../electron/training/mobilenet/feature-data';
import { imagesFromPixels } from '../../../electron/training/data-pipeline';
import { augmentImage, toUint8 } from '../../../electron/training/augment';
import { NO_AUGMENTATION } from '../../../shared/training-config';
import { maxRelativeDiff, randomizeBatchNorm, randomPixels, useWasmBackend } from './helpers';

const SIZE = 96;
let root: string;
let weights: BaseWeights;

before(async () => {
  await useWasmBackend();
  root = await mkdtemp(path.join(os.tmpdir(), 'pawprint-mnv2-features-'));
  const model = buildMobileNetV2({ alpha: 0.35, imageSize: SIZE });
  randomizeBatchNorm(model, 5);
  weights = baseWeightsFromModel(model, 0.35);
  model.dispose();
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const params = { weightsId: 'a'.repeat(64), imageSize: 160, featureDim: 4, layout: 'max+avg' };
const key = (i: number, view = ORIGINAL_VIEW): FeatureKey => ({ imageHash: `hash-${i}`, view });

describe('FeatureCache', () => {
  test('stores, survives reopening, and cuts a torn trailing record', async () => {
    const dir = path.join(root, 'cache-1');
    let cache = await FeatureCache.open(dir, params);
    await cache.append([key(0), key(1)], Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    await cache.append([key(0, augmentedViewKey('sig', 0))], Float32Array.of(9, 10, 11, 12));
    assert.equal(cache.size, 3);
    await cache.close();

    // A crash in the middle of an append leaves part of a record.
    await appendFile(cache.filePath, Buffer.alloc(20, 7));
    cache = await FeatureCache.open(dir, params);
    assert.equal(cache.size, 3);
    assert.equal((await stat(cache.filePath)).size, 64 + 3 * (32 + 16));
    const out = new Float32Array(4 * 4).fill(-1);
    const found = await cache.readInto([key(1), key(2), key(0, augmentedViewKey('sig', 0)), key(0)], out);
    assert.deepEqual(found, [true, false, true, true]);
    assert.deepEqual(Array.from(out), [5, 6, 7, 8, -1, -1, -1, -1, 9, 10, 11, 12, 1, 2, 3, 4]);
    assert.ok(!cache.has(key(0, augmentedViewKey('other-settings', 0))));
    await assert.rejects(cache.append([key(3)], Float32Array.of(1)), /need 4 values/);
    await cache.close();
  });

  test('different weights, sizes or layouts use different files; a foreign header is set aside', async () => {
    const dir = path.join(root, 'cache-2');
    const a = await FeatureCache.open(dir, params);
    await a.append([key(0)], Float32Array.of(1, 2, 3, 4));
    await a.close();
    const b = await FeatureCache.open(dir, { ...params, imageSize: 128 });
    assert.equal(b.size, 0);
    await b.close();
    const c = await FeatureCache.open(dir, { ...params, weightsId: 'b'.repeat(64) });
    assert.equal(c.size, 0);
    await c.close();
    // Same file name (same 16-digit id prefix) but another full id: the old file is renamed, not reused.
    const d = await FeatureCache.open(dir, { ...params, weightsId: 'a'.repeat(16) + 'c'.repeat(48) });
    assert.equal(d.size, 0);
    await d.close();
    assert.ok((await readdir(dir)).some((f) => f.includes('.invalid-')));
  });

  test('the file names the pixel rule, so features decoded under another rule are never reused', () => {
    assert.match(FeatureCache.fileNameFor(params), new RegExp(`-p${PIXEL_RULE_VERSION}\\.features$`));
  });
});

describe('feature extraction', () => {
  test('features are deterministic, folded matches unfolded, selectPooling splits max/avg', async () => {
    const folded = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
    const plain = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE, folded: false });
    const before = tf.memory().numTensors;
    try {
      const px = randomPixels(3, SIZE, 9);
      const a = await folded.embed(px, 3);
      const b = await folded.embed(px, 3);
      const c = await plain.embed(px, 3);
      assert.equal(a.length, 3 * 2560);
      assert.deepEqual(a, b);
      assert.ok(maxRelativeDiff(c, a) < 1e-4, `folded vs unfolded ${maxRelativeDiff(c, a)}`);
      // One image alone gives the same vector as inside a batch.
      const single = await folded.embed(px.subarray(SIZE * SIZE * 3, 2 * SIZE * SIZE * 3), 1);
      assert.ok(maxRelativeDiff(a.subarray(2560, 5120), single) < 1e-5);
      const max = selectPooling(a, 3, 'max');
      const avg = selectPooling(a, 3, 'average');
      for (let i = 0; i < max.length; i++) assert.ok(max[i] >= avg[i] - 1e-6, 'max pooling >= average pooling');
      assert.deepEqual(max.subarray(1280, 2560), a.subarray(2560, 3840));
      assert.equal(tf.memory().numTensors, before);
      await assert.rejects(folded.embed(px, 2), /expected 2 x 96 x 96 x 3/);
    } finally {
      folded.dispose();
      plain.dispose();
    }
  });

  test('progress with ETA, cancel, resume from the cache without recomputing', async () => {
    const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
    const dir = path.join(root, 'features');
    const keys = Array.from({ length: 10 }, (_, i) => key(i));
    const allPixels = randomPixels(10, SIZE, 21);
    const per = SIZE * SIZE * 3;
    const loaded: string[] = [];
    const loadPixels = async (ks: FeatureKey[]) => {
      loaded.push(...ks.map((k) => k.imageHash));
      const out = new Uint8Array(ks.length * per);
      ks.forEach((k, j) => {
        const i = Number(k.imageHash.split('-')[1]);
        out.set(allPixels.subarray(i * per, (i + 1) * per), j * per);
      });
      return out;
    };
    const before = tf.memory().numTensors;
    try {
      // Run 1: cancel after the first batch of 4.
      let cache = await FeatureCache.open(dir, extractor.cacheParams);
      const ac = new AbortController();
      const progress: ExtractionProgress[] = [];
      await assert.rejects(
        extractFeatures(extractor, keys, {
          loadPixels, cache, batchSize: 4, signal: ac.signal,
          onProgress: (p) => { progress.push(p); if (p.computed >= 4) ac.abort(); },
        }),
        (e: unknown) => e instanceof FeatureExtractionCancelled && e.done === 4 && e.total === 10,
      );
      assert.equal(progress[0].etaSeconds, null);
      assert.equal(progress[1].computed, 4);
      assert.ok(progress[1].imagesPerSecond > 0 && progress[1].etaSeconds! > 0);
      await cache.close();

      // Run 2 (as after a restart): the 4 cached views are read, not decoded or computed again.
      loaded.length = 0;
      cache = await FeatureCache.open(dir, extractor.cacheParams);
      assert.equal(cache.size, 4);
      const res = await extractFeatures(extractor, keys, { loadPixels, cache, batchSize: 4 });
      assert.equal(res.fromCache, 4);
      assert.equal(res.computed, 6);
      assert.deepEqual(loaded, keys.slice(4).map((k) => k.imageHash));
      await cache.close();

      // Same values as a run without any cache.
      const fresh = await extractFeatures(extractor, keys, { loadPixels, batchSize: 3 });
      assert.ok(maxRelativeDiff(fresh.data, res.data) < 1e-5);
      assert.equal(tf.memory().numTensors, before);

      // Run 3: everything cached, nothing loaded.
      loaded.length = 0;
      cache = await FeatureCache.open(dir, extractor.cacheParams);
      const third = await extractFeatures(extractor, keys, { loadPixels, cache });
      assert.equal(third.computed, 0);
      assert.deepEqual(loaded, []);
      assert.deepEqual(third.data, res.data);
      await cache.close();

      const other = await FeatureCache.open(dir, { ...extractor.cacheParams, imageSize: 128 });
      await assert.rejects(extractFeatures(extractor, keys, { loadPixels, cache: other }), /another base, input size or layout/);
      await other.close();
    } finally {
      extractor.dispose();
    }
  });

  test('featureExampleSource serves augmented view (epoch mod K) when training, the original otherwise', () => {
    const c = 2;
    const original = Float32Array.of(0, 0, 1, 1);
    const views = [Float32Array.of(10, 10, 11, 11), Float32Array.of(20, 20, 21, 21)];
    const src = featureExampleSource({ labels: [0, 1], keys: ['a', 'b'], original, augmented: views, channels: c });
    const read = (epoch: number, training: boolean) => {
      const t = src.inputs([1, 0], { epoch, training });
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    assert.deepEqual(read(0, true), [11, 11, 10, 10]);
    assert.deepEqual(read(1, true), [21, 21, 20, 20]);
    assert.deepEqual(read(2, true), [11, 11, 10, 10]);
    assert.deepEqual(read(1, false), [1, 1, 0, 0]);
    assert.throws(() => featureExampleSource({ labels: [0], keys: ['a', 'b'], original, channels: c }), /labels and keys/);
  });
});

describe('features for the trainer', () => {
  test('featureSourceFromImages: view k = augmentation of epoch k, cached for the next run', async () => {
    const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
    const per = SIZE * SIZE * 3;
    const all = randomPixels(3, SIZE, 33);
    const images = imagesFromPixels([0, 1, 2].map((i) => all.slice(i * per, (i + 1) * per)), [0, 1, 0], SIZE, SIZE, ['a', 'b', 'c']);
    const augmentation = { ...NO_AUGMENTATION, flip: 'both' as const, rotation: 0.25 };
    const dir = path.join(root, 'trainer-cache');
    try {
      let cache = await FeatureCache.open(dir, extractor.cacheParams);
      const opts = { extractor, cache, training: true, augmentation, seed: 7, augmentedViews: 2, pooling: 'average' as const, batchSize: 4 };
      const src = await featureSourceFromImages(images, opts);
      assert.equal(cache.size, 9); // 3 originals + 3 x 2 views
      await cache.close();

      // Expected: image 1 augmented as image training would at epoch 1, then embedded, average half
      // (random weights on noise saturate most max-pooled channels at 6, so the max half hides differences).
      const aug = toUint8(augmentImage(images.pixels[1], SIZE, SIZE, 3, augmentation, 7, 1, 'b').pixels);
      const expected = selectPooling(await extractor.embed(aug, 1), 1, 'average');
      const read = (epoch: number, training: boolean) => {
        const t = src.inputs([1], { epoch, training });
        const v = t.dataSync() as Float32Array;
        t.dispose();
        return v;
      };
      assert.ok(maxRelativeDiff(expected, read(1, true)) < 1e-5);
      assert.ok(maxRelativeDiff(expected, read(3, true)) < 1e-5); // epoch 3 -> view 1 again
      const plain = selectPooling(await extractor.embed(images.pixels[1], 1), 1, 'average');
      assert.ok(maxRelativeDiff(plain, read(1, false)) < 1e-5);
      assert.ok(maxRelativeDiff(plain, read(1, true)) > 1e-3, 'the augmented view differs from the original');

      // Next run: all from the cache; other settings or seed: new views, same originals.
      cache = await FeatureCache.open(dir, extractor.cacheParams);
      const progress: ExtractionProgress[] = [];
      await featureSourceFromImages(images, { ...opts, cache, onProgress: (p) => progress.push(p) });
      assert.equal(progress[progress.length - 1].fromCache, 9);
      await featureSourceFromImages(images, { ...opts, cache, seed: 8, onProgress: (p) => progress.push(p) });
      assert.equal(progress[progress.length - 1].fromCache, 3);
      assert.equal(progress[progress.length - 1].computed, 6);
      await cache.close();

      // Validation data: only the original view.
      const val = await featureSourceFromImages(images, { ...opts, cache: undefined, training: false });
      const t = val.inputs([0, 1, 2], { epoch: 0, training: false });
      assert.deepEqual(t.shape, [3, 1280]);
      t.dispose();
    } finally {
      extractor.dispose();
    }
  });
});
