import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Services } from '../../../electron/services/index';
import { tf } from '../../../electron/tfjs/tf';
import type { ExampleSource } from '../../../electron/training/data-pipeline';
import { seededFeatureDropout } from '../../../electron/training/worker/transfer';
import { defaultFeatureThreads } from '../../../electron/training/mobilenet/feature-threads';
import { parseTrainingConfig, presetDefaults, trainingConfigSchema } from '../../../shared/training-config';
import type { tempDir } from '../../support/temp';
import { openTransferFixture, recordEvents, startTrain } from './fixtures';

const C = 64;
function constantSource(size: number): ExampleSource {
  const keys = Array.from({ length: size }, (_, i) => `image-${i}`);
  return {
    size, keys, labels: new Int32Array(size),
    inputs: (indices) => tf.ones([indices.length, C]),
  };
}

describe('seededFeatureDropout', () => {
  test('masks are a function of (seed, epoch, image key): same batch twice = same mask, other epoch or seed = other mask', () => {
    const before = tf.memory().numTensors;
    const source = constantSource(6);
    const a = seededFeatureDropout(source, 0.2, 7);
    const read = (s: ExampleSource, indices: number[], epoch: number, training = true) => {
      const t = s.inputs(Int32Array.from(indices), { epoch, training });
      try {
        return Array.from(t.dataSync());
      } finally {
        t.dispose();
      }
    };
    const first = read(a, [0, 1, 2, 3], 0);
    assert.deepEqual(read(a, [0, 1, 2, 3], 0), first);
    // An example's mask does not depend on its batch or position in it.
    assert.deepEqual(read(a, [3], 0), first.slice(3 * C, 4 * C));
    assert.notDeepEqual(read(a, [0, 1, 2, 3], 1), first);
    assert.notDeepEqual(read(seededFeatureDropout(source, 0.2, 8), [0, 1, 2, 3], 0), first);
    // Inverted dropout: dropped values 0, kept ones scaled by 1/(1-rate), about `rate` of them dropped.
    const all = read(a, [0, 1, 2, 3, 4, 5], 3);
    for (const v of all) assert.ok(v === 0 || Math.abs(v - 1.25) < 1e-6, `value ${v}`);
    const dropped = all.filter((v) => v === 0).length / all.length;
    assert.ok(dropped > 0.12 && dropped < 0.28, `dropped fraction ${dropped}`);
    // Evaluation: unchanged.
    assert.ok(read(a, [0, 1, 2], 0, false).every((v) => v === 1));
    assert.equal(tf.memory().numTensors, before);
  });

  test('rate 0 returns the source itself', () => {
    const source = constantSource(2);
    assert.equal(seededFeatureDropout(source, 0, 1), source);
  });
});

describe('mobilenet augmentedViews setting', () => {
  test('defaults to 4, and configs stored before the field existed still parse', () => {
    assert.equal(presetDefaults('mobilenetv2').mobilenet.augmentedViews, 4);
    const stored = presetDefaults('mobilenetv2') as unknown as { mobilenet: Record<string, unknown> };
    const legacy = { ...stored, mobilenet: { ...stored.mobilenet } };
    delete legacy.mobilenet.augmentedViews;
    assert.equal(trainingConfigSchema.parse(legacy).mobilenet.augmentedViews, 4);
    assert.equal(parseTrainingConfig({ preset: 'mobilenetv2', mobilenet: { augmentedViews: 8 } }).mobilenet.augmentedViews, 8);
    assert.throws(() => parseTrainingConfig({ preset: 'mobilenetv2', mobilenet: { augmentedViews: 0 } }));
  });
});

// The "a cached and an uncached run give the same head weights for the same seed", with the preset's
// Dropout(0.2) and augmentation on: the first run computes every feature, the second reads them all from the cache.
describe('mobilenetv2: a cached run repeats an uncached one exactly', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;
  let baseDir: string;

  before(async () => {
    ({ dir, services, datasetId, splitId, baseDir } = await openTransferFixture('pawprint-transfer-determinism-', { immediateProgress: true }));
  });
  after(async () => {
    await services.close();
    dir.cleanup();
  });

  test('same seed: identical epoch losses and test loss, cold cache then warm', async () => {
    const config = {
      preset: 'mobilenetv2', imageSize: { height: 96, width: 96 }, epochs: 3, batchSize: 4, backend: 'wasm', seed: 11,
      mobilenet: { alpha: 0.35, headPooling: 'max', baseSource: baseDir, augmentedViews: 2 },
    };
    const runs = [];
    // The cold run (two batches to compute) uses the extraction threads the app picks: one per core, up to four.
    const threads = defaultFeatureThreads();
    const coldLog = new RegExp(`base features: 0 from the cache, \\d+ computed on ${threads} threads? from \\d+ photo reads$`);
    for (const expected of [coldLog, /base features: \d+ from the cache, 0 computed$/]) {
      const events = recordEvents(services);
      const { runId, finished } = await startTrain(services, { datasetId, splitId, config });
      const done = await finished;
      assert.equal(done.status, 'completed', done.error ?? '');
      const logs = events.filter((e) => e.name === 'jobs.log').map((e) => (e.payload as { message: string }).message);
      assert.ok(logs.some((l) => expected.test(l)), logs.join('\n'));
      runs.push(await services.request('runs.get', { runId }));
    }
    const [cold, warm] = runs;
    assert.deepEqual(cold.config.augmentation, presetDefaults('mobilenetv2').augmentation);
    assert.notEqual(cold.config.augmentation.flip, 'none', 'the preset default augmentation is on');
    assert.equal(cold.epochs.length, 3);
    assert.deepEqual(warm.epochs.map((e) => [e.loss, e.accuracy, e.valLoss]), cold.epochs.map((e) => [e.loss, e.accuracy, e.valLoss]));
    assert.ok(cold.testLoss !== null);
    assert.equal(warm.testLoss, cold.testLoss);
  });
});
