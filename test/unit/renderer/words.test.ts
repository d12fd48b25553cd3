// Durations, counts, rotation and compared configs as a person reads them (issue 14's walkthrough findings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configDifferencesInWords, formatDuration, plural, rotationDegrees, rotationFactor } from '../../../renderer/src/lib/words';

test('durations round once, so a minute never shows 60 seconds', () => {
  assert.equal(formatDuration(119_600), '2 min');
  assert.equal(formatDuration(59_700), '1 min');
  assert.equal(formatDuration(65_200), '1 min 5 s');
  assert.equal(formatDuration(3_599_700), '1 h');
  assert.equal(formatDuration(3_600_000 + 29 * 60_000 + 50_000), '1 h 30 min');
  assert.equal(formatDuration(400), '0.4 s');
  assert.equal(formatDuration(9_960), '10 s');
  assert.equal(formatDuration(12_300), '12 s');
  assert.equal(formatDuration(null), '–');
  assert.equal(formatDuration(Number.NaN), '–');
});

test('counts carry their noun in the right number', () => {
  assert.equal(plural(1, 'image'), '1 image');
  assert.equal(plural(0, 'image'), '0 images');
  assert.equal(plural(2, 'class', 'classes'), '2 classes');
  assert.equal(plural(1200, 'image'), '1,200 images');
});

test('rotation reads in degrees and converts back to the stored factor', () => {
  assert.equal(rotationDegrees(0.2), 72);
  assert.equal(rotationDegrees(0.25), 90);
  assert.equal(rotationFactor(90), 0.25);
});

test('config differences read in words and skip fields the runs\' presets ignore', () => {
  const diff = [
    { path: 'augmentation.rotation', values: [0.2, 0.25] },
    { path: 'customLayers.0', values: [null, { type: 'conv2d', filters: 32, kernelHeight: 3, kernelWidth: 3, activation: 'relu' }] },
    { path: 'imageSize.height', values: [224, 160] },
    { path: 'imageSize.width', values: [224, 160] },
    { path: 'mobilenet.alpha', values: [0.35, 1] },
    { path: 'preprocessing', values: ['symmetric', 'none'] },
    { path: 'preset', values: ['mobilenetv2', 'cnn'] },
  ];
  const rows = configDifferencesInWords(diff, ['mobilenetv2', 'cnn']);
  assert.deepEqual(rows.map((row) => row.label), ['Rotation', 'Layer 1', 'Image size', 'Base width (alpha)', 'Pixel scaling', 'Preset']);
  assert.deepEqual(rows[0]?.values, ['up to ±72°', 'up to ±90°']);
  assert.deepEqual(rows[1]?.values, ['(none)', 'convolution 32 × 3×3, relu']);
  assert.deepEqual(rows[2]?.values, ['224 × 224 px', '160 × 160 px']);
  assert.deepEqual(rows[4]?.values, ['−1 to 1', 'none']);
  // Two mobilenetv2 runs: their stored (unused) custom layers differ, but nothing they train does.
  const both = configDifferencesInWords(
    [{ path: 'customLayers.0.filters', values: [16, 32] }, { path: 'mobilenet.fineTuneBlocks', values: [0, 3] }],
    ['mobilenetv2', 'mobilenetv2'],
  );
  assert.deepEqual(both.map((row) => row.label), ['Blocks fine-tuned']);
  assert.ok(both.every((row) => !row.label.includes('.')), 'no raw paths');
  // Two cnn runs: the mobilenet block does not apply, custom layers do.
  const cnn = configDifferencesInWords(
    [{ path: 'customLayers.6.units', values: [128, 256] }, { path: 'mobilenet.alpha', values: [1, 0.35] }],
    ['cnn', 'cnn-normalize'],
  );
  assert.deepEqual(cnn, [{ path: 'customLayers.6.units', label: 'Layer 7 · units', values: ['128', '256'] }]);
});

test('loss curves switch to a log axis when the first epoch dwarfs the rest, and both live charts share the epoch range', async () => {
  const { epochAxisMax, lossAxis, SERIES_COLORS, TARGET_LINE, CHANCE_LINE } = await import('../../../renderer/src/lib/charts');
  assert.deepEqual(lossAxis([8.2, 0.6, 0.3, 0.25]), { type: 'logarithmic' });
  assert.deepEqual(lossAxis([0.69, 0.5, 0.4]), { type: 'linear', min: 0 });
  assert.deepEqual(lossAxis([0, 3]), { type: 'linear', min: 0 });
  assert.equal(epochAxisMax(20, 3), 20);
  assert.equal(epochAxisMax(5, 7), 7);
  assert.equal(epochAxisMax(1, undefined), 2);
  const colors = new Set<string>([...SERIES_COLORS, TARGET_LINE.color, CHANCE_LINE.color]);
  assert.equal(colors.size, SERIES_COLORS.length + 2, 'reference lines have colours of their own');
});

test('the Evaluate history lists each distinct result once, newest first, in words', async () => {
  const { evaluationChoices } = await import('../../../renderer/src/lib/evaluation-history');
  const base = { runId: 1, source: 'test-split' as const, datasetId: 1, subset: 'test', folder: null, accuracy: 0.9333, loss: 0.2, count: 30, expectedCalibrationError: 0.05 };
  const choices = evaluationChoices([
    { ...base, id: 1, createdAt: '2026-12-01T10:00:05Z' },
    { ...base, id: 2, createdAt: '2026-12-01T10:05:00Z' },
    { ...base, id: 3, createdAt: '2026-12-01T10:05:30Z', source: 'folder', datasetId: null, subset: null, folder: '/photos/holdout', accuracy: 1, count: 1 },
  ]);
  assert.deepEqual(choices.map((c) => c.id), [3, 2]);
  assert.equal(choices[0]?.label, '2026-12-01 10:05:30 · folder holdout · 100.0% of 1 image');
  assert.equal(choices[1]?.label, '2026-12-01 10:05:00 · test split · 93.3% of 30 images');
});
