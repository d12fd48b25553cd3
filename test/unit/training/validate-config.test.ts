// One validateTrainingConfig for the form and the training service (issue 12 §2.8): the rules the service had on its
// own (MobileNetV2 image size, fine-tuning needs blocks and epochs, at least 2 classes) live in the shared function,
// and are structural: no rule depends on the words of another message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateTrainingConfig } from '../../../shared/model-validation';

const messages = (v: { issues: Array<{ message: string }> }) => v.issues.map((issue) => issue.message);
const count = (v: { issues: Array<{ message: string }> }, pattern: RegExp) => messages(v).filter((m) => pattern.test(m)).length;

test('MobileNetV2 refuses an image size it cannot take', () => {
  const v = validateTrainingConfig({ preset: 'mobilenetv2', imageSize: { height: 64, width: 64 } }, 2);
  assert.equal(v.ok, false);
  assert.match(messages(v).join('\n'), /MobileNetV2 needs a square image size from 96 to 224 pixels; got 64x64/);
  assert.equal(validateTrainingConfig({ preset: 'mobilenetv2', imageSize: { height: 160, width: 128 } }, 2).ok, false);
  assert.equal(validateTrainingConfig({ preset: 'mobilenetv2', imageSize: { height: 128, width: 128 } }, 2).ok, true);
});

test('fine-tuning with blocks but no epochs is a warning, not an error', () => {
  const v = validateTrainingConfig({ preset: 'mobilenetv2', mobilenet: { fineTuneBlocks: 2, fineTuneEpochs: 0 } }, 2);
  assert.equal(v.ok, true);
  assert.deepEqual(v.issues.map((issue) => issue.severity), ['warning']);
  assert.match(v.issues[0]!.message, /Fine-tuning needs both a number of blocks and a number of epochs/);
});

test('too few classes is said exactly once, whatever the preset and whatever else is wrong', () => {
  const twoClasses = /at least 2 classes/;
  for (const config of [
    { preset: 'cnn' },
    { preset: 'mobilenetv2' },
    { preset: 'custom', customLayers: [{ type: 'dense', units: 8 }] },
    { preset: 'custom', customLayers: [{ type: 'dense', units: -3 }] },
    { preset: 'cnn', epochs: 0 },
  ]) {
    const v = validateTrainingConfig(config, 1);
    assert.equal(v.ok, false, JSON.stringify(config));
    assert.equal(count(v, twoClasses), 1, `${JSON.stringify(config)}: ${messages(v).join(' | ')}`);
  }
});

test('each bad custom layer is explained once, in per-layer words', () => {
  const v = validateTrainingConfig({ preset: 'custom', epochs: 0, customLayers: [{ type: 'dense', units: -3 }, { type: 'warp' }] }, 2);
  assert.equal(v.ok, false);
  assert.equal(count(v, /^Layer 1 \(dense\): units: /), 1, messages(v).join(' | '));
  assert.equal(count(v, /^Layer 2 \(warp\)/), 1, messages(v).join(' | '));
  assert.equal(count(v, /^epochs: /), 1);
  assert.equal(count(v, /customLayers/), 0, 'no path-based duplicate of a layer message');
});

test('a preset config with a bad field still shows its layer plan', () => {
  const v = validateTrainingConfig({ preset: 'cnn', epochs: 0 }, 2);
  assert.equal(v.ok, false);
  assert.equal(v.config, null);
  assert.ok(v.layers.length > 0, 'the cnn stack is planned from the preset');
  assert.equal(v.totalParams, validateTrainingConfig({ preset: 'cnn' }, 2).totalParams);
});
