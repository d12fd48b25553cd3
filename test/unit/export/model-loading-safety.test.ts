// A model folder is user input: model.json and its weights manifest are checked against a schema and against the
// weight files' real sizes before any layer is built, and every failure frees what it allocated.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { tempDir } from '../../support/temp';

const tmp = tempDir('pawprint-model-safety-');
type Artifacts = import('@tensorflow/tfjs').io.ModelArtifacts;
let small: { topology: Record<string, unknown>; specs: unknown[]; weights: Buffer };

before(async () => {
  await ensureInferenceBackend();
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, name: 'head' })] });
  let saved: Artifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
  const artifacts = saved as unknown as Artifacts;
  small = {
    topology: artifacts.modelTopology as Record<string, unknown>,
    specs: artifacts.weightSpecs ?? [],
    weights: Buffer.from(artifacts.weightData as ArrayBuffer),
  };
});
after(() => tmp.cleanup());

let folders = 0;
async function modelFolder(modelJson: unknown, weights: Buffer | null = small.weights): Promise<string> {
  const dir = join(tmp.path, `model-${folders++}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), typeof modelJson === 'string' ? modelJson : JSON.stringify(modelJson));
  if (weights) await writeFile(join(dir, 'weights.bin'), weights);
  return dir;
}

function goodJson(topology = small.topology): Record<string, unknown> {
  return { format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights: small.specs }] };
}

/** The small model's topology with a 20000-wide input and a 20000-unit Dense layer: 1.6 GB of kernel if built. */
function bombTopology(): Record<string, unknown> {
  const text = JSON.stringify(small.topology)
    .replace(/"batch_input_shape":\[null,4\]/, '"batch_input_shape":[null,20000]')
    .replace(/"units":2/, '"units":20000');
  assert.notEqual(text, JSON.stringify(small.topology));
  return JSON.parse(text) as Record<string, unknown>;
}

async function refusal(dir: string): Promise<string> {
  try {
    const loaded = await loadModel(dir);
    loaded.dispose();
  } catch (error) {
    assert.ok(!(error instanceof TypeError), `a TypeError leaked out: ${(error as Error).message}`);
    assert.equal((error as { name?: string }).name, 'AppError', `not an AppError: ${(error as Error).stack}`);
    const message = (error as Error).message;
    assert.ok(!message.includes('\n'), `not one line: ${message}`);
    return message;
  }
  assert.fail('the model loaded');
}

describe('loadModel refuses bad model files before building them', () => {
  test('a 20000x20000 Dense layer with a tiny weights file is refused, allocating nothing', async () => {
    const dir = await modelFolder(goodJson(bombTopology()));
    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    const message = await refusal(dir);
    assert.match(message, /weights/);
    assert.match(message, /20000/);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors left behind');
    assert.equal(tf.memory().numBytes, bytesBefore, 'bytes left behind');
  });

  test('after several bad loads a good model still loads, and failures leave no tensors', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const wrongWeights = goodJson();
    // Names a weight the layers do not have: tfjs would build the model and then fail to assign the weights.
    (wrongWeights.weightsManifest as Array<{ weights: Array<{ name: string }> }>)[0].weights = small.specs.map((spec) => ({ ...(spec as object), name: `other/${(spec as { name: string }).name}` })) as Array<{ name: string }>;
    for (const json of [goodJson(bombTopology()), goodJson(bombTopology()), wrongWeights, goodJson(bombTopology())]) {
      await refusal(await modelFolder(json));
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, 'bad loads left tensors behind');
    const loaded = await loadModel(await modelFolder(goodJson()), { hints: { imageSize: { height: 1, width: 1 } } }).catch((error: Error) => error);
    // The tiny Dense model is not an image classifier: what matters is that it gets as far as being described.
    assert.ok(loaded instanceof Error && /not an image classifier/.test(loaded.message), String(loaded));
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the refused good model was not freed');
  });

  const odd: Array<[string, unknown, RegExp]> = [
    ['null', 'null', /model\.json/],
    ['an array', '[1,2,3]', /model\.json/],
    ['a number', '42', /model\.json/],
    ['no modelTopology', { format: 'layers-model', weightsManifest: [] }, /modelTopology/],
    ['modelTopology a string', { modelTopology: 'dense', weightsManifest: [] }, /modelTopology/],
    ['weightsManifest not an array', { modelTopology: {}, weightsManifest: { paths: ['weights.bin'] } }, /weightsManifest/],
    ['a manifest group without paths', { modelTopology: {}, weightsManifest: [{ weights: [] }] }, /weightsManifest/],
    ['a weight with a negative dimension', { modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'a', shape: [-1, 4], dtype: 'float32' }] }] }, /weightsManifest/],
    ['a weight of an unknown dtype', { modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'a', shape: [2], dtype: 'complex64' }] }] }, /weightsManifest/],
    ['a path escaping the folder', { modelTopology: {}, weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] }, /outside|escap/],
    ['an absolute path', { modelTopology: {}, weightsManifest: [{ paths: ['/etc/passwd'], weights: [] }] }, /outside|escap/],
  ];
  for (const [what, json, expected] of odd) {
    test(`model.json that is ${what} gets a clear error`, async () => {
      const tensorsBefore = tf.memory().numTensors;
      const message = await refusal(await modelFolder(json));
      assert.match(message, expected);
      assert.equal(tf.memory().numTensors, tensorsBefore);
    });
  }

  test('a weights manifest whose groups do not match their files is refused per group', async () => {
    // Two groups whose total matches but whose split between files does not: the sizes are checked per group.
    const specs = small.specs as Array<{ name: string; shape: number[]; dtype: string }>;
    const kernel = small.weights.subarray(0, 32);
    const bias = small.weights.subarray(32);
    const dir = join(tmp.path, 'groups');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.json'), JSON.stringify({
      modelTopology: small.topology,
      weightsManifest: [{ paths: ['a.bin'], weights: [specs[0]] }, { paths: ['b.bin'], weights: [specs[1]] }],
    }));
    await writeFile(join(dir, 'a.bin'), Buffer.concat([kernel, bias.subarray(0, 4)]));
    await writeFile(join(dir, 'b.bin'), bias.subarray(4));
    const message = await refusal(dir);
    assert.match(message, /a\.bin/);
  });
});
