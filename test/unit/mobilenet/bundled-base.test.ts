// The bundled base (resources/models/): found from the checkout and from a packaged app's resources folder, loaded
// with no network, named (never by a local path) with its real alpha and parameter count, shipped by the installer
// config, and the base a mobilenetv2 run at alpha 0.35 uses when it names none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  baseName, baseVersions, imagenetWeightsUrl, KNOWN_IMAGENET_WEIGHTS_IDS, resolveBaseWeights,
} from '../../../electron/training/mobilenet/base-weights';
import { BUNDLED_BASE, bundledBaseCandidates, bundledBaseFolder } from '../../../electron/training/mobilenet/bundled-base';
import { weightsSourceFor } from '../../../electron/training/worker/transfer';
import { projectRoot } from '../../../electron/build-paths';
import { parseTrainingConfig, presetDefaults } from '../../../shared/training-config';

const noNetwork: typeof fetch = async (input) => {
  throw new Error(`network used: ${String(input)}`);
};

test('the bundled base loads from the checkout with no network: ImageNet alpha 0.35, 410,208 parameters, named not by path', async () => {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'pawprint-bundled-'));
  try {
    const weights = await resolveBaseWeights({ kind: 'bundled' }, { cacheDir, fetchImpl: noNetwork });
    assert.equal(weights.alpha, 0.35);
    assert.equal(weights.weightsId, BUNDLED_BASE.weightsId);
    assert.equal(weights.weightsId, KNOWN_IMAGENET_WEIGHTS_IDS[0.35]);
    assert.equal(weights.isKnownImagenet, true);
    assert.equal(weights.source, 'mobilenet_v2_0.35_224 imagenet (bundled)');
    assert.deepEqual(baseVersions({ kind: 'bundled' }, weights), {
      mobilenetBase: 'mobilenet_v2_0.35_224 imagenet (bundled)', mobilenetWeights: BUNDLED_BASE.weightsId, mobilenetAlpha: '0.35', mobilenetBaseParameters: '410208',
    });
    assert.equal(BUNDLED_BASE.parameters, 410_208);
    // Only the backbone: Teachable Machine's head is not shipped.
    assert.equal([...weights.tensors.keys()].some((name) => !/^(Conv1|bn_Conv1|expanded_conv_|block_\d+_|Conv_1)/.test(name)), false);
    assert.deepEqual(await readdir(cacheDir), [], 'nothing downloaded or cached');
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

test('a packaged app finds the bundled base in process.resourcesPath/models first, and the checkout otherwise', async () => {
  const resources = await mkdtemp(path.join(os.tmpdir(), 'pawprint-resources-'));
  try {
    const checkout = path.join(projectRoot(), 'resources', 'models', BUNDLED_BASE.folder);
    assert.equal(bundledBaseFolder(resources), checkout, 'an empty resources folder falls back to the checkout');
    const packaged = path.join(resources, 'models', BUNDLED_BASE.folder);
    await mkdir(path.dirname(packaged), { recursive: true });
    await cp(checkout, packaged, { recursive: true });
    assert.equal(bundledBaseFolder(resources), packaged);
    assert.deepEqual(bundledBaseCandidates(resources), [packaged, checkout]);
    const weights = await resolveBaseWeights({ kind: 'bundled', resourcesPath: resources }, { cacheDir: resources, fetchImpl: noNetwork });
    assert.equal(weights.modelJsonPath, path.join(packaged, 'model.json'));
    assert.equal(weights.weightsId, BUNDLED_BASE.weightsId);
  } finally {
    await rm(resources, { recursive: true, force: true });
  }
});

test('a packaged process without process.resourcesPath finds it beside app.asar', () => {
  const root = path.join(path.sep, 'opt', 'Pawprint', 'resources', 'app.asar');
  assert.deepEqual(bundledBaseCandidates(undefined, root), [
    path.join(path.sep, 'opt', 'Pawprint', 'resources', 'models', BUNDLED_BASE.folder),
    path.join(root, 'resources', 'models', BUNDLED_BASE.folder),
  ]);
});

test('the installer ships resources/models where the app looks for it (extraResources -> <resourcesPath>/models)', () => {
  const config = createRequire(import.meta.url)(path.join(projectRoot(), 'electron-builder.config.cjs')) as { extraResources?: Array<{ from: string; to: string }> };
  const entry = (config.extraResources ?? []).find((resource) => resource.from === 'resources/models');
  assert.ok(entry, 'electron-builder.config.cjs has an extraResources entry for resources/models');
  assert.equal(entry.to, 'models');
});

test('mobilenetv2 with no base uses the bundled one at alpha 0.35, and downloads the real ImageNet file for alpha 1.00', () => {
  assert.deepEqual(weightsSourceFor(presetDefaults('mobilenetv2')), { kind: 'bundled' });
  assert.deepEqual(weightsSourceFor(parseTrainingConfig({ preset: 'mobilenetv2', mobilenet: { alpha: 0.35 } })), { kind: 'bundled' });
  const alpha1 = weightsSourceFor(parseTrainingConfig({ preset: 'mobilenetv2', mobilenet: { alpha: 1 } }));
  assert.deepEqual(alpha1, { kind: 'imagenet', alpha: 1 });
  assert.equal(imagenetWeightsUrl(1), 'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.00_224_no_top/model.json');
  assert.deepEqual(weightsSourceFor(parseTrainingConfig({ preset: 'mobilenetv2', mobilenet: { baseSource: '/home/someone/base' } })), { kind: 'local', path: '/home/someone/base' });
});

test('a base is named without its local path', () => {
  assert.equal(baseName({ kind: 'local', path: '/home/someone/models/my-base/model.json' }), 'my-base (local)');
  assert.equal(baseName({ kind: 'local', path: '/home/someone/weights.h5' }), 'weights.h5 (local)');
  assert.equal(baseName({ kind: 'imagenet', alpha: 1 }), 'mobilenet_v2_1.00_224 imagenet (downloaded)');
});
