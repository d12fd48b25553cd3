// Identity and same-dtype Cast on the WebAssembly backend share the input's buffer instead of copying it: the
// gradient tape clones every tensor it saves (three 16x158x158x32 copies per cnn step, ~5% of the step) and the
// relu gradient casts a float32 step to float32. Sharing must keep values right when either tensor is disposed
// and when a variable is assigned from a clone.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import { randomValues, setupBackends, wasmDataCount } from './helpers';

before(async () => {
  await setupBackends();
});

describe('wasm Identity and Cast', () => {
  test('a clone shares the buffer (no new wasm data) and outlives its source', async () => {
    await tf.setBackend('wasm');
    const values = randomValues(4 * 5 * 6, 11);
    const x = tf.tensor(values, [4, 5, 6]);
    const buffers = wasmDataCount();
    const copy = tf.clone(x);
    assert.equal(wasmDataCount(), buffers, 'Identity allocated a new buffer');
    x.dispose();
    assert.deepEqual(Array.from(copy.dataSync()), Array.from(values));
    copy.dispose();
    assert.equal(wasmDataCount(), buffers - 1, 'the shared buffer is freed with its last tensor');
    await tf.setBackend('cpu');
  });

  test('a float32 to float32 cast shares the buffer; a float32 to int32 cast still converts', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor([1.5, -2.25, 3], [3]);
    const buffers = wasmDataCount();
    const same = tf.cast(x, 'float32');
    assert.equal(wasmDataCount(), buffers, 'same-dtype Cast allocated a new buffer');
    const ints = tf.cast(x, 'int32');
    assert.equal(ints.dtype, 'int32');
    assert.deepEqual(Array.from(ints.dataSync()), [1, -2, 3]);
    x.dispose();
    assert.deepEqual(Array.from(same.dataSync()), [1.5, -2.25, 3]);
    tf.dispose([same, ints]);
    await tf.setBackend('cpu');
  });

  test('training through shared clones: a variable assigned from a clone, then updated, leaves the clone alone', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.tensor([1, 2, 3]));
    const snapshot = tf.clone(v);
    const optimizer = tf.train.sgd(0.5);
    optimizer.minimize(() => tf.sum(tf.mul(v, v)) as import('@tensorflow/tfjs').Scalar);
    // d/dv sum(v^2) = 2v; v - 0.5 * 2v = 0.
    assert.deepEqual(Array.from(v.dataSync()), [0, 0, 0]);
    assert.deepEqual(Array.from(snapshot.dataSync()), [1, 2, 3]);
    v.assign(snapshot);
    optimizer.minimize(() => tf.sum(tf.mul(v, tf.scalar(2))) as import('@tensorflow/tfjs').Scalar);
    assert.deepEqual(Array.from(v.dataSync()), [0, 1, 2]);
    assert.deepEqual(Array.from(snapshot.dataSync()), [1, 2, 3]);
    tf.dispose([v, snapshot]);
    optimizer.dispose();
    await tf.setBackend('cpu');
  });
});
