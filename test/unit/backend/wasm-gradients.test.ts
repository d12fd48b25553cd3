// Every kernel we register for the WebAssembly backend, checked numerically against the CPU backend's
// gradients on small random tensors, for every stride/padding/kernel shape the CNN presets and MobileNetV2 use.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import { WASM_TRAINING_KERNELS } from '../../../electron/tfjs/backend/wasm-gradients';
import { buildPresetModel } from '../../../electron/training/presets';
import { presetDefaults } from '../../../shared/training-config';
import { randomValues, relativeError, runOn, setupBackends, wasmDataCount, type Tensor } from './helpers';

const TOLERANCE = 1e-4;
type Pad = 'valid' | 'same';
type Shape4 = [number, number, number, number];

/**
 * Compares fn's outputs on wasm and CPU; also checks wasm frees every intermediate buffer.
 * noiseFloor: outputs whose true value is ~0 (see the MobileNetV2 test) are compared in absolute terms:
 * max|a-b| / (noiseFloor x the largest magnitude among all outputs) must stay below the tolerance.
 */
async function expectSameOnBothBackends(label: string, fn: () => Tensor[], noiseFloor = 0): Promise<void> {
  const expected = await runOn('cpu', fn);
  await tf.setBackend('wasm');
  const buffersBefore = wasmDataCount();
  const tensorsBefore = tf.memory().numTensors;
  const actual = await runOn('wasm', fn);
  assert.equal(tf.memory().numTensors, tensorsBefore, `${label}: tensors leaked`);
  assert.equal(wasmDataCount(), buffersBefore, `${label}: wasm buffers leaked`);
  assert.equal(actual.length, expected.length);
  const largest = Math.max(...expected.map((e) => e.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  expected.forEach((e, i) => {
    const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const floor = noiseFloor * largest;
    // max|a-b| / max(scale, floor): plain relative error unless the expected values are below the floor.
    const err = scale >= floor ? relativeError(actual[i], e) : (relativeError(actual[i], e) * scale) / floor;
    assert.ok(err < TOLERANCE, `${label}, output ${i}: relative error ${err.toExponential(2)} >= ${TOLERANCE}`);
  });
  await tf.setBackend('cpu');
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Gradient of sum(f(...) * r) for a fixed random r, so dy is random rather than all ones. */
function gradsOf(
  f: (...xs: Tensor[]) => Tensor,
  inputs: { shape: number[]; seed: number; scale?: number; quantized?: boolean }[],
  outSeed: number,
): () => Tensor[] {
  return () => {
    const xs = inputs.map((i) => {
      const values = randomValues(size(i.shape), i.seed, i.scale ?? 1);
      // Few distinct values: many exact ties inside pooling windows, with gradients flowing to all of them.
      if (i.quantized) values.forEach((v, j) => { values[j] = Math.round(v * 2) / 2; });
      return tf.tensor(values, i.shape);
    });
    const g = tf.grads((...args: Tensor[]) => {
      const y = f(...args);
      const r = tf.tensor(randomValues(y.size, outSeed), y.shape);
      return tf.sum(tf.mul(y, r));
    });
    return g(xs);
  };
}

before(async () => {
  await setupBackends();
});

describe('registration', () => {
  test('the kernels wasm 4.22 lacks for training are registered for wasm only', () => {
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      assert.ok(WASM_TRAINING_KERNELS.includes(name));
      assert.ok(tf.getKernel(name, 'wasm'), `${name} registered for wasm`);
    }
    // The CPU backend keeps its own implementation.
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'cpu'));
  });
});

describe('Conv2D gradients (dx and dW) match the CPU backend', () => {
  const cases: { name: string; x: Shape4; w: Shape4; stride: number; pad: Pad }[] = [
    { name: 'cnn 3x3 stride 1 valid', x: [2, 12, 12, 3], w: [3, 3, 3, 8], stride: 1, pad: 'valid' },
    { name: 'cnn 3x3 stride 1 valid, 8->8 channels', x: [2, 9, 9, 8], w: [3, 3, 8, 8], stride: 1, pad: 'valid' },
    { name: 'cnn-augment 10x5 stride 1 valid', x: [2, 16, 12, 3], w: [10, 5, 3, 8], stride: 1, pad: 'valid' },
    { name: '10x5 stride 1 same', x: [2, 13, 9, 3], w: [10, 5, 3, 4], stride: 1, pad: 'same' },
    { name: '3x3 stride 1 same', x: [2, 8, 8, 4], w: [3, 3, 4, 6], stride: 1, pad: 'same' },
    { name: 'MobileNetV2 stem 3x3 stride 2 valid (after ZeroPadding2D), odd', x: [2, 11, 11, 3], w: [3, 3, 3, 8], stride: 2, pad: 'valid' },
    { name: '3x3 stride 2 valid, even', x: [2, 10, 10, 3], w: [3, 3, 3, 8], stride: 2, pad: 'valid' },
    { name: '3x3 stride 2 same, even', x: [2, 10, 10, 3], w: [3, 3, 3, 8], stride: 2, pad: 'same' },
    { name: '3x3 stride 2 same, odd', x: [2, 9, 9, 3], w: [3, 3, 3, 8], stride: 2, pad: 'same' },
    { name: 'MobileNetV2 1x1 expand/project, valid', x: [2, 6, 6, 8], w: [1, 1, 8, 12], stride: 1, pad: 'valid' },
    { name: '1x1 same', x: [2, 5, 7, 12], w: [1, 1, 12, 8], stride: 1, pad: 'same' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      await expectSameOnBothBackends(c.name, gradsOf(
        (x, w) => tf.conv2d(x as import('@tensorflow/tfjs').Tensor4D, w as import('@tensorflow/tfjs').Tensor4D, c.stride, c.pad),
        [{ shape: c.x, seed: 1 }, { shape: c.w, seed: 2 }],
        3,
      ));
    });
  }

  test('empty output (kernel larger than the input) gives zero gradients without touching the heap', async () => {
    await expectSameOnBothBackends('empty conv', gradsOf(
      (x, w) => tf.conv2d(x as import('@tensorflow/tfjs').Tensor4D, w as import('@tensorflow/tfjs').Tensor4D, 1, 'valid'),
      [{ shape: [1, 4, 4, 2], seed: 8 }, { shape: [5, 5, 2, 3], seed: 9 }],
      10,
    ));
  });

  test('fused conv2d with bias and relu (the bias gradient goes through Sum)', async () => {
    await expectSameOnBothBackends('fused conv', gradsOf(
      (x, w, b) => tf.fused.conv2d({
        x: x as import('@tensorflow/tfjs').Tensor4D, filter: w as import('@tensorflow/tfjs').Tensor4D,
        strides: 1, pad: 'valid', bias: b, activation: 'relu',
      }),
      [{ shape: [2, 9, 9, 3], seed: 4 }, { shape: [3, 3, 3, 6], seed: 5 }, { shape: [6], seed: 6 }],
      7,
    ));
  });
});

describe('depthwise conv gradients match the CPU backend', () => {
  const cases: { name: string; x: Shape4; w: Shape4; stride: number; pad: Pad }[] = [
    { name: 'MobileNetV2 3x3 stride 1 same', x: [2, 8, 8, 6], w: [3, 3, 6, 1], stride: 1, pad: 'same' },
    { name: 'MobileNetV2 3x3 stride 2 valid (after ZeroPadding2D)', x: [2, 9, 9, 6], w: [3, 3, 6, 1], stride: 2, pad: 'valid' },
    { name: '3x3 stride 2 same, even', x: [2, 8, 8, 6], w: [3, 3, 6, 1], stride: 2, pad: 'same' },
    { name: '3x3 stride 2 same, odd', x: [2, 7, 7, 6], w: [3, 3, 6, 1], stride: 2, pad: 'same' },
    { name: 'channel multiplier 2, stride 1 same', x: [2, 8, 8, 4], w: [3, 3, 4, 2], stride: 1, pad: 'same' },
    { name: 'channel multiplier 3, stride 2 valid', x: [2, 9, 9, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      await expectSameOnBothBackends(c.name, gradsOf(
        (x, w) => tf.depthwiseConv2d(x as import('@tensorflow/tfjs').Tensor4D, w as import('@tensorflow/tfjs').Tensor4D, c.stride, c.pad),
        [{ shape: c.x, seed: 11 }, { shape: c.w, seed: 12 }],
        13,
      ));
    });
  }
});

describe('MaxPool gradient matches the CPU backend', () => {
  const cases: { name: string; x: Shape4; k: number; stride: number; pad: Pad; transform?: (x: Tensor) => Tensor; ties?: boolean }[] = [
    { name: 'presets 2x2 stride 2 valid, even', x: [2, 8, 8, 4], k: 2, stride: 2, pad: 'valid' },
    { name: '2x2 stride 2 valid, odd height and width', x: [2, 9, 7, 4], k: 2, stride: 2, pad: 'valid' },
    { name: '2x2 stride 2 after relu (tied zeros)', x: [2, 8, 8, 4], k: 2, stride: 2, pad: 'valid', transform: (x) => tf.relu(x) },
    { name: '2x2 stride 2 with exact ties (first maximum wins)', x: [2, 8, 8, 4], k: 2, stride: 2, pad: 'valid', ties: true },
    { name: '2x2 stride 2 with exact ties, odd sizes', x: [2, 7, 9, 4], k: 2, stride: 2, pad: 'valid', ties: true },
    { name: '3x3 stride 2 same (overlapping windows)', x: [2, 9, 9, 4], k: 3, stride: 2, pad: 'same' },
    { name: '2x2 stride 1 same', x: [2, 7, 7, 3], k: 2, stride: 1, pad: 'same' },
    { name: '3x3 stride 1 valid with ties', x: [2, 7, 7, 3], k: 3, stride: 1, pad: 'valid', ties: true },
    { name: '3x3 stride 2 same with ties', x: [2, 9, 9, 3], k: 3, stride: 2, pad: 'same', ties: true },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      await expectSameOnBothBackends(c.name, gradsOf(
        (x) => tf.maxPool((c.transform ? c.transform(x) : x) as import('@tensorflow/tfjs').Tensor4D, c.k, c.stride, c.pad),
        [{ shape: c.x, seed: 21, quantized: c.ties }],
        22,
      ));
    });
  }
});

describe('replaced Sum and BatchMatMul give the CPU results', () => {
  test('Sum over leading axes, with and without keepDims, and over other axes', async () => {
    const shape = [3, 4, 5, 6];
    await expectSameOnBothBackends('sum', () => {
      const x = tf.tensor(randomValues(size(shape), 31), shape);
      return [
        tf.sum(x, [0, 1, 2]), tf.sum(x, [0]), tf.sum(x, [1, 0], true), tf.sum(x, [1, 3]), tf.sum(x), tf.sum(x, -1),
        tf.sum(tf.cast(tf.mul(x, 10), 'int32'), [0, 1]).cast('float32'),
      ];
    });
  });

  test('BatchMatMul with every transpose combination, batched and broadcast', async () => {
    await expectSameOnBothBackends('matmul', () => {
      const a = tf.tensor(randomValues(2 * 5 * 7, 41), [2, 5, 7]);
      const b = tf.tensor(randomValues(2 * 7 * 3, 42), [2, 7, 3]);
      const b2 = tf.tensor(randomValues(7 * 3, 43), [7, 3]);
      return [
        tf.matMul(a, b),
        tf.matMul(a, tf.transpose(b, [0, 2, 1]), false, true),
        tf.matMul(tf.transpose(a, [0, 2, 1]), b, true, false),
        tf.matMul(tf.transpose(a, [0, 2, 1]), tf.transpose(b, [0, 2, 1]), true, true),
        tf.matMul(a, tf.transpose(b2), false, true),
        tf.matMul(tf.reshape(a, [10, 7]), tf.reshape(a, [10, 7]), true, false),
      ];
    });
  });
});

/** Gradients of every trainable weight of a model, identical weights and inputs on both backends. */
function modelGrads(build: () => import('@tensorflow/tfjs').LayersModel, inputShape: number[], training: boolean, targetSeed: number) {
  return () => {
    const model = build();
    model.setWeights(model.weights.map((w, i) => {
      const values = randomValues(size(w.shape as number[]), 100 + i, 0.3);
      // BatchNorm variances must be positive.
      if (w.name.includes('moving_variance')) values.forEach((v, j) => { values[j] = 0.5 + Math.abs(v); });
      return tf.tensor(values, w.shape as number[]);
    }));
    const x = tf.tensor(randomValues(size(inputShape), 99, 1), inputShape);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: import('@tensorflow/tfjs').Variable }).val);
    const { grads, value } = tf.variableGrads(() => {
      const y = model.apply(x, { training }) as Tensor;
      const r = tf.tensor(randomValues(y.size, targetSeed), y.shape);
      return tf.sum(tf.mul(y, r)) as import('@tensorflow/tfjs').Scalar;
    }, vars);
    const out = [value, ...vars.map((v) => grads[v.name])];
    model.dispose();
    return out;
  };
}

describe('whole-model gradients match the CPU backend', () => {
  test('cnn preset (3x3 convs, 2x2 pools, dense) at 40x40', async () => {
    await expectSameOnBothBackends('cnn', modelGrads(
      () => buildPresetModel({ ...presetDefaults('cnn'), imageSize: { height: 40, width: 40 } }, 2),
      [2, 40, 40, 3], false, 51,
    ));
  });

  test('cnn-augment preset (10x5 first kernel) at 48x48', async () => {
    await expectSameOnBothBackends('cnn-augment', modelGrads(
      () => buildPresetModel({ ...presetDefaults('cnn-augment'), imageSize: { height: 48, width: 48 } }, 2),
      [2, 48, 48, 3], false, 52,
    ));
  });

  test('MobileNetV2 inverted residual blocks (1x1, BatchNorm, ReLU6, depthwise stride 1 and 2, Add)', async () => {
    const build = () => {
      const input = tf.input({ shape: [9, 9, 8] });
      const block = (x: import('@tensorflow/tfjs').SymbolicTensor, stride: 1 | 2, outC: number) => {
        let h = tf.layers.conv2d({ filters: 24, kernelSize: 1, useBias: false }).apply(x) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.batchNormalization({ momentum: 0.999, epsilon: 1e-3 }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.reLU({ maxValue: 6 }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        if (stride === 2) h = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.batchNormalization({ momentum: 0.999, epsilon: 1e-3 }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.reLU({ maxValue: 6 }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.conv2d({ filters: outC, kernelSize: 1, useBias: false }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        h = tf.layers.batchNormalization({ momentum: 0.999, epsilon: 1e-3 }).apply(h) as import('@tensorflow/tfjs').SymbolicTensor;
        if (stride === 1 && outC === x.shape[3]) h = tf.layers.add().apply([x, h]) as import('@tensorflow/tfjs').SymbolicTensor;
        return h;
      };
      const out = block(block(input, 1, 8), 2, 16);
      return tf.model({ inputs: input, outputs: out });
    };
    // Inference-mode BatchNorm (how Keras fine-tunes MobileNetV2): every parameter has a real gradient.
    await expectSameOnBothBackends('mobilenet blocks, BatchNorm inference', modelGrads(build, [2, 9, 9, 8], false, 53));
    // Training-mode BatchNorm: the first block's last beta feeds (through a 1x1 conv) a BatchNorm that
    // subtracts the batch mean, so its true gradient is 0 and both backends return float noise; gradients
    // below 1e-3 of the largest one are compared against that floor instead of relative to themselves.
    await expectSameOnBothBackends('mobilenet blocks, BatchNorm training', modelGrads(build, [2, 9, 9, 8], true, 54), 1e-3);
  });
});
