// Pawprint's C bias add (native/conv-kernels.c: add_channel_bias) behind the WebAssembly backend's Add, against the
// CPU backend: every layer's bias in training ([..., C] + [C], either order), C = 32 (the presets' fast path) and
// other multiples of 4, and the adds it must leave to the original kernel (C not a multiple of 4, other broadcasts,
// int32). Also checks which path ran, from the C kernels' call counts (the speed is bench/peer-kernels.ts's).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { NATIVE_WASM, nativeKernelCalls, nativeKernelStatus, setNativeKernelsEnabled } from '../../../electron/tfjs/backend/native-kernels';
import { randomValues, sameOnBoth, setupBackends } from './helpers';

const built = existsSync(path.join(process.cwd(), 'native', 'build', NATIVE_WASM)) || Boolean(process.env.PAWPRINT_NATIVE_DIR);
const skip = built ? false : `${NATIVE_WASM} not built (node scripts/build-native.mjs needs clang and lld)`;

before(async () => {
  await setupBackends();
});

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
const tensor = (shape: number[], seed: number, dtype: 'float32' | 'int32' = 'float32') =>
  dtype === 'int32' ? tf.tensor(Array.from(randomValues(count(shape), seed, 100), Math.round), shape, 'int32') : tf.tensor(randomValues(count(shape), seed), shape);


const cases: { a: number[]; b: number[]; dtype?: 'int32'; what: string }[] = [
  { a: [2, 9, 7, 32], b: [32], what: 'a conv layer bias (C = 32)' },
  { a: [32], b: [3, 5, 32], what: 'bias first' },
  { a: [4, 128], b: [128], what: 'a dense layer bias' },
  { a: [2, 3, 3, 12], b: [12], what: 'C = 12' },
  { a: [3, 5, 6], b: [6], what: 'C = 6 (original kernel)' },
  { a: [3, 4, 8], b: [4, 8], what: 'a two-axis broadcast (original kernel)' },
  { a: [5, 8], b: [5, 8], what: 'same shapes (original kernel)' },
  { a: [2, 4, 8], b: [8], dtype: 'int32', what: 'int32 (original kernel)' },
];

describe('Pawprint C bias add', () => {
  for (const c of cases) {
    test(`Add matches the CPU backend: ${c.a.join('x')} + ${c.b.join('x')} (${c.what})`, { skip }, async () => {
      await sameOnBoth(c.what, () => tf.add(tensor(c.a, 1, c.dtype), tensor(c.b, 2, c.dtype)), 0); // additions are exact in both: any difference is a wrong element
    });
  }

  test('the bias adds run in C, and the others in the original kernel', { skip }, async () => {
    assert.ok(nativeKernelStatus().available, nativeKernelStatus().detail);
    await tf.setBackend('wasm');
    try {
      const runs = (a: number[], b: number[], dtype?: 'int32') => {
        const before = nativeKernelCalls().add_channel_bias;
        tf.tidy(() => tf.add(tensor(a, 1, dtype), tensor(b, 2, dtype)).dataSync());
        return nativeKernelCalls().add_channel_bias - before;
      };
      for (const c of cases) assert.equal(runs(c.a, c.b, c.dtype), c.what.includes('original kernel') ? 0 : 1, c.what);
      setNativeKernelsEnabled(false);
      assert.equal(runs([2, 9, 7, 32], [32]), 0, 'turned off, the original kernel runs');
    } finally {
      setNativeKernelsEnabled(true);
      await tf.setBackend('cpu');
    }
  });
});
