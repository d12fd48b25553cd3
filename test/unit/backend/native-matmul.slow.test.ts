// Pawprint's C matrix products (native/conv-kernels.c: matmul_nn, matmul_nt) behind the WebAssembly backend's
// BatchMatMul, against the CPU backend: the cnn presets' Dense layer (16 x 10,368 . 10,368 x 128) forward and both
// gradients, and the tiling's edges (odd row counts, columns that are not a multiple of 16, K that spans several
// blocks and is not a multiple of 4, a broadcast batch). Also checks which path ran, from the C kernels' call counts
// (their speed shows in the peer bench's training steps, not in a unit test).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { NATIVE_WASM, nativeKernelCalls, setNativeKernelsEnabled } from '../../../electron/tfjs/backend/native-kernels';
import { randomValues, sameOnBoth, setupBackends } from './helpers';

const TOLERANCE = 1e-4;
const built = existsSync(path.join(process.cwd(), 'native', 'build', NATIVE_WASM));
const skip = built ? false : `${NATIVE_WASM} not built (node scripts/build-native.mjs needs clang and lld)`;

before(async () => {
  await setupBackends();
});

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
const tensor = (shape: number[], seed: number) => tf.tensor(randomValues(count(shape), seed), shape);


interface Case { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean; what: string }
const cases: Case[] = [
  { a: [16, 10368], b: [10368, 128], transposeA: false, transposeB: false, what: 'cnn Dense forward' },
  { a: [16, 10368], b: [16, 128], transposeA: true, transposeB: false, what: 'cnn Dense kernel gradient x^T dy' },
  { a: [16, 128], b: [10368, 128], transposeA: false, transposeB: true, what: 'cnn Dense input gradient dy W^T' },
  { a: [5, 1001], b: [1001, 37], transposeA: false, transposeB: false, what: 'odd rows, 37 columns, K over 4 blocks' },
  { a: [1001, 5], b: [1001, 19], transposeA: true, transposeB: false, what: 'A transposed, odd sizes' },
  { a: [7, 1003], b: [13, 1003], transposeA: false, transposeB: true, what: 'B transposed, K not a multiple of 4' },
  { a: [3, 2, 9], b: [1, 9, 17], transposeA: false, transposeB: false, what: 'batch of 3 against a broadcast batch of 1' },
  { a: [3, 9, 2], b: [3, 9, 5], transposeA: true, transposeB: false, what: 'batched, A transposed' },
  { a: [2, 6, 4], b: [2, 3, 6], transposeA: true, transposeB: true, what: 'both transposed (not in C: the other path)' },
  { a: [1, 4, 6], b: [6, 3], transposeA: false, transposeB: false, what: 'rank 3 batch of one against rank 2' },
  { a: [2, 3, 4, 6], b: [6, 5], transposeA: false, transposeB: false, what: 'rank 4 against a broadcast rank 2' },
];

describe('Pawprint C matrix products', () => {
  for (const c of cases) {
    test(`BatchMatMul matches the CPU backend: ${c.a.join('x')} . ${c.b.join('x')}${c.transposeA ? ' A^T' : ''}${c.transposeB ? ' B^T' : ''} (${c.what})`, { skip }, async () => {
      await sameOnBoth(c.what, () => tf.matMul(tensor(c.a, 1), tensor(c.b, 2), c.transposeA, c.transposeB), TOLERANCE);
    });
  }

  test('the products run in C, except both transposed', { skip }, async () => {
    await tf.setBackend('wasm');
    try {
      const runs = (c: Case) => {
        const before = nativeKernelCalls();
        tf.tidy(() => tf.matMul(tensor(c.a, 1), tensor(c.b, 2), c.transposeA, c.transposeB).dataSync());
        const after = nativeKernelCalls();
        return after.matmul_nn - before.matmul_nn + after.matmul_nt - before.matmul_nt;
      };
      for (const c of cases) {
        if (c.what.includes('not in C')) assert.equal(runs(c), 0, c.what);
        else assert.ok(runs(c) > 0, `${c.what}: no C product ran`);
      }
      setNativeKernelsEnabled(false);
      assert.equal(runs(cases[0]!), 0, 'turned off, the XNNPACK path runs');
    } finally {
      setNativeKernelsEnabled(true);
      await tf.setBackend('cpu');
    }
  });
});
