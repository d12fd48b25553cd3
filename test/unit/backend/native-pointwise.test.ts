// Pawprint's fused pointwise convolution (native/conv-kernels.c: conv2d_pointwise) behind the WebAssembly backend's
// FusedConv2D, against the CPU backend on both builds: MobileNetV2's expand and project layers (bias, relu6 or
// none), the tiling's edges (8 output channels, 16 + 16 + 8, an odd number of pixels, one input channel, inputs
// longer than a block), and the convolutions it must leave to the original kernel; also training's unfused 1x1
// Conv2D and its input gradient, which use it too. Which path ran is read from the C kernels' call counts.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import {
  nativeKernelCalls, nativeKernelStatus, setNativeKernelBuild, setNativeKernelsEnabled,
} from '../../../electron/tfjs/backend/native-kernels';
import { NATIVE_BUILDS, randomValues, sameOnBoth, setupBackends } from './helpers';

type Tensor4D = import('@tensorflow/tfjs').Tensor4D;
type Tensor = import('@tensorflow/tfjs').Tensor;
type Activation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'prelu';

before(async () => {
  await setupBackends();
});

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
// Inputs in [-4, 4]: a fair share of relu6's outputs clip at 0 and at 6.
const tensor = (shape: number[], seed: number, scale = 4) => tf.tensor(randomValues(count(shape), seed, scale), shape);

interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride?: number;
  pad?: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
  bias?: boolean;
  activation: Activation;
  /** Expected to run in C. */
  native: boolean;
  what: string;
}

const cases: Case[] = [
  { x: [2, 5, 6, 24], f: [1, 1, 24, 144], bias: true, activation: 'relu6', native: true, what: 'an expand layer' },
  { x: [2, 5, 5, 144], f: [1, 1, 144, 24], bias: true, activation: 'linear', native: true, what: 'a project layer' },
  { x: [1, 3, 5, 7], f: [1, 1, 7, 8], bias: true, activation: 'relu', native: true, what: '8 channels, 15 pixels' },
  { x: [1, 3, 3, 1], f: [1, 1, 1, 40], activation: 'linear', native: true, what: 'one input channel, 16 + 16 + 8 outputs, no bias' },
  { x: [1, 2, 3, 1100], f: [1, 1, 1100, 16], bias: true, activation: 'relu6', native: true, what: 'rows longer than a block' },
  { x: [1, 4, 4, 16], f: [1, 1, 16, 32], pad: 'same', bias: true, activation: 'relu6', native: true, what: 'same padding (none for 1x1)' },
  { x: [1, 6, 6, 8], f: [3, 3, 8, 16], bias: true, activation: 'relu6', native: false, what: 'a 3x3 filter (original kernel)' },
  { x: [1, 6, 6, 8], f: [1, 1, 8, 16], stride: 2, bias: true, activation: 'relu6', native: false, what: 'stride 2 (original kernel)' },
  { x: [1, 4, 4, 8], f: [1, 1, 8, 12], bias: true, activation: 'relu6', native: false, what: '12 outputs (original kernel)' },
  { x: [1, 4, 4, 8], f: [1, 1, 8, 16], bias: true, activation: 'leakyrelu', native: false, what: 'leaky relu (original kernel)' },
  { x: [1, 4, 4, 8], f: [1, 1, 8, 16], bias: true, activation: 'prelu', native: false, what: 'prelu (original kernel)' },
  {
    x: [1, 4, 4, 8], f: [1, 1, 8, 16], pad: [[0, 0], [1, 1], [1, 1], [0, 0]], bias: true, activation: 'relu', native: false,
    what: 'explicit padding (original kernel)',
  },
];

function fused(c: Case) {
  return tf.fused.conv2d({
    x: tensor(c.x, 1) as Tensor4D,
    filter: tensor(c.f, 2, 0.5) as Tensor4D,
    strides: c.stride ?? 1,
    pad: c.pad ?? 'valid',
    bias: c.bias ? tensor([c.f[3]], 3) : undefined,
    activation: c.activation,
    preluActivationWeights: c.activation === 'prelu' ? tensor([c.f[3]], 4, 0.3) : undefined,
    leakyreluAlpha: c.activation === 'leakyrelu' ? 0.1 : undefined,
  });
}

for (const { name, choice, skip } of NATIVE_BUILDS) describe(`Pawprint C pointwise convolution, ${name}`, () => {
  before(() => setNativeKernelBuild(choice));

  for (const c of cases) {
    test(`FusedConv2D matches the CPU backend: ${c.what}, x ${c.x.join('x')} filter ${c.f.join('x')} ${c.activation}`, { skip }, async () => {
      await sameOnBoth(c.what, () => fused(c), 1e-5);
    });
  }

  // Training's unfused 1x1 convolutions (MobileNetV2 fine-tuning): the forward and the input gradient.
  for (const [x, f] of [[[2, 4, 5, 16], [1, 1, 16, 24]], [[1, 3, 3, 40], [1, 1, 40, 8]]] as const) {
    test(`Conv2D 1x1 and its input gradient match the CPU backend: x ${x.join('x')} filter ${f.join('x')}`, { skip }, async () => {
      const conv = (input: Tensor) => tf.conv2d(input as Tensor4D, tensor([...f], 2, 0.5) as Tensor4D, 1, 'same');
      await sameOnBoth('forward', () => conv(tensor([...x], 1)), 1e-5);
      await sameOnBoth('input gradient', () => tf.grad((input: Tensor) => tf.sum(tf.mul(conv(input), tensor([...x.slice(0, 3), f[3]], 5))))(tensor([...x], 1)), 1e-5);
      await tf.setBackend('wasm');
      try {
        const before = nativeKernelCalls().conv2d_pointwise;
        tf.tidy(() => tf.grad((input: Tensor) => tf.sum(conv(input)))(tensor([...x], 1)).dataSync());
        assert.equal(nativeKernelCalls().conv2d_pointwise - before, 2, 'the forward and the input gradient ran in C');
      } finally {
        await tf.setBackend('cpu');
      }
    });
  }

  test('the pointwise convolutions run in C, the others in the original kernel', { skip }, async () => {
    assert.ok(nativeKernelStatus().available, nativeKernelStatus().detail);
    await tf.setBackend('wasm');
    try {
      const runs = (c: Case) => {
        const before = nativeKernelCalls().conv2d_pointwise;
        tf.tidy(() => fused(c).dataSync());
        return nativeKernelCalls().conv2d_pointwise - before;
      };
      for (const c of cases) assert.equal(runs(c), c.native ? 1 : 0, c.what);
      setNativeKernelsEnabled(false);
      assert.equal(runs(cases[0]!), 0, 'turned off, the original kernel runs');
    } finally {
      setNativeKernelsEnabled(true);
      await tf.setBackend('cpu');
    }
  });
});
