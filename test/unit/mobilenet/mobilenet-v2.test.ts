import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import {
  buildFeatureHead,
  buildMobileNetV2,
  buildTransferModel,
  copyHeadWeights,
  countTrainableParams,
  makeDivisible,
  mobileNetV2Spec,
  MOBILENET_ALPHAS,
} from '../../../electron/training/mobilenet/mobilenet-v2';
import { expectedWeightShapes } from '../../../electron/training/mobilenet/base-weights';
import { useWasmBackend, randomPixels } from './helpers';

before(useWasmBackend);

describe('MobileNetV2 builder', () => {
  test('alpha 1.00 at 160x160 without top: 2,257,984 parameters, output 5x5x1280', () => {
    const base = buildMobileNetV2({ alpha: 1.0, imageSize: 160, includeTop: false });
    try {
      assert.equal(base.countParams(), 2_257_984);
      assert.deepEqual(base.outputs[0].shape, [null, 5, 5, 1280]);
      assert.equal(base.name, 'mobilenetv2_1.00_160');
      // Keras's layer names, as ImageNet weights are loaded by them.
      for (const name of ['Conv1', 'bn_Conv1', 'expanded_conv_depthwise', 'expanded_conv_project_BN', 'block_1_pad', 'block_16_project', 'Conv_1', 'Conv_1_bn', 'out_relu']) {
        assert.ok(base.getLayer(name), name);
      }
      assert.equal(base.layers.length, 155); // as in Keras (input + 154 layers)
    } finally {
      base.dispose();
    }
  });

  test("the tutorial's full model has 2,259,265 parameters, 1,281 trainable", () => {
    const base = buildMobileNetV2({ alpha: 1.0, imageSize: 160 });
    const full = buildTransferModel(base, { pooling: 'max', units: 1, dropout: 0.2 });
    try {
      assert.equal(full.countParams(), 2_259_265);
      assert.equal(countTrainableParams(full), 1_281);
      assert.deepEqual(full.outputs[0].shape, [null, 1]);
    } finally {
      full.dispose();
    }
  });

  test('other alphas and sizes build, with the documented output size and Keras weight names/shapes', () => {
    const combos: Array<[0.35 | 0.5 | 0.75 | 1.0, number, number]> = [
      [0.35, 96, 3], [0.5, 128, 4], [0.75, 192, 6], [1.0, 224, 7], [0.35, 131, 5], [0.5, 97, 4],
    ];
    for (const [alpha, size, side] of combos) {
      const m = buildMobileNetV2({ alpha, imageSize: size });
      try {
        assert.deepEqual(m.outputs[0].shape, [null, side, side, 1280], `${alpha}@${size}`);
        assert.equal(mobileNetV2Spec({ alpha, imageSize: size }).outputSize, side);
        const expected = expectedWeightShapes(alpha);
        const got = new Map<string, number[]>();
        for (const layer of m.layers) for (const w of layer.weights) got.set(`${layer.name}/${w.originalName.split('/').pop()}`, w.shape as number[]);
        assert.deepEqual(got, expected, `${alpha}@${size} weight names/shapes`);
      } finally {
        m.dispose();
      }
    }
  });

  test('odd input sizes pad like TF "same" (the Keras correct_pad)', () => {
    // 97 -> 49: a 3x3 stride-2 conv needs 1 pixel of padding on each side for odd sides, 0/1 for even.
    const m = buildMobileNetV2({ alpha: 0.35, imageSize: 97 });
    try {
      assert.deepEqual(m.getLayer('Conv1').outputShape, [null, 49, 49, 16]);
      assert.deepEqual(m.getLayer('block_1_depthwise').outputShape, [null, 25, 25, 48]);
    } finally {
      m.dispose();
    }
  });

  test('rejects unsupported options', () => {
    assert.throws(() => buildMobileNetV2({ alpha: 0.6 as 0.5, imageSize: 160 }), /alpha must be one of/);
    assert.throws(() => buildMobileNetV2({ alpha: 1.0, imageSize: 95 }), /from 96 to 224/);
    assert.throws(() => buildMobileNetV2({ alpha: 1.0, imageSize: 225 }), /from 96 to 224/);
    assert.throws(() => buildMobileNetV2({ alpha: 1.0, imageSize: 160, includeTop: true as unknown as false }), /includeTop/);
  });

  test("makeDivisible follows Keras's _make_divisible", () => {
    assert.equal(makeDivisible(32 * 0.35), 16);
    assert.equal(makeDivisible(16 * 0.35), 8);
    assert.equal(makeDivisible(24 * 0.75), 24);
    assert.equal(makeDivisible(320 * 0.35), 112);
    assert.deepEqual(MOBILENET_ALPHAS.map((a) => mobileNetV2Spec({ alpha: a, imageSize: 96 }).blocks[16].outChannels), [112, 160, 240, 320]);
  });

  test('a head trained on features drops into the full model with the same outputs', () => {
    const base = buildMobileNetV2({ alpha: 0.35, imageSize: 96 });
    const head = buildFeatureHead({ pooling: 'average', units: 3, extraDense: 8 });
    const full = buildTransferModel(base, { pooling: 'average', units: 3, extraDense: 8 });
    const before = tf.memory().numTensors;
    try {
      copyHeadWeights(head, full);
      const pixels = randomPixels(2, 96, 7);
      const [viaFull, viaHead] = tf.tidy(() => {
        const x = tf.tensor4d(pixels, [2, 96, 96, 3], 'float32');
        const pooled = tf.mean(base.predict(x.div(127.5).sub(1)) as Tensor4D, [1, 2]);
        return [full.predict(x) as Tensor, head.predict(pooled) as Tensor];
      });
      const a = viaFull.dataSync();
      const b = viaHead.dataSync();
      tf.dispose([viaFull, viaHead]);
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `${a[i]} vs ${b[i]}`);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      full.dispose();
      head.dispose();
    }
  });
});
