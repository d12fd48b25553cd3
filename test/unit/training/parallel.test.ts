// Data-parallel training (issue 16): a batch split across 2 threads trains the same model as one thread (up to float
// summation order), repeats bit for bit for a seed, leaks no tensors on either side, cancels, and falls back to one
// thread in words.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import { selectBackend } from '../../../electron/tfjs/backend/select-backend';
import { imageTrainData, train, type TrainOptions } from '../../../electron/training/trainer';
import { buildPresetModel } from '../../../electron/training/presets';
import { imagesFromPixels, labelTensor, type DecodedImages } from '../../../electron/training/data-pipeline';
import { DataParallelTrainer, shardRanges } from '../../../electron/training/parallel/data-parallel';
import { parseTrainingConfig, type TrainingConfigInput } from '../../../shared/training-config';
import { mulberry32 } from '../../../shared/random';

const S = 16;
function makeImages(n: number, seed: number): DecodedImages {
  const rng = mulberry32(seed);
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const img = new Uint8Array(S * S * 3);
    for (let k = 0; k < img.length; k++) img[k] = (k % 3 === label ? 140 : 40) + Math.floor(rng() * 80);
    pixels.push(img);
    labels.push(label);
  }
  return imagesFromPixels(pixels, labels, S, S, pixels.map((_, i) => `img-${seed}-${i}`));
}

// Dropout, augmentation and class weights: everything a split batch could get wrong. 22 images in batches of 8
// end each epoch with a batch of 6 (shards of 3 + 3).
const tiny = (over: TrainingConfigInput = {}) => parseTrainingConfig({
  preset: 'custom', imageSize: { height: S, width: S }, epochs: 2, batchSize: 8, learningRate: 0.01, preprocessing: 'unit', seed: 5,
  augmentation: { flip: 'horizontal', rotation: 0.1, brightness: 0.1 }, classWeights: 'balanced',
  customLayers: [
    { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 },
    { type: 'maxPool', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 16 },
    { type: 'dropout', rate: 0.5 },
  ],
  ...over,
});

async function trainedWeights(threads: number, options: TrainOptions = {}) {
  const config = tiny();
  const logs: string[] = [];
  const result = await train(config, imageTrainData(config, makeImages(22, 1), makeImages(8, 2), ['cat', 'dog']), { onLog: (m) => logs.push(m) }, { threads, ...options });
  assert.equal(result.status, 'completed', result.error);
  const weights = result.model!.getWeights().map((w) => w.dataSync() as Float32Array);
  result.model!.dispose();
  return { weights, logs, epochs: result.epochs };
}

function maxDifference(a: Float32Array[], b: Float32Array[]): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  a.forEach((w, i) => w.forEach((v, k) => {
    abs = Math.max(abs, Math.abs(v - b[i]![k]!));
    scale = Math.max(scale, Math.abs(v));
  }));
  return { abs, scale };
}

before(async () => {
  await selectBackend('wasm');
});

describe('data-parallel training', () => {
  test('shards are contiguous, nearly equal, and never empty', () => {
    assert.deepEqual(shardRanges(32, 2), [[0, 16], [16, 32]]);
    assert.deepEqual(shardRanges(7, 2), [[0, 3], [3, 7]]);
    assert.deepEqual(shardRanges(1, 2), [[0, 1]]);
  });

  test('2 threads train the same weights as 1 thread (to float summation order) and repeat bit for bit', async (t) => {
    const one = await trainedWeights(1);
    const two = await trainedWeights(2);
    assert.ok(two.logs.some((m) => m.startsWith('Training on 2 threads')), `log: ${two.logs.join(' | ')}`);
    assert.ok(!one.logs.some((m) => m.includes('threads')), 'one thread asked, nothing to say');
    // Not bit for bit: a shard sums its 4 rows' gradients, the sum of two shards is a different float sum than one
    // kernel's sum over 8 rows. Two epochs of Adam keep that at rounding level; a different dropout mask, row
    // scaling or augmentation would move weights by ~1e-2.
    const { abs, scale } = maxDifference(one.weights, two.weights);
    t.diagnostic(`max |1 thread - 2 threads| after 2 epochs: ${abs.toExponential(2)} (largest weight ${scale.toFixed(3)})`);
    assert.ok(abs <= 1e-5 * Math.max(1, scale), `max |1 thread - 2 threads| = ${abs} (weights up to ${scale})`);
    two.epochs.forEach((e, i) => assert.ok(Math.abs(e.loss - one.epochs[i]!.loss) < 1e-5, `epoch ${i + 1} loss ${e.loss} vs ${one.epochs[i]!.loss}`));
    const again = await trainedWeights(2);
    assert.deepEqual(again.weights, two.weights, 'same seed, 2 threads: identical weights');
    assert.deepEqual(again.epochs.map((e) => [e.loss, e.valLoss]), two.epochs.map((e) => [e.loss, e.valLoss]));
  });

  test('no tensors leak on the trainer thread or in the training thread over many steps', async () => {
    const config = tiny();
    const data = imageTrainData(config, makeImages(8, 3), null, ['cat', 'dog']);
    const model = buildPresetModel(config, 2);
    const parallel = await DataParallelTrainer.start({ config, numClasses: 2, model, threads: 2 });
    const optimizer = tf.train.adam(0.01);
    const indices = Uint32Array.from({ length: 8 }, (_, i) => i);
    const batch = {
      size: 8,
      inputs: (s: number, e: number) => data.train.inputs(indices.subarray(s, e), { epoch: 0, training: true }),
      labels: (s: number, e: number) => labelTensor(data.train.labels, indices.subarray(s, e), 2),
      sampleWeights: null,
    };
    try {
      const counts: Array<[number, number]> = [];
      for (let i = 0; i < 40; i++) {
        await parallel.step(batch, optimizer);
        counts.push([tf.memory().numTensors, parallel.threadTensors()[0]!]);
      }
      // After the first step (Adam's moments appear) both engines hold a fixed number of tensors.
      assert.deepEqual(new Set(counts.slice(1).map((c) => c.join('/'))).size, 1, `tensor counts: ${counts.map((c) => c.join('/')).join(' ')}`);
    } finally {
      parallel.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  test('a cancel stops after the current batch and the run ends cancelled', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const config = tiny({ epochs: 3 });
    const result = await train(config, imageTrainData(config, makeImages(22, 1), null, ['cat', 'dog']), {
      onBatchEnd: (p) => {
        seen.push(p.batch);
        if (p.batch === 2) controller.abort();
      },
    }, { threads: 2, signal: controller.signal, progressIntervalMs: 0 });
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen, [1, 2], 'no batch ran after the cancel');
    result.model?.dispose();
  });

  test('falls back to one thread, in words, when a batch norm layer needs the whole batch', async () => {
    const config = tiny({ customLayers: [{ type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'batchNorm' }, { type: 'flatten' }, { type: 'dense', units: 4 }] });
    const logs: string[] = [];
    const result = await train(config, imageTrainData(config, makeImages(16, 1), null, ['cat', 'dog']), { onLog: (m) => logs.push(m) }, { threads: 2 });
    assert.equal(result.status, 'completed', result.error);
    assert.ok(logs.some((m) => /^Training on one thread: batch_norm_2 normalises over the whole batch/.test(m)), logs.join(' | '));
    result.model!.dispose();
  });

  test('a training thread that cannot build its model makes start() fail with the reason', async () => {
    const config = tiny();
    const model = buildPresetModel(config, 2);
    try {
      await assert.rejects(
        DataParallelTrainer.start({ config: { ...config, customLayers: [{ type: 'conv2d', filters: 4, kernelHeight: 99, kernelWidth: 99, strides: 1, padding: 'valid', activation: 'relu' }] }, numClasses: 2, model, threads: 2 }),
        /cannot build the model/,
      );
    } finally {
      model.dispose();
    }
  });
});
