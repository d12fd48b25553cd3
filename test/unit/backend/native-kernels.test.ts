// Pawprint's C kernels (native/conv-kernels.c, built by scripts/build-native.mjs) against the CPU backend, on the
// shapes the presets use and on the edges of the kernels' tiling: 3 and 5 input channels (partial tiles), output
// channel counts that are not a multiple of 8 (scalar remainder), same padding (taps outside the image) and
// stride 2. Also checks that the WebAssembly backend really runs them (not silently the fallback). Every check runs
// on both builds: relaxed SIMD (fused multiply-add, preferred where the engine runs it) and plain SIMD.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import { nativeKernels, nativeKernelStatus, setNativeKernelBuild } from '../../../electron/tfjs/backend/native-kernels';
import { NATIVE_BUILDS, randomValues, sameOnBoth, setupBackends, type Tensor } from './helpers';

const TOLERANCE = 1e-4;
type Shape4 = [number, number, number, number];

before(async () => {
  await setupBackends();
});


const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
const tensor = (shape: number[], seed: number) => tf.tensor(randomValues(count(shape), seed), shape);

interface Case { x: Shape4; f: Shape4; stride: number; pad: 'valid' | 'same' }
const cases: Case[] = [
  { x: [2, 20, 20, 3], f: [3, 3, 3, 32], stride: 1, pad: 'valid' }, // cnn first layer
  { x: [2, 19, 19, 32], f: [3, 3, 32, 32], stride: 1, pad: 'valid' }, // cnn inner layers
  { x: [2, 24, 22, 3], f: [10, 5, 3, 32], stride: 1, pad: 'valid' }, // cnn-augment's odd first kernel
  { x: [2, 9, 9, 32], f: [3, 3, 32, 64], stride: 1, pad: 'valid' }, // cnn-augment's 64-filter layer
  { x: [2, 11, 13, 5], f: [3, 3, 5, 12], stride: 1, pad: 'same' }, // partial channel tiles, taps off the image
  { x: [1, 12, 11, 8], f: [3, 4, 8, 16], stride: 2, pad: 'same' }, // stride 2, even kernel width
  { x: [1, 7, 7, 4], f: [1, 1, 4, 5], stride: 1, pad: 'valid' }, // only the scalar output-channel path
];

for (const { name, choice, relaxed, skip } of NATIVE_BUILDS) describe(`Pawprint C kernels, ${name}`, () => {
  before(() => setNativeKernelBuild(choice));

  test('are built and bound to the WebAssembly backend', { skip }, async () => {
    assert.deepEqual(nativeKernelStatus().available, true, nativeKernelStatus().detail);
    assert.equal(nativeKernelStatus().relaxed, relaxed, nativeKernelStatus().detail);
    await tf.setBackend('wasm');
    assert.ok(nativeKernels(tf.backend()), 'the wasm backend runs the C kernels');
    await tf.setBackend('cpu');
  });

  for (const c of cases) {
    const label = `x ${c.x.join('x')} filter ${c.f.join('x')} stride ${c.stride} ${c.pad}`;
    const strides: [number, number] = [c.stride, c.stride];
    const dyShape = () => tf.conv2d(tf.zeros(c.x) as import('@tensorflow/tfjs').Tensor4D, tf.zeros(c.f) as import('@tensorflow/tfjs').Tensor4D, strides, c.pad).shape;

    test(`Conv2DBackpropFilter matches the CPU backend: ${label}`, { skip }, async () => {
      const shape = tf.tidy(dyShape);
      await sameOnBoth(label, () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tensor(c.x, 1), dy: tensor(shape, 2) },
        { strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f }) as Tensor, TOLERANCE);
    });

    test(`Conv2DBackpropInput matches the CPU backend: ${label}`, { skip }, async () => {
      const shape = tf.tidy(dyShape);
      await sameOnBoth(label, () => tf.engine().runKernel('Conv2DBackpropInput', { dy: tensor(shape, 3), filter: tensor(c.f, 4) },
        { strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x }) as Tensor, TOLERANCE);
    });

    test(`Conv2D matches the CPU backend: ${label}`, { skip }, async () => {
      await sameOnBoth(label, () => tf.conv2d(tensor(c.x, 5) as import('@tensorflow/tfjs').Tensor4D,
        tensor(c.f, 6) as import('@tensorflow/tfjs').Tensor4D, strides, c.pad), TOLERANCE);
    });
  }

  // The presets' pooling, with ties (few distinct values), whole windows of -Infinity (no gradient) and odd sides.
  for (const shape of [[2, 10, 12, 32], [1, 9, 7, 8]] as Shape4[]) {
    test(`MaxPoolGrad 2x2 stride 2 matches the CPU backend: ${shape.join('x')} with ties and -Infinity windows`, { skip }, async () => {
      const values = randomValues(count(shape), 9).map((v) => Math.round(v * 2) / 2);
      for (let c = 0; c < shape[3]; c += 3) values[c] = values[c + shape[3]] = Number.NEGATIVE_INFINITY; // window (0,0) row 0
      for (let c = 0; c < shape[3]; c += 3) values[shape[2] * shape[3] + c] = values[(shape[2] + 1) * shape[3] + c] = Number.NEGATIVE_INFINITY;
      await sameOnBoth(shape.join('x'), () => {
        const grad = tf.grad((x: Tensor) => tf.sum(tf.mul(tf.maxPool(x as import('@tensorflow/tfjs').Tensor4D, 2, 2, 'valid'),
          tensor([shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2), shape[3]], 10))));
        return grad(tf.tensor(values, shape));
      }, TOLERANCE);
    });
  }
});
