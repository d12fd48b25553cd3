import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Services } from '../../../electron/services/index';
import { buildMobileNetV2 } from '../../../electron/training/mobilenet/mobilenet-v2';
import { saveModelToFolder, loadModelFromFolder } from '../../../electron/inference/model-folder';
import { tf } from '../../../electron/tfjs/tf';
import { buildFeatureHead, buildTransferModel, copyHeadWeights } from '../../../electron/training/mobilenet/mobilenet-v2';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { assembleFineTuned, buildTopModel, planFineTune } from '../../../electron/training/worker/fine-tune';
import { mulberry32 } from '../../../shared/random';
import { tempDir } from '../../support/temp';
import { sharedBackbone, needsShared } from '../../support/shared-data';
import { openTransferFixture, recordEvents, startTrain } from './fixtures';
import type { JobProgress } from '../../../shared/contract/jobs';

// The mobilenetv2 preset end to end in the worker, on a random-weight alpha 0.35 base saved as a local TF.js model
// (no download), at 96x96: features cached on disk, head trained, base + head saved as one inference model.
describe('mobilenetv2 transfer training in the worker', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;
  let baseDir: string;

  before(async () => {
    ({ dir, services, datasetId, splitId, baseDir } = await openTransferFixture('pawprint-transfer-', { immediateProgress: true }));
  });
  after(async () => {
    await services.close();
    dir.cleanup();
  });

  const config = (base: string) => ({
    preset: 'mobilenetv2', imageSize: { height: 96, width: 96 }, epochs: 3, batchSize: 8, backend: 'wasm', seed: 3,
    augmentation: { flip: 'horizontal', rotation: 0.1 }, mobilenet: { alpha: 0.35, headPooling: 'max', baseSource: base },
  });

  test('features are computed once and cached, the head trains, and the saved model is base + head', async () => {
    const events = recordEvents(services);
    const first = await startTrain(services, { datasetId, splitId, config: config(baseDir) });
    const done = await first.finished;
    assert.equal(done.status, 'completed', done.error ?? '');
    const logs = events.filter((e) => e.name === 'jobs.log').map((e) => (e.payload as { message: string }).message);
    // 12 training images x (plain + 4 augmented views) + 4 val... all computed the first time.
    assert.ok(logs.some((l) => /base features: 0 from the cache, \d+ computed/.test(l)), logs.join('\n'));
    const stages = new Set<string | null>(events.filter((e) => e.name === 'jobs.progress').map((e) => (e.payload as JobProgress).detail).map((detail) => (detail?.type === 'train' ? detail.stage : null)));
    for (const stage of ['weights', 'features', 'training']) assert.ok(stages.has(stage), `progress stage ${stage}`);

    const run = await services.request('runs.get', { runId: first.runId });
    assert.equal(run.epochs.length, 3);
    assert.ok(run.testAccuracy !== null);
    const modelDir = run.modelPath!;
    assert.ok(!existsSync(join(modelDir, 'head-checkpoint')), 'the head checkpoint is folded into the final model');
    const metadata = JSON.parse(readFileSync(join(modelDir, 'metadata.json'), 'utf8'));
    assert.equal(metadata.preprocessing, 'symmetric');
    assert.ok(metadata.versions.mobilenetWeights);
    const model = await loadModelFromFolder(modelDir);
    try {
      assert.deepEqual(model.inputs[0].shape, [null, 96, 96, 3]);
      assert.deepEqual(model.outputs[0].shape, [null, 1]);
      const out = tf.tidy(() => (model.predict(tf.zeros([1, 96, 96, 3])) as import('@tensorflow/tfjs').Tensor).dataSync());
      assert.ok(Number.isFinite(out[0]));
    } finally {
      model.dispose();
    }

    const again = recordEvents(services);
    const second = await startTrain(services, { datasetId, splitId, config: config(baseDir) });
    const secondDone = await second.finished;
    assert.equal(secondDone.status, 'completed', secondDone.error ?? '');
    const secondLogs = again.filter((e) => e.name === 'jobs.log').map((e) => (e.payload as { message: string }).message);
    assert.ok(secondLogs.some((l) => /base features: \d+ from the cache, 0 computed/.test(l)), secondLogs.join('\n'));
  });

  test('an unusable base source fails the run with a message naming the problem and the way out', async () => {
    const { finished } = await startTrain(services, { datasetId, splitId, config: config(join(dir.path, 'no-such-folder')) });
    const done = await finished;
    assert.equal(done.status, 'failed');
    assert.equal(done.result?.status, 'failed');
    assert.match(done.error ?? '', /does not exist.*local TF\.js model folder/);
  });

  test('the shared Teachable Machine backbone (alpha 0.35) trains a head', { skip: needsShared(sharedBackbone) }, async () => {
    const { finished } = await startTrain(services, {
      datasetId, splitId, config: { ...config(sharedBackbone), epochs: 2, augmentation: { flip: 'none', rotation: 0 } },
    });
    const done = await finished;
    assert.equal(done.status, 'completed', done.error ?? '');
  });
});

describe('mobilenetv2 fine-tuning', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;
  let baseDir: string;

  before(async () => {
    ({ dir, services, datasetId, splitId, baseDir } = await openTransferFixture('pawprint-finetune-'));
  });
  after(async () => {
    await services.close();
    dir.cleanup();
  });

  test('a second phase trains the top blocks with BatchNorm folded, numbering its epochs after the head\'s', async () => {
    const events = recordEvents(services);
    const config = {
      preset: 'mobilenetv2', imageSize: { height: 96, width: 96 }, epochs: 2, batchSize: 8, backend: 'wasm', learningRate: 0.01,
      augmentation: { flip: 'horizontal' },
      mobilenet: { alpha: 0.35, headPooling: 'average', baseSource: baseDir, fineTuneBlocks: 2, fineTuneEpochs: 2 },
    };
    const trainOnce = async () => {
      const { runId, finished } = await startTrain(services, { datasetId, splitId, config });
      const done = await finished;
      assert.equal(done.status, 'completed', done.error ?? '');
      return services.request('runs.get', { runId });
    };
    const run = await trainOnce();
    // The same seed repeats both phases exactly (seeded Dropout in the fine-tuned top, same bottom maps).
    const again = await trainOnce();
    assert.deepEqual(again.epochs.map((e) => [e.phase, e.loss, e.valLoss]), run.epochs.map((e) => [e.phase, e.loss, e.valLoss]));
    assert.deepEqual(run.epochs.map((e) => [e.phase, e.epoch]), [['train', 1], ['train', 2], ['fine-tune', 3], ['fine-tune', 4]]);
    assert.equal(run.epochsPlanned, 4);
    const logs = events.filter((e) => e.name === 'jobs.log').map((e) => (e.payload as { message: string }).message);
    assert.ok(logs.some((l) => /fine-tuning the top 2 blocks and Conv_1/.test(l)), logs.join('\n'));
    // Whichever phase won is saved as one model that loads and predicts from raw pixels.
    const model = await loadModelFromFolder(run.modelPath!);
    try {
      assert.deepEqual(model.outputs[0].shape, [null, 1]);
      const out = tf.tidy(() => (model.predict(tf.zeros([2, 96, 96, 3])) as import('@tensorflow/tfjs').Tensor).dataSync());
      assert.ok(Number.isFinite(out[0]) && Number.isFinite(out[1]));
    } finally {
      model.dispose();
    }
  });
});

test('the fine-tuning top (BatchNorm folded) and the assembled model compute what the frozen Keras model computes', async () => {
  const dir = tempDir('pawprint-fold-');
  const base = buildMobileNetV2({ alpha: 0.35, imageSize: 96, includeTop: false });
  try {
    // Non-trivial BatchNorm statistics, so folding is really exercised.
    const rng = mulberry32(5);
    for (const layer of base.layers) {
      if (layer.getClassName() !== 'BatchNormalization') continue;
      const c = layer.weights[0].shape[0] as number;
      const vals = (lo: number, hi: number) => tf.tensor1d(Float32Array.from({ length: c }, () => lo + (hi - lo) * rng()));
      const ts = [vals(0.5, 1.5), vals(-0.2, 0.2), vals(-0.2, 0.2), vals(0.3, 1.5)];
      layer.setWeights(ts);
      tf.dispose(ts);
    }
    const weights = baseWeightsFromModel(base, 0.35);
    const headOptions = { pooling: 'max' as const, units: 1, dropout: 0.2 };
    const head = buildFeatureHead(headOptions);
    const reference = buildTransferModel(base, headOptions, true);
    copyHeadWeights(head, reference);
    const plan = planFineTune(weights, 96, 3);
    assert.equal(plan.splitLayer, 'block_13_project_BN');
    const top = buildTopModel(weights, 96, plan, headOptions, head);
    assert.ok(top.trainableWeights.length > 10, 'the unfrozen blocks are trainable');
    const assembled = assembleFineTuned(weights, 96, plan, top);
    const x = tf.randomUniform([2, 96, 96, 3], 0, 255, 'float32', 9);
    try {
      const want = (reference.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
      const got = (assembled.model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i] - got[i]) <= 1e-3 * Math.max(1, Math.abs(want[i])), `${got[i]} vs ${want[i]}`);
      await saveModelToFolder(assembled.model, join(dir.path, 'model'));
      const loaded = await loadModelFromFolder(join(dir.path, 'model'));
      const again = (loaded.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
      loaded.dispose();
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(again[i] - got[i]) < 1e-5);
    } finally {
      x.dispose();
      assembled.dispose();
      reference.dispose();
      head.dispose();
    }
  } finally {
    dir.cleanup();
  }
});
