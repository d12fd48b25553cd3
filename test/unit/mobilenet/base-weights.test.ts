// Weights loading: download from a loopback HTTP server serving a model folder made here (tiny alpha 0.35
// MobileNetV2 at 96x96 with random weights), caching, offline reuse, local folders, and the errors.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildMobileNetV2 } from '../../../electron/training/mobilenet/mobilenet-v2';
import {
  BaseWeightsError,
  cacheFolderFor,
  createMobileNetV2Base,
  imagenetWeightsUrl,
  loadBaseWeights,
  resolveBaseWeights,
  type WeightsProgress,
} from '../../../electron/training/mobilenet/base-weights';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { randomizeBatchNorm, randomPixels, saveModelToDir, useWasmBackend } from './helpers';

let root: string;
let served: string; // folder the server serves
let server: http.Server;
let baseUrl: string;
let requests: string[] = [];
let sourceWeightsId: string;
let sourceOutput: Float32Array;
const pixels = randomPixels(2, 96, 11);

function predict(model: LayersModel): Float32Array {
  const y = tf.tidy(() => model.predict(tf.tensor4d(pixels, [2, 96, 96, 3], 'float32').div(127.5).sub(1)) as Tensor);
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

async function expectError(p: Promise<unknown>, code: string, re: RegExp): Promise<BaseWeightsError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BaseWeightsError, `expected BaseWeightsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    if (code !== 'cancelled') assert.match(e.message, /choose a local TF\.js model folder or model\.json/i);
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

before(async () => {
  await useWasmBackend();
  root = await mkdtemp(path.join(os.tmpdir(), 'pawprint-mnv2-weights-'));
  served = path.join(root, 'www');
  const model = buildMobileNetV2({ alpha: 0.35, imageSize: 96 });
  randomizeBatchNorm(model, 1);
  await saveModelToDir(model, path.join(served, '0.35'), 2);
  // A second copy of the same weights, at another URL, to corrupt.
  await saveModelToDir(model, path.join(served, 'broken'), 2);
  sourceWeightsId = baseWeightsFromModel(model, 0.35).weightsId;
  sourceOutput = predict(model);
  model.dispose();
  // Not MobileNetV2 at all.
  const dense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, name: 'dense_a' })] });
  await saveModelToDir(dense, path.join(served, 'dense'));
  dense.dispose();

  server = http.createServer(async (req, res) => {
    requests.push(req.url ?? '');
    const file = path.join(served, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(served) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
    res.end(await readFile(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('base weights: download, cache, offline', () => {
  test('downloads once with progress, verifies, caches, loads by name; then works offline', async () => {
    const cacheDir = path.join(root, 'cache-a');
    const template = `${baseUrl}/{alpha}/model.json`;
    const progress: WeightsProgress[] = [];
    requests = [];
    const w = await resolveBaseWeights({ kind: 'imagenet', alpha: 0.35, urlTemplate: template }, { cacheDir, onProgress: (p) => progress.push(p) });
    assert.equal(w.alpha, 0.35);
    assert.equal(w.weightsId, sourceWeightsId);
    assert.equal(w.tensors.size, 260);
    assert.equal(w.isKnownImagenet, false); // random weights are not the ImageNet ones
    assert.deepEqual(requests, ['/0.35/model.json', '/0.35/group1-shard1of2.bin', '/0.35/group1-shard2of2.bin']);
    const downloads = progress.filter((p) => p.phase === 'download');
    assert.ok(downloads.length >= 3);
    const last = downloads[downloads.length - 1];
    assert.equal(last.loadedBytes, last.totalBytes);
    assert.ok(last.totalBytes > 1_000_000);
    assert.ok(w.modelJsonPath.startsWith(cacheFolderFor(cacheDir, `${baseUrl}/0.35/model.json`)));
    // Only the final folder is left: no partial downloads.
    assert.deepEqual((await readdir(path.join(cacheDir, 'mobilenet-v2-weights'))).length, 1);

    const m = createMobileNetV2Base(w, 96);
    assert.deepEqual(predict(m), sourceOutput);
    m.dispose();

    // Offline: a fetch that always fails must not be needed any more.
    const offline = await resolveBaseWeights({ kind: 'imagenet', alpha: 0.35, urlTemplate: template }, {
      cacheDir,
      fetchImpl: async () => { throw new TypeError('fetch failed: offline'); },
    });
    assert.equal(offline.weightsId, sourceWeightsId);
  });

  test('a damaged cache entry is downloaded again', async () => {
    const cacheDir = path.join(root, 'cache-b');
    const url = `${baseUrl}/0.35/model.json`;
    const w = await resolveBaseWeights({ kind: 'url', url }, { cacheDir });
    await truncate(path.join(path.dirname(w.modelJsonPath), 'group1-shard2of2.bin'), 100);
    requests = [];
    const again = await resolveBaseWeights({ kind: 'url', url }, { cacheDir });
    assert.equal(again.weightsId, sourceWeightsId);
    assert.equal(requests.length, 3);
  });

  test('the weights id does not depend on the source (URL vs local copy)', async () => {
    const local = await resolveBaseWeights({ kind: 'local', path: path.join(served, '0.35') }, { cacheDir: path.join(root, 'unused') });
    assert.equal(local.weightsId, sourceWeightsId);
    const viaFile = await resolveBaseWeights({ kind: 'local', path: path.join(served, '0.35', 'model.json') }, { cacheDir: path.join(root, 'unused') });
    assert.equal(viaFile.weightsId, sourceWeightsId);
    assert.ok(!existsSync(path.join(root, 'unused')), 'local sources are read in place');
  });

  test('imagenetWeightsUrl names the Teachable Machine files', () => {
    assert.equal(
      imagenetWeightsUrl(1.0),
      'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.00_224_no_top/model.json',
    );
    assert.match(imagenetWeightsUrl(0.5), /_0\.50_224_no_top\/model\.json$/);
  });
});

describe('base weights: clear errors, never random weights', () => {
  test('unreachable server', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const cacheDir = path.join(root, 'cache-dead');
    await expectError(
      resolveBaseWeights({ kind: 'url', url: `http://127.0.0.1:${port}/x/model.json` }, { cacheDir }),
      'download-failed', /Could not download .*127\.0\.0\.1.*ECONNREFUSED/,
    );
  });

  test('HTTP 404', async () => {
    await expectError(
      resolveBaseWeights({ kind: 'imagenet', alpha: 0.5, urlTemplate: `${baseUrl}/{alpha}/model.json` }, { cacheDir: path.join(root, 'cache-404') }),
      'download-failed', /HTTP 404/,
    );
  });

  test('truncated shard on the server: corrupt, and nothing is cached', async () => {
    const shard = path.join(served, 'broken', 'group1-shard2of2.bin');
    const original = await readFile(shard);
    await truncate(shard, 1000);
    const cacheDir = path.join(root, 'cache-trunc');
    try {
      await expectError(resolveBaseWeights({ kind: 'url', url: `${baseUrl}/broken/model.json` }, { cacheDir }), 'corrupt', /incomplete or damaged/);
      assert.deepEqual(await readdir(path.join(cacheDir, 'mobilenet-v2-weights')), []);
    } finally {
      await writeFile(shard, original);
    }
  });

  test('non-finite values', async () => {
    const dir = path.join(root, 'nan');
    await cp(path.join(served, '0.35'), dir, { recursive: true });
    const shard = path.join(dir, 'group1-shard1of2.bin');
    const bytes = await readFile(shard);
    bytes.writeFloatLE(Number.NaN, 4 * 10); // inside Conv1/kernel, the first tensor
    await writeFile(shard, bytes);
    await expectError(resolveBaseWeights({ kind: 'local', path: dir }, { cacheDir: root }), 'corrupt', /Conv1\/kernel contains non-finite/);
  });

  test('weights of another alpha than asked for', async () => {
    await expectError(
      resolveBaseWeights({ kind: 'local', path: path.join(served, '0.35') }, { cacheDir: root, expectedAlpha: 1.0 }),
      'mismatch', /alpha 0\.35 weights, but alpha 1\.00 was asked for/,
    );
  });

  test('a model that is not MobileNetV2', async () => {
    await expectError(resolveBaseWeights({ kind: 'local', path: path.join(served, 'dense') }, { cacheDir: root }), 'mismatch', /does not contain MobileNetV2 weights/);
  });

  test('a wrong shape or a missing weight', async () => {
    const dir = path.join(root, 'shape');
    await cp(path.join(served, '0.35'), dir, { recursive: true });
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    const specs = json.weightsManifest[0].weights as Array<{ name: string; shape: number[] }>;
    const i = specs.findIndex((s) => s.name === 'block_5_expand_BN/gamma');
    specs[i].name = 'block_5_expand_BN/gamma_renamed';
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    await expectError(resolveBaseWeights({ kind: 'local', path: dir }, { cacheDir: root }), 'mismatch', /lacks 1 of the 260 .*block_5_expand_BN\/gamma/);

    specs[i].name = 'block_5_expand_BN/gamma';
    const k = specs.findIndex((s) => s.name === 'block_5_project/kernel');
    specs[k].shape = [1, 1, 16, 96]; // same element count, wrong layout
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    await expectError(resolveBaseWeights({ kind: 'local', path: dir }, { cacheDir: root }), 'mismatch', /block_5_project\/kernel has shape \[1,1,16,96\]/);
  });

  test('invalid JSON, missing folder, shard paths escaping the folder', async () => {
    const dir = path.join(root, 'badjson');
    await cp(path.join(served, '0.35'), dir, { recursive: true });
    await writeFile(path.join(dir, 'model.json'), '{"modelTopology": ');
    await expectError(resolveBaseWeights({ kind: 'local', path: dir }, { cacheDir: root }), 'corrupt', /not valid JSON/);
    await expectError(resolveBaseWeights({ kind: 'local', path: path.join(root, 'nope') }, { cacheDir: root }), 'not-found', /does not exist/);
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] }));
    await expectError(resolveBaseWeights({ kind: 'local', path: dir }, { cacheDir: root }), 'corrupt', /outside its folder/);
  });

  test('cancel', async () => {
    const ac = new AbortController();
    ac.abort();
    await expectError(resolveBaseWeights({ kind: 'url', url: `${baseUrl}/0.35/model.json` }, { cacheDir: path.join(root, 'cache-c'), signal: ac.signal }), 'cancelled', /cancelled/);
    const ac2 = new AbortController();
    const p = resolveBaseWeights({ kind: 'url', url: `${baseUrl}/0.35/model.json` }, {
      cacheDir: path.join(root, 'cache-c'), signal: ac2.signal,
      onProgress: (pr) => { if (pr.phase === 'download' && pr.loadedBytes > 0) ac2.abort(); },
    });
    await expectError(p, 'cancelled', /cancelled/);
    assert.deepEqual(await readdir(path.join(root, 'cache-c', 'mobilenet-v2-weights')), []);
  });

  test('loading into a model of another alpha fails before changing anything', async () => {
    const w = await resolveBaseWeights({ kind: 'local', path: path.join(served, '0.35') }, { cacheDir: root });
    const m = buildMobileNetV2({ alpha: 0.5, imageSize: 96 });
    const before = (m.getLayer('Conv1').getWeights()[0].dataSync() as Float32Array).slice();
    try {
      assert.throws(() => loadBaseWeights(m, w), (e: unknown) => e instanceof BaseWeightsError && e.code === 'mismatch' && /block_1_project\/kernel is \[1,1,48,8\], the model needs \[1,1,48,16\]/.test(e.message));
      assert.deepEqual(m.getLayer('Conv1').getWeights()[0].dataSync(), before);
    } finally {
      m.dispose();
    }
  });
});
