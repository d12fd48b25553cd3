// Every CNN preset's architecture and custom stacks, built by the app's own builders at a small image size with random
// weights, exported to ONNX and run in ONNX Runtime: the outputs must match TF.js within 1e-4. The mobilenetv2 preset
// (frozen and fine-tuned, random and real weights) is in onnx-mobilenet.slow.test.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { saveModelToFolder } from '../../../electron/inference/model-folder';
import { loadModel } from '../../../electron/inference/loader';
import { buildPresetModel } from '../../../electron/training/presets';
import { presetDefaults, type CustomLayer, type TrainingConfig } from '../../../shared/training-config';
import { ONNX_VERIFY_TOLERANCE, writeVerifiedOnnxModel } from '../../../electron/export/targets/onnx/index';
import { tempDir } from '../../support/temp';
import { convertAndCompare, imageBatch, randomizeWeights } from './onnx-helpers';
import { existsSync } from 'node:fs';

const tmp = tempDir('pawprint-onnx-presets-');
before(async () => {
  await ensureInferenceBackend();
});
after(() => tmp.cleanup());

const SIZE = { height: 48, width: 40 };

function configFor(preset: TrainingConfig['preset'], customLayers?: CustomLayer[]): TrainingConfig {
  const config = presetDefaults(preset);
  return { ...config, imageSize: SIZE, ...(customLayers ? { customLayers } : {}) };
}

const customStacks: Array<[string, CustomLayer[]]> = [
  ['custom: the preset default (same convs, global average pooling)', presetDefaults('custom').customLayers],
  ['custom: batch norm, strided same conv, average and max pooling with padding, dense tanh/elu/sigmoid', [
    { type: 'conv2d', filters: 8, kernelHeight: 5, kernelWidth: 3, strides: 2, padding: 'same', activation: 'relu6' },
    { type: 'batchNorm' },
    { type: 'avgPool', poolSize: 3, strides: 2, padding: 'same' },
    { type: 'conv2d', filters: 8, kernelHeight: 2, kernelWidth: 2, strides: 1, padding: 'same', activation: 'elu' },
    { type: 'maxPool', poolSize: 3, strides: 1, padding: 'same' },
    { type: 'dropout', rate: 0.3 },
    { type: 'flatten' },
    { type: 'dense', units: 16, activation: 'tanh' },
    { type: 'batchNorm' },
    { type: 'dense', units: 8, activation: 'sigmoid' },
    { type: 'dense', units: 8, activation: 'elu' },
  ]],
  ['custom: global max pooling, linear conv', [
    { type: 'conv2d', filters: 6, kernelHeight: 3, kernelWidth: 3, strides: 1, padding: 'valid', activation: 'linear' },
    { type: 'globalPool', mode: 'max' },
    { type: 'dense', units: 4, activation: 'relu' },
  ]],
];

describe('ONNX export of every preset (random weights, small images)', () => {
  const presets: Array<[string, TrainingConfig]> = [
    ['cnn', configFor('cnn')],
    ['cnn-augment', configFor('cnn-augment')],
    ['cnn-normalize', configFor('cnn-normalize')],
    ...customStacks.map(([name, layers]): [string, TrainingConfig] => [name, configFor('custom', layers)]),
  ];
  presets.forEach(([name, config], i) => {
    for (const classes of [2, 3]) {
      test(`${name}, ${classes} classes`, async (t) => {
        const model = buildPresetModel(config, classes);
        try {
          randomizeWeights(model, 200 + i * 10 + classes);
          const check = await convertAndCompare(model, tmp.path, `preset-${i}-${classes}`, imageBatch(4, SIZE.height, SIZE.width, 31 + i));
          t.diagnostic(`max |ONNX - TF.js| = ${check.maxAbsDiff.toExponential(2)}`);
          assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference ${check.maxAbsDiff}`);
          assert.deepEqual(check.written.outputShape, [classes === 2 ? 1 : classes]);
        } finally {
          model.dispose();
        }
      });
    }
  });
});

describe('writeVerifiedOnnxModel, as the export job calls it', () => {
  test('a saved cnn-normalize run: written and verified on decoded pixels; a check it fails deletes the file', async () => {
    const config = configFor('cnn-normalize');
    const model = buildPresetModel(config, 3);
    randomizeWeights(model, 9);
    const runFolder = join(tmp.path, 'cnn-normalize-run');
    await saveModelToFolder(model, runFolder);
    model.dispose();
    const loaded = await loadModel(runFolder);
    try {
      const batch = imageBatch(5, SIZE.height, SIZE.width, 8);
      const per = SIZE.height * SIZE.width * 3;
      const pixels = Array.from({ length: 5 }, (_, i) => Uint8Array.from(batch.data.subarray(i * per, (i + 1) * per)));
      const out = join(tmp.path, 'verified.onnx');
      const { written, verification } = await writeVerifiedOnnxModel(loaded, out, pixels);
      assert.equal(written.path, out);
      assert.equal(verification.images, 5);
      assert.ok(verification.ok && verification.maxAbsDiff < ONNX_VERIFY_TOLERANCE);
      // No float32 pipeline is bit-exact with another: a zero tolerance must fail, and the file must not stay.
      const strict = join(tmp.path, 'strict.onnx');
      await assert.rejects(writeVerifiedOnnxModel(loaded, strict, pixels, { tolerance: 0 }), /Verification failed: model\.onnx differs from the app's model by up to .* on 5 images \(allowed 0\); the ONNX file was deleted\./);
      assert.equal(existsSync(strict), false);
      await assert.rejects(writeVerifiedOnnxModel(loaded, strict, [new Uint8Array(7)]), /Verification image 1 has 7 values; the model takes 40x48x3\./);
    } finally {
      loaded.dispose();
    }
  });
});
