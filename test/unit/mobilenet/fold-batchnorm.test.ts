import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import type { SymbolicTensor, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { buildMobileNetV2, BN_EPSILON, type MobileNetAlpha } from '../../../electron/training/mobilenet/mobilenet-v2';
import { baseWeightsFromModel, buildFoldedMobileNetV2, foldKernel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { maxRelativeDiff, randomizeBatchNorm, randomPixels, useWasmBackend } from './helpers';

before(useWasmBackend);

function compare(alpha: MobileNetAlpha, size: number, seed: number): number {
  const model = buildMobileNetV2({ alpha, imageSize: size });
  randomizeBatchNorm(model, seed);
  const weights = baseWeightsFromModel(model, alpha);
  const folded = buildFoldedMobileNetV2(weights, size);
  const before = tf.memory().numTensors;
  try {
    const x = tf.tidy(() => tf.tensor4d(randomPixels(3, size, seed), [3, size, size, 3], 'float32').div(127.5).sub(1)) as Tensor4D;
    const a = model.predict(x) as Tensor;
    const b = folded.predict(x);
    assert.deepEqual(b.shape, a.shape);
    const ra = a.dataSync();
    const rb = b.dataSync();
    // Not a degenerate comparison: a good share of the ReLU6 outputs must be strictly between 0 and 6.
    const live = Array.from(ra).filter((v) => v > 1e-3 && v < 5.999).length;
    assert.ok(live > ra.length * 0.05, `only ${live} of ${ra.length} outputs are in (0, 6)`);
    const rel = maxRelativeDiff(ra, rb);
    tf.dispose([x, a, b]);
    assert.equal(tf.memory().numTensors, before);
    return rel;
  } finally {
    folded.dispose();
    model.dispose();
  }
}

describe('BatchNorm folding', () => {
  test('foldKernel: conv(x, W*s) + b equals BN(conv(x, W)) on a tiny conv and depthwise kernel', () => {
    const rng = (i: number) => Math.sin(i * 12.9898) * 0.5;
    const conv = { shape: [1, 1, 2, 3], data: Float32Array.from({ length: 6 }, (_, i) => rng(i + 1)) };
    const bn = new Map([
      ['bn/gamma', { shape: [3], data: Float32Array.of(1.5, 0.5, 2) }],
      ['bn/beta', { shape: [3], data: Float32Array.of(0.1, -0.2, 0.3) }],
      ['bn/moving_mean', { shape: [3], data: Float32Array.of(0.5, -1, 0) }],
      ['bn/moving_variance', { shape: [3], data: Float32Array.of(4, 0.25, 1) }],
    ]);
    const f = foldKernel(conv, bn, 'bn', 'conv');
    const x = [0.7, -1.3];
    for (let c = 0; c < 3; c++) {
      const z = x[0] * conv.data[c] + x[1] * conv.data[3 + c];
      const g = bn.get('bn/gamma')!.data[c], be = bn.get('bn/beta')!.data[c];
      const m = bn.get('bn/moving_mean')!.data[c], v = bn.get('bn/moving_variance')!.data[c];
      const expected = (g * (z - m)) / Math.sqrt(v + BN_EPSILON) + be;
      const got = x[0] * f.kernel[c] + x[1] * f.kernel[3 + c] + f.bias[c];
      assert.ok(Math.abs(got - expected) < 1e-6, `channel ${c}: ${got} vs ${expected}`);
    }
    // Depthwise [kh, kw, C, 1]: channel = flat index mod C.
    const dw = { shape: [1, 2, 3, 1], data: Float32Array.of(1, 1, 1, 2, 2, 2) };
    const fd = foldKernel(dw, bn, 'bn', 'depthwise');
    const s = [1.5 / Math.sqrt(4 + BN_EPSILON), 0.5 / Math.sqrt(0.25 + BN_EPSILON), 2 / Math.sqrt(1 + BN_EPSILON)];
    assert.deepEqual(Array.from(fd.kernel).map((v) => +v.toFixed(5)), [s[0], s[1], s[2], 2 * s[0], 2 * s[1], 2 * s[2]].map((v) => +v.toFixed(5)));
  });

  test('folded alpha 0.35 at 96x96 matches the Keras-layer model within 1e-4 relative', () => {
    const rel = compare(0.35, 96, 3);
    assert.ok(rel < 1e-4, `relative difference ${rel}`);
  });

  test('folded alpha 0.50 at an odd size (99x99) matches too', () => {
    const rel = compare(0.5, 99, 4);
    assert.ok(rel < 1e-4, `relative difference ${rel}`);
  });

  test('predictBottom matches the Keras bottom a fine-tuning run freezes, for residual and projection splits', () => {
    const model = buildMobileNetV2({ alpha: 0.35, imageSize: 96 });
    randomizeBatchNorm(model, 6);
    const weights = baseWeightsFromModel(model, 0.35);
    const folded = buildFoldedMobileNetV2(weights, 96);
    const x = tf.tidy(() => tf.tensor4d(randomPixels(2, 96, 8), [2, 96, 96, 3], 'float32').div(127.5).sub(1)) as Tensor4D;
    try {
      const before = tf.memory().numTensors;
      // planFineTune's split for 2, 3 and 4 unfrozen blocks: block_14_add, block_13_project_BN, block_12_add.
      for (const [blocks, layer] of [[15, 'block_14_add'], [14, 'block_13_project_BN'], [13, 'block_12_add']] as const) {
        const keras = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as SymbolicTensor });
        const a = keras.predict(x) as Tensor;
        const b = folded.predictBottom(x, blocks);
        assert.deepEqual(b.shape, a.shape, layer);
        const rel = maxRelativeDiff(a.dataSync(), b.dataSync());
        assert.ok(rel < 1e-4, `${layer}: relative difference ${rel}`);
        tf.dispose([a, b]);
      }
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => folded.predictBottom(x, 18), /blocks must be 0\.\.17/);
    } finally {
      x.dispose();
      folded.dispose();
      model.dispose();
    }
  });

  test('rejects input of the wrong size and use after dispose', () => {
    const model = buildMobileNetV2({ alpha: 0.35, imageSize: 96 });
    const folded = buildFoldedMobileNetV2(baseWeightsFromModel(model, 0.35), 96);
    model.dispose();
    const x = tf.zeros([1, 128, 128, 3]) as Tensor4D;
    assert.throws(() => folded.predict(x), /expects \[n, 96, 96, 3\]/);
    assert.equal(folded.fusedOps, 52);
    folded.dispose();
    assert.throws(() => folded.predict(x), /disposed/);
    x.dispose();
  });
});
