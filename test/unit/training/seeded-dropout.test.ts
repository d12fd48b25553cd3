// seedDropout: each training call gets a fresh mask from the seed stream; inference is untouched; undo restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../electron/tfjs/tf';
import { seedDropout } from '../../../electron/training/seeded-dropout';

test('masks differ from call to call, repeat for the same seed, and inference passes through', () => {
  const build = () => tf.sequential({ layers: [tf.layers.dropout({ inputShape: [64], rate: 0.5, name: 'drop' })] });
  const x = tf.ones([2, 64]);
  const masks = (seed: number) => {
    const model = build();
    const undo = seedDropout(model, seed);
    const out = [0, 1].map(() => Array.from((model.apply(x, { training: true }) as import('@tensorflow/tfjs').Tensor).dataSync()));
    const inference = Array.from((model.apply(x, { training: false }) as import('@tensorflow/tfjs').Tensor).dataSync());
    undo();
    assert.ok(!Object.prototype.hasOwnProperty.call(model.layers[0], 'call'), 'undo removes the patch');
    model.dispose();
    return { out, inference };
  };
  const a = masks(1);
  assert.notDeepEqual(a.out[0], a.out[1], 'a new mask for every batch');
  assert.ok(a.out[0].some((v) => v === 0) && a.out[0].some((v) => v === 2), 'inverted dropout: dropped or scaled by 2');
  assert.deepEqual(a.inference, new Array(128).fill(1));
  assert.deepEqual(masks(1).out, a.out, 'same seed, same masks');
  assert.notDeepEqual(masks(2).out, a.out);
  x.dispose();
});
