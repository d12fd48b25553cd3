// Feature extraction on worker threads: the same features as in-process extraction, bit for bit; a thread that
// cannot start falls back to the in-process extractor; cancel and errors behave as with one lane.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { selectBackend } from '../../../electron/tfjs/backend/select-backend';
import { buildMobileNetV2 } from '../../../electron/training/mobilenet/mobilenet-v2';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { FeatureCache, ORIGINAL_VIEW, type FeatureKey } from '../../../electron/training/mobilenet/feature-cache';
import {
  MobileNetFeatureExtractor, extractFeatures, FeatureExtractionCancelled,
} from '../../../electron/training/mobilenet/feature-extractor';
import { defaultFeatureThreads, startFeatureThreads } from '../../../electron/training/mobilenet/feature-threads';
import type { BaseWeights } from '../../../electron/training/mobilenet/base-weights';
import { randomizeBatchNorm, randomPixels } from './helpers';
import { applyViews, type ViewAugmentation } from '../../../electron/training/mobilenet/view-augment';

const SIZE = 96;
const COUNT = 22; // six batches of 4, the last one short
let root: string;
let weights: BaseWeights;
let pixels: Uint8Array;

before(async () => {
  // The backend the training worker uses (with our WebAssembly kernels), as the threads do.
  const backend = await selectBackend('wasm');
  assert.equal(backend.name, 'wasm');
  root = await mkdtemp(path.join(os.tmpdir(), 'pawprint-feature-threads-'));
  const model = buildMobileNetV2({ alpha: 0.35, imageSize: SIZE });
  randomizeBatchNorm(model, 11);
  weights = baseWeightsFromModel(model, 0.35);
  model.dispose();
  pixels = randomPixels(COUNT, SIZE, 5);
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const per = SIZE * SIZE * 3;
const keys: FeatureKey[] = Array.from({ length: COUNT }, (_, i) => ({ imageHash: `image-${i}`, view: ORIGINAL_VIEW }));
const loadPixels = async (batch: FeatureKey[]) => {
  const out = new Uint8Array(batch.length * per);
  batch.forEach((k, j) => {
    const i = Number(k.imageHash.slice('image-'.length));
    out.set(pixels.subarray(i * per, (i + 1) * per), j * per);
  });
  return out;
};

describe('feature extraction threads', () => {
  test('two threads give exactly the in-process features and leave no tensors behind', async () => {
    const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
    try {
      const inProcess = await extractFeatures(extractor, keys, { loadPixels, batchSize: 4 });
      assert.equal(inProcess.lanes, 1);
      const tensorsBefore = tf.memory().numTensors;
      let started = 0;
      const threaded = await extractFeatures(extractor, keys, {
        loadPixels, batchSize: 4,
        startThreads: () => { started++; return startFeatureThreads({ weights, imageSize: SIZE, backend: 'wasm', threads: 2 }); },
      });
      assert.equal(started, 1);
      assert.equal(threaded.lanes, 2);
      assert.equal(threaded.threadError, null);
      assert.equal(threaded.computed, COUNT);
      assert.deepEqual(threaded.data, inProcess.data);
      assert.equal(tf.memory().numTensors, tensorsBefore);

      // Too little to compute for threads to pay off: they are not started.
      const small = await extractFeatures(extractor, keys.slice(0, 3), {
        loadPixels, batchSize: 4, startThreads: () => { started++; return Promise.resolve([]); },
      });
      assert.equal(started, 1);
      assert.deepEqual(small.data, inProcess.data.subarray(0, 3 * extractor.featureDim));
    } finally {
      extractor.dispose();
    }
  });

  test('a thread error reaches the caller; threads that cannot start: extraction goes on in process and says why', async () => {
    const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
    try {
      const reference = await extractFeatures(extractor, keys, { loadPixels, batchSize: 4 });
      // A thread's error reaches the caller of embed.
      const [thread] = await startFeatureThreads({ weights, imageSize: SIZE, backend: 'wasm', threads: 1 });
      try {
        await assert.rejects(thread.embed(new Uint8Array(10), 1), /embed: expected 1 x 96 x 96 x 3/);
      } finally {
        thread.dispose();
      }
      await assert.rejects(thread.embed(new Uint8Array(per), 1), /disposed/);
      const res = await extractFeatures(extractor, keys, {
        loadPixels, batchSize: 4, startThreads: () => Promise.reject(new Error('no threads here')),
      });
      assert.equal(res.lanes, 1);
      assert.equal(res.threadError, 'no threads here');
      assert.deepEqual(res.data, reference.data);
    } finally {
      extractor.dispose();
    }
  });

  test('cancel with threads keeps the finished batches in the cache; the next run computes only the rest', async () => {
    const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
    const dir = path.join(root, 'cancel');
    try {
      const reference = await extractFeatures(extractor, keys, { loadPixels, batchSize: 4 });
      const startThreads = () => startFeatureThreads({ weights, imageSize: SIZE, backend: 'wasm', threads: 2 });
      let cache = await FeatureCache.open(dir, extractor.cacheParams);
      const ac = new AbortController();
      await assert.rejects(
        extractFeatures(extractor, keys, {
          loadPixels, cache, batchSize: 4, signal: ac.signal, startThreads,
          onProgress: (p) => { if (p.computed >= 4) ac.abort(); },
        }).then((r) => assert.fail(`not cancelled: ${r.computed} computed on ${r.lanes} lanes`)),
        (e: unknown) => e instanceof FeatureExtractionCancelled && e.done >= 4 && e.done < COUNT && e.total === COUNT,
      );
      const kept = cache.size;
      await cache.close();
      assert.ok(kept >= 4 && kept < COUNT, `kept ${kept}`);

      cache = await FeatureCache.open(dir, extractor.cacheParams);
      const resumed = await extractFeatures(extractor, keys, { loadPixels, cache, batchSize: 4, startThreads });
      assert.equal(resumed.lanes, 2);
      assert.equal(resumed.fromCache, kept);
      assert.equal(resumed.computed, COUNT - kept);
      assert.deepEqual(resumed.data, reference.data);
      await cache.close();
    } finally {
      extractor.dispose();
    }
  });

  test('thread count: PAWPRINT_FEATURE_THREADS when set, else one per core up to four', () => {
    assert.equal(defaultFeatureThreads({ PAWPRINT_FEATURE_THREADS: '1' }), 1);
    assert.equal(defaultFeatureThreads({ PAWPRINT_FEATURE_THREADS: '3' }), 3);
    const auto = Math.max(1, Math.min(os.availableParallelism(), 4));
    assert.equal(defaultFeatureThreads({}), auto);
    assert.equal(defaultFeatureThreads({ PAWPRINT_FEATURE_THREADS: 'many' }), auto);
    assert.equal(defaultFeatureThreads({ PAWPRINT_FEATURE_THREADS: '0' }), auto);
  });
});

test('bottom maps for fine-tuning: a thread computes exactly what the in-process extractor does', async () => {
  const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
  const [thread] = await startFeatureThreads({ weights, imageSize: SIZE, backend: 'wasm', threads: 1 });
  try {
    const batch = pixels.subarray(0, 3 * per);
    const here = await extractor.bottom(batch, 3, 15);
    assert.equal(here.length, 3 * 3 * 3 * 56); // block_14_add at 96 px, alpha 0.35: 3x3x56
    assert.deepEqual(await thread.bottom(batch, 3, 15), here);
    await assert.rejects(thread.bottom(batch, 3, 18), /blocks must be 0\.\.17/);
  } finally {
    thread.dispose();
    extractor.dispose();
  }
});

test('a thread makes the augmented views it is sent: the features of the views augmented beforehand, bit for bit', async () => {
  const count = 6;
  const plain = pixels.slice(0, count * per);
  const views: ViewAugmentation = {
    config: { flip: 'both', rotation: 0.2, zoom: 0, brightness: 0, contrast: 0 }, seed: 3, size: SIZE,
    rows: [null, { epoch: 0, imageKey: 'a' }, { epoch: 1, imageKey: 'a' }, null, { epoch: 3, imageKey: 'b' }, { epoch: 0, imageKey: 'c' }],
  };
  const augmented = plain.slice();
  applyViews(augmented, views);
  assert.notDeepEqual(augmented.subarray(per, 2 * per), plain.subarray(per, 2 * per), 'the views differ from the plain pixels');
  const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE });
  const [thread] = await startFeatureThreads({ weights, imageSize: SIZE, backend: 'wasm', threads: 1 });
  try {
    const expected = await extractor.embed(augmented, count);
    assert.deepEqual(await thread!.embed(plain, count, views), expected);
    assert.deepEqual(await extractor.embed(plain, count, views), expected, 'in-process too');
    assert.deepEqual(plain, pixels.slice(0, count * per), "the caller's pixels are left as they were");
  } finally {
    thread!.dispose();
    extractor.dispose();
  }
});
