import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configDiff, perImageDiff } from '../../../electron/evaluation/compare';

describe('config diff', () => {
  test('lists only differing fields, as dotted paths with every run’s value', () => {
    const a = { preset: 'cnn', epochs: 20, augmentation: { flip: 'none', rotation: 0 }, layers: [{ units: 128 }, { rate: 0.2 }] };
    const b = { preset: 'cnn', epochs: 5, augmentation: { flip: 'both', rotation: 0 }, layers: [{ units: 256 }, { rate: 0.2 }] };
    assert.deepEqual(configDiff([a, b]), [
      { path: 'augmentation.flip', values: ['none', 'both'] },
      { path: 'epochs', values: [20, 5] },
      { path: 'layers.0.units', values: [128, 256] },
    ]);
  });

  test('identical configs give no difference; a field missing from one run shows as null', () => {
    const config = { lr: 0.001, imageSize: { height: 64, width: 64 } };
    assert.deepEqual(configDiff([config, structuredClone(config), structuredClone(config)]), []);
    assert.deepEqual(configDiff([{ a: 1 }, { a: 1, b: 2 }]), [{ path: 'b', values: [null, 2] }]);
  });

  test('three runs: a field differing in only one of them is listed with all three values', () => {
    const diff = configDiff([{ seed: 1, lr: 0.1 }, { seed: 1, lr: 0.1 }, { seed: 2, lr: 0.1 }]);
    assert.deepEqual(diff, [{ path: 'seed', values: [1, 1, 2] }]);
  });

  test('arrays of different lengths: extra entries are differences', () => {
    const diff = configDiff([{ layers: [{ t: 'conv' }] }, { layers: [{ t: 'conv' }, { t: 'dense' }] }]);
    assert.deepEqual(diff, [{ path: 'layers.1', values: [null, { t: 'dense' }] }]);
  });
});

describe('per-image diff', () => {
  test('splits shared images into fixed, broken, both right and both wrong, and counts unmatched ones', () => {
    const a = [
      { imageId: 1, correct: true },
      { imageId: 2, correct: false },
      { imageId: 3, correct: false },
      { imageId: 4, correct: true },
      { imageId: 5, correct: true },
    ];
    const b = [
      { imageId: 1, correct: true },
      { imageId: 2, correct: true },
      { imageId: 3, correct: false },
      { imageId: 4, correct: false },
      { imageId: 6, correct: true },
    ];
    const diff = perImageDiff(a, b);
    assert.equal(diff.shared, 4);
    assert.deepEqual(diff.fixedByB.map((pair) => pair.a.imageId), [2]);
    assert.deepEqual(diff.brokenByB.map((pair) => pair.b.imageId), [4]);
    assert.equal(diff.bothRight, 1);
    assert.equal(diff.bothWrong, 1);
    assert.equal(diff.onlyA, 1);
    assert.equal(diff.onlyB, 1);
  });
});
