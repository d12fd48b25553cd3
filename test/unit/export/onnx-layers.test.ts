// The ONNX translation of each layer kind, on tiny TF.js models built here with random weights and image-like inputs:
// ONNX Runtime must give TF.js's outputs within 1e-4. The last tests show that the comparison catches a wrong
// translation (swapped pads, a missing transposition, a mis-ordered kernel): each one is a large difference.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type LayersModel } from '../../../electron/tfjs/tf';
import type { SymbolicTensor } from '@tensorflow/tfjs';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { ONNX_VERIFY_TOLERANCE, verifyOnnxModel, verifyOnnxWithModel, writeOnnxModel } from '../../../electron/export/targets/onnx/index';
import { tempDir } from '../../support/temp';
import { convertAndCompare, imageBatch, mutateOnnx, randomizeWeights } from './onnx-helpers';

const tmp = tempDir('pawprint-onnx-layers-');
before(async () => {
  await ensureInferenceBackend();
});
after(() => tmp.cleanup());

const L = tf.layers;
type Build = () => LayersModel;

function sequential(inputShape: [number, number, number], layers: Array<LayersModel['layers'][number]>): LayersModel {
  const model = tf.sequential();
  layers.forEach((layer, i) => {
    if (i === 0) model.add(L.inputLayer({ inputShape }));
    model.add(layer);
  });
  return model;
}

function functional(inputShape: [number, number, number], body: (x: SymbolicTensor) => SymbolicTensor): LayersModel {
  const input = tf.input({ shape: inputShape });
  return tf.model({ inputs: input, outputs: body(input) });
}

const apply = (layer: { apply(x: SymbolicTensor | SymbolicTensor[]): unknown }, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;
const scaled = () => L.rescaling({ scale: 1 / 127.5, offset: -1 });

const cases: Array<[string, [number, number], Build]> = [
  ['Rescaling (x/255) then Flatten and Dense', [6, 5], () => sequential([6, 5, 3], [L.rescaling({ scale: 1 / 255 }), L.flatten(), L.dense({ units: 3 })])],
  ['Conv2D valid, relu (the cnn presets)', [12, 11], () => sequential([12, 11, 3], [scaled(), L.conv2d({ filters: 5, kernelSize: 3, activation: 'relu' }), L.flatten(), L.dense({ units: 2 })])],
  ['Conv2D same with even kernels (asymmetric TF padding)', [9, 10], () => sequential([9, 10, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 2, padding: 'same' }), L.conv2d({ filters: 3, kernelSize: [4, 3], padding: 'same' }), L.flatten()])],
  ['Conv2D same stride 2 on odd and even sides', [15, 16], () => sequential([15, 16, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), L.flatten()])],
  ['Conv2D 10x5 kernel (cnn-augment) and stride 3 valid', [24, 17], () => sequential([24, 17, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: [10, 5] }), L.conv2d({ filters: 3, kernelSize: 3, strides: 3 }), L.flatten()])],
  ['Conv2D dilation 2, same', [13, 12], () => sequential([13, 12, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same' }), L.flatten()])],
  ['Conv2D activations: relu6, sigmoid, tanh, elu, selu, softplus, softsign, softmax', [8, 8], () => sequential([8, 8, 3], [
    scaled(),
    L.conv2d({ filters: 4, kernelSize: 1, activation: 'relu6' }), L.conv2d({ filters: 4, kernelSize: 1, activation: 'sigmoid' }),
    L.conv2d({ filters: 4, kernelSize: 1, activation: 'tanh' }), L.conv2d({ filters: 4, kernelSize: 1, activation: 'elu' }),
    L.conv2d({ filters: 4, kernelSize: 1, activation: 'selu' }), L.conv2d({ filters: 4, kernelSize: 1, activation: 'softplus' }),
    L.conv2d({ filters: 4, kernelSize: 1, activation: 'softsign' }), L.conv2d({ filters: 4, kernelSize: 1, activation: 'softmax' }),
    L.flatten(),
  ])],
  ['DepthwiseConv2D: multiplier 1 same stride 2, multiplier 2 valid', [11, 12], () => sequential([11, 12, 3], [
    scaled(), L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }), L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }), L.flatten(),
  ])],
  ['SeparableConv2D same, multiplier 2', [10, 9], () => sequential([10, 9, 3], [scaled(), L.separableConv2d({ filters: 5, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu' }), L.flatten()])],
  ['MaxPooling2D valid 2, same 3 stride 2', [15, 14], () => sequential([15, 14, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 1 }), L.maxPooling2d({ poolSize: 2 }), L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), L.flatten()])],
  ['AveragePooling2D same 3 stride 2 (padding not counted), valid 2 stride 1', [13, 14], () => sequential([13, 14, 3], [scaled(), L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), L.averagePooling2d({ poolSize: 2, strides: 1 }), L.flatten()])],
  ['GlobalAveragePooling2D and GlobalMaxPooling2D', [9, 7], () => functional([9, 7, 3], (x) => {
    const map = apply(L.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }), apply(scaled(), x));
    return apply(L.concatenate(), [apply(L.globalAveragePooling2d({}), map), apply(L.globalMaxPooling2d({}), map)]);
  })],
  ['BatchNormalization on a map and after Dense', [8, 9], () => sequential([8, 9, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 3 }), L.batchNormalization({ epsilon: 1e-3 }), L.flatten(), L.dense({ units: 6 }), L.batchNormalization({}), L.dense({ units: 2 })])],
  ['Dense on an image map (last axis) then Flatten', [5, 6], () => sequential([5, 6, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 1 }), L.dense({ units: 3, activation: 'tanh' }), L.flatten(), L.dense({ units: 2, activation: 'softmax' })])],
  ['ZeroPadding2D (MobileNetV2 correct_pad) then Conv2D stride 2 valid', [10, 11], () => sequential([10, 11, 3], [scaled(), L.zeroPadding2d({ padding: [[0, 1], [1, 1]] }), L.conv2d({ filters: 4, kernelSize: 3, strides: 2, useBias: false }), L.flatten()])],
  ['ReLU (max 6), ReLU, LeakyReLU, ELU, Activation and Softmax layers', [6, 6], () => sequential([6, 6, 3], [
    scaled(), L.conv2d({ filters: 4, kernelSize: 3 }), L.reLU({ maxValue: 6 }), L.conv2d({ filters: 4, kernelSize: 1 }), L.leakyReLU({ alpha: 0.2 }),
    L.conv2d({ filters: 4, kernelSize: 1 }), L.elu({}), L.conv2d({ filters: 4, kernelSize: 1 }), L.reLU(), L.flatten(), L.dense({ units: 5 }),
    L.activation({ activation: 'tanh' }), L.dense({ units: 3 }), L.softmax({ axis: -1 }),
  ])],
  ['Add, Multiply, Maximum, Minimum, Average and Concatenate (channel axis and height axis)', [8, 8], () => functional([8, 8, 3], (x) => {
    const s = apply(scaled(), x);
    const a = apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), s);
    const b = apply(L.conv2d({ filters: 4, kernelSize: 1 }), s);
    const c = apply(L.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), apply(L.reLU({}), a));
    const merged = [L.add(), L.multiply(), L.maximum(), L.minimum(), L.average()].map((layer) => apply(layer, [a, b, c]));
    const channels = apply(L.concatenate({ axis: -1 }), merged);
    const rows = apply(L.concatenate({ axis: 1 }), [channels, apply(L.maxPooling2d({ poolSize: [2, 1] }), channels)]);
    return apply(L.flatten(), rows);
  })],
  ['Dropout (identity at inference) and Reshape', [6, 6], () => sequential([6, 6, 3], [scaled(), L.conv2d({ filters: 4, kernelSize: 3 }), L.dropout({ rate: 0.5 }), L.reshape({ targetShape: [16, 4] }), L.dense({ units: 2 }), L.flatten(), L.dense({ units: 3 })])],
  ['Nested models: a Sequential and a functional model inside a functional model', [10, 10], () => {
    const inner = sequential([10, 10, 3], [L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), L.maxPooling2d({ poolSize: 2 })]);
    const block = functional([5, 5, 4], (x) => apply(L.add(), [x, apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x)]));
    return functional([10, 10, 3], (x) => apply(L.dense({ units: 3 }), apply(L.globalAveragePooling2d({}), apply(block, apply(inner, apply(scaled(), x))))));
  }],
];

describe('ONNX export: each layer kind gives TF.js outputs within 1e-4 in ONNX Runtime', () => {
  cases.forEach(([name, [height, width], build], i) => {
    test(name, async () => {
      const model = build();
      try {
        randomizeWeights(model, 100 + i);
        const check = await convertAndCompare(model, tmp.path, `layer-${i}`, imageBatch(3, height, width, 7 + i));
        assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `${name}: max difference ${check.maxAbsDiff}`);
        assert.deepEqual(check.written.outputShape, model.outputs[0].shape.slice(1));
        // The outputs are not trivially equal (all zeros would agree with anything).
        const spread = Math.max(...check.outputs) - Math.min(...check.outputs);
        assert.ok(spread > 1e-3, `${name}: outputs barely vary (${spread})`);
      } finally {
        model.dispose();
      }
    });
  });

  test('an unsupported layer is refused in one line naming the layer and why', async () => {
    const model = sequential([8, 8, 3], [L.conv2d({ filters: 2, kernelSize: 3 }), L.upSampling2d({ size: [2, 2], name: 'grow' }), L.flatten()]);
    try {
      await assert.rejects(writeOnnxModel(model, join(tmp.path, 'refused.onnx')), (error: Error) => {
        assert.equal(error.message, 'Layer "grow" (UpSampling2D) cannot be exported to ONNX: no ONNX translation is written for this layer kind.');
        return true;
      });
    } finally {
      model.dispose();
    }
  });
});

describe('ONNX verification refuses what it cannot compare, in one line', () => {
  test('a file that is not an ONNX model', async () => {
    const path = join(tmp.path, 'not-a-model.onnx');
    await writeFile(path, 'model.json, renamed');
    await assert.rejects(verifyOnnxModel(path, new Float32Array(3), [1, 1, 1, 3], new Float32Array(1)), (error: Error) => {
      assert.match(error.message, /^ONNX Runtime cannot load .*not-a-model\.onnx: /);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  test('two exports of one model are byte-identical (nothing time- or run-dependent in the file)', async () => {
    const model = sequential([6, 6, 3], [scaled(), L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }), L.flatten(), L.dense({ units: 2 })]);
    try {
      const first = await writeOnnxModel(model, join(tmp.path, 'same-1.onnx'));
      const second = await writeOnnxModel(model, join(tmp.path, 'same-2.onnx'));
      assert.ok(Buffer.from(first.bytes).equals(await readFile(second.path)));
    } finally {
      model.dispose();
    }
  });

  test('inputs that do not fill the stated shape, and outputs of another size than expected', async () => {
    const model = sequential([4, 4, 3], [L.flatten(), L.dense({ units: 2 })]);
    try {
      const { path } = await writeOnnxModel(model, join(tmp.path, 'small.onnx'));
      await assert.rejects(verifyOnnxModel(path, new Float32Array(10), [1, 4, 4, 3], new Float32Array(2)), /The verification input has 10 values for shape \[1, 4, 4, 3\]/);
      await assert.rejects(verifyOnnxModel(path, new Float32Array(48), [1, 4, 4, 3], new Float32Array(3)), /model\.onnx gives 2 values \(\[1, 2\]\) where TF\.js gives 3/);
    } finally {
      model.dispose();
    }
  });
});

describe('ONNX export: the comparison catches a wrong translation', () => {
  // One model with what is easiest to get wrong: asymmetric "same" pads, a non-square kernel, a depthwise multiplier,
  // a Flatten whose order must be channels-last, and the input scaling.
  const build = () => sequential([12, 10, 3], [
    scaled(), L.conv2d({ filters: 4, kernelSize: [3, 2], padding: 'same', name: 'conv' }), L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'depthwise' }),
    L.flatten({ name: 'flatten' }), L.dense({ units: 3, name: 'dense' }),
  ]);
  let model: LayersModel;
  let path = '';
  const inputs = imageBatch(3, 12, 10, 99);
  before(async () => {
    model = build();
    randomizeWeights(model, 5);
    const check = await convertAndCompare(model, tmp.path, 'mutations', inputs);
    assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `the correct translation differs by ${check.maxAbsDiff}`);
    path = check.written.path;
  });
  after(() => model.dispose());

  const mutations: Array<[string, (m: import('../../../electron/export/targets/onnx/onnx-proto').OnnxModel) => void]> = [
    ['pads before/after swapped (ONNX SAME_UPPER vs SAME_LOWER)', (m) => {
      const pads = m.graph.node.find((n) => n.name === 'conv')!.attribute.find((a) => a.name === 'pads')!;
      pads.ints = [pads.ints![2], pads.ints![3], pads.ints![0], pads.ints![1]];
    }],
    ['Flatten fed the NCHW map (no transposition back to channels-last)', (m) => {
      const flatten = m.graph.node.find((n) => n.opType === 'Flatten')!;
      const transpose = m.graph.node.find((n) => n.output[0] === flatten.input[0] && n.opType === 'Transpose')!;
      flatten.input = [transpose.input[0]];
    }],
    ['Conv kernel mirrored left-right', (m) => {
      const weight = m.graph.initializer.find((t) => t.name === 'conv_kernel')!;
      const [o, i, h, w] = weight.dims;
      const src = new Float32Array(new Uint8Array(weight.rawData).buffer);
      const dst = new Float32Array(src.length);
      for (let a = 0; a < o * i; a++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) dst[(a * h + y) * w + x] = src[(a * h + y) * w + (w - 1 - x)];
      weight.rawData = new Uint8Array(dst.buffer);
    }],
    ['depthwise output channels ordered multiplier-major instead of channel-major', (m) => {
      const weight = m.graph.initializer.find((t) => t.name === 'depthwise_kernel')!;
      const [outChannels, , h, w] = weight.dims;
      const src = new Float32Array(new Uint8Array(weight.rawData).buffer);
      const dst = new Float32Array(src.length);
      const channels = outChannels / 2;
      for (let c = 0; c < channels; c++) for (let k = 0; k < 2; k++) dst.set(src.subarray((c * 2 + k) * h * w, (c * 2 + k + 1) * h * w), (k * channels + c) * h * w);
      weight.rawData = new Uint8Array(dst.buffer);
    }],
    ['input scaling without its offset', (m) => {
      const add = m.graph.node.find((n) => n.opType === 'Add' && n.input.some((name) => name.includes('offset')))!;
      m.graph.node = m.graph.node.filter((n) => n.name !== add.name).map((n) => ({ ...n, input: n.input.map((name) => (name === add.output[0] ? add.input[0] : name)) }));
    }],
  ];
  mutations.forEach(([name, mutate], i) => {
    test(name, async () => {
      const out = join(tmp.path, `mutated-${i}.onnx`);
      await mutateOnnx(path, out, mutate);
      const check = await verifyOnnxWithModel(out, model, inputs.data, inputs.shape);
      assert.ok(check.maxAbsDiff > 1e-2, `${name}: the wrong graph differs by only ${check.maxAbsDiff}`);
      assert.equal(check.ok, false);
    });
  });
});
