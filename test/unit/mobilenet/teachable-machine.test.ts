// The real ImageNet backbone from ../shared/models (a Teachable Machine export, alpha 0.35): loaded by name
// into our builder, checked against Teachable Machine's own topology, and features checked for determinism.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../../electron/tfjs/tf';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { KNOWN_IMAGENET_WEIGHTS_IDS, expectedWeightShapes, resolveBaseWeights, type BaseWeights } from '../../../electron/training/mobilenet/base-weights';
import { MobileNetFeatureExtractor, selectPooling } from '../../../electron/training/mobilenet/feature-extractor';
import { SHARED_DIR, SHARED_TM_MODEL, maxRelativeDiff, randomPixels, sharedModelSkip, useWasmBackend } from './helpers';

const skip = sharedModelSkip();
let weights: BaseWeights;

before(async () => {
  if (skip) return;
  await useWasmBackend();
  weights = await resolveBaseWeights({ kind: 'local', path: SHARED_TM_MODEL }, { cacheDir: os.tmpdir() });
});

async function decodePhotos(files: string[], size: number): Promise<Uint8Array> {
  const out = new Uint8Array(files.length * size * size * 3);
  for (const [i, f] of files.entries()) {
    const px = await sharp(f).rotate().resize(size, size, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
    out.set(px, i * size * size * 3);
  }
  return out;
}

describe('Teachable Machine export (shared ImageNet backbone, alpha 0.35)', { skip }, () => {
  test('takes the MobileNetV2 backbone, drops the head, and has a stable weights id', async () => {
    assert.equal(weights.alpha, 0.35);
    const expected = expectedWeightShapes(0.35);
    assert.equal(weights.tensors.size, expected.size);
    for (const [name, shape] of expected) assert.deepEqual(weights.tensors.get(name)?.shape, shape, name);
    assert.ok(![...weights.tensors.keys()].some((n) => n.startsWith('dense_')), 'the 2-class head is dropped');
    const again = await resolveBaseWeights({ kind: 'local', path: path.join(SHARED_TM_MODEL, 'model.json') }, { cacheDir: os.tmpdir() });
    assert.equal(again.weightsId, weights.weightsId);
    assert.equal(weights.weightsId, KNOWN_IMAGENET_WEIGHTS_IDS[0.35]);
    assert.equal(weights.isKnownImagenet, true);
  });

  test("our 224x224 average-pooled features equal Teachable Machine's own backbone output", async () => {
    const json = JSON.parse(await readFile(path.join(SHARED_TM_MODEL, 'model.json'), 'utf8'));
    const bin = await readFile(path.join(SHARED_TM_MODEL, 'weights.bin'));
    const tm = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    }));
    const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: 224 });
    try {
      const px = randomPixels(2, 224, 3);
      const ours = selectPooling(await extractor.embed(px, 2), 2, 'average');
      const backbone = tm.layers[0] as LayersModel; // MobileNetV2 + GlobalAveragePooling2D
      const y = tf.tidy(() => backbone.predict(tf.tensor4d(px, [2, 224, 224, 3], 'float32').div(127.5).sub(1)) as Tensor);
      const theirs = y.dataSync();
      y.dispose();
      assert.ok(maxRelativeDiff(theirs, ours) < 1e-4, `relative difference ${maxRelativeDiff(theirs, ours)}`);
    } finally {
      extractor.dispose();
      tm.dispose();
    }
  });

  test('160x160 features of real photos: deterministic across extractors, folded = unfolded', { skip: existsSync(path.join(SHARED_DIR, 'data', 'cats-vs-dogs', 'cats')) ? false : 'no ../shared/data' }, async () => {
    const data = path.join(SHARED_DIR, 'data', 'cats-vs-dogs');
    const files = [path.join(data, 'cats', 'cat.1.jpg'), path.join(data, 'cats', 'cat.10.jpg'), path.join(data, 'dogs', 'dog.1.jpg'), path.join(data, 'dogs', 'dog.10.jpg')];
    const px = await decodePhotos(files, 160);
    const a = MobileNetFeatureExtractor.create(weights, { imageSize: 160 });
    const b = MobileNetFeatureExtractor.create(weights, { imageSize: 160 });
    const plain = MobileNetFeatureExtractor.create(weights, { imageSize: 160, folded: false });
    const before = tf.memory().numTensors;
    try {
      const fa = await a.embed(px, 4);
      const fb = await b.embed(px, 4);
      const fp = await plain.embed(px, 4);
      assert.deepEqual(fa, fb);
      assert.ok(maxRelativeDiff(fp, fa) < 1e-4, `folded vs unfolded ${maxRelativeDiff(fp, fa)}`);
      assert.ok(fa.every(Number.isFinite));
      // ImageNet features of photos are sparse but far from empty, and differ between photos.
      const avg = selectPooling(fa, 4, 'average');
      const nonzero = avg.subarray(0, 1280).filter((v) => v > 0).length;
      assert.ok(nonzero > 200, `${nonzero} active channels`);
      assert.ok(maxRelativeDiff(avg.subarray(0, 1280), avg.subarray(2560, 3840)) > 0.1);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      a.dispose();
      b.dispose();
      plain.dispose();
    }
  });
});
