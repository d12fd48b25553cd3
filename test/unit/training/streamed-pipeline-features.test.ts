// One feature source (issue 17 item 3): transfer training's batches come from the on-disk feature cache through the
// same read-ahead as the decode cache. Keys are resolved to records once per run, prepare() reads only the chosen
// pooling's half of each row off the training thread, and the inputs stay bit-identical to the in-memory source.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '../../../electron/tfjs/tf';
import { FeatureCache, ORIGINAL_VIEW, augmentedViewKey, type FeatureKey } from '../../../electron/training/mobilenet/feature-cache';
import { cachedFeatureSource, featureExampleSource, selectPooling } from '../../../electron/training/mobilenet/feature-extractor';
import { MOBILENET_FEATURE_CHANNELS } from '../../../electron/training/mobilenet/mobilenet-v2';
import { batchPlan, prepareWithReadAhead } from '../../../electron/training/data-pipeline';
import { mulberry32 } from '../../../shared/random';
import { tempDir } from '../../support/temp';

const C = MOBILENET_FEATURE_CHANNELS;
const N = 11;
const VIEWS = 3;
const BATCH = 4;
let temp: ReturnType<typeof tempDir>;

before(async () => {
  await tf.setBackend('cpu');
  temp = tempDir();
});
after(() => temp.cleanup());

/** The exact bytes of a tensor's values (bit-identical, -0 and NaN included), then disposes it. */
const bits = (t: Tensor) => {
  try {
    return Buffer.from((t.dataSync() as Float32Array).slice().buffer);
  } finally {
    t.dispose();
  }
};

async function filledCache(name: string) {
  const cache = await FeatureCache.open(`${temp.path}/${name}`, { weightsId: 'w'.repeat(64), imageSize: 96, featureDim: 2 * C, layout: 'max+avg' });
  const rng = mulberry32(11);
  const hashes = Array.from({ length: N }, (_, i) => `${i}`.padStart(64, 'b'));
  const viewKeys: FeatureKey[][] = [
    hashes.map((imageHash) => ({ imageHash, view: ORIGINAL_VIEW })),
    ...Array.from({ length: VIEWS }, (_, k) => hashes.map((imageHash) => ({ imageHash, view: augmentedViewKey('sig', k) }))),
  ];
  // Values of every kind a float can hold, so "the same inputs" means the same bits.
  const specials = [0, -0, 1e-40, -3.4e38, Number.NaN];
  const features = viewKeys.map(() => Float32Array.from({ length: N * 2 * C }, (_, i) => (i % 97 === 0 ? specials[i % 5] : rng() * 8 - 4)));
  for (const v of [1, 3, 0, 2]) await cache.append(viewKeys[v], features[v]);
  return { cache, viewKeys, features, labels: Int32Array.from({ length: N }, (_, i) => i % 3), keys: hashes.map((_, i) => `image-${i}`) };
}

test('the cached source is bit-identical to the in-memory one for every epoch, view, pooling and batch, read ahead or not', async () => {
  const { cache, viewKeys, features, labels, keys } = await filledCache('identical');
  try {
    for (const pooling of ['average', 'max'] as const) {
      const memory = featureExampleSource({
        labels, keys, original: selectPooling(features[0], N, pooling), augmented: features.slice(1).map((f) => selectPooling(f, N, pooling)),
      });
      for (const readAhead of [true, false]) {
        const cached = cachedFeatureSource({ cache, labels, keys, original: viewKeys[0], augmented: viewKeys.slice(1), pooling });
        for (let epoch = 0; epoch < VIEWS + 1; epoch++) {
          for (const training of [true, false]) {
            const plan = batchPlan(N, BATCH, 5, epoch);
            for (let b = 0; b < plan.length; b++) {
              if (readAhead) await prepareWithReadAhead(cached, plan, b, { epoch, training });
              assert.ok(bits(cached.inputs(plan[b], { epoch, training })).equals(bits(memory.inputs(plan[b], { epoch, training }))),
                `${pooling} epoch ${epoch} training ${training} batch ${b} read ahead ${readAhead}`);
            }
          }
        }
      }
    }
  } finally {
    await cache.close();
  }
});

test('a prepared batch is read off the training thread, once, and only its pooling\'s half of each row', async () => {
  const { cache, viewKeys, labels, keys } = await filledCache('prepared');
  try {
    const first = cachedFeatureSource({ cache, labels, keys, original: viewKeys[0], augmented: viewKeys.slice(1), pooling: 'average' });
    assert.equal(typeof first.prepare, 'function', 'the source reads its batches ahead (it had no prepare: every batch was read synchronously)');
    let resolved = 0;
    const resolve = cache.resolve.bind(cache);
    cache.resolve = (keysToResolve) => {
      resolved += keysToResolve.length;
      return resolve(keysToResolve);
    };
    const source = cachedFeatureSource({ cache, labels, keys, original: viewKeys[0], augmented: viewKeys.slice(1), pooling: 'average' });
    assert.equal(resolved, N * (VIEWS + 1), 'every key is resolved to its record once, when the source is made');
    const plan = batchPlan(N, BATCH, 1, 0);
    const context = { epoch: 2, training: true };
    const before = cache.bytesRead;
    await source.prepare!(plan[0], context);
    assert.equal(cache.bytesRead - before, plan[0].length * C * 4, 'one 1,280-float half per row, not the whole 2 x 1,280 row');
    const afterPrepare = cache.bytesRead;
    bits(source.inputs(plan[0], context));
    assert.equal(cache.bytesRead, afterPrepare, 'building a prepared batch reads nothing more');
    await source.prepare!(plan[0], context);
    assert.equal(cache.bytesRead, afterPrepare, 'a batch already held is not read again');
    for (let epoch = 0; epoch < 3; epoch++) for (const indices of batchPlan(N, BATCH, 1, epoch)) bits(source.inputs(indices, { epoch, training: true }));
    assert.equal(resolved, N * (VIEWS + 1), 'no key is hashed again per batch');
  } finally {
    await cache.close();
  }
});

test('a view missing from the cache is an error in words, from prepare and from an unprepared batch', async () => {
  const { cache } = await filledCache('missing');
  try {
    const source = cachedFeatureSource({
      cache, labels: [0, 1], keys: ['x', 'y'], pooling: 'max',
      original: [{ imageHash: '0'.padStart(64, 'b'), view: ORIGINAL_VIEW }, { imageHash: 'f'.repeat(64), view: ORIGINAL_VIEW }],
    });
    await assert.rejects(source.prepare!([0, 1], { epoch: 0, training: false }), /feature cache has no original view of image ffffffffffff; run again/);
    assert.throws(() => source.inputs([1], { epoch: 0, training: false }), /feature cache has no original view of image ffffffffffff; run again/);
    bits(source.inputs([0], { epoch: 0, training: false }));
  } finally {
    await cache.close();
  }
});
