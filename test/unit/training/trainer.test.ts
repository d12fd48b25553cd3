import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { evaluateModel, imageTrainData, train, type BatchProgress, type TrainData } from '../../../electron/training/trainer';
import { imageExampleSource, imagesFromPixels, type DecodedImages, type ExampleSource } from '../../../electron/training/data-pipeline';
import { loadModelFromFolder } from '../../../electron/inference/model-folder';
import { parseTrainingConfig, type TrainingConfigInput } from '../../../shared/training-config';
import { mulberry32 } from '../../../shared/random';

const S = 16;
/** Class c has a bright channel c (mod 3) over noise: easy to learn in a few steps. */
function makeImages(n: number, numClasses: number, seed: number, flipLabels = false): DecodedImages {
  const rng = mulberry32(seed);
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % numClasses;
    const img = new Uint8Array(S * S * 3);
    for (let k = 0; k < img.length; k++) img[k] = (k % 3 === label % 3 ? 140 : 40) + Math.floor(rng() * 80);
    pixels.push(img);
    labels.push(flipLabels ? numClasses - 1 - label : label);
  }
  return imagesFromPixels(pixels, labels, S, S, pixels.map((_, i) => `img-${seed}-${i}`));
}

const tiny = (over: TrainingConfigInput = {}) => parseTrainingConfig({
  preset: 'custom', imageSize: { height: S, width: S }, epochs: 3, batchSize: 8, learningRate: 0.01, preprocessing: 'unit',
  customLayers: [
    { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 },
    { type: 'maxPool', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 8 },
  ],
  ...over,
});

before(async () => {
  await tf.setBackend('cpu');
});

describe('trainer', () => {
  test('Dropout is seeded by the run seed: the same seed repeats the losses, another changes them', async () => {
    const withDropout = (seed: number) => tiny({
      seed, epochs: 2,
      customLayers: [{ type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'flatten' }, { type: 'dense', units: 16 }, { type: 'dropout', rate: 0.5 }],
    });
    const losses = async (seed: number) => {
      const config = withDropout(seed);
      const result = await train(config, imageTrainData(config, makeImages(24, 2, 1), makeImages(8, 2, 2), ['cat', 'dog']));
      assert.equal(result.status, 'completed', result.error);
      // Once training is over the model is standard again: inference is deterministic and the config has no seed.
      const dropout = result.model!.layers.find((l) => l.getClassName() === 'Dropout')!;
      assert.ok(!Object.prototype.hasOwnProperty.call(dropout, 'call'));
      assert.equal((dropout.getConfig() as { seed?: number }).seed, undefined);
      result.model!.dispose();
      return result.epochs.map((e) => [e.loss, e.valLoss]);
    };
    const first = await losses(3);
    assert.deepEqual(await losses(3), first);
    assert.notDeepEqual(await losses(4), first);
  });

  test('no tensor leaks over several epochs (augmentation, class weights, validation)', async () => {
    const config = tiny({
      epochs: 4, augmentation: { flip: 'both', rotation: 0.1, brightness: 0.1 }, classWeights: 'balanced',
      customLayers: [
        { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'batchNorm' }, { type: 'maxPool' },
        { type: 'dense', units: 8 }, { type: 'dropout', rate: 0.2 },
      ],
    });
    const data = imageTrainData(config, makeImages(24, 2, 1), makeImages(10, 2, 2), ['cat', 'dog']);
    const start = tf.memory().numTensors;
    const afterEpoch: number[] = [];
    const result = await train(config, data, { onEpochEnd: () => afterEpoch.push(tf.memory().numTensors) });
    assert.equal(result.status, 'completed', result.error);
    assert.equal(result.epochs.length, 4);
    assert.equal(new Set(afterEpoch).size, 1, `tensors after each epoch: ${afterEpoch}`);
    result.model?.dispose();
    assert.equal(tf.memory().numTensors, start);
  });

  test('learns an easy task and records the run', async () => {
    const config = tiny({ epochs: 5, seed: 3 });
    const data = imageTrainData(config, makeImages(40, 2, 3), makeImages(20, 2, 4), ['cat', 'dog'], 17);
    const result = await train(config, data);
    assert.equal(result.status, 'completed', result.error);
    const last = result.epochs.at(-1)!;
    assert.ok(last.loss < result.epochs[0].loss, 'training loss fell');
    assert.ok(last.valAccuracy! >= 0.9, `val accuracy ${last.valAccuracy}`);
    assert.equal(result.run.backend, 'cpu');
    assert.equal(result.run.splitId, 17);
    assert.equal(result.run.config.seed, 3);
    assert.match(result.run.dataHash!, /^[0-9a-f]{64}$/);
    assert.ok(result.run.versions['tfjs-core']);
    assert.deepEqual([result.run.trainCount, result.run.valCount], [40, 20]);
    result.model?.dispose();
  });

  test('more than two classes train with softmax cross-entropy', async () => {
    // Global average pooling sees the per-channel means that separate the classes.
    const config = tiny({ epochs: 6, customLayers: [{ type: 'conv2d', filters: 6, kernelHeight: 3, kernelWidth: 3, activation: 'linear' }, { type: 'globalPool' }] });
    const data = imageTrainData(config, makeImages(36, 3, 5), makeImages(18, 3, 6), ['a', 'b', 'c']);
    const result = await train(config, data);
    assert.equal(result.status, 'completed', result.error);
    assert.deepEqual(result.model!.outputs[0].shape, [null, 3]);
    assert.ok(result.epochs.at(-1)!.valAccuracy! >= 0.8, `val accuracy ${result.epochs.at(-1)!.valAccuracy}`);
    // Chance-level softmax loss is ln 3; the first epoch starts there.
    assert.ok(result.epochs.at(-1)!.loss < Math.log(3));
    result.model?.dispose();
  });

  test('same seed, same run: identical epoch losses (no dropout)', async () => {
    const config = tiny({ epochs: 2, customLayers: [{ type: 'conv2d', filters: 2, kernelHeight: 3, kernelWidth: 3 }, { type: 'globalPool' }], augmentation: { flip: 'both' } });
    const runOnce = async () => {
      const r = await train(config, imageTrainData(config, makeImages(16, 2, 7), null, ['a', 'b']));
      r.model?.dispose();
      return r.epochs.map((e) => e.loss);
    };
    assert.deepEqual(await runOnce(), await runOnce());
  });

  test('a NaN loss stops the run with a clear message', async () => {
    const config = tiny({ epochs: 3 });
    const images = makeImages(24, 2, 8);
    const good = imageExampleSource(images, { augmentation: config.augmentation, seed: 1 });
    let trainingBatches = 0;
    // Injects NaN pixels into the second batch of the second epoch.
    const poisoned: ExampleSource = {
      ...good,
      inputs(indices, ctx) {
        if (!ctx.training) return good.inputs(indices, ctx);
        trainingBatches++;
        return ctx.epoch === 1 && trainingBatches === 5 ? tf.fill([indices.length, S, S, 3], NaN) : good.inputs(indices, ctx);
      },
    };
    const start = tf.memory().numTensors;
    const result = await train(config, { train: poisoned, classNames: ['a', 'b'] });
    assert.equal(result.status, 'failed');
    assert.match(result.error!, /^loss became NaN at epoch 2 batch 2; try a lower learning rate \(now 0\.01\)/);
    assert.equal(result.epochs.length, 1);
    assert.equal(result.model, undefined, 'no usable weights without restore-best');
    assert.equal(tf.memory().numTensors, start, 'the broken model is disposed');
  });

  test('a diverging run (absurd learning rate) fails instead of finishing with blown-up weights', async () => {
    const config = tiny({ epochs: 3, optimizer: 'sgd', learningRate: 1e12, preprocessing: 'none' });
    const result = await train(config, imageTrainData(config, makeImages(24, 2, 9), null, ['a', 'b']));
    assert.equal(result.status, 'failed');
    assert.match(result.error!, /^loss (became NaN|became -?Infinity|exploded to \S+ \(training diverged\)) at epoch 1 batch \d+; try a lower learning rate \(now 1000000000000\)/);
  });

  test('after a NaN, restore-best hands back the last good weights', async () => {
    const config = tiny({ epochs: 3, earlyStopping: { enabled: true, monitor: 'val_loss', patience: 5, restoreBest: true } });
    const images = makeImages(16, 2, 16);
    const val = makeImages(8, 2, 17);
    const good = imageExampleSource(images, { augmentation: config.augmentation, seed: 1 });
    const poisoned: ExampleSource = {
      ...good,
      inputs: (indices, ctx) => (ctx.training && ctx.epoch === 1 ? tf.fill([indices.length, S, S, 3], NaN) : good.inputs(indices, ctx)),
    };
    const valSource = imageExampleSource(val, { augmentation: config.augmentation, seed: 1 });
    const result = await train(config, { train: poisoned, val: valSource, classNames: ['a', 'b'] });
    assert.equal(result.status, 'failed');
    assert.equal(result.bestEpoch, 1);
    const restored = await evaluateModel(result.model!, valSource, 2, 8);
    assert.ok(Math.abs(restored.loss - result.epochs[0].valLoss!) < 1e-5);
    result.model?.dispose();
  });

  test('model.stopTraining (tfjs flag) also stops after the current batch, for functional models', async () => {
    const config = tiny({ epochs: 2 });
    const input = tf.input({ shape: [S, S, 3] });
    const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as import('@tensorflow/tfjs').SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(pooled) as import('@tensorflow/tfjs').SymbolicTensor });
    let batches = 0;
    const result = await train(config, imageTrainData(config, makeImages(32, 2, 18), null, ['a', 'b']), {
      onBatchEnd: () => {
        batches++;
        if (batches === 3) model.stopTraining = true;
      },
    }, { model, progressIntervalMs: 0 });
    assert.equal(result.status, 'cancelled');
    assert.equal(batches, 3);
    assert.equal(result.model, model, 'a caller-supplied model is returned, not disposed');
    model.dispose();
  });

  test('cancel stops after the current batch', async () => {
    const config = tiny({ epochs: 3 });
    const data = imageTrainData(config, makeImages(40, 2, 10), makeImages(8, 2, 11), ['a', 'b']);
    const controller = new AbortController();
    const seen: Array<[number, number]> = [];
    const result = await train(config, data, {
      onBatchEnd: (p) => {
        seen.push([p.epoch, p.batch]);
        if (p.epoch === 2 && p.batch === 2) controller.abort();
      },
    }, { signal: controller.signal, progressIntervalMs: 0 });
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen.at(-1), [2, 2], 'no batch ran after the cancel');
    assert.equal(result.epochs.length, 1, 'the interrupted epoch is not reported as finished');
    assert.ok(result.model, 'a cancelled run still returns its model');
    result.model?.dispose();
  });

  test('a cancel during validation ends the run as cancelled without finishing the epoch', async () => {
    const config = tiny({ epochs: 3 });
    const data = imageTrainData(config, makeImages(16, 2, 19), makeImages(32, 2, 20), ['a', 'b']);
    const controller = new AbortController();
    const val = data.val!;
    let valBatches = 0;
    data.val = {
      ...val,
      inputs(indices, ctx) {
        if (++valBatches === 2) controller.abort();
        return val.inputs(indices, ctx);
      },
    };
    const start = tf.memory().numTensors;
    const result = await train(config, data, {}, { signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.equal(result.epochs.length, 0);
    assert.equal(valBatches, 2, 'validation stopped at the next batch');
    result.model?.dispose();
    assert.equal(tf.memory().numTensors, start);
  });

  test('early stopping restores the best epoch and checkpoints it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pawprint-trainer-'));
    try {
      // Validation labels are the opposite of training labels: the better the fit, the worse val_loss, so
      // epoch 1 is the best and training stops after `patience` worse epochs.
      const config = tiny({ epochs: 10, earlyStopping: { enabled: true, monitor: 'val_loss', patience: 2, restoreBest: true } });
      const val = makeImages(16, 2, 13, true);
      const data = imageTrainData(config, makeImages(32, 2, 12), val, ['a', 'b']);
      const checkpoints: number[] = [];
      const logs: string[] = [];
      const result = await train(config, data, { onCheckpoint: (c) => checkpoints.push(c.epoch), onLog: (m) => logs.push(m) }, { checkpointDir: dir });
      assert.equal(result.status, 'completed', result.error);
      assert.equal(result.stoppedEarly, true);
      assert.equal(result.bestEpoch, 1);
      assert.deepEqual(result.epochs.map((e) => e.epoch), [1, 2, 3]);
      assert.ok(result.epochs[2].valLoss! > result.epochs[0].valLoss!);
      assert.deepEqual(checkpoints, [1]);
      assert.match(logs.join('\n'), /early stopping at epoch 3: val_loss has not improved since epoch 1/);
      const valSource = imageExampleSource(val, { augmentation: config.augmentation, seed: config.seed });
      const restored = await evaluateModel(result.model!, valSource, 2, 8);
      assert.ok(Math.abs(restored.loss - result.epochs[0].valLoss!) < 1e-5, `${restored.loss} vs ${result.epochs[0].valLoss}`);
      const loaded = await loadModelFromFolder(dir);
      const fromDisk = await evaluateModel(loaded, valSource, 2, 8);
      assert.ok(Math.abs(fromDisk.loss - result.epochs[0].valLoss!) < 1e-5);
      const meta = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as { epoch: number; run: { config: { seed: number } } };
      assert.equal(meta.epoch, 1);
      assert.equal(meta.run.config.seed, config.seed);
      loaded.dispose();
      result.model?.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('progress is throttled and carries only current values', async () => {
    const config = tiny({ epochs: 2 });
    const data: TrainData = imageTrainData(config, makeImages(40, 2, 14), null, ['a', 'b']);
    let clock = 0;
    const events: BatchProgress[] = [];
    const result = await train(config, data, { onBatchEnd: (p) => events.push(p) }, { progressIntervalMs: 1e9, now: () => (clock += 10) });
    // Only each epoch's last batch gets through a huge interval (the first batch also, as nothing was sent yet).
    assert.deepEqual(events.map((e) => [e.epoch, e.batch]), [[1, 1], [1, 5], [2, 1], [2, 5]]);
    const e = events[1];
    assert.deepEqual(Object.keys(e).sort(), ['accuracy', 'batch', 'batches', 'epoch', 'epochEtaSeconds', 'epochs', 'imagesPerSecond', 'loss', 'phase', 'runEtaSeconds']);
    assert.equal(e.epochEtaSeconds, 0);
    assert.ok(e.runEtaSeconds > 0 && e.imagesPerSecond > 0);
    assert.equal(events[3].runEtaSeconds, 0);
    result.model?.dispose();
  });

  test('invalid models fail with the validation message and leak nothing', async () => {
    const start = tf.memory().numTensors;
    const config = tiny({ customLayers: [{ type: 'conv2d', filters: 2, kernelHeight: 20, kernelWidth: 3 }] });
    const result = await train(config, imageTrainData(config, makeImages(8, 2, 15), null, ['a', 'b']));
    assert.equal(result.status, 'failed');
    assert.match(result.error!, /kernel 20x3 is larger than the 16x16 input image/);
    assert.equal(tf.memory().numTensors, start);
    const bad = await train({ ...config, batchSize: 0 }, imageTrainData(config, makeImages(8, 2, 15), null, ['a', 'b']));
    assert.equal(bad.status, 'failed');
    assert.match(bad.error!, /^invalid training config: batchSize: /);
  });
});
