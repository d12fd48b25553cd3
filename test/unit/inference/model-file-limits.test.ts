// A model is user input, and "a bad model must not exhaust memory": loadModel reads no more of a model's files than a
// model can need (4 bytes to sniff a zip, a capped model.json, weights files no larger than their manifest says), and
// its shape-only dry build allocates nothing, recurrent layers included. Sparse files stand in for huge ones: they
// take no disk, but reading one whole would take its full size in memory.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type LayersModel } from '../../../electron/tfjs/tf';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { predictPixels } from '../../../electron/inference/predictor';
import { pixels } from '../../support/images';
import { tempDir } from '../../support/temp';

const tmp = tempDir('pawprint-model-limits-');
type Artifacts = import('@tensorflow/tfjs').io.ModelArtifacts;
const HUGE = 3 * 1024 ** 3;
/** Reading any of the huge files whole, or allocating a huge weight, moves the process's memory by far more. */
const MEMORY_SLACK = 200 * 1024 ** 2;

before(async () => {
  await ensureInferenceBackend();
});
after(() => tmp.cleanup());

let folders = 0;
async function newFolder(): Promise<string> {
  const dir = join(tmp.path, `model-${folders++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A file of `size` bytes that uses no disk (a hole): reading it whole would still need `size` bytes of memory. */
async function sparseFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

async function saved(model: LayersModel): Promise<{ topology: Record<string, unknown>; specs: unknown[]; weights: Buffer }> {
  let artifacts: Artifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = artifacts as unknown as Artifacts;
  return {
    topology: a.modelTopology as Record<string, unknown>,
    specs: a.weightSpecs ?? [],
    weights: Buffer.from(a.weightData as ArrayBuffer),
  };
}

async function writeModel(dir: string, files: { topology: Record<string, unknown>; specs: unknown[]; weights?: Buffer }): Promise<void> {
  await writeFile(join(dir, 'model.json'), JSON.stringify({
    format: 'layers-model', modelTopology: files.topology, weightsManifest: [{ paths: ['weights.bin'], weights: files.specs }],
  }));
  if (files.weights) await writeFile(join(dir, 'weights.bin'), files.weights);
}

/** A tiny image classifier: 2x2 RGB, GlobalAveragePooling, Dense(2). */
async function tinyClassifier(): Promise<{ topology: Record<string, unknown>; specs: unknown[]; weights: Buffer }> {
  const model = tf.sequential({
    layers: [tf.layers.globalAveragePooling2d({ inputShape: [2, 2, 3] }), tf.layers.dense({ units: 2, name: 'head' })],
  });
  try {
    return await saved(model);
  } finally {
    model.dispose();
  }
}

interface Usage { rss: number; peakRss: number; tensors: number; bytes: number }
function usage(): Usage {
  const memory = tf.memory();
  return {
    rss: process.memoryUsage().rss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    tensors: memory.numTensors,
    bytes: memory.numBytes,
  };
}

/** Loads `source`, expecting a one-line AppError, and checks that neither tfjs nor the process grew while refusing. */
async function refusedWithin(source: string): Promise<string> {
  const before = usage();
  let message: string | null = null;
  try {
    const loaded = await loadModel(source);
    loaded.dispose();
  } catch (error) {
    assert.equal((error as { name?: string }).name, 'AppError', `not an AppError: ${(error as Error).stack}`);
    message = (error as Error).message;
  }
  const after = usage();
  assert.ok(message !== null, 'the model loaded');
  assert.ok(!message.includes('\n'), `not one line: ${message}`);
  const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
  assert.ok(after.rss - before.rss < MEMORY_SLACK, `RSS grew by ${mb(after.rss - before.rss)} (${message})`);
  assert.ok(after.peakRss - before.peakRss < MEMORY_SLACK, `peak RSS grew by ${mb(after.peakRss - before.peakRss)} (${message})`);
  assert.equal(after.tensors, before.tensors, `tensors left behind (${message})`);
  assert.equal(after.bytes, before.bytes, `tensor bytes left behind (${message})`);
  return message;
}

describe('loadModel reads no more of a model than a model can need', () => {
  test('a 3 GB file without an extension is sniffed by its first bytes and refused', async () => {
    const path = join(await newFolder(), 'upload-1234');
    await sparseFile(path, HUGE);
    const message = await refusedWithin(path);
    assert.match(message, /upload-1234 is not a model/);
  });

  test('a 3 GB model.json is refused without reading it', async () => {
    const dir = await newFolder();
    await sparseFile(join(dir, 'model.json'), HUGE);
    const message = await refusedWithin(dir);
    assert.match(message, /model\.json/);
    assert.match(message, /3072 MB/);
    assert.match(message, /32 MB/);
  });

  test('a 3 GB weights file is refused against the size its manifest declares, without reading it', async () => {
    const dir = await newFolder();
    const small = await tinyClassifier();
    await writeModel(dir, { topology: small.topology, specs: small.specs });
    await sparseFile(join(dir, 'weights.bin'), HUGE);
    const message = await refusedWithin(dir);
    assert.match(message, /weights\.bin/);
    assert.match(message, new RegExp(`${HUGE} bytes but model\\.json describes ${small.weights.length}`));
  });

  test('a weights file renamed by a download ("weights (1).bin") and 3 GB large is refused the same way', async () => {
    const dir = await newFolder();
    const small = await tinyClassifier();
    await writeModel(dir, { topology: small.topology, specs: small.specs });
    await sparseFile(join(dir, 'weights (1).bin'), HUGE);
    const message = await refusedWithin(dir);
    assert.match(message, /weights \(1\)\.bin|weights\.bin/);
    assert.match(message, /describes/);
  });

  test('a model within the limits still loads', async () => {
    const dir = await newFolder();
    await writeModel(dir, await tinyClassifier());
    const loaded = await loadModel(dir);
    try {
      assert.deepEqual(loaded.imageSize, { height: 2, width: 2 });
    } finally {
      loaded.dispose();
    }
  });
});

/** Image size of the recurrent classifiers: each image row is one time step of width*3 features. */
const ROWS = 3;
const COLS = 4;

function lstmClassifier(options: { units: number; stateful?: boolean }): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.reshape({ targetShape: [ROWS, COLS * 3], ...(options.stateful ? { batchInputShape: [1, ROWS, COLS, 3] } : { inputShape: [ROWS, COLS, 3] }) }),
      // Keras saves unit_forget_bias: true (its default); tfjs saves null unless asked, so ask, as a converted model has it.
      tf.layers.lstm({ units: options.units, unitForgetBias: true, stateful: options.stateful ?? false, name: 'memory' }),
      tf.layers.dense({ units: 2, name: 'head' }),
    ],
  });
}

describe('recurrent layers: the dry build asks for the real weight shapes and allocates nothing', () => {
  test('a small LSTM image classifier saved by tfjs (unit_forget_bias, the Keras default) loads and predicts as saved', async () => {
    const model = lstmClassifier({ units: 5 });
    const files = await saved(model);
    assert.match(JSON.stringify(files.topology), /"unit_forget_bias":true/);
    const image = pixels({ width: COLS, height: ROWS });
    const input = new Uint8Array(image.data);
    const expected = tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(input), [1, ROWS, COLS, 3])) as import('@tensorflow/tfjs').Tensor).arraySync() as number[][]);
    model.dispose();
    const dir = await newFolder();
    await writeModel(dir, files);
    // tfjs's own build of unit_forget_bias leaks its bias pieces (four small tensors): loading may leave those, no more.
    const tfjsBefore = tf.memory().numTensors;
    (await tf.models.modelFromJSON({ modelTopology: files.topology } as Parameters<typeof tf.models.modelFromJSON>[0])).dispose();
    const tfjsLeak = tf.memory().numTensors - tfjsBefore;
    const tensorsBefore = tf.memory().numTensors;
    const loaded = await loadModel(dir);
    try {
      const [prediction] = await predictPixels(loaded, [input]);
      assert.equal(prediction.outputs.length, 2);
      prediction.outputs.forEach((value, i) => assert.ok(Math.abs(value - expected[0][i]) < 1e-4, `output ${i}: ${value} vs ${expected[0][i]}`));
    } finally {
      loaded.dispose();
    }
    assert.equal(tf.memory().numTensors - tensorsBefore, tfjsLeak, 'loading left more tensors behind than a plain tfjs build does');
  });

  test('a stateful LSTM image classifier (batch 1) loads and predicts', async () => {
    const model = lstmClassifier({ units: 3, stateful: true });
    const files = await saved(model);
    model.dispose();
    const dir = await newFolder();
    await writeModel(dir, files);
    const loaded = await loadModel(dir);
    try {
      const [prediction] = await predictPixels(loaded, [new Uint8Array(pixels({ width: COLS, height: ROWS }).data)]);
      assert.equal(prediction.probabilities.length, 2);
    } finally {
      loaded.dispose();
    }
  });

  /** The small LSTM's model.json with its LSTM widened to `units` (and stateful at `batch`, if given); weights unchanged. */
  async function widenedLstm(units: number, batch?: number): Promise<string> {
    const model = lstmClassifier({ units: 5 });
    const files = await saved(model);
    model.dispose();
    let text = JSON.stringify(files.topology).replace(/"units":5/, `"units":${units}`);
    if (batch !== undefined) {
      text = text.replace(/"batch_input_shape":\[null,/, `"batch_input_shape":[${batch},`).replace(/"stateful":false/, '"stateful":true');
      assert.match(text, new RegExp(`"batch_input_shape":\\[${batch},`));
      assert.match(text, /"stateful":true/);
    }
    assert.match(text, new RegExp(`"units":${units}`));
    const dir = await newFolder();
    await writeModel(dir, { ...files, topology: JSON.parse(text) as Record<string, unknown> });
    return dir;
  }

  test('an LSTM declaring 100000000 units is refused by the dry build without allocating its forget-gate bias', async () => {
    const message = await refusedWithin(await widenedLstm(100_000_000));
    assert.match(message, /400000000/);
  });

  test('a stateful LSTM declaring 100000 units for batches of 1000 is refused without allocating its states', async () => {
    const message = await refusedWithin(await widenedLstm(100_000, 1000));
    assert.match(message, /400000/);
  });

  test('a stateful LSTM with its real weights but a declared batch of 50000000 is refused without allocating its states', async () => {
    const model = lstmClassifier({ units: 5, stateful: true });
    const files = await saved(model);
    model.dispose();
    const text = JSON.stringify(files.topology).replace(/"batch_input_shape":\[1,/, '"batch_input_shape":[50000000,');
    assert.match(text, /"batch_input_shape":\[50000000,/);
    const dir = await newFolder();
    await writeModel(dir, { ...files, topology: JSON.parse(text) as Record<string, unknown> });
    const message = await refusedWithin(dir);
    assert.match(message, /50000000/);
    assert.match(message, /stateful/);
  });
});

describe('limits in messages', () => {
  test('a model whose input is larger than 4096x4096 is refused in pixels, not fractional megapixels', async () => {
    const model = tf.sequential({
      layers: [tf.layers.globalAveragePooling2d({ inputShape: [4097, 4096, 3] }), tf.layers.dense({ units: 2, name: 'head' })],
    });
    const files = await saved(model);
    model.dispose();
    const dir = await newFolder();
    await writeModel(dir, files);
    const message = await refusedWithin(dir);
    assert.match(message, /4096x4097 images/);
    assert.match(message, /4096×4096 pixels/);
    assert.doesNotMatch(message, /megapixels/);
  });
});
