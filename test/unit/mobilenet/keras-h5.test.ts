// Keras .h5 weights: the layout parsed from files h5py wrote the way Keras 2 did (test/fixtures/keras-h5, see its
// make-fixture.py), and whole MobileNetV2 backbones in that layout, written here with h5wasm from a random-weight
// model, loaded from a path or downloaded once from a loopback server; plus the errors.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../electron/tfjs/tf';
import { buildMobileNetV2 } from '../../../electron/training/mobilenet/mobilenet-v2';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { BaseWeightsError, cacheFolderFor, resolveBaseWeights, type BaseWeights, type WeightsProgress } from '../../../electron/training/mobilenet/base-weights';
import { MobileNetFeatureExtractor } from '../../../electron/training/mobilenet/feature-extractor';
import { KerasH5Error, readKerasH5Weights } from '../../../electron/training/mobilenet/keras-h5';
import { REPO_ROOT, randomizeBatchNorm, randomPixels, useWasmBackend } from './helpers';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'keras-h5');
let root: string;
let reference: BaseWeights;
let fullH5: string;
let wholeModelH5: string;
let nestedModelH5: string;
let server: http.Server;
let baseUrl: string;
let requests: string[] = [];

type H5Group = ReturnType<InstanceType<typeof h5wasm.File>['create_group']>;
type Layer = LayersModel['layers'][number];
const kerasName = (layer: Layer, w: Layer['weights'][number]) => `${layer.name}/${w.originalName.split('/').pop()}:0`;

/** A group listing `layers`' weights under their own layer names, each dataset at <its layer>/<weight>:0. */
function writeWeights(group: H5Group, layers: Layer[]): void {
  const weights = layers.flatMap((layer) => layer.weights.map((w) => ({ layer, w })));
  if (weights.length === 0) return;
  group.create_attribute('weight_names', weights.map(({ layer, w }) => kerasName(layer, w)));
  for (const { layer, w } of weights) {
    if (!group.keys().includes(layer.name)) group.create_group(layer.name);
    // read() is the variable's own tensor: not to be disposed here.
    group.create_dataset({ name: kerasName(layer, w), data: w.read().dataSync() as Float32Array, shape: w.shape as number[], dtype: '<f' });
  }
}

/**
 * Writes `layers` in Keras's save_weights layout (vlen strings here; the fixtures have Keras 2's fixed-length ones).
 * `nestAs` puts `layers` inside one layer of that name, followed by `after`, as a whole model saved around a base
 * model is.
 */
async function writeKerasH5(file: string, layers: Layer[], options: { modelWeights?: boolean; splitLayerNames?: boolean; nestAs?: string; after?: Layer[] } = {}) {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    const top = options.modelWeights ? f.create_group('model_weights') : f;
    const entries: Array<[string, Layer[]]> = options.nestAs
      ? [[options.nestAs, layers], ...(options.after ?? []).map((l): [string, Layer[]] => [l.name, [l]])]
      : layers.map((l) => [l.name, [l]]);
    const names = entries.map(([name]) => name);
    if (options.splitLayerNames) {
      const half = Math.ceil(names.length / 2);
      top.create_attribute('layer_names0', names.slice(0, half));
      top.create_attribute('layer_names1', names.slice(half));
    } else {
      top.create_attribute('layer_names', names);
    }
    for (const [name, members] of entries) writeWeights(top.create_group(name), members);
  } finally {
    f.close();
  }
}

async function expectError(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BaseWeightsError, `expected BaseWeightsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    assert.match(e.message, /or a Keras \.h5 file/);
    return true;
  });
}

before(async () => {
  await useWasmBackend();
  root = await mkdtemp(path.join(os.tmpdir(), 'pawprint-keras-h5-'));
  const model = buildMobileNetV2({ alpha: 0.35, imageSize: 96 });
  randomizeBatchNorm(model, 3);
  reference = baseWeightsFromModel(model, 0.35);
  fullH5 = path.join(root, 'www', 'mobilenet_v2_0.35_no_top.h5');
  await mkdir(path.dirname(fullH5), { recursive: true });
  await writeKerasH5(fullH5, model.layers);
  // A whole model saved with model.save('x.h5'): weights under /model_weights, a classifier after the base, and
  // layer_names split into chunks.
  const headModel = tf.sequential({ layers: [tf.layers.dense({ units: 2, name: 'dense_head', inputShape: [8] })] });
  wholeModelH5 = path.join(root, 'whole-model.h5');
  await writeKerasH5(wholeModelH5, [...model.layers, ...headModel.layers], { modelWeights: true, splitLayerNames: true });
  // The tutorial's saved model: the base as one nested layer, then the head.
  nestedModelH5 = path.join(root, 'nested-model.h5');
  await writeKerasH5(nestedModelH5, model.layers, { modelWeights: true, nestAs: 'mobilenetv2_0.35_96', after: headModel.layers });
  headModel.dispose();
  model.dispose();
  await writeFile(path.join(root, 'www', 'not-hdf5.h5'), 'this is not HDF5');
  const bytes = await readFile(fullH5);
  await writeFile(path.join(root, 'www', 'truncated.h5'), bytes.subarray(0, Math.floor(bytes.length / 2)));

  server = http.createServer(async (req, res) => {
    requests.push(req.url ?? '');
    const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname);
    try {
      const body = await readFile(path.join(root, 'www', name));
      if (name === 'truncated.h5') {
        // Announces the whole file, sends half, then hangs up: an interrupted download.
        res.writeHead(200, { 'content-length': String(bytes.length) });
        res.write(body);
        res.destroy();
        return;
      }
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('Keras .h5 layout', () => {
  test('files written by h5py as Keras 2 did: fixed-length names, split attributes, weightless layers, /model_weights', async () => {
    const expected = [
      ['Conv1/kernel', [3, 3, 3, 16]],
      ['bn_Conv1/gamma', [16]], ['bn_Conv1/beta', [16]], ['bn_Conv1/moving_mean', [16]], ['bn_Conv1/moving_variance', [16]],
      ['expanded_conv_depthwise/depthwise_kernel', [3, 3, 16, 1]],
    ] as const;
    for (const file of ['keras2-layout.h5', 'keras2-model-layout.h5']) {
      const weights = await readKerasH5Weights(path.join(FIXTURES, file));
      assert.deepEqual(weights.map((w) => [w.name, w.shape]), expected.map(([n, s]) => [n, [...s]]));
      weights.forEach((w, k) => {
        assert.ok(w.data instanceof Float32Array);
        // make-fixture.py: weight k, element i = (i % 97) / 64 - 0.75 + k (exact in float32).
        assert.deepEqual(Array.from(w.data), Array.from(w.data, (_, i) => (i % 97) / 64 - 0.75 + k), `${file}: ${w.name}`);
      });
    }
  });

  test('not HDF5, truncated, or HDF5 without Keras layout: errors that say which', async () => {
    await assert.rejects(readKerasH5Weights(path.join(root, 'www', 'not-hdf5.h5')), (e: unknown) => e instanceof KerasH5Error && e.code === 'not-hdf5');
    await assert.rejects(readKerasH5Weights(path.join(root, 'www', 'truncated.h5')), (e: unknown) => e instanceof KerasH5Error && e.code === 'corrupt' && /truncated or damaged/.test(e.message));
    const plain = path.join(root, 'plain.h5');
    await h5wasm.ready;
    const f = new h5wasm.File(plain, 'w');
    f.create_dataset({ name: 'x', data: new Float32Array([1, 2]), shape: [2], dtype: '<f' });
    f.close();
    await assert.rejects(readKerasH5Weights(plain), (e: unknown) => e instanceof KerasH5Error && e.code === 'not-keras' && /no layer_names/.test(e.message));
  });
});

describe('MobileNetV2 weights from a Keras .h5 file', () => {
  test('a local file loads the same weights as the model it came from; a head is ignored; /model_weights and a nested base work too', async () => {
    const progress: WeightsProgress[] = [];
    const local = await resolveBaseWeights({ kind: 'local', path: fullH5 }, { cacheDir: path.join(root, 'cache-local'), onProgress: (p) => progress.push(p) });
    assert.equal(local.alpha, 0.35);
    assert.equal(local.tensors.size, reference.tensors.size);
    assert.equal(local.weightsId, reference.weightsId);
    assert.equal(local.modelJsonPath, fullH5);
    assert.ok(progress.length > 0);

    const fromWhole = await resolveBaseWeights({ kind: 'local', path: wholeModelH5 }, { cacheDir: path.join(root, 'cache-local') });
    assert.equal(fromWhole.weightsId, reference.weightsId);
    const fromNested = await resolveBaseWeights({ kind: 'local', path: nestedModelH5 }, { cacheDir: path.join(root, 'cache-local') });
    assert.equal(fromNested.weightsId, reference.weightsId);

    // And the features are those of the original weights.
    const pixels = randomPixels(2, 96, 4);
    const a = MobileNetFeatureExtractor.create(reference, { imageSize: 96 });
    const b = MobileNetFeatureExtractor.create(fromWhole, { imageSize: 96 });
    try {
      assert.deepEqual(await b.embed(pixels, 2), await a.embed(pixels, 2));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('download once from a URL ending in .h5, with progress; offline afterwards', async () => {
    const cacheDir = path.join(root, 'cache-url');
    const url = `${baseUrl}/mobilenet_v2_0.35_no_top.h5`;
    const progress: WeightsProgress[] = [];
    requests = [];
    const first = await resolveBaseWeights({ kind: 'url', url }, { cacheDir, onProgress: (p) => progress.push(p) });
    assert.equal(first.weightsId, reference.weightsId);
    assert.deepEqual(requests, ['/mobilenet_v2_0.35_no_top.h5']);
    const downloads = progress.filter((p) => p.phase === 'download');
    assert.ok(downloads.length >= 2);
    assert.equal(downloads.at(-1)!.loadedBytes, downloads.at(-1)!.totalBytes);
    assert.deepEqual((await readdir(cacheFolderFor(cacheDir, url))).sort(), ['source.json', 'weights.h5']);

    const offline = (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch;
    const second = await resolveBaseWeights({ kind: 'url', url }, { cacheDir, fetchImpl: offline });
    assert.equal(second.weightsId, first.weightsId);
    assert.equal(requests.length, 1);
  });

  test('errors: not HDF5, truncated or interrupted, another alpha, too few weights; nothing half-written is cached', async () => {
    const cacheDir = path.join(root, 'cache-errors');
    await expectError(resolveBaseWeights({ kind: 'local', path: path.join(root, 'www', 'not-hdf5.h5') }, { cacheDir }), 'corrupt', /is not an HDF5 file/);
    await expectError(resolveBaseWeights({ kind: 'local', path: path.join(root, 'www', 'truncated.h5') }, { cacheDir }), 'corrupt', /truncated or damaged/);
    await expectError(resolveBaseWeights({ kind: 'local', path: fullH5 }, { cacheDir, expectedAlpha: 0.5 }), 'mismatch', /alpha 0\.35 weights, but alpha 0\.50 was asked for/);
    await expectError(resolveBaseWeights({ kind: 'local', path: path.join(FIXTURES, 'keras2-layout.h5') }, { cacheDir }), 'mismatch', /does not contain MobileNetV2 weights/);

    await expectError(resolveBaseWeights({ kind: 'url', url: `${baseUrl}/truncated.h5` }, { cacheDir }), 'download-failed', /Could not download|interrupted|stopped after/);
    await expectError(resolveBaseWeights({ kind: 'url', url: `${baseUrl}/not-hdf5.h5` }, { cacheDir }), 'corrupt', /is not an HDF5 file/);
    await expectError(resolveBaseWeights({ kind: 'url', url: `${baseUrl}/missing.h5` }, { cacheDir }), 'download-failed', /HTTP 404/);
    for (const name of ['truncated.h5', 'not-hdf5.h5']) {
      const folder = cacheFolderFor(cacheDir, `${baseUrl}/${name}`);
      const left = await readdir(folder).catch(() => [] as string[]);
      assert.deepEqual(left, [], `${name}: ${left.join(', ')}`);
    }
  });
});
