// MobileNetV2 transfer training reads its batches' features from the on-disk feature cache (issue 17: no run holds
// every image's features): the same inputs, value for value, as the in-memory feature source over the same features.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '../../../electron/tfjs/tf';
import { FeatureCache, ORIGINAL_VIEW, augmentedViewKey, type FeatureKey } from '../../../electron/training/mobilenet/feature-cache';
import { cachedFeatureSource, featureExampleSource, selectPooling } from '../../../electron/training/mobilenet/feature-extractor';
import { MOBILENET_FEATURE_CHANNELS } from '../../../electron/training/mobilenet/mobilenet-v2';
import { readPooledRows } from '../../../electron/training/mobilenet/feature-rows';
import { batchPlan } from '../../../electron/training/data-pipeline';
import { mulberry32 } from '../../../shared/random';
import { tempDir } from '../../support/temp';

const DIM = 2 * MOBILENET_FEATURE_CHANNELS;
const N = 7;
const VIEWS = 2;
let temp: ReturnType<typeof tempDir>;

before(async () => {
  await tf.setBackend('cpu');
  temp = tempDir();
});
after(() => temp.cleanup());

const values = (t: Tensor) => {
  try {
    return Array.from(t.dataSync());
  } finally {
    t.dispose();
  }
};

test('cachedFeatureSource gives the in-memory feature source\'s inputs for every epoch, view and pooling; a missing row is an error in words', async () => {
  const cache = await FeatureCache.open(temp.path, { weightsId: 'w'.repeat(64), imageSize: 96, featureDim: DIM, layout: 'max+avg' });
  try {
    const rng = mulberry32(4);
    const hashes = Array.from({ length: N }, (_, i) => `${i}`.padStart(64, 'a'));
    const viewKeys: FeatureKey[][] = [
      hashes.map((imageHash) => ({ imageHash, view: ORIGINAL_VIEW })),
      ...Array.from({ length: VIEWS }, (_, k) => hashes.map((imageHash) => ({ imageHash, view: augmentedViewKey('sig', k) }))),
    ];
    const features = viewKeys.map(() => Float32Array.from({ length: N * DIM }, () => rng() * 4 - 2));
    // Appended in a shuffled record order, as batches of several runs would leave them.
    for (const v of [2, 0, 1]) await cache.append(viewKeys[v], features[v]);
    const labels = Int32Array.from({ length: N }, (_, i) => i % 2);
    const keys = hashes.map((_, i) => `image-${i}`);
    for (const pooling of ['average', 'max'] as const) {
      const memory = featureExampleSource({
        labels, keys, original: selectPooling(features[0], N, pooling), augmented: features.slice(1).map((f) => selectPooling(f, N, pooling)),
      });
      const streamed = cachedFeatureSource({ cache, labels, keys, original: viewKeys[0], augmented: viewKeys.slice(1), pooling });
      assert.equal(streamed.size, N);
      for (let epoch = 0; epoch < 3; epoch++) {
        for (const indices of batchPlan(N, 3, 9, epoch)) {
          for (const training of [true, false]) {
            assert.deepEqual(values(streamed.inputs(indices, { epoch, training })), values(memory.inputs(indices, { epoch, training })),
              `${pooling} epoch ${epoch} training ${training}`);
          }
        }
      }
    }
    const missing = cachedFeatureSource({
      cache, labels: [0], keys: ['x'], original: [{ imageHash: 'f'.repeat(64), view: ORIGINAL_VIEW }], pooling: 'average',
    });
    assert.throws(() => missing.inputs([0], { epoch: 0, training: false }), /feature cache has no original view of image ffffffffffff/);
  } finally {
    await cache.close();
  }
});

test('readPooledRows reads one pooling\'s half of each key\'s record in key order, across read blocks; a missing key is an error in words', async () => {
  const cache = await FeatureCache.open(temp.path + '/pooled', { weightsId: 'p'.repeat(64), imageSize: 96, featureDim: DIM, layout: 'max+avg' });
  try {
    // More rows than one read block (2,048), appended in two batches whose order is not the keys' order.
    const n = 2100;
    const rng = mulberry32(9);
    const keys: FeatureKey[] = Array.from({ length: n }, (_, i) => ({ imageHash: `${i}`.padStart(64, 'b'), view: ORIGINAL_VIEW }));
    const features = Float32Array.from({ length: n * DIM }, () => rng() * 4 - 2);
    await cache.append(keys.slice(1000), features.slice(1000 * DIM));
    await cache.append(keys.slice(0, 1000), features.slice(0, 1000 * DIM));
    for (const pooling of ['average', 'max'] as const) {
      assert.deepEqual(await readPooledRows(cache, keys, pooling), selectPooling(features, n, pooling), pooling);
    }
    const reversed = [...keys].reverse();
    const reversedRows = await readPooledRows(cache, reversed, 'average');
    assert.deepEqual(reversedRows.subarray(0, MOBILENET_FEATURE_CHANNELS), selectPooling(features, n, 'average').subarray((n - 1) * MOBILENET_FEATURE_CHANNELS));
    await assert.rejects(readPooledRows(cache, [...keys.slice(0, 3), { imageHash: 'e'.repeat(64), view: ORIGINAL_VIEW }], 'average'),
      /feature cache has no original view of image eeeeeeeeeeee/);
  } finally {
    await cache.close();
  }
});
