import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, type Tensor } from '../../../electron/tfjs/tf';
import { buildPresetModel, describeModel, planForConfig } from '../../../electron/training/presets';
import { loadModelFromFolder, saveModelToFolder } from '../../../electron/inference/model-folder';
import { parseTrainingConfig, presetDefaults } from '../../../shared/training-config';

before(async () => {
  await tf.setBackend('cpu');
});

describe('tutorial presets at 160x160x3', () => {
  // The numbers; cnn-augment has none in the issue, so it is pinned to the value computed by hand:
  // 10·5·3·32+32 + 3·3·32·32+32 + 3·3·32·64+64 + 17·18·64·128+128 + 128+1 = 2,539,585.
  const expected = { cnn: 1_346_753, 'cnn-augment': 2_539_585, 'cnn-normalize': 2_674_113 } as const;
  for (const [preset, params] of Object.entries(expected) as Array<[keyof typeof expected, number]>) {
    test(`${preset} has ${params.toLocaleString('en-US')} parameters`, () => {
      const config = presetDefaults(preset);
      const model = buildPresetModel(config, 2);
      try {
        assert.equal(model.countParams(), params);
        assert.equal(planForConfig(config, 2).totalParams, params, 'the pure plan agrees with tfjs');
        assert.deepEqual(describeModel(model).outputShape, [1]);
      } finally {
        model.dispose();
      }
    });
  }

  test('the tutorial settings: Adam, batch 32, 20 epochs, 160x160', () => {
    for (const preset of ['cnn', 'cnn-augment', 'cnn-normalize'] as const) {
      const c = presetDefaults(preset);
      assert.deepEqual([c.optimizer, c.batchSize, c.epochs, c.imageSize.height, c.imageSize.width], ['adam', 32, 20, 160, 160]);
    }
    assert.equal(presetDefaults('cnn').preprocessing, 'none');
    assert.deepEqual(presetDefaults('cnn-augment').augmentation, { flip: 'both', rotation: 0.25, zoom: 0, brightness: 0, contrast: 0 });
    assert.equal(presetDefaults('cnn-normalize').preprocessing, 'symmetric');
    assert.equal(presetDefaults('cnn-normalize').augmentation.rotation, 0.2);
  });

  test('mobilenetv2: [-1,1] inputs, horizontal flips + rotation 0.2, average-pooled head on the frozen bundled alpha 0.35 base', () => {
    const c = presetDefaults('mobilenetv2');
    assert.equal(c.preprocessing, 'symmetric');
    assert.deepEqual(c.augmentation, { flip: 'horizontal', rotation: 0.2, zoom: 0, brightness: 0, contrast: 0 });
    assert.deepEqual(c.mobilenet, { alpha: 0.35, headPooling: 'average', extraDense: 0, fineTuneBlocks: 0, fineTuneEpochs: 0, augmentedViews: 4 });
    // The other presets keep their own augmentation; the shared head default is only read by mobilenetv2.
    assert.equal(presetDefaults('cnn-augment').augmentation.flip, 'both');
  });

  test('describeModel lists the layer stack with shapes', () => {
    const model = buildPresetModel(presetDefaults('cnn-augment'), 2);
    try {
      const d = describeModel(model);
      assert.deepEqual(d.layers.map((l) => l.className), [
        'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dropout', 'Dense',
      ]);
      assert.deepEqual(d.layers[0].outputShape, [151, 156, 32]); // 10x5 kernel: height 10, width 5
      assert.deepEqual(d.layers[6].outputShape, [19584]);
      assert.equal(d.layers[0].params, 4832);
      assert.equal(d.trainableParams, d.totalParams);
      assert.deepEqual(d.inputShape, [160, 160, 3]);
    } finally {
      model.dispose();
    }
  });

  test('cnn-normalize scales to [-1,1] inside the model', () => {
    const model = buildPresetModel(presetDefaults('cnn-normalize'), 2);
    try {
      assert.equal(model.layers[0].getClassName(), 'Rescaling');
      const y = tf.tidy(() => (model.layers[0].apply(tf.tensor4d([0, 127.5, 255], [1, 1, 1, 3])) as Tensor).dataSync());
      assert.deepEqual(Array.from(y), [-1, 0, 1]);
    } finally {
      model.dispose();
    }
  });

  test('more than two classes get one logit per class', () => {
    const model = buildPresetModel(presetDefaults('cnn'), 5);
    try {
      assert.deepEqual(describeModel(model).outputShape, [5]);
      assert.equal(model.countParams(), 1_346_753 - 129 + 128 * 5 + 5);
    } finally {
      model.dispose();
    }
  });

  test('same seed builds the same initial weights, another seed different ones', () => {
    const weights = (seed: number) => {
      const m = buildPresetModel(parseTrainingConfig({ preset: 'cnn', imageSize: { height: 32, width: 32 }, seed }), 2);
      const v = Array.from(m.layers[0].getWeights()[0].dataSync());
      m.dispose();
      return v;
    };
    assert.deepEqual(weights(7), weights(7));
    assert.notDeepEqual(weights(7), weights(8));
  });

  test('custom stacks: tfjs parameter count equals the pure plan (BatchNorm, pools, global pooling)', () => {
    const config = parseTrainingConfig({
      preset: 'custom', imageSize: { height: 32, width: 24 }, preprocessing: 'unit',
      customLayers: [
        { type: 'conv2d', filters: 8, kernelHeight: 3, kernelWidth: 5, padding: 'same', strides: 2 },
        { type: 'batchNorm' },
        { type: 'avgPool', poolSize: 2 },
        { type: 'conv2d', filters: 12, kernelHeight: 3, kernelWidth: 3 },
        { type: 'maxPool', poolSize: 3, strides: 1, padding: 'same' },
        { type: 'globalPool', mode: 'max' },
        { type: 'dense', units: 10, activation: 'tanh' },
        { type: 'dropout', rate: 0.3 },
      ],
    });
    const plan = planForConfig(config, 3);
    assert.ok(plan.ok);
    const model = buildPresetModel(config, 3);
    try {
      assert.equal(model.countParams(), plan.totalParams);
      const d = describeModel(model);
      const conv = d.layers.filter((l) => l.className === 'Conv2D').map((l) => l.outputShape);
      const planned = plan.layers.filter((l) => l.type === 'conv2d').map((l) => l.outputShape);
      assert.deepEqual(conv, planned);
      assert.equal(d.trainableParams, plan.totalParams - 2 * 8, 'BatchNorm moving mean/variance are not trainable');
    } finally {
      model.dispose();
    }
  });

  test('invalid custom stacks throw with the explanation', () => {
    const config = parseTrainingConfig({
      preset: 'custom', imageSize: { height: 8, width: 8 },
      customLayers: [{ type: 'maxPool', poolSize: 2 }, { type: 'conv2d', filters: 4, kernelHeight: 10, kernelWidth: 5 }],
    });
    assert.throws(() => buildPresetModel(config, 2), /kernel 10x5 is larger than the 4x4 feature map after layer 1/);
    assert.throws(() => buildPresetModel(presetDefaults('mobilenetv2'), 2), /MobileNetV2 module/);
  });

  test('a saved model (with its Rescaling layer) reloads and predicts the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pawprint-presets-'));
    const config = parseTrainingConfig({ preset: 'cnn-normalize', imageSize: { height: 32, width: 32 } });
    const model = buildPresetModel(config, 2);
    try {
      await saveModelToFolder(model, dir);
      const loaded = await loadModelFromFolder(dir);
      const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 3);
      const [a, b] = [model.predict(x) as Tensor, loaded.predict(x) as Tensor];
      assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));
      assert.equal(loaded.layers[0].getClassName(), 'Rescaling');
      tf.dispose([x, a, b]);
      loaded.dispose();
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
